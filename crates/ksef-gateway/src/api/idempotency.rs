//! `Idempotency-Key` on POST requests: the first request with a key runs; a repeat of the same request gets the
//! stored answer; the key with a different request is refused (1903); a repeat while the first still runs is 1904.
//! Answers of 5xx are not stored, so a failed attempt can be retried under the same key. A key is kept for
//! [`IDEMPOTENCY_KEY_LIFETIME`]; answers over [`MAX_STORED_BODY`] (PDFs, generated XML: the answers of operations that
//! change nothing) are not kept, and a repeat of such a request runs it again.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts as _, OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use chrono::Utc;
use ksef_core::crypto::sha256_base64;
use ksef_store::{IdempotencyStart, StoredResponse};

use super::AppState;
use super::error::ApiError;
use super::extract::Authenticated;
use crate::errors::ErrorCode;
use crate::ops::{IDEMPOTENCY_KEY_LIFETIME, OpError, micros};

/// Longest key accepted.
const MAX_KEY_LEN: usize = 200;
/// Largest answer kept for repeats.
const MAX_STORED_BODY: usize = 64 * 1024;

/// The middleware.
pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(key) = key.filter(|_| request.method() == Method::POST) else {
        return next.run(request).await;
    };
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return ApiError::refused(ErrorCode::RequestInvalid, format!("Idempotency-Key must have 1 to {MAX_KEY_LEN} characters")).into_response();
    }
    let (mut parts, body) = request.into_parts();
    let tenant = match Authenticated::from_request_parts(&mut parts, &state).await {
        Ok(Authenticated(tenant)) => tenant,
        Err(err) => return err.into_response(),
    };
    let limit = state.max_body;
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::refused(ErrorCode::InvoiceSize, "request body too large").into_response();
    };
    // The full path, as the caller wrote it (the router strips the /api/v2 prefix before we run).
    let path = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
    let fingerprint = fingerprint(&path, &bytes);
    let store = &state.ops.store;
    let now = Utc::now();
    match store.begin_idempotent(&tenant.id, &key, &fingerprint, micros(now), micros(now - IDEMPOTENCY_KEY_LIFETIME)).await {
        Ok(IdempotencyStart::Run) => {}
        Ok(IdempotencyStart::Replay(stored)) => return replay(stored),
        Ok(IdempotencyStart::Rerun) => return next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(IdempotencyStart::InProgress) => {
            return ApiError(OpError::conflict(ErrorCode::IdempotencyInProgress, "the first request with this key is still running"))
                .into_response();
        }
        Ok(IdempotencyStart::Mismatch) => {
            return ApiError::refused(ErrorCode::IdempotencyMismatch, "this Idempotency-Key was used with a different request").into_response();
        }
        Err(err) => return ApiError(OpError::Internal(err.into())).into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        let _ = store.abandon_idempotent(&tenant.id, &key).await;
        return ApiError(OpError::Internal(anyhow::anyhow!("response body unreadable"))).into_response();
    };
    if parts.status.is_server_error() {
        let _ = store.abandon_idempotent(&tenant.id, &key).await;
    } else {
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let kept = match parts.extensions.get::<KeepInstead>() {
            Some(instead) => Some(instead.0.clone()),
            None => (body.len() <= MAX_STORED_BODY).then(|| body.to_vec()),
        };
        let stored = StoredResponse { status: parts.status.as_u16(), content_type, body: kept };
        if let Err(err) = store.finish_idempotent(&tenant.id, &key, &stored).await {
            tracing::error!(error = %err, "failed to store an idempotent response; a repeat will run again");
            let _ = store.abandon_idempotent(&tenant.id, &key).await;
        }
    }
    Response::from_parts(parts, Body::from(body))
}

/// Set on a response whose body must not be kept as it is (it holds a secret shown only once): this body is kept
/// instead, and a repeat with the same key is answered with it.
#[derive(Debug, Clone)]
pub struct KeepInstead(pub Vec<u8>);

/// What identifies a request for its idempotency key: its path and its exact body.
pub fn fingerprint(path: &str, body: &[u8]) -> String {
    sha256_base64(&[path.as_bytes(), b"\n", body].concat())
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body.unwrap_or_default()));
    *response.status_mut() = axum::http::StatusCode::from_u16(stored.status).unwrap_or(axum::http::StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&stored.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
