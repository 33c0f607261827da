//! Optional rate limiting with KSeF's published per-group limits (or those TEST's `/testdata/rate-limits` set for
//! a context), counted per (context, IP) in sliding windows of one second, one minute and one hour; a refusal is
//! 429 with `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use ksef_core::limits::{RateGroup, RateLimit};

use crate::config::RateLimitProfile;
use crate::error::EmuError;
use crate::state::AppState;

/// The official group of an endpoint (`docs:limity/limity-api.md`); `None` for unlimited endpoints.
fn group(method: &Method, path: &str) -> Option<RateGroup> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    Some(match path {
        "/v2/sessions/online" if post => RateGroup::OnlineSession,
        "/v2/sessions/online/{reference}/close" if post => RateGroup::OnlineSessionClose,
        "/v2/sessions/batch" if post => RateGroup::BatchSession,
        "/v2/sessions/batch/{reference}/close" if post => RateGroup::BatchSessionClose,
        "/v2/sessions/online/{reference}/invoices" if post => RateGroup::InvoiceSend,
        "/v2/sessions/{reference}/invoices/{invoice}" if get => RateGroup::InvoiceStatus,
        "/v2/sessions" if get => RateGroup::SessionList,
        "/v2/sessions/{reference}/invoices" | "/v2/sessions/{reference}/invoices/failed" if get => RateGroup::SessionInvoiceList,
        "/v2/sessions/{reference}"
        | "/v2/sessions/{reference}/upo/{upo}"
        | "/v2/sessions/{reference}/invoices/{invoice}/upo"
        | "/v2/sessions/{reference}/invoices/ksef/{ksef_number}/upo"
            if get =>
        {
            RateGroup::SessionMisc
        }
        "/v2/invoices/query/metadata" if post => RateGroup::InvoiceMetadata,
        "/v2/invoices/exports" if post => RateGroup::InvoiceExport,
        "/v2/invoices/exports/{reference}" if get => RateGroup::InvoiceExportStatus,
        "/v2/invoices/ksef/{ksef_number}" if get => RateGroup::InvoiceDownload,
        p if p.starts_with("/v2/auth/") || p.starts_with("/v2/testdata/") || p == "/v2/security/public-key-certificates" => {
            RateGroup::Anonymous
        }
        p if p.starts_with("/v2/") => RateGroup::Other,
        // Pre-signed storage URLs and the emulator's own endpoints are not limited.
        _ => return None,
    })
}

/// Sliding-window counters per (group, context, IP), and the limits TEST's test data set per context.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<(RateGroup, String), VecDeque<Instant>>>,
    admitted: std::sync::atomic::AtomicU64,
    refused: std::sync::atomic::AtomicU64,
    /// A context's limits by group where `/testdata/rate-limits` changed them, read from the database on first
    /// use (`None`: the published ones).
    overrides: Mutex<HashMap<String, Option<HashMap<RateGroup, RateLimit>>>>,
}

impl RateLimiter {
    pub(crate) fn for_profile(profile: RateLimitProfile) -> Option<RateLimiter> {
        match profile {
            RateLimitProfile::Off => None,
            RateLimitProfile::Official => Some(RateLimiter::default()),
        }
    }

    /// How many requests were refused with 429 so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets what is known of `context`'s limits, after its test data changed them.
    pub(crate) fn forget_overrides(&self, context: &str) {
        self.overrides.lock().expect("rate limiter lock").remove(context);
    }

    /// The limits of `group` for `context`: TEST's override, or the published ones.
    async fn limits(&self, state: &AppState, context: &str, group: RateGroup) -> RateLimit {
        let known = self.overrides.lock().expect("rate limiter lock").get(context).cloned();
        let overrides = match known {
            Some(overrides) => overrides,
            None => {
                let read = state.db.test_limits("rate-limits", context).await.ok().flatten();
                let parsed = read.and_then(|body| parse_overrides(&body));
                self.overrides.lock().expect("rate limiter lock").insert(context.to_owned(), parsed.clone());
                parsed
            }
        };
        overrides.and_then(|o| o.get(&group).copied()).unwrap_or_else(|| group.published())
    }

    /// Records a request, or says how many seconds to wait.
    fn admit(&self, group: RateGroup, key: String, limits: RateLimit, now: Instant) -> Result<(), (u64, String)> {
        let hour = Duration::from_secs(3600);
        // Only the longest window a group limits needs remembering.
        let horizon = Duration::from_secs(limits.windows().map(|(secs, _)| secs).max().unwrap_or(0));
        let mut windows = self.windows.lock().expect("rate limiter lock");
        // Now and then, drop callers that have been quiet for an hour, so the map does not grow for ever.
        if self.admitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4096 == 4095 {
            windows.retain(|_, log| log.back().is_some_and(|t| now.duration_since(*t) < hour));
        }
        let log = windows.entry((group, key)).or_default();
        while log.front().is_some_and(|t| now.duration_since(*t) >= horizon) {
            log.pop_front();
        }
        for (secs, limit) in limits.windows() {
            let window = Duration::from_secs(secs);
            let unit = match secs {
                1 => "sekundę",
                60 => "minutę",
                _ => "godzinę",
            };
            let in_window: Vec<&Instant> = log.iter().filter(|t| now.duration_since(**t) < window).collect();
            if in_window.len() >= limit as usize {
                // The oldest request in the window leaves it first (a limit of 0 admits nothing for a whole window).
                let wait = in_window.first().map_or(window, |oldest| window.saturating_sub(now.duration_since(**oldest)));
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err((secs.max(1), format!("Przekroczono limit {limit} żądań na {unit}. Spróbuj ponownie po {} sekundach.", secs.max(1))));
            }
        }
        log.push_back(now);
        Ok(())
    }
}

/// The groups `/testdata/rate-limits` set (`{"invoiceSend": {"perSecond": 1, "perMinute": 5, "perHour": 10}, …}`).
fn parse_overrides(body: &str) -> Option<HashMap<RateGroup, RateLimit>> {
    let map: HashMap<String, ksef_wire::testdata::RateLimit> = serde_json::from_str(body).ok()?;
    Some(
        map.into_iter()
            .filter_map(|(name, l)| RateGroup::parse(&name).map(|g| (g, RateLimit::from_published(l.per_second, l.per_minute, l.per_hour))))
            .collect(),
    )
}

/// Middleware that applies the limiter, when one is configured.
pub(crate) async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.limiter.as_ref() else {
        return next.run(request).await;
    };
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let Some(group) = path.as_deref().and_then(|p| group(request.method(), p)) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let ip = crate::extract::client_ip(&parts, &state);
    let context = crate::extract::unverified_context(&parts, &state).unwrap_or_default();
    let limits = limiter.limits(&state, &context, group).await;
    if let Err((retry_after, detail)) = limiter.admit(group, format!("{context}|{ip}"), limits, Instant::now()) {
        limiter.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        let group = group(&Method::GET, "/v2/sessions").unwrap();
        let limits = group.published();
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
    fn a_limit_of_zero_refuses_for_a_whole_window_without_failing() {
        let limiter = RateLimiter::default();
        let zero = RateLimit { per_second: Some(0), per_minute: None, per_hour: None };
        let (retry, _) = limiter.admit(RateGroup::InvoiceSend, "a".into(), zero, Instant::now()).unwrap_err();
        assert_eq!(retry, 1);
        limiter.admit(RateGroup::InvoiceSend, "a".into(), RateGroup::InvoiceSend.published(), Instant::now()).unwrap();
    }

    #[test]
    fn storage_urls_are_not_limited() {
        assert!(group(&Method::GET, "/storage/exports/{reference}/{part}").is_none());
        assert_eq!(group(&Method::POST, "/v2/sessions/online/{reference}/invoices"), Some(RateGroup::InvoiceSend));
    }
}
