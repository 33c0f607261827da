//! Batch sessions: opening one for a package the caller encrypted, and sending a plain ZIP that the gateway
//! packages itself.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use futures_util::StreamExt as _;
use ksef_core::limits::MAX_BATCH_PACKAGE_BYTES;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use super::dto::{
    KsefSessionOpenBatchRequest, KsefSessionOpenBatchResponse, KsefSessionSendBatchResponse, PartUploadHeader, PartUploadInfo,
};
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use super::{AppState, b64_field};
use crate::errors::ErrorCode;
use crate::ops::OpError;
use crate::ops::batch::{self, BatchDeclaration, PartDeclaration};
use crate::ops::sessions::{CallerEncryption, InvoiceVersion};

impl RequestBody for KsefSessionOpenBatchRequest {
    const MALFORMED: ErrorCode = ErrorCode::RequestInvalid;
}

/// Opens a batch session in KSeF for a package encrypted under the caller's key.
#[utoipa::path(post, path = "/api/v2/ksefSessionOpenBatch", tag = "Sessions",
    request_body = KsefSessionOpenBatchRequest,
    responses(
        (status = 200, body = KsefSessionOpenBatchResponse),
        (status = 400, description = "1002, 1003, 1005, 1201, 1208 (every problem with batchInfo), 1902", body = super::dto::Error),
        (status = 422, description = "1103: KSeF refused the declaration (its code in `ksef`)", body = super::dto::Error),
        (status = 502, description = "1004, 1101, 1103, 1104", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn open_batch(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(req): ApiJson<KsefSessionOpenBatchRequest>,
) -> Result<Json<KsefSessionOpenBatchResponse>, ApiError> {
    let version = InvoiceVersion::parse(&req.invoice_version)?;
    let e = &req.encryption_info;
    let encryption = CallerEncryption { encrypted_key: b64_field("encryptedKey", &e.encrypted_key)?, iv: b64_field("initVector", &e.init_vector)? };
    let declaration = BatchDeclaration {
        size: req.batch_info.batch_size,
        hash: req.batch_info.batch_hash,
        parts: req.batch_info.batch_parts.into_iter().map(|p| PartDeclaration { ordinal: p.ordinal, size: p.part_size, hash: p.part_hash }).collect(),
    };
    let opened = batch::open(&state.ops, &tenant, version, encryption, req.offline, declaration).await?;
    Ok(Json(KsefSessionOpenBatchResponse {
        id: opened.id,
        created: opened.created,
        part_upload_info: opened
            .uploads
            .into_iter()
            .map(|u| PartUploadInfo {
                ordinal: i64::from(u.ordinal),
                method: u.method,
                url: u.url,
                headers: u.headers.into_iter().map(|(name, value)| PartUploadHeader { name, value }).collect(),
            })
            .collect(),
    }))
}

/// `ksefSessionSendBatch` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SendBatchParams {
    /// `v2` or `v3` (the default).
    #[serde(default = "v3")]
    pub invoice_version: String,
    /// Whether the invoices were issued offline.
    #[serde(default)]
    pub offline: bool,
}

/// Package sends allowed at once.
static SENDING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn v3() -> String {
    "v3".to_owned()
}

/// Sends a plain ZIP of invoice files (`*.xml`, no folders, at most 10,000) as one batch: the gateway checks
/// it, splits and encrypts it under a key of its own, opens a batch session, uploads the parts and closes it.
/// Follow the session with `ksefSessionStatus`, `ksefSessionInvoices` and `ksefSessionUpo`. Not in the seed.
#[utoipa::path(post, path = "/api/v2/ksefSessionSendBatch", tag = "Sessions",
    params(SendBatchParams),
    request_body(content = Vec<u8>, content_type = "application/zip", description = "The ZIP, up to 5 GB"),
    responses(
        (status = 200, body = KsefSessionSendBatchResponse),
        (status = 400, description = "1201, 1203 (every problem with the ZIP)", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of uploads or document jobs is taken; retry after Retry-After", body = super::dto::Error),
        (status = 413, description = "1202: over 5 GB", body = super::dto::Error),
        (status = 502, description = "1004, 1103, 1106, 1204", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn send_batch(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    params: Result<Query<SendBatchParams>, QueryRejection>,
    body: Body,
) -> Result<Json<KsefSessionSendBatchResponse>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::refused(ErrorCode::RequestInvalid, format!("query parameters: {e}")))?;
    let version = InvoiceVersion::parse(&params.invoice_version)?;
    // A tenant receives at most its share of packages at once; a slow upload holds nothing anyone else needs.
    let _receiving = state.ops.uploads.claim(&tenant.id)?;
    let work = tempfile::tempdir().map_err(internal)?;
    let zip_path = work.path().join("package.zip");
    spool(body, &zip_path).await?;
    // Each send holds its ZIP and the encrypted parts on disk (up to twice 5 GB): only a few at a time, counted
    // once the package is in.
    let _turn = SENDING.acquire().await.map_err(|e| ApiError(OpError::Internal(e.into())))?;
    let sent = batch::send_zip(&state.ops, &tenant, version, params.offline, &zip_path, &work.path().join("parts")).await?;
    Ok(Json(KsefSessionSendBatchResponse {
        id: sent.id,
        created: sent.created,
        invoice_count: sent.invoice_count as i64,
        part_count: sent.parts as i64,
    }))
}

fn internal(err: std::io::Error) -> ApiError {
    ApiError(OpError::Internal(err.into()))
}

/// Writes the request body to `path` as it arrives (a package may be far larger than memory), up to KSeF's
/// package limit.
async fn spool(body: Body, path: &std::path::Path) -> Result<(), ApiError> {
    let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut stream = body.into_data_stream();
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::refused(ErrorCode::InvoiceFormat, format!("the ZIP did not arrive whole: {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_BATCH_PACKAGE_BYTES {
            let limit = MAX_BATCH_PACKAGE_BYTES;
            return Err(ApiError::refused(ErrorCode::InvoiceSize, format!("a batch package may have at most {limit} bytes")));
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)
}
