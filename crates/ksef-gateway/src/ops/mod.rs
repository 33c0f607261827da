//! Operations: one async function per thing the gateway does, in the gateway's own vocabulary.
//! Nothing here knows HTTP or our JSON; the API layer parses requests into these inputs and renders outputs.

pub mod admin;
pub mod announcements;
pub mod batch;
pub(crate) mod batches;
pub mod console;
pub mod cpu;
pub mod credentials;
pub(crate) mod delivery;
pub mod documents;
pub mod invoices;
pub mod queries;
pub mod sessions;
pub mod submit;
pub mod tenants;
pub mod webhooks;
pub mod events;
pub mod inbox;
pub mod verify;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ksef_client::{ContextClient, KsefError};
use ksef_store::Store;

use crate::errors::ErrorCode;
use crate::ksef::Ksef;
use crate::secrets::MasterKey;

/// Most invoices a tenant may have waiting for KSeF (queued or being sent) by default (`limits.
/// max_undelivered_per_tenant`): past it, sends and submits are refused with 1905 until KSeF takes some, so a tenant
/// cannot fill the disk while KSeF is down.
pub const MAX_UNDELIVERED_PER_TENANT: i64 = 100_000;

/// How long the content of an invoice KSeF rejected is kept, for the console to show what was refused.
pub const REJECTED_CONTENT_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(90);

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_KEY_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What every operation may use.
#[derive(Debug, Clone)]
pub struct Context {
    /// The database.
    pub store: Store,
    /// Seals and opens secrets at rest.
    pub master_key: MasterKey,
    /// KSeF.
    pub ksef: Arc<Ksef>,
    /// Whose QR host verification links point to (the KSeF environment the gateway talks to).
    pub qr_environment: ksef_core::Environment,
    /// Where CPU-heavy work runs.
    pub cpu: Arc<cpu::CpuPool>,
    /// Batch packages being received, per tenant.
    pub uploads: Arc<cpu::TenantShares>,
    /// This process among the instances sharing the database: it holds the invoices it is sending.
    pub instance: Arc<str>,
    /// Wakes the outbox worker before its next round (something was queued).
    outbox_wake: Arc<tokio::sync::Notify>,
    /// Each tenant's invoices waiting for KSeF, as the outbox last counted them (every few seconds).
    backlog: Arc<Mutex<HashMap<String, i64>>>,
    /// Most invoices a tenant may have waiting for KSeF.
    pub max_undelivered: i64,
    /// The Latarnia the gateway reads KSeF's announced maintenance and failures from, and how often.
    pub lighthouse: Option<(String, std::time::Duration)>,
    /// A tenant's queue of sessionless submits this long goes to KSeF as a batch (0: never).
    pub batch_from: i64,
    /// Batches KSeF was processing when last asked, and when: the polls of their many invoices share one read.
    pub(crate) batch_fates: Arc<Mutex<HashMap<String, std::time::Instant>>>,
    /// KSeF's lists of processed batches, by KSeF reference, and when read: a batch's thousands of invoices are
    /// polled in slices, and its list does not change once it is processed.
    pub(crate) batch_lists: Arc<Mutex<HashMap<String, (std::time::Instant, BatchList)>>>,
    /// Open sessions, so a send needs no database read to find its session.
    sessions: Arc<Mutex<HashMap<String, Arc<ksef_store::SessionRecord>>>>,
    /// Where webhooks may point, and how failing ones are retried.
    pub webhooks: Arc<webhooks::Policy>,
    /// Wakes the webhook worker before its next round (an event was recorded here).
    webhook_wake: Arc<tokio::sync::Notify>,
    /// Wakes the inbox worker.
    inbox_wake: Arc<tokio::sync::Notify>,
    /// Where KSeF packages that fail their check are kept for the operator (`data_dir/quarantine`).
    pub quarantine: Option<std::path::PathBuf>,
    /// How often each tenant's received invoices are synced; `None`: never.
    pub inbox_every: Option<std::time::Duration>,
}

/// The AES key and IV the gateway holds for session or query `id`, sealed under the master key.
pub(crate) fn open_gateway_key(ctx: &Context, id: &str, sealed: Option<&[u8]>, iv: Option<&[u8]>) -> anyhow::Result<(ksef_core::crypto::AesKey, ksef_core::crypto::Iv)> {
    let sealed = sealed.ok_or_else(|| anyhow::anyhow!("{id} holds no key of the gateway's"))?;
    let key = ksef_core::crypto::AesKey::from_slice(&ctx.master_key.open(id, sealed)?)?;
    let iv = ksef_core::crypto::Iv::from_slice(iv.unwrap_or_default())?;
    Ok((key, iv))
}

/// KSeF's list of a processed batch's invoices.
pub(crate) type BatchList = Arc<Vec<ksef_client::wire::sessions::SessionInvoiceStatusResponse>>;

/// The queue length from which sessionless submits go as a batch, unless configured: KSeF takes 30 invoices a
/// minute online, so a hundred waiting is over three minutes' worth.
pub const DEFAULT_BATCH_FROM: i64 = 100;

impl Context {
    /// A context over `store`, sealing with `master_key`, talking to `ksef`.
    pub fn new(store: Store, master_key: MasterKey, ksef: Arc<Ksef>) -> Context {
        Context { store, master_key, ksef, qr_environment: ksef_core::Environment::Test, cpu: Arc::new(cpu::CpuPool::new(cpu::CpuLimits::default())),
            uploads: Arc::new(cpu::TenantShares::new("batch packages received", 2)),
            instance: uuid::Uuid::now_v7().to_string().into(),
            outbox_wake: Arc::default(),
            backlog: Arc::default(),
            max_undelivered: MAX_UNDELIVERED_PER_TENANT,
            lighthouse: None,
            batch_from: DEFAULT_BATCH_FROM,
            batch_fates: Arc::default(),
            batch_lists: Arc::default(),
            sessions: Arc::default(),
            webhooks: Arc::default(),
            webhook_wake: Arc::default(),
            inbox_wake: Arc::default(),
            quarantine: None,
            inbox_every: None }
    }

    /// Records each tenant's invoices waiting for KSeF.
    pub(crate) fn set_backlog(&self, counts: HashMap<String, i64>) {
        *self.backlog.lock().expect("backlog lock") = counts;
    }

    /// 1905 when `tenant` has `max_undelivered` invoices waiting for KSeF already.
    pub(crate) fn check_backlog(&self, tenant: &Tenant) -> Result<(), OpError> {
        let waiting = self.backlog.lock().expect("backlog lock").get(&tenant.id).copied().unwrap_or(0);
        if waiting >= self.max_undelivered {
            return Err(OpError::refused(
                ErrorCode::TooManyRequests,
                format!("{waiting} of this tenant's invoices are waiting for KSeF (at most {}); retry once KSeF has taken some", self.max_undelivered),
            ));
        }
        Ok(())
    }

    /// Asks the inbox worker to run a round now (a sync was switched).
    pub(crate) fn wake_inbox(&self) {
        self.inbox_wake.notify_one();
    }

    /// Waits until [`Context::wake_inbox`] is called.
    pub(crate) async fn inbox_woken(&self) {
        self.inbox_wake.notified().await;
    }

    /// Asks the webhook worker to run a round now.
    pub(crate) fn wake_webhooks(&self) {
        self.webhook_wake.notify_one();
    }

    /// Waits until [`Context::wake_webhooks`] is called.
    pub(crate) async fn webhooks_woken(&self) {
        self.webhook_wake.notified().await;
    }

    /// Asks the outbox worker to run a round now.
    pub(crate) fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Completes when [`Self::wake_outbox`] is called.
    pub(crate) async fn outbox_woken(&self) {
        self.outbox_wake.notified().await;
    }

    /// An open session, if remembered.
    pub(crate) fn open_session(&self, id: &str) -> Option<Arc<ksef_store::SessionRecord>> {
        self.sessions.lock().expect("session cache lock").get(id).cloned()
    }

    /// Remembers an open session (its key, mode and KSeF reference do not change while it is open).
    pub(crate) fn remember_open_session(&self, record: Arc<ksef_store::SessionRecord>) {
        if record.closed_at.is_none() && record.ksef_reference.is_some() {
            self.sessions.lock().expect("session cache lock").insert(record.id.clone(), record);
        }
    }

    /// Forgets a session once it is closed.
    pub(crate) fn forget_session(&self, id: &str) {
        self.sessions.lock().expect("session cache lock").remove(id);
    }
}

/// The tenant a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// The NIP of its KSeF context.
    pub nip: String,
}

/// What KSeF said when it refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KsefFailure {
    /// KSeF's HTTP status (0 when KSeF could not be reached).
    pub http_status: u16,
    /// KSeF's exception code, when it gave one.
    pub code: Option<i32>,
    /// KSeF's message.
    pub message: String,
}

/// Why an operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Refused with one of our API's codes.
    #[error("{code:?}: {details}")]
    Refused {
        /// The code.
        code: ErrorCode,
        /// The HTTP status to answer with (usually the code's own).
        status: u16,
        /// What exactly was wrong.
        details: String,
        /// KSeF's own answer, when KSeF was the one to refuse or fail.
        ksef: Option<KsefFailure>,
    },
    /// A document that is not a valid invoice: `code` (1203, or 1202 for its size), every finding.
    #[error("{code:?}: {} finding(s)", findings.len())]
    Invalid {
        /// The code.
        code: ErrorCode,
        /// Every finding, errors first as found.
        findings: Vec<ksef_fa::Finding>,
    },
    /// Anything unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl OpError {
    /// A refusal with `code`.
    pub fn refused(code: ErrorCode, details: impl Into<String>) -> OpError {
        OpError::Refused { code, status: code.http_status(), details: details.into(), ksef: None }
    }

    /// A refusal with `code` because of the resource's state, answered 409.
    pub fn conflict(code: ErrorCode, details: impl Into<String>) -> OpError {
        OpError::Refused { code, status: 409, details: details.into(), ksef: None }
    }

    /// KSeF refused or failed: reported as `code`, with KSeF's code and message kept.
    pub fn ksef(code: ErrorCode, err: &KsefError) -> OpError {
        // Whatever was being done, a login KSeF refused is a credential problem (1101), said as such.
        let code = match err {
            KsefError::AuthenticationFailed { .. } | KsefError::Signing(_) => ErrorCode::SessionToken,
            _ => code,
        };
        let http_status = match err {
            KsefError::Api { status, .. } | KsefError::Server { status, .. } | KsefError::UnexpectedStatus { status, .. } => *status,
            KsefError::Unauthorized { .. } => 401,
            KsefError::Forbidden { .. } => 403,
            KsefError::Gone { .. } => 410,
            KsefError::RateLimited { .. } | KsefError::Paced { .. } => 429,
            _ => 0,
        };
        let failure = KsefFailure { http_status, code: err.exception_code(), message: err.to_string() };
        // KSeF refusing what it was given is the caller's to fix (422); KSeF failing or unreachable is not (502).
        let status = match http_status {
            400 | 404 | 409 | 410 | 422 => 422,
            429 => 503,
            _ => 502,
        };
        let details = match err {
            KsefError::AuthenticationFailed { code: status_code, .. } => {
                format!("KSeF refused the tenant's credential (authentication status {status_code}): {err}; check it with `ksef-gateway tenant list`")
            }
            _ => format!("KSeF: {err}"),
        };
        OpError::Refused { code, status, details, ksef: Some(failure) }
    }

    /// A store failure, reported as `code` (1108 or 1206) and logged with its cause.
    pub fn store(code: ErrorCode) -> impl FnOnce(ksef_store::StoreError) -> OpError {
        move |err| {
            tracing::error!(error = %err, "store operation failed");
            OpError::refused(code, "the gateway's database failed; nothing was sent twice, retry the request")
        }
    }
}

/// A status in KSeF's terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// Code (100, 200, 4xx…).
    pub code: i64,
    /// Description.
    pub description: String,
    /// Details.
    pub details: Vec<String>,
    /// Named extra values (e.g. the original of a duplicate).
    pub extensions: BTreeMap<String, String>,
}

/// Now, to the microsecond the store keeps (so an instant reads back exactly as it was first answered).
pub fn now() -> DateTime<Utc> {
    from_micros(micros(Utc::now()))
}

/// Microseconds since the epoch, the form instants take in the store.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A duration in the store's microseconds (saturating).
pub fn micros_of(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The inverse of [`micros`].
pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// The tenant's authenticated KSeF client, made from its sealed credential on first use.
pub(crate) async fn tenant_ksef(ctx: &Context, tenant: &Tenant) -> Result<Arc<ContextClient>, OpError> {
    if let Some(existing) = ctx.ksef.cached(&tenant.id) {
        return Ok(existing);
    }
    let record = ctx
        .store
        .tenant(&tenant.id)
        .await
        .map_err(OpError::store(ErrorCode::SessionSave))?
        .ok_or_else(|| anyhow::anyhow!("tenant {} vanished", tenant.id))?;
    let credentials = credentials::credentials_of(ctx, &record).await?;
    Ok(ctx.ksef.context(&tenant.id, credentials))
}
