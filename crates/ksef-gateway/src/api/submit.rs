//! Sessionless submits (ours): one invoice in, its id out at once; its status, KSeF number and UPO later.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::dto::{InvoiceInfo, InvoiceSubmitRequest, InvoiceSubmitResponse, KsefQrCode, OfflineChoice, OfflineInfo, SubmittedInvoiceResponse};
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use super::{AppState, b64_field};
use crate::errors::ErrorCode;
use crate::ops::documents;
use crate::ops::submit::{self, OfflineRequest, Submit};

impl RequestBody for InvoiceSubmitRequest {
    const MALFORMED: ErrorCode = ErrorCode::InvoiceInput;
}

/// Submits one invoice without a session (ours). It is checked as KSeF will check it (1203 with every finding if
/// not), recorded, and answered at once with its id; the gateway puts it into a KSeF session of its own and
/// delivers it however long KSeF fails. The same invoice again (tenant, seller NIP, kind, number) is answered
/// with the first submit (`existing`). With `offline: offline24`, or automatically while KSeF is unreachable
/// and the tenant has an Offline certificate, it is issued offline: the answer carries KOD I, KOD II and its
/// deadline, and it is sent with `offlineMode`.
#[utoipa::path(post, path = "/api/v2/invoices", tag = "Invoices",
    request_body = InvoiceSubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to repeat: a repeat gets the first answer")),
    responses(
        (status = 202, body = InvoiceSubmitResponse),
        (status = 400, description = "1005, 1203 (every finding), 1208", body = super::dto::Error),
        (status = 409, description = "1204: the same invoice number was submitted with other content", body = super::dto::Error),
        (status = 413, description = "1202", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of document jobs is taken; retry after Retry-After", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(req): ApiJson<InvoiceSubmitRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let xml = match (req.invoice, req.generate) {
        (Some(invoice), None) => b64_field("invoice", &invoice)?,
        (None, Some(request)) => documents::generate_for(&state.ops, &tenant, request).await?.0.into_bytes(),
        _ => return Err(ApiError::refused(ErrorCode::InvoiceInput, "give exactly one of `invoice` and `generate`")),
    };
    let offline = match req.offline {
        OfflineChoice::Auto => OfflineRequest::Auto,
        OfflineChoice::Never => OfflineRequest::Never,
        OfflineChoice::Offline24 => OfflineRequest::Mode(ksef_core::calendar::OfflineMode::Offline24),
        OfflineChoice::Unavailability => OfflineRequest::Mode(ksef_core::calendar::OfflineMode::Unavailability),
        OfflineChoice::Failure => OfflineRequest::Mode(ksef_core::calendar::OfflineMode::Failure),
    };
    let submitted = submit::submit(&state.ops, &tenant, Submit { xml, offline, hash_of_corrected: req.hash_of_corrected_invoice }).await?;
    let answer = InvoiceSubmitResponse {
        id: submitted.id,
        created: submitted.created,
        existing: submitted.existing,
        offline: submitted.offline.map(|o| OfflineInfo {
            mode: o.mode.as_str().to_owned(),
            deadline: o.deadline,
            invoice: KsefQrCode::from(o.kod1),
            certificate: o.kod2.map(KsefQrCode::from),
        }),
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// A submitted invoice (ours): its status, KSeF number, delivery (state, attempts, last error, offline deadline)
/// and the gateway session it went into. Answered from the gateway's records, KSeF down or not.
#[utoipa::path(get, path = "/api/v2/invoices/{invoiceId}", tag = "Invoices",
    params(("invoiceId" = String, Path, description = "The id the submit answered")),
    responses((status = 200, body = SubmittedInvoiceResponse), (status = 404, description = "1207", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn invoice(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(invoice_id): Path<String>,
) -> Result<Json<SubmittedInvoiceResponse>, ApiError> {
    let (view, session_id) = submit::invoice(&state.ops, &tenant, &invoice_id).await?;
    Ok(Json(SubmittedInvoiceResponse { invoice: InvoiceInfo::from(view), session_id }))
}

/// The UPO of one invoice KSeF accepted (ours), as KSeF issues it per invoice.
#[utoipa::path(get, path = "/api/v2/invoices/{invoiceId}/upo", tag = "Invoices",
    params(("invoiceId" = String, Path, description = "The id the submit answered")),
    responses(
        (status = 200, content_type = "text/xml", body = String),
        (status = 404, description = "1207", body = super::dto::Error),
        (status = 409, description = "1111: not accepted yet", body = super::dto::Error),
        (status = 502, description = "1107", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn invoice_upo(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(invoice_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let upo = submit::invoice_upo(&state.ops, &tenant, &invoice_id).await?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], upo))
}
