//! Invoice operations: send, status, download by KSeF number, and KSeF's public key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;

use super::dto::{Algorithm, InvoiceInfo, KsefInvoiceSendRequest, KsefInvoiceSendResponse, KsefInvoiceStatusResponse, KsefPublicKeyResponse};
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use super::{AppState, b64_field};
use crate::errors::ErrorCode;
use crate::ops::invoices::{self, SendPayload};

impl RequestBody for KsefInvoiceSendRequest {
    const MALFORMED: ErrorCode = ErrorCode::InvoiceInput;
}

/// KSeF's public key, for wrapping your session key (`encryptionInfo.encryptedKey`).
#[utoipa::path(get, path = "/api/v2/ksefPublicKey", tag = "Encryption",
    responses((status = 200, body = KsefPublicKeyResponse), (status = 502, description = "1004", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn public_key(State(state): State<AppState>, _tenant: Authenticated) -> Result<Json<KsefPublicKeyResponse>, ApiError> {
    let spki = invoices::public_key(&state.ops).await?;
    Ok(Json(KsefPublicKeyResponse { algorithm: Algorithm::Rsa, public_key: ksef_core::crypto::b64(&spki) }))
}

/// Sends one invoice into an open session. The same invoice sent again into the same session returns the first
/// answer and sends nothing; a send that failed for want of KSeF is retried by sending it again.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceSend", tag = "Invoices",
    request_body = KsefInvoiceSendRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to repeat: a repeat gets the first answer")),
    responses(
        (status = 200, body = KsefInvoiceSendResponse),
        (status = 400, description = "1005, 1203, 1208", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of document jobs is taken; retry after Retry-After", body = super::dto::Error),
        (status = 404, description = "1109 (another tenant's session too)", body = super::dto::Error),
        (status = 409, description = "1204: the session is closed", body = super::dto::Error),
        (status = 413, description = "1202", body = super::dto::Error),
        (status = 422, description = "1204: KSeF refused it (its code in `ksef`)", body = super::dto::Error),
        (status = 502, description = "1204: KSeF unavailable; send again to retry", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn send(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(req): ApiJson<KsefInvoiceSendRequest>,
) -> Result<Json<KsefInvoiceSendResponse>, ApiError> {
    let payload = match (req.encrypted, req.plain) {
        (Some(e), None) => SendPayload::Encrypted {
            encrypted: b64_field("encryptedInvoice", &e.encrypted_invoice)?,
            invoice_hash: e.invoice_hash,
            invoice_size: e.invoice_size,
        },
        (None, Some(p)) => SendPayload::Plain { xml: b64_field("invoice", &p.invoice)? },
        _ => return Err(ApiError::refused(ErrorCode::InvoiceInput, "give exactly one of `encrypted` and `plain`")),
    };
    let sent = invoices::send(&state.ops, &tenant, &req.session_id, payload).await?;
    Ok(Json(KsefInvoiceSendResponse { created: sent.created, id: sent.id }))
}

/// An invoice's processing status.
#[utoipa::path(get, path = "/api/v2/ksefInvoiceStatus/{invoiceId}", tag = "Invoices",
    params(("invoiceId" = String, Path, description = "InvoiceId")),
    responses(
        (status = 200, body = KsefInvoiceStatusResponse),
        (status = 404, description = "1207", body = super::dto::Error),
        (status = 502, description = "1205", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn status(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(invoice_id): Path<String>,
) -> Result<Json<KsefInvoiceStatusResponse>, ApiError> {
    let view = invoices::status(&state.ops, &tenant, &invoice_id).await?;
    Ok(Json(KsefInvoiceStatusResponse { invoices: vec![InvoiceInfo::from(view)] }))
}

/// One invoice from KSeF, by its KSeF number, as XML.
#[utoipa::path(get, path = "/api/v2/ksefInvoiceGet/{invoiceKsefNumber}", tag = "Invoices",
    params(("invoiceKsefNumber" = String, Path, description = "InvoiceKsefNumber")),
    responses(
        (status = 200, description = "Invoice XML (TextXmlContent)", content_type = "text/xml", body = String),
        (status = 404, description = "1207", body = super::dto::Error),
        (status = 409, description = "1207: processed but not served yet", body = super::dto::Error),
        (status = 502, description = "1205", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(ksef_number): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let xml = invoices::get(&state.ops, &tenant, &ksef_number).await?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml))
}
