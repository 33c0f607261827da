//! Extractors that turn bad input into our error envelope: the API key, and JSON bodies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::errors::ErrorCode;
use crate::ops::{Tenant, tenants};

/// How long a verified API key is trusted without asking the database again (a revoked key stops working
/// within this time).
const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

/// Verified API keys by hash.
#[derive(Debug, Default)]
pub struct ApiKeyCache(Mutex<HashMap<String, (Tenant, Instant)>>);

/// The tenant whose API key came with the request (`Authorization: Bearer kgw_…` or `X-API-Key: kgw_…`).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Tenant);

fn presented_key(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    bearer.or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok())).map(str::trim)
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(tenant) = parts.extensions.get::<Authenticated>() {
            return Ok(tenant.clone());
        }
        let key = presented_key(parts).ok_or_else(|| ApiError::refused(ErrorCode::ApiKey, "send your API key as Authorization: Bearer kgw_…"))?;
        let hash = tenants::api_key_hash(key);
        let cached = state.api_keys.0.lock().expect("key cache lock").get(&hash).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(t, _)| t.clone());
        let tenant = match cached {
            Some(tenant) => tenant,
            None => {
                let tenant = tenants::authenticate(&state.ops, key).await?;
                state.api_keys.0.lock().expect("key cache lock").insert(hash, (tenant.clone(), Instant::now()));
                tenant
            }
        };
        parts.extensions.insert(Authenticated(tenant.clone()));
        Ok(Authenticated(tenant))
    }
}

/// A request body class, with the code its malformed form is refused with.
pub trait RequestBody: DeserializeOwned {
    /// The code for a body that is not this class.
    const MALFORMED: ErrorCode;
}

/// A JSON body of a request class; anything else is refused with the class's code, never with a plain-text 4xx.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: RequestBody, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let code = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE { ErrorCode::InvoiceSize } else { T::MALFORMED };
            ApiError::refused(code, e.body_text())
        })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| ApiError::refused(T::MALFORMED, format!("invalid JSON body: {e}")))
    }
}
