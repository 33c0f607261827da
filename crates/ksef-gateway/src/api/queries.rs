//! Search operations: start a search, its status, and its result parts (streamed).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::dto::{KsefInvoiceQueryStartRequest, KsefInvoiceQueryStartResponse, KsefInvoiceQueryStatusResponse};
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use super::{AppState, b64_field};
use crate::errors::ErrorCode;
use crate::ops::queries::{self, Bound, QueryPart, QueryStart, SubjectType};
use crate::ops::sessions::CallerEncryption;

impl RequestBody for KsefInvoiceQueryStartRequest {
    const MALFORMED: ErrorCode = ErrorCode::QueryInvoiceParams;
}

/// Starts a search of the tenant's invoices in KSeF, over a range of permanent-storage dates.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceQueryStart", tag = "Search",
    request_body = KsefInvoiceQueryStartRequest,
    responses(
        (status = 200, body = KsefInvoiceQueryStartResponse),
        (status = 400, description = "1301; 1002, 1003, 1005 for `encryptionInfo`", body = super::dto::Error),
        (status = 422, description = "1302: KSeF refused the search (its code in `ksef`)", body = super::dto::Error),
        (status = 502, description = "1302: KSeF unavailable", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn start(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(req): ApiJson<KsefInvoiceQueryStartRequest>,
) -> Result<Json<KsefInvoiceQueryStartResponse>, ApiError> {
    let subject = SubjectType::parse(&req.subject_type)?;
    let from = queries::parse_bound(&req.range.from, Bound::From)?;
    let to = req.range.to.as_deref().map(|t| queries::parse_bound(t, Bound::To)).transpose()?;
    let encryption = match req.encryption_info {
        Some(e) => Some(CallerEncryption { encrypted_key: b64_field("encryptedKey", &e.encrypted_key)?, iv: b64_field("initVector", &e.init_vector)? }),
        None => None,
    };
    let query_id = queries::start(&state.ops, &tenant, QueryStart { subject, from, to, encryption }).await?;
    Ok(Json(KsefInvoiceQueryStartResponse { query_id }))
}

/// The search's state; once KSeF has built the package (status 200), its size and parts.
#[utoipa::path(get, path = "/api/v2/ksefInvoiceQueryStatus/{queryId}", tag = "Search",
    params(("queryId" = String, Path, description = "QueryId")),
    responses(
        (status = 200, body = KsefInvoiceQueryStatusResponse),
        (status = 404, description = "1303: no such search for this tenant", body = super::dto::Error),
        (status = 410, description = "1303: KSeF no longer keeps the search", body = super::dto::Error),
        (status = 502, description = "1303: KSeF unavailable", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn status(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(query_id): Path<String>,
) -> Result<Json<KsefInvoiceQueryStatusResponse>, ApiError> {
    let s = queries::status(&state.ops, &tenant, &query_id).await?;
    Ok(Json(KsefInvoiceQueryStatusResponse {
        status: s.status.into(),
        number_of_invoices: s.number_of_invoices,
        package_size: s.package_size,
        is_truncated: s.is_truncated,
        part_numbers: s.part_numbers,
        next_from: s.next_from,
        permanent_storage_hwm_date: s.permanent_storage_hwm_date,
    }))
}

/// One part of the search's result, streamed: the plain ZIP (`application/zip`) when the gateway holds the key,
/// the part encrypted under the caller's key (`application/octet-stream`, its SHA-256 in `x-ms-meta-hash`) otherwise.
#[utoipa::path(get, path = "/api/v2/ksefInvoiceQueryResult/{queryId}/{queryPartNumber}", tag = "Search",
    params(("queryId" = String, Path, description = "QueryId"), ("queryPartNumber" = String, Path, description = "QueryPartNumber")),
    responses(
        (status = 200, description = "The ZIP (ApplicationZipContent) or the encrypted part", content_type = "application/zip", body = Vec<u8>),
        (status = 404, description = "1304: no such search or part", body = super::dto::Error),
        (status = 409, description = "1304: not ready, or the search failed", body = super::dto::Error),
        (status = 410, description = "1304: the package has expired", body = super::dto::Error),
        (status = 502, description = "1304: KSeF unavailable", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn result(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path((query_id, part)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let part = queries::result(&state.ops, &tenant, &query_id, &part).await?;
    let (content_type, length, hash, body) = match part {
        QueryPart::Zip { length, body } => ("application/zip", length, None, body),
        QueryPart::Encrypted { length, hash, body } => ("application/octet-stream", length, Some(hash), body),
    };
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(hash) = hash.and_then(|h| HeaderValue::from_str(&h).ok()) {
        headers.insert("x-ms-meta-hash", hash);
    }
    Ok(response)
}
