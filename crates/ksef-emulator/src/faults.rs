//! Fault injection, which is NOT part of KSeF: rules that make the emulator fail the way a real KSeF can
//! (outages, 5xx, slowness, 429, answers lost after the work was done, processing that stalls), so that a
//! client's retries and its outbox can be tested against them.
//!
//! Rules come from [`crate::EmulatorConfig::faults`], from `/emulator/v1/faults` (with the test API) or from
//! [`Faults`] directly. Request rules are applied by one middleware ([`inject`]); `holdProcessing` and
//! `delayUpo` are consulted by the processing worker. With no rule, a request pays for one atomic load.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};

use crate::error::EmuError;
use crate::state::AppState;

/// Most rules held at once (active or not).
pub const MAX_FAULT_RULES: usize = 100;
/// Longest latency a rule may add, in milliseconds (10 minutes).
pub const MAX_FAULT_LATENCY_MS: u64 = 600_000;
/// Longest `Retry-After` a rule may announce, in seconds (one day).
pub const MAX_FAULT_RETRY_AFTER_SECS: u64 = 86_400;
/// How long `closeTimeout` holds the answer when the rule names no latency: past a client's usual timeout.
pub const DEFAULT_CLOSE_TIMEOUT_MS: u64 = 70_000;
/// The header naming the rule that changed an answer, so a test's failure message can say which one did.
pub const FAULT_HEADER: &str = "x-ksef-emulator-fault";

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// 503 with a problem-details body (and `Retry-After` when `retryAfterSecs` is given); nothing is done.
    Unavailable,
    /// The status in `status` (500 unless given, any 5xx) with a problem-details body; nothing is done.
    Error,
    /// Waits `latencyMs`, then answers normally.
    Latency,
    /// 429 with `Retry-After: retryAfterSecs` (1 unless given), the body the emulator's rate limiter sends.
    RateLimit,
    /// The request is handled and its effect stays, but the answer is replaced by a 500.
    AcceptedThenError,
    /// The request is handled and its effect stays, but the connection is cut before any answer reaches the
    /// client, which sees a transport error.
    AcceptedThenDisconnect,
    /// While active, the processing worker leaves received invoices alone: they report status 150 and get
    /// their verdicts once the rule ends or is removed.
    HoldProcessing,
    /// While active, closed sessions get no UPO and keep their in-progress status; the UPO comes afterwards.
    DelayUpo,
    /// A session close takes effect, but its answer comes only after `latencyMs` (70,000 unless given),
    /// after a client's timeout.
    CloseTimeout,
}

impl FaultKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Unavailable,
        FaultKind::Error,
        FaultKind::Latency,
        FaultKind::RateLimit,
        FaultKind::AcceptedThenError,
        FaultKind::AcceptedThenDisconnect,
        FaultKind::HoldProcessing,
        FaultKind::DelayUpo,
        FaultKind::CloseTimeout,
    ];

    /// The name in JSON and in the compact form.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::Unavailable => "unavailable",
            FaultKind::Error => "error",
            FaultKind::Latency => "latency",
            FaultKind::RateLimit => "rateLimit",
            FaultKind::AcceptedThenError => "acceptedThenError",
            FaultKind::AcceptedThenDisconnect => "acceptedThenDisconnect",
            FaultKind::HoldProcessing => "holdProcessing",
            FaultKind::DelayUpo => "delayUpo",
            FaultKind::CloseTimeout => "closeTimeout",
        }
    }

    /// Whether the kind acts on the processing worker rather than on requests.
    pub const fn is_background(self) -> bool {
        matches!(self, FaultKind::HoldProcessing | FaultKind::DelayUpo)
    }
}

/// Which requests a rule applies to. `/emulator/v1` is never affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointGroup {
    /// Every `/v2` route.
    #[default]
    All,
    /// `/v2/auth/**`.
    Auth,
    /// `POST /v2/sessions/online` and `POST /v2/sessions/batch`.
    OpenSession,
    /// `POST /v2/sessions/online/{ref}/invoices`.
    Send,
    /// `POST /v2/sessions/{online|batch}/{ref}/close`.
    Close,
    /// `GET /v2/sessions/**`: session lists and statuses, invoice lists and statuses, UPOs.
    SessionRead,
    /// `/v2/invoices/**`.
    Invoices,
    /// The pre-signed `/storage/**` URLs (UPO and export downloads, batch part uploads).
    Storage,
}

impl EndpointGroup {
    /// Every group.
    pub const ALL: [EndpointGroup; 8] = [
        EndpointGroup::All,
        EndpointGroup::Auth,
        EndpointGroup::OpenSession,
        EndpointGroup::Send,
        EndpointGroup::Close,
        EndpointGroup::SessionRead,
        EndpointGroup::Invoices,
        EndpointGroup::Storage,
    ];

    /// The name in JSON and in the compact form.
    pub const fn as_str(self) -> &'static str {
        match self {
            EndpointGroup::All => "all",
            EndpointGroup::Auth => "auth",
            EndpointGroup::OpenSession => "openSession",
            EndpointGroup::Send => "send",
            EndpointGroup::Close => "close",
            EndpointGroup::SessionRead => "sessionRead",
            EndpointGroup::Invoices => "invoices",
            EndpointGroup::Storage => "storage",
        }
    }

    /// Whether a request with `method` to `path` (the full path, as received) belongs to the group.
    pub fn matches(self, method: &Method, path: &str) -> bool {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let post = method == Method::POST;
        match (self, segments.as_slice()) {
            (EndpointGroup::All, ["v2", ..]) => true,
            (EndpointGroup::Auth, ["v2", "auth", _, ..]) => true,
            (EndpointGroup::OpenSession, ["v2", "sessions", "online" | "batch"]) => post,
            (EndpointGroup::Send, ["v2", "sessions", "online", _, "invoices"]) => post,
            (EndpointGroup::Close, ["v2", "sessions", "online" | "batch", _, "close"]) => post,
            (EndpointGroup::SessionRead, ["v2", "sessions", ..]) => method == Method::GET,
            (EndpointGroup::Invoices, ["v2", "invoices", _, ..]) => true,
            (EndpointGroup::Storage, ["storage", _, ..]) => true,
            _ => false,
        }
    }
}

fn one() -> f64 {
    1.0
}

fn is_one(share: &f64) -> bool {
    *share == 1.0
}

/// One fault rule, as JSON (camelCase) or in the compact form of [`FaultRule::from_str`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// What the rule does.
    pub kind: FaultKind,
    /// Which requests it applies to (default `all`; `closeTimeout` applies to `close` only).
    #[serde(default)]
    pub endpoints: EndpointGroup,
    /// The share of matching requests affected, drawn at random per request (default 1.0, every one).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub share: f64,
    /// For `error`: the status, 500 to 599 (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For `latency` (required) and `closeTimeout` (default 70,000): the delay, at most 600,000 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// For `rateLimit` (default 1) and `unavailable` (no header unless given): the `Retry-After` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Active for this long from the rule's creation; without it, until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// Affects at most this many requests, then becomes inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl FaultRule {
    /// A rule of `kind` with every option at its default: every `/v2` request, always, until removed.
    pub fn new(kind: FaultKind) -> FaultRule {
        FaultRule {
            kind,
            endpoints: EndpointGroup::All,
            share: 1.0,
            status: None,
            latency_ms: None,
            retry_after_secs: None,
            duration_secs: None,
            count: None,
        }
    }

    /// Checks the rule as [`Faults::add`] does.
    pub fn validate(&self) -> Result<(), FaultError> {
        self.clone().checked().map(drop)
    }

    /// The rule checked, with `closeTimeout`'s endpoints narrowed to `close`.
    fn checked(mut self) -> Result<FaultRule, FaultError> {
        let kind = self.kind.as_str();
        if !(0.0..=1.0).contains(&self.share) {
            return Err(FaultError::new(format!("share must be between 0.0 and 1.0, not {}", self.share)));
        }
        match (self.kind, self.status) {
            (FaultKind::Error, Some(status)) if !(500..=599).contains(&status) => {
                return Err(FaultError::new(format!("status of an error rule must be 500 to 599, not {status}")));
            }
            (FaultKind::Error, _) | (_, None) => {}
            (_, Some(_)) => return Err(FaultError::new(format!("status applies only to kind error, not {kind}"))),
        }
        match (self.kind, self.latency_ms) {
            (_, Some(ms)) if ms > MAX_FAULT_LATENCY_MS => {
                return Err(FaultError::new(format!("latencyMs must be at most {MAX_FAULT_LATENCY_MS}, not {ms}")));
            }
            (FaultKind::Latency, None) => return Err(FaultError::new("kind latency needs latencyMs")),
            (FaultKind::Latency | FaultKind::CloseTimeout, _) | (_, None) => {}
            (_, Some(_)) => {
                return Err(FaultError::new(format!("latencyMs applies only to kinds latency and closeTimeout, not {kind}")));
            }
        }
        match (self.kind, self.retry_after_secs) {
            (_, Some(secs)) if secs > MAX_FAULT_RETRY_AFTER_SECS => {
                return Err(FaultError::new(format!(
                    "retryAfterSecs must be at most {MAX_FAULT_RETRY_AFTER_SECS}, not {secs}"
                )));
            }
            (FaultKind::RateLimit | FaultKind::Unavailable, _) | (_, None) => {}
            (_, Some(_)) => {
                return Err(FaultError::new(format!(
                    "retryAfterSecs applies only to kinds rateLimit and unavailable, not {kind}"
                )));
            }
        }
        if self.duration_secs == Some(0) {
            return Err(FaultError::new("durationSecs must be at least 1"));
        }
        if self.count == Some(0) {
            return Err(FaultError::new("count must be at least 1"));
        }
        if self.kind.is_background() {
            // These act on the worker, not on requests: nothing to choose among or to count.
            if self.endpoints != EndpointGroup::All || self.share != 1.0 || self.count.is_some() {
                return Err(FaultError::new(format!(
                    "{kind} acts on background processing: endpoints, share and count do not apply (use durationSecs, or remove the rule)"
                )));
            }
        }
        if self.kind == FaultKind::CloseTimeout {
            match self.endpoints {
                EndpointGroup::All | EndpointGroup::Close => self.endpoints = EndpointGroup::Close,
                other => {
                    return Err(FaultError::new(format!("closeTimeout applies to close requests only, not {}", other.as_str())));
                }
            }
        }
        Ok(self)
    }
}

/// The compact form, as `FaultRule::from_str` reads it.
impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.kind.is_background() {
            write!(f, "{}:", self.endpoints.as_str())?;
        }
        f.write_str(self.kind.as_str())?;
        let options = [
            ("status", self.status.map(u64::from)),
            ("ms", self.latency_ms),
            ("retryAfter", self.retry_after_secs),
            ("duration", self.duration_secs),
            ("count", self.count),
        ];
        for (name, value) in options {
            if let Some(value) = value {
                write!(f, ":{name}={value}")?;
            }
        }
        if self.share != 1.0 {
            write!(f, ":share={}", self.share)?;
        }
        Ok(())
    }
}

/// Reads the compact form `[GROUP:]KIND[:KEY=VALUE]...`, e.g. `send:error:share=0.2`, `all:latency:ms=200`,
/// `holdProcessing:duration=20`. Names are read in any case. Keys: `share`, `status`, `ms` (or `latencyMs`),
/// `retryAfter` (or `retryAfterSecs`), `duration` (or `durationSecs`), `count`. The rule is then checked.
impl FromStr for FaultRule {
    type Err = FaultError;

    fn from_str(spec: &str) -> Result<FaultRule, FaultError> {
        let mut parts = spec.trim().split(':');
        let first = parts.next().unwrap_or_default();
        let (endpoints, kind) = match named(&EndpointGroup::ALL, first, |g| g.as_str()) {
            Some(group) => (Some(group), parts.next().unwrap_or_default()),
            None => (None, first),
        };
        let kind = named(&FaultKind::ALL, kind, |k| k.as_str()).ok_or_else(|| {
            let kinds: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
            let groups: Vec<&str> = EndpointGroup::ALL.iter().map(|g| g.as_str()).collect();
            FaultError::new(format!(
                "fault '{spec}' has no known kind: expected [GROUP:]KIND[:KEY=VALUE]..., GROUP one of {}, KIND one of {}",
                groups.join(", "),
                kinds.join(", ")
            ))
        })?;
        let mut rule = FaultRule::new(kind);
        rule.endpoints = endpoints.unwrap_or_default();
        for option in parts {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| FaultError::new(format!("fault '{spec}': option '{option}' is not KEY=VALUE")))?;
            let number = || {
                value.trim().parse::<u64>().map_err(|_| FaultError::new(format!("fault '{spec}': {key} must be a whole number, not '{value}'")))
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "share" => {
                    rule.share = value
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| FaultError::new(format!("fault '{spec}': share must be a number, not '{value}'")))?;
                }
                "status" => {
                    let status = number()?;
                    rule.status = Some(u16::try_from(status).map_err(|_| FaultError::new(format!("fault '{spec}': no status {status}")))?);
                }
                "ms" | "latencyms" => rule.latency_ms = Some(number()?),
                "retryafter" | "retryaftersecs" => rule.retry_after_secs = Some(number()?),
                "duration" | "durationsecs" => rule.duration_secs = Some(number()?),
                "count" => rule.count = Some(number()?),
                _ => {
                    return Err(FaultError::new(format!(
                        "fault '{spec}': unknown option '{key}' (share, status, ms, retryAfter, duration, count)"
                    )));
                }
            }
        }
        rule.checked().map_err(|e| FaultError::new(format!("fault '{spec}': {e}")))
    }
}

/// The item of `names` whose name is `given`, in any case.
fn named<T: Copy>(items: &[T], given: &str, name: impl Fn(T) -> &'static str) -> Option<T> {
    items.iter().copied().find(|item| name(*item).eq_ignore_ascii_case(given.trim()))
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FaultError(String);

impl FaultError {
    fn new(message: impl Into<String>) -> FaultError {
        FaultError(message.into())
    }
}

/// A rule as held: its id, what it was told, how often it fired, and whether it still can.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// The id to remove it by (`f1`, `f2`, …).
    pub id: String,
    /// The rule (as added, except that `closeTimeout`'s endpoints read `close`).
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests it changed (for `holdProcessing` and `delayUpo`: worker rounds it held work back).
    pub hits: u64,
    /// Whether it still applies (false once its duration or count is used up).
    pub active: bool,
}

/// A rule with its counters.
#[derive(Debug)]
pub(crate) struct HeldRule {
    id: String,
    rule: FaultRule,
    created: Instant,
    hits: AtomicU64,
}

impl HeldRule {
    fn active(&self, now: Instant) -> bool {
        let in_time = self.rule.duration_secs.is_none_or(|secs| now.duration_since(self.created) < Duration::from_secs(secs));
        in_time && self.rule.count.is_none_or(|count| self.hits.load(Ordering::Acquire) < count)
    }

    /// Counts one hit, unless the rule's count is used up (two requests racing for the last one: one wins).
    fn claim(&self) -> bool {
        match self.rule.count {
            None => {
                self.hits.fetch_add(1, Ordering::AcqRel);
                true
            }
            Some(count) => self.hits.fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| (h < count).then_some(h + 1)).is_ok(),
        }
    }

    /// Counts one round of background work held back.
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::AcqRel);
    }

    fn view(&self, now: Instant) -> Fault {
        Fault { id: self.id.clone(), rule: self.rule.clone(), hits: self.hits.load(Ordering::Acquire), active: self.active(now) }
    }
}

/// The emulator's fault rules; shared, cheap to clone. Every clone sees the same rules.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<FaultsInner>);

#[derive(Debug, Default)]
struct FaultsInner {
    /// Whether any rule is held, so requests skip the lock when none is.
    any: AtomicBool,
    rules: Mutex<Vec<Arc<HeldRule>>>,
    next_id: AtomicU64,
}

impl Faults {
    /// Checks and adds a rule, active from now. When [`MAX_FAULT_RULES`] are held, inactive ones make room.
    pub fn add(&self, rule: FaultRule) -> Result<Fault, FaultError> {
        let rule = rule.checked()?;
        let now = Instant::now();
        let mut rules = self.0.rules.lock().expect("fault rules lock");
        if rules.len() >= MAX_FAULT_RULES {
            rules.retain(|r| r.active(now));
        }
        if rules.len() >= MAX_FAULT_RULES {
            return Err(FaultError::new(format!("at most {MAX_FAULT_RULES} fault rules at once; remove some first")));
        }
        let id = format!("f{}", self.0.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let held = Arc::new(HeldRule { id, rule, created: now, hits: AtomicU64::new(0) });
        rules.push(held.clone());
        self.0.any.store(true, Ordering::Release);
        Ok(held.view(now))
    }

    /// Every rule held, in the order added, active or not.
    pub fn list(&self) -> Vec<Fault> {
        let now = Instant::now();
        self.0.rules.lock().expect("fault rules lock").iter().map(|r| r.view(now)).collect()
    }

    /// The rule `id`, if held.
    pub fn get(&self, id: &str) -> Option<Fault> {
        let now = Instant::now();
        self.0.rules.lock().expect("fault rules lock").iter().find(|r| r.id == id).map(|r| r.view(now))
    }

    /// Removes the rule `id`; false if there is none.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.0.rules.lock().expect("fault rules lock");
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.0.any.store(!rules.is_empty(), Ordering::Release);
        rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = self.0.rules.lock().expect("fault rules lock");
        rules.clear();
        self.0.any.store(false, Ordering::Release);
    }

    fn any(&self) -> bool {
        self.0.any.load(Ordering::Acquire)
    }

    /// The first active rule of a background `kind`, if any.
    pub(crate) fn background(&self, kind: FaultKind) -> Option<Arc<HeldRule>> {
        if !self.any() {
            return None;
        }
        let now = Instant::now();
        self.0.rules.lock().expect("fault rules lock").iter().find(|r| r.rule.kind == kind && r.active(now)).cloned()
    }

    /// What to do with a request: latency rules add up; the first other rule that fires decides.
    fn plan(&self, method: &Method, path: &str) -> Plan {
        let mut plan = Plan { delay: Duration::ZERO, action: None, fired: Vec::new() };
        let now = Instant::now();
        let rules = self.0.rules.lock().expect("fault rules lock");
        for rule in rules.iter() {
            let r = &rule.rule;
            if r.kind.is_background() || !r.endpoints.matches(method, path) || !rule.active(now) {
                continue;
            }
            if r.share < 1.0 && random_unit() >= r.share {
                continue;
            }
            if !rule.claim() {
                continue;
            }
            plan.fired.push(rule.id.clone());
            let action = match r.kind {
                FaultKind::Latency => {
                    plan.delay += Duration::from_millis(r.latency_ms.unwrap_or_default());
                    continue;
                }
                FaultKind::Unavailable => Action::Refuse(EmuError::Injected {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    retry_after: r.retry_after_secs,
                }),
                FaultKind::Error => Action::Refuse(EmuError::Injected {
                    status: StatusCode::from_u16(r.status.unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    retry_after: None,
                }),
                FaultKind::RateLimit => {
                    let retry_after = r.retry_after_secs.unwrap_or(1);
                    Action::Refuse(crate::rate_limit::too_many_requests(retry_after, None))
                }
                FaultKind::AcceptedThenError => Action::ThenError,
                FaultKind::AcceptedThenDisconnect => Action::ThenDisconnect,
                FaultKind::CloseTimeout => {
                    Action::ThenWait(Duration::from_millis(r.latency_ms.unwrap_or(DEFAULT_CLOSE_TIMEOUT_MS)))
                }
                FaultKind::HoldProcessing | FaultKind::DelayUpo => continue,
            };
            plan.action = Some(action);
            break;
        }
        plan
    }
}

/// A uniform draw from [0, 1).
fn random_unit() -> f64 {
    let bits = u64::from_le_bytes(ksef_core::crypto::random_array::<8>());
    // The top 53 bits, the precision of an f64.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// What the rules decided for one request.
#[derive(Debug)]
struct Plan {
    delay: Duration,
    action: Option<Action>,
    /// The ids of the rules that fired, for [`FAULT_HEADER`].
    fired: Vec<String>,
}

#[derive(Debug)]
enum Action {
    /// Answer this instead of handling the request.
    Refuse(EmuError),
    /// Handle the request, then answer 500.
    ThenError,
    /// Handle the request, then cut the connection.
    ThenDisconnect,
    /// Handle the request, then wait this long before answering.
    ThenWait(Duration),
}

/// Middleware applying the request rules. `/emulator/v1` is never affected: the rules' own API must work.
pub(crate) async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.faults.any() || request.uri().path().starts_with("/emulator/") {
        return next.run(request).await;
    }
    let plan = state.faults.plan(request.method(), request.uri().path());
    if plan.fired.is_empty() {
        return next.run(request).await;
    }
    tracing::debug!(fault.rules = ?plan.fired, http.path = %request.uri().path(), "injecting a fault");
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let mut response = match plan.action {
        None => next.run(request).await,
        Some(Action::Refuse(err)) => err.into_response(),
        Some(Action::ThenError) => {
            // The effect stays; only the answer is lost.
            drop(next.run(request).await);
            EmuError::Injected { status: StatusCode::INTERNAL_SERVER_ERROR, retry_after: None }.into_response()
        }
        Some(Action::ThenDisconnect) => return disconnected(next.run(request).await),
        Some(Action::ThenWait(wait)) => {
            let response = next.run(request).await;
            tokio::time::sleep(wait).await;
            response
        }
    };
    if let Ok(value) = HeaderValue::from_str(&plan.fired.join(",")) {
        response.headers_mut().insert(FAULT_HEADER, value);
    }
    response
}

/// `response` with a body that fails at once. Over HTTP/1.1 hyper then closes the connection before the head it
/// had buffered is written, so the client gets no answer at all (a transport error, as when a network drops);
/// over HTTP/2 the stream is reset, possibly after the head.
fn disconnected(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    drop(body);
    // A server never polls the body of a 204 or 304, and would send the head complete; any other status
    // makes it read the failing body first.
    if matches!(parts.status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED) {
        parts.status = StatusCode::OK;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    let failing = futures_util::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection cut by fault injection (acceptedThenDisconnect)",
        ))
    });
    Response::from_parts(parts, Body::from_stream(failing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_read_as_the_documented_rules() {
        let rule: FaultRule = "send:error:share=0.2".parse().unwrap();
        assert_eq!((rule.kind, rule.endpoints, rule.share, rule.status), (FaultKind::Error, EndpointGroup::Send, 0.2, None));
        let rule: FaultRule = "all:unavailable:duration=30".parse().unwrap();
        assert_eq!((rule.kind, rule.duration_secs), (FaultKind::Unavailable, Some(30)));
        let rule: FaultRule = "send:acceptedThenError:count=5".parse().unwrap();
        assert_eq!(rule.count, Some(5));
        let rule: FaultRule = "all:latency:ms=200".parse().unwrap();
        assert_eq!(rule.latency_ms, Some(200));
        let rule: FaultRule = "all:rateLimit:retryAfter=2:share=0.5".parse().unwrap();
        assert_eq!((rule.retry_after_secs, rule.share), (Some(2), 0.5));
        let rule: FaultRule = "holdProcessing:duration=20".parse().unwrap();
        assert_eq!((rule.kind, rule.endpoints, rule.duration_secs), (FaultKind::HoldProcessing, EndpointGroup::All, Some(20)));
        let rule: FaultRule = "CLOSETIMEOUT:ms=1500".parse().unwrap();
        assert_eq!((rule.kind, rule.endpoints), (FaultKind::CloseTimeout, EndpointGroup::Close));
    }

    #[test]
    fn the_compact_form_written_reads_back_as_the_same_rule() {
        for spec in ["send:error:status=502:share=0.25", "holdProcessing:duration=20", "close:closeTimeout:ms=100", "auth:rateLimit:retryAfter=3:count=2"] {
            let rule: FaultRule = spec.parse().unwrap();
            assert_eq!(rule.to_string(), spec);
            assert_eq!(rule.to_string().parse::<FaultRule>().unwrap(), rule);
        }
    }

    #[test]
    fn bad_compact_forms_say_what_is_wrong() {
        let cases = [
            ("send:explode", "no known kind"),
            ("nowhere:error", "no known kind"),
            ("send:error:share=2", "share must be between"),
            ("send:error:status=404", "500 to 599"),
            ("all:latency", "needs latencyMs"),
            ("all:latency:ms=600001", "at most 600000"),
            ("send:error:colour=red", "unknown option"),
            ("send:error:count", "not KEY=VALUE"),
            ("send:holdProcessing", "do not apply"),
            ("send:closeTimeout", "close requests only"),
            ("send:error:ms=5", "applies only to kinds latency"),
        ];
        for (spec, expected) in cases {
            let err = spec.parse::<FaultRule>().unwrap_err().to_string();
            assert!(err.contains(expected), "{spec}: {err}");
        }
    }

    #[test]
    fn endpoint_groups_match_the_routes_they_name() {
        let post = Method::POST;
        let get = Method::GET;
        assert!(EndpointGroup::Send.matches(&post, "/v2/sessions/online/20250101-SO-1/invoices"));
        assert!(!EndpointGroup::Send.matches(&get, "/v2/sessions/online/20250101-SO-1/invoices"));
        assert!(EndpointGroup::Close.matches(&post, "/v2/sessions/batch/20250101-SB-1/close"));
        assert!(EndpointGroup::OpenSession.matches(&post, "/v2/sessions/online"));
        assert!(!EndpointGroup::OpenSession.matches(&post, "/v2/sessions/online/x/close"));
        assert!(EndpointGroup::SessionRead.matches(&get, "/v2/sessions/x/upo/y"));
        assert!(EndpointGroup::SessionRead.matches(&get, "/v2/sessions"));
        assert!(EndpointGroup::Auth.matches(&post, "/v2/auth/challenge"));
        assert!(EndpointGroup::Invoices.matches(&post, "/v2/invoices/query/metadata"));
        assert!(EndpointGroup::Storage.matches(&get, "/storage/upo/a/b.xml"));
        assert!(!EndpointGroup::All.matches(&get, "/storage/upo/a/b.xml"));
        assert!(!EndpointGroup::All.matches(&post, "/emulator/v1/tokens"));
        assert!(EndpointGroup::All.matches(&get, "/v2/security/public-key-certificates"));
    }

    #[test]
    fn a_counted_rule_fires_exactly_its_count_and_then_reads_inactive() {
        let faults = Faults::default();
        let mut rule = FaultRule::new(FaultKind::Error);
        rule.count = Some(3);
        let added = faults.add(rule).unwrap();
        let fired = (0..10).filter(|_| !faults.plan(&Method::GET, "/v2/sessions").fired.is_empty()).count();
        assert_eq!(fired, 3);
        let listed = faults.get(&added.id).unwrap();
        assert_eq!((listed.hits, listed.active), (3, false));
    }

    #[test]
    fn more_than_a_hundred_active_rules_are_refused_but_inactive_ones_make_room() {
        let faults = Faults::default();
        let mut counted = FaultRule::new(FaultKind::Error);
        counted.count = Some(1);
        faults.add(counted).unwrap();
        for _ in 1..MAX_FAULT_RULES {
            faults.add(FaultRule::new(FaultKind::Error)).unwrap();
        }
        assert!(faults.add(FaultRule::new(FaultKind::Error)).unwrap_err().to_string().contains("at most 100"));
        // The counted rule fires once and is used up, so it gives its place to a new one.
        assert!(!faults.plan(&Method::GET, "/v2/sessions").fired.is_empty());
        faults.add(FaultRule::new(FaultKind::Error)).unwrap();
        assert_eq!(faults.list().len(), MAX_FAULT_RULES);
    }
}
