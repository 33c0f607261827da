//! Session operations: open, status, invoices, close, UPO.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;

use super::dto::{
    InvoiceInfo, KsefSessionCloseResponse, KsefSessionInvoicesResponse, KsefSessionOpenOnlineRequest,
    KsefSessionOpenOnlineResponse, KsefSessionStatusResponse, SessionInfo,
};
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use super::{AppState, b64_field};
use crate::errors::ErrorCode;
use crate::ops::sessions::{CallerEncryption, InvoiceVersion};
use crate::ops::{documents, invoices, sessions};

impl RequestBody for KsefSessionOpenOnlineRequest {
    const MALFORMED: ErrorCode = ErrorCode::RequestInvalid;
}

/// Opens an interactive session in KSeF.
#[utoipa::path(post, path = "/api/v2/ksefSessionOpenOnline", tag = "Sessions",
    request_body = KsefSessionOpenOnlineRequest,
    responses(
        (status = 200, body = KsefSessionOpenOnlineResponse),
        (status = 400, description = "1002, 1003, 1005, 1201, 1902", body = super::dto::Error),
        (status = 502, description = "1004, 1101, 1103, 1104", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn open_online(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(req): ApiJson<KsefSessionOpenOnlineRequest>,
) -> Result<Json<KsefSessionOpenOnlineResponse>, ApiError> {
    let version = InvoiceVersion::parse(&req.invoice_version)?;
    let encryption = match req.encryption_info {
        Some(e) => Some(CallerEncryption { encrypted_key: b64_field("encryptedKey", &e.encrypted_key)?, iv: b64_field("initVector", &e.init_vector)? }),
        None => None,
    };
    let opened = sessions::open_online(&state.ops, &tenant, version, encryption).await?;
    Ok(Json(KsefSessionOpenOnlineResponse { id: opened.id, created: opened.created }))
}

/// The session's current status in KSeF.
#[utoipa::path(get, path = "/api/v2/ksefSessionStatus/{sessionId}", tag = "Sessions",
    params(("sessionId" = String, Path, description = "SessionId")),
    responses(
        (status = 200, body = KsefSessionStatusResponse),
        (status = 404, description = "1109 (another tenant's session too)", body = super::dto::Error),
        (status = 502, description = "1105", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn status(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(session_id): Path<String>,
) -> Result<Json<KsefSessionStatusResponse>, ApiError> {
    let s = sessions::status(&state.ops, &tenant, &session_id).await?;
    Ok(Json(KsefSessionStatusResponse {
        session_info: SessionInfo {
            status: s.status.into(),
            batch: s.batch,
            invoice_count: s.invoice_count,
            successful_invoice_count: s.successful_invoice_count,
            failed_invoice_count: s.failed_invoice_count,
        },
    }))
}

/// Every invoice sent into the session, with its status.
#[utoipa::path(get, path = "/api/v2/ksefSessionInvoices/{sessionId}", tag = "Sessions",
    params(("sessionId" = String, Path, description = "SessionId")),
    responses(
        (status = 200, body = KsefSessionInvoicesResponse),
        (status = 404, description = "1109 (another tenant's session too)", body = super::dto::Error),
        (status = 502, description = "1205", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn invoices(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(session_id): Path<String>,
) -> Result<Json<KsefSessionInvoicesResponse>, ApiError> {
    let views = invoices::session_invoices(&state.ops, &tenant, &session_id).await?;
    Ok(Json(KsefSessionInvoicesResponse { invoices: views.into_iter().map(InvoiceInfo::from).collect() }))
}

/// Closes the session; KSeF then issues the UPO.
#[utoipa::path(get, path = "/api/v2/ksefSessionClose/{sessionId}", tag = "Sessions",
    params(("sessionId" = String, Path, description = "SessionId")),
    responses(
        (status = 200, body = KsefSessionCloseResponse),
        (status = 404, description = "1109 (another tenant's session too)", body = super::dto::Error),
        (status = 502, description = "1106", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn close(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(session_id): Path<String>,
) -> Result<Json<KsefSessionCloseResponse>, ApiError> {
    let result = sessions::close(&state.ops, &tenant, &session_id).await?;
    Ok(Json(KsefSessionCloseResponse { result }))
}

/// How to return a UPO: as KSeF issued it (XML, the default), or rendered for people.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpoParams {
    /// `xml` (the default), `html` or `pdf` (PDF/A-3b with the UPO XML attached). `Accept: text/html` or
    /// `Accept: application/pdf` choose the same when this is absent.
    #[serde(default)]
    pub format: Option<String>,
    /// `pl` (the default), `en` or `pl_en`, for `html` and `pdf`.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The session's UPO (Official Confirmation of Receipt), once KSeF issued it after the session was closed: the
/// XML as KSeF signed it, or rendered as HTML or PDF (`format`, or the `Accept` header).
#[utoipa::path(get, path = "/api/v2/ksefSessionUpo/{sessionId}", tag = "Sessions",
    params(("sessionId" = String, Path, description = "SessionId"), UpoParams),
    responses(
        (status = 200, description = "UPO XML (TextXmlContent), or its rendering (text/html, application/pdf)", content_type = "text/xml", body = String),
        (status = 400, description = "1208: an unknown format or language", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of document jobs is taken; retry after Retry-After", body = super::dto::Error),
        (status = 404, description = "1109 (another tenant's session too)", body = super::dto::Error),
        (status = 409, description = "1111: not closed, or KSeF is still processing", body = super::dto::Error),
        (status = 502, description = "1107", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn upo(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(session_id): Path<String>,
    params: Result<Query<UpoParams>, QueryRejection>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::refused(ErrorCode::InvoiceInput, format!("query parameters: {e}")))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = match params.format.as_deref() {
        Some("xml") => None,
        Some("html") => Some(documents::OutputFormat::Html),
        Some("pdf") => Some(documents::OutputFormat::Pdf),
        Some(other) => return Err(ApiError::refused(ErrorCode::InvoiceInput, format!("format {other:?}: use xml, html or pdf"))),
        None if accept.contains("application/pdf") => Some(documents::OutputFormat::Pdf),
        None if accept.contains("text/html") => Some(documents::OutputFormat::Html),
        None => None,
    };
    let lang = params.lang.as_deref().unwrap_or("pl");
    let language = ksef_visualize::Language::parse(lang).ok_or_else(|| ApiError::refused(ErrorCode::InvoiceInput, format!("lang {lang:?}: use pl, en or pl_en")))?;
    let xml = sessions::upo(&state.ops, &tenant, &session_id).await?;
    let Some(format) = format else {
        return Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response());
    };
    let rendered = documents::render_upo(&state.ops, &tenant, xml, format, language).await?;
    Ok(super::documents::rendered_response(format, rendered))
}
