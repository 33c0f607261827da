//! Invoice documents: validation (and, later, generation and visualization).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

use super::dto::{FindingInfo, KsefInvoiceValidateResponse, KsefInvoiceVersion};
use super::error::ApiError;
use super::extract::Authenticated;
use crate::errors::ErrorCode;
use crate::ops::OpError;
use crate::ops::documents;
use crate::ops::sessions::InvoiceVersion;

/// Checks an FA(2) or FA(3) invoice as KSeF will: its prechecks (UTF-8 without BOM, no processing instructions or
/// discouraged characters, 1 MB / 3 MB), the official schema, and the rules KSeF enforces (NIP checksums, an
/// issue date not in the future); rules it does not enforce come back as warnings. An invalid invoice is answered
/// with 1203 (1202 over the size limit, 1201 not an FA document), `details` naming the first error and
/// `findings` listing every one.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceValidate", tag = "Invoices",
    request_body(content = String, content_type = "text/xml", description = "The invoice XML (TextXmlContent)"),
    responses(
        (status = 200, body = KsefInvoiceValidateResponse),
        (status = 400, description = "1201, 1203: every finding in `findings`", body = super::dto::Error),
        (status = 413, description = "1202", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn validate(
    Authenticated(_tenant): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<KsefInvoiceValidateResponse>, ApiError> {
    let body = body.map_err(|e| ApiError::refused(ErrorCode::InvoiceSize, format!("the request body could not be read: {e}")))?;
    // Parsing and checking a 3 MB document is CPU work: off the async workers.
    let validated = tokio::task::spawn_blocking(move || documents::validate(&body))
        .await
        .map_err(|e| ApiError(OpError::Internal(e.into())))??;
    Ok(Json(KsefInvoiceValidateResponse {
        invoice_version: match validated.version {
            InvoiceVersion::V2 => KsefInvoiceVersion::V2,
            InvoiceVersion::V3 => KsefInvoiceVersion::V3,
        },
        valid: true,
        canonical_form: ksef_core::crypto::b64(&validated.canonical),
        findings: validated.warnings.iter().map(FindingInfo::from).collect(),
    }))
}
