//! Optional rate limiting with KSeF's published per-group limits, counted per (context, IP) in sliding
//! windows of one second, one minute and one hour; a refusal is 429 with `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::config::RateLimitProfile;
use crate::error::EmuError;
use crate::state::AppState;

/// Requests allowed per second, minute and hour (`None`: no limit in that window).
#[derive(Debug, Clone, Copy)]
struct Limits {
    per_second: u32,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
}

/// KSeF's published limits per group (requests per second, minute, hour; −1: none), as `GET /rate-limits`
/// reports them (OpenAPI 2.9.0).
pub(crate) const OFFICIAL: [(&str, i32, i32, i32); 17] = [
    ("onlineSession", 10, 30, 120),
    ("onlineSessionClose", 20, 60, 240),
    ("batchSession", 10, 20, 60),
    ("batchSessionClose", 20, 40, 120),
    ("invoiceSend", 10, 30, 180),
    ("invoiceStatus", 30, 120, 1200),
    ("sessionList", 5, 10, 60),
    ("sessionInvoiceList", 10, 20, 200),
    ("sessionMisc", 10, 120, 1200),
    ("invoiceMetadata", 8, 16, 20),
    ("invoiceExport", 8, 16, 20),
    ("invoiceExportStatus", 10, 60, 600),
    ("invoiceDownload", 8, 16, 64),
    ("collectiveIdentifier", 20, 120, 240),
    ("other", 10, 30, 120),
    ("anonymous", 60, -1, -1),
    ("global", 75, -1, -1),
];

fn official(name: &'static str) -> (&'static str, Limits) {
    let (_, s, m, h) = OFFICIAL.iter().copied().find(|(n, ..)| *n == name).expect("a published group");
    let window = |n: i32| u32::try_from(n).ok();
    (name, Limits { per_second: window(s).unwrap_or(u32::MAX), per_minute: window(m), per_hour: window(h) })
}

/// The official group of an endpoint (`docs:limity/limity-api.md`); `None` for unlimited endpoints.
fn group(method: &Method, path: &str) -> Option<(&'static str, Limits)> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    Some(official(match path {
        "/v2/sessions/online" if post => "onlineSession",
        "/v2/sessions/online/{reference}/close" if post => "onlineSessionClose",
        "/v2/sessions/batch" if post => "batchSession",
        "/v2/sessions/batch/{reference}/close" if post => "batchSessionClose",
        "/v2/sessions/online/{reference}/invoices" if post => "invoiceSend",
        "/v2/sessions/{reference}/invoices/{invoice}" if get => "invoiceStatus",
        "/v2/sessions" if get => "sessionList",
        "/v2/sessions/{reference}/invoices" | "/v2/sessions/{reference}/invoices/failed" if get => "sessionInvoiceList",
        "/v2/sessions/{reference}"
        | "/v2/sessions/{reference}/upo/{upo}"
        | "/v2/sessions/{reference}/invoices/{invoice}/upo"
        | "/v2/sessions/{reference}/invoices/ksef/{ksef_number}/upo"
            if get =>
        {
            "sessionMisc"
        }
        "/v2/invoices/query/metadata" if post => "invoiceMetadata",
        "/v2/invoices/exports" if post => "invoiceExport",
        "/v2/invoices/exports/{reference}" if get => "invoiceExportStatus",
        "/v2/invoices/ksef/{ksef_number}" if get => "invoiceDownload",
        p if p.starts_with("/v2/auth/") || p.starts_with("/v2/testdata/") || p == "/v2/security/public-key-certificates" => {
            "anonymous"
        }
        p if p.starts_with("/v2/") => "other",
        // Pre-signed storage URLs and the emulator's own endpoints are not limited.
        _ => return None,
    }))
}

/// Sliding-window counters per (group, context, IP).
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<(&'static str, String), VecDeque<Instant>>>,
    admitted: std::sync::atomic::AtomicU64,
}

impl RateLimiter {
    pub(crate) fn for_profile(profile: RateLimitProfile) -> Option<RateLimiter> {
        match profile {
            RateLimitProfile::Off => None,
            RateLimitProfile::Official => Some(RateLimiter::default()),
        }
    }

    /// Records a request, or says how many seconds to wait.
    fn admit(&self, group: &'static str, key: String, limits: Limits, now: Instant) -> Result<(), (u64, String)> {
        let hour = Duration::from_secs(3600);
        // Only the longest window a group limits needs remembering.
        let horizon = if limits.per_hour.is_some() {
            hour
        } else if limits.per_minute.is_some() {
            Duration::from_secs(60)
        } else {
            Duration::from_secs(1)
        };
        let mut windows = self.windows.lock().expect("rate limiter lock");
        // Now and then, drop callers that have been quiet for an hour, so the map does not grow for ever.
        if self.admitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4096 == 4095 {
            windows.retain(|_, log| log.back().is_some_and(|t| now.duration_since(*t) < hour));
        }
        let log = windows.entry((group, key)).or_default();
        while log.front().is_some_and(|t| now.duration_since(*t) >= horizon) {
            log.pop_front();
        }
        let checks = [
            (Duration::from_secs(1), Some(limits.per_second), "sekundę"),
            (Duration::from_secs(60), limits.per_minute, "minutę"),
            (hour, limits.per_hour, "godzinę"),
        ];
        for (window, limit, unit) in checks {
            let Some(limit) = limit else { continue };
            let in_window: Vec<&Instant> = log.iter().filter(|t| now.duration_since(**t) < window).collect();
            if in_window.len() >= limit as usize {
                // The oldest request in the window leaves it first.
                let wait = window.saturating_sub(now.duration_since(*in_window[0]));
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err((secs.max(1), format!("Przekroczono limit {limit} żądań na {unit}. Spróbuj ponownie po {} sekundach.", secs.max(1))));
            }
        }
        log.push_back(now);
        Ok(())
    }
}

/// Middleware that applies the limiter, when one is configured.
pub(crate) async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.limiter.as_ref() else {
        return next.run(request).await;
    };
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let Some((group, limits)) = path.as_deref().and_then(|p| group(request.method(), p)) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let ip = crate::extract::client_ip(&parts, &state);
    let context = crate::extract::unverified_context(&parts, &state).unwrap_or_default();
    if let Err((retry_after, detail)) = limiter.admit(group, format!("{context}|{ip}"), limits, Instant::now()) {
        return too_many_requests(retry_after, Some(detail)).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The 429 the limiter answers, with `Retry-After: retry_after`. Fault injection's `rateLimit` answers it too
/// (without `detail`, as no real limit was reached), so a client sees one shape of 429.
pub(crate) fn too_many_requests(retry_after: u64, detail: Option<String>) -> EmuError {
    let detail = detail
        .unwrap_or_else(|| format!("Przekroczono limit żądań. Spróbuj ponownie po {retry_after} sekundach."));
    EmuError::TooManyRequests { retry_after, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_session_list_in_one_second_waits_and_other_contexts_do_not() {
        let limiter = RateLimiter::default();
        let (group, limits) = group(&Method::GET, "/v2/sessions").unwrap();
        let now = Instant::now();
        for _ in 0..5 {
            limiter.admit(group, "a".into(), limits, now).unwrap();
        }
        let (retry, detail) = limiter.admit(group, "a".into(), limits, now).unwrap_err();
        assert_eq!(retry, 1);
        assert!(detail.contains("5 żądań na sekundę"));
        limiter.admit(group, "b".into(), limits, now).unwrap();
        // After a second the per-second window has room, but the per-minute limit (10) still counts.
        for i in 0..5 {
            limiter.admit(group, "a".into(), limits, now + Duration::from_millis(1000 + i)).unwrap();
        }
        let (retry, _) = limiter.admit(group, "a".into(), limits, now + Duration::from_secs(2)).unwrap_err();
        assert!(retry > 50, "minute window: {retry}");
    }

    #[test]
    fn storage_urls_are_not_limited() {
        assert!(group(&Method::GET, "/storage/exports/{reference}/{part}").is_none());
        assert_eq!(group(&Method::POST, "/v2/sessions/online/{reference}/invoices").unwrap().0, "invoiceSend");
    }
}
