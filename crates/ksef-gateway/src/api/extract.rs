//! Extractors that turn bad input into our error envelope: the API key, and JSON bodies.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::errors::ErrorCode;
use crate::ops::{OpError, Tenant, admin, tenants};

/// How long a verified API key is trusted without asking the database again (a revoked key stops working
/// within this time).
const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

/// Wrong API keys one address may present within [`FAILURE_WINDOW`] before it is refused (1905) until the
/// window has passed: guessing keys is slowed to a crawl, and a client with a stale key is told why.
const MAX_KEY_FAILURES: u32 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at once; past it, the oldest windows are forgotten first.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Verified API keys by hash, and recent failures by address.
#[derive(Debug, Default)]
pub struct ApiKeyCache {
    keys: Mutex<HashMap<String, (Tenant, Instant)>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl ApiKeyCache {
    /// Forgets the verified keys of `tenant_id` (its keys were rotated, or it was disabled), so this instance
    /// asks the database again at once.
    pub fn forget_tenant(&self, tenant_id: &str) {
        self.keys.lock().expect("key cache lock").retain(|_, (t, _)| t.id != tenant_id);
    }

    pub(crate) fn locked_out(&self, address: IpAddr) -> bool {
        let failures = self.failures.lock().expect("key failures lock");
        failures.get(&address).is_some_and(|(count, since)| *count >= MAX_KEY_FAILURES && since.elapsed() < FAILURE_WINDOW)
    }

    pub(crate) fn failed(&self, address: IpAddr) {
        let mut failures = self.failures.lock().expect("key failures lock");
        if failures.len() >= MAX_TRACKED_ADDRESSES {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if failures.len() >= MAX_TRACKED_ADDRESSES {
                failures.clear();
            }
        }
        let entry = failures.entry(address).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

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
        let cache = &state.api_keys;
        let cached = cache.keys.lock().expect("key cache lock").get(&hash).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(t, _)| t.clone());
        let tenant = match cached {
            Some(tenant) => tenant,
            None => {
                let address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
                if address.is_some_and(|a| cache.locked_out(a)) {
                    return Err(ApiError::refused(
                        ErrorCode::TooManyRequests,
                        format!("more than {MAX_KEY_FAILURES} wrong API keys from this address within {} s; wait", FAILURE_WINDOW.as_secs()),
                    ));
                }
                let tenant = tenants::authenticate(&state.ops, key).await.inspect_err(|err| {
                    if let (Some(address), OpError::Refused { code: ErrorCode::ApiKey, .. }) = (address, err) {
                        cache.failed(address);
                    }
                })?;
                cache.keys.lock().expect("key cache lock").insert(hash, (tenant.clone(), Instant::now()));
                tenant
            }
        };
        parts.extensions.insert(Authenticated(tenant.clone()));
        Ok(Authenticated(tenant))
    }
}

/// The operator, whose key (`Authorization: Bearer kgo_…`) came with the request: the admin API's caller.
#[derive(Debug, Clone)]
pub struct OperatorAuth(pub admin::Actor);

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts).ok_or_else(|| ApiError::refused(ErrorCode::OperatorKey, "send the operator key as Authorization: Bearer kgo_…"))?;
        let cache = &state.api_keys;
        let address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        // Wrong operator keys count with wrong API keys: guessing either is slowed alike.
        if address.is_some_and(|a| cache.locked_out(a)) {
            return Err(ApiError::refused(
                ErrorCode::TooManyRequests,
                format!("more than {MAX_KEY_FAILURES} wrong keys from this address within {} s; wait", FAILURE_WINDOW.as_secs()),
            ));
        }
        let actor = admin::authenticate_operator(&state.ops, key).await.inspect_err(|err| {
            if let (Some(address), OpError::Refused { code: ErrorCode::OperatorKey, .. }) = (address, err) {
                cache.failed(address);
            }
        })?;
        Ok(OperatorAuth(actor))
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
