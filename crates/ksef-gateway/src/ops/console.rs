//! What the operator's console reads and does, in the gateway's vocabulary: sign-ins (the operator key for every
//! tenant, a tenant's API key for that tenant alone) that expire, whose tenant a page is about, a tenant's
//! dashboard, its invoices searched and paged, one invoice's timeline and content, and an XML file checked.

use chrono::{DateTime, Datelike as _, Utc};
use ksef_core::crypto::{b64url, decrypt_cbc, random_array, sha256_base64};
use ksef_store::{ConsoleSession, DeliveryState, InvoiceFilter, InvoiceRecord, KeyMode, SessionRecord, SignedIn};

use super::admin::{self, Actor, OPERATOR_KEY_PREFIX, TenantSummary};
use super::invoices::{InvoiceView, view};
use super::submit::start_of_day_in_poland;
use super::{Context, OpError, Tenant, from_micros, micros, tenants};
use crate::errors::ErrorCode;

/// Who is signed in to the console, and the token their forms carry back.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The operator, or one tenant.
    pub actor: Actor,
    /// Forms carry it back; a request without it is refused (1907).
    pub csrf: String,
    /// When the sign-in ends.
    pub expires: DateTime<Utc>,
}

impl Viewer {
    /// Whether the operator is signed in (sees every tenant).
    pub fn is_operator(&self) -> bool {
        self.actor.tenant().is_none()
    }
}

/// Longest console sign-in.
pub const MAX_SIGN_IN: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Signs in with an operator key or a tenant's API key for `ttl` (at most [`MAX_SIGN_IN`]): the cookie's token
/// (shown to no one else) and who it is. The sign-in ends when `ttl` has passed or the key is revoked.
pub async fn sign_in(ctx: &Context, key: &str, ttl: std::time::Duration) -> Result<(String, Viewer), OpError> {
    let key = key.trim();
    let actor = if key.starts_with(OPERATOR_KEY_PREFIX) {
        admin::authenticate_operator(ctx, key).await?
    } else {
        Actor::Tenant(tenants::authenticate(ctx, key).await?)
    };
    let token = b64url(&random_array::<32>());
    let csrf = b64url(&random_array::<24>());
    let now = Utc::now();
    let expires = now + chrono::TimeDelta::from_std(ttl.min(MAX_SIGN_IN)).unwrap_or(chrono::TimeDelta::hours(8));
    let session = ConsoleSession {
        tenant_id: actor.tenant().map(|t| t.id.clone()),
        actor: actor.name(),
        key_hash: tenants::api_key_hash(key),
        csrf: csrf.clone(),
        expires_at: micros(expires),
    };
    ctx.store.insert_console_session(&sha256_base64(token.as_bytes()), &session, micros(now)).await.map_err(OpError::store(ErrorCode::Internal))?;
    admin::audit(ctx, &actor, "console.sign_in", actor.tenant().map(|t| t.id.as_str()), None).await?;
    Ok((token, Viewer { actor, csrf, expires }))
}

/// Who holds the console sign-in `token`, if it is live.
pub async fn viewer(ctx: &Context, token: &str) -> Result<Option<Viewer>, OpError> {
    let hash = sha256_base64(token.as_bytes());
    let Some(session) = ctx.store.console_session(&hash, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::Internal))? else {
        return Ok(None);
    };
    let actor = match session.signed_in {
        SignedIn::Operator { prefix } => Actor::Operator { prefix },
        SignedIn::Tenant { id, nip } => Actor::Tenant(Tenant { id, nip }),
    };
    Ok(Some(Viewer { actor, csrf: session.csrf, expires: from_micros(session.expires_at) }))
}

/// Ends the sign-in `token`.
pub async fn sign_out(ctx: &Context, token: &str) -> Result<(), OpError> {
    ctx.store.delete_console_session(&sha256_base64(token.as_bytes())).await.map_err(OpError::store(ErrorCode::Internal))
}

/// The tenant a page is about: a tenant sees only itself (any other id is a tenant that does not exist); the
/// operator names one, or gets the first.
pub async fn scope(ctx: &Context, viewer: &Viewer, requested: Option<&str>) -> Result<TenantSummary, OpError> {
    let requested = requested.map(str::trim).filter(|r| !r.is_empty());
    match (&viewer.actor, requested) {
        (Actor::Tenant(own), Some(id)) if id != own.id => Err(OpError::refused(ErrorCode::TenantUnknown, format!("no tenant {id}"))),
        (Actor::Tenant(own), _) => admin::tenant(ctx, &own.id).await,
        // Whoever is not a tenant sees every tenant.
        (Actor::Operator { .. } | Actor::CommandLine, Some(id)) => admin::tenant(ctx, id).await,
        (Actor::Operator { .. } | Actor::CommandLine, None) => admin::list_tenants(ctx)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| OpError::refused(ErrorCode::TenantUnknown, "there are no tenants yet: add one")),
    }
}

/// The tenant of a summary, as operations take it.
pub fn as_tenant(summary: &TenantSummary) -> Tenant {
    Tenant { id: summary.id.clone(), nip: summary.nip.clone() }
}

/// Invoices by state over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub Vec<(DeliveryState, i64)>);

impl Counts {
    /// How many are in `state`.
    pub fn of(&self, state: DeliveryState) -> i64 {
        self.0.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }

    /// How many in all.
    pub fn total(&self) -> i64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// An invoice as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRow {
    /// What the API answers for it.
    pub view: InvoiceView,
    /// When the gateway recorded it.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
    /// The gateway's session it was sent in.
    pub session_id: String,
    /// The buyer's NIP, when the gateway read the invoice in clear.
    pub buyer_nip: Option<String>,
}

fn row(record: &InvoiceRecord) -> InvoiceRow {
    let mut view = view(record);
    // A submit's number is known before KSeF reports it.
    view.invoice_number = view.invoice_number.or_else(|| record.invoice_number.clone());
    InvoiceRow {
        view,
        created: from_micros(record.created_at),
        updated: from_micros(record.updated_at),
        session_id: record.session_id.clone(),
        buyer_nip: record.buyer_nip.clone(),
    }
}

/// A tenant at a glance.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Whose.
    pub tenant: TenantSummary,
    /// Recorded today (in Poland), by state.
    pub today: Counts,
    /// Recorded this month (in Poland), by state.
    pub month: Counts,
    /// Rejected by KSeF, newest first.
    pub failures: Vec<InvoiceRow>,
    /// Waiting for KSeF (queued or being sent), with why.
    pub waiting: Vec<InvoiceRow>,
    /// Issued offline and not yet in KSeF, soonest deadline first.
    pub offline: Vec<InvoiceRow>,
    /// Whether the gateway reached KSeF on its last call.
    pub ksef_reachable: bool,
}

/// Rows a dashboard list shows.
const DASHBOARD_ROWS: i64 = 10;

/// The start of today and of this month in Poland, in µs.
fn day_and_month_start(now: DateTime<Utc>) -> (i64, i64) {
    let today = ksef_client::wire::datetime::to_warsaw(now).date_naive();
    (start_of_day_in_poland(today), start_of_day_in_poland(today.with_day(1).unwrap_or(today)))
}

/// The dashboard of `tenant`.
pub async fn dashboard(ctx: &Context, tenant: TenantSummary) -> Result<Dashboard, OpError> {
    let store = &ctx.store;
    let failed = || OpError::store(ErrorCode::Internal);
    let (day, month) = day_and_month_start(Utc::now());
    let today = Counts(store.tenant_invoice_counts(&tenant.id, day).await.map_err(failed())?);
    let month = Counts(store.tenant_invoice_counts(&tenant.id, month).await.map_err(failed())?);
    let failures = store.tenant_invoices_in(&tenant.id, &[DeliveryState::Rejected], DASHBOARD_ROWS).await.map_err(failed())?;
    let waiting = store.tenant_invoices_in(&tenant.id, &[DeliveryState::Queued, DeliveryState::Sending], DASHBOARD_ROWS).await.map_err(failed())?;
    let offline = store.tenant_offline_pending(&tenant.id, DASHBOARD_ROWS).await.map_err(failed())?;
    Ok(Dashboard {
        tenant,
        today,
        month,
        failures: failures.iter().map(row).collect(),
        waiting: waiting.iter().map(row).collect(),
        offline: offline.iter().map(row).collect(),
        ksef_reachable: !ctx.ksef.health().unreachable(),
    })
}

/// Rows one page of the invoice list holds.
pub const PAGE_ROWS: i64 = 25;

/// Longest search text.
pub const MAX_SEARCH: usize = 100;

/// One page of a tenant's invoices.
#[derive(Debug, Clone)]
pub struct InvoicePage {
    /// The rows, newest first.
    pub rows: Vec<InvoiceRow>,
    /// How many match in all.
    pub total: i64,
    /// This page's number, from 1.
    pub page: i64,
}

/// A page of `tenant`'s invoices matching `filter`.
pub async fn invoices(ctx: &Context, tenant: &Tenant, filter: &InvoiceFilter, page: i64) -> Result<InvoicePage, OpError> {
    if filter.text.as_ref().is_some_and(|t| t.chars().count() > MAX_SEARCH) {
        return Err(OpError::refused(ErrorCode::RequestInvalid, format!("search text: at most {MAX_SEARCH} characters")));
    }
    let page = page.clamp(1, 1_000_000);
    let (records, total) =
        ctx.store.search_invoices(&tenant.id, filter, (page - 1) * PAGE_ROWS, PAGE_ROWS).await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok(InvoicePage { rows: records.iter().map(row).collect(), total, page })
}

/// One invoice, with what its page shows.
#[derive(Debug, Clone)]
pub struct InvoiceDetail {
    /// The invoice.
    pub row: InvoiceRow,
    /// Its content can be shown: the gateway holds it (sent with the gateway's key, not yet accepted), or KSeF
    /// does (accepted).
    pub previewable: bool,
}

impl InvoiceDetail {
    /// Whether KSeF accepted it (and so has its UPO).
    pub fn accepted(&self) -> bool {
        self.row.view.delivery.as_ref().is_some_and(|d| d.state == DeliveryState::Accepted)
    }
}

async fn owned(ctx: &Context, tenant: &Tenant, id: &str) -> Result<InvoiceRecord, OpError> {
    let record = ctx.store.invoice(id).await.map_err(OpError::store(ErrorCode::Internal))?;
    // Another tenant's invoice is, to this tenant, no invoice at all.
    record.filter(|r| r.tenant_id == tenant.id).ok_or_else(|| OpError::refused(ErrorCode::InvoiceUnknown, format!("no invoice {id}")))
}

/// Where an invoice's content can be had.
enum Source {
    /// The gateway holds it, encrypted under this session's key.
    Held(Box<SessionRecord>),
    /// KSeF accepted it under this number.
    Ksef(String),
    /// Nowhere: the caller kept its own key, and KSeF has not accepted it.
    Nowhere,
}

/// Where `record`'s content is, given the KSeF number it was `accepted` under (if it was).
async fn source(ctx: &Context, record: &InvoiceRecord, accepted: Option<String>) -> Result<Source, OpError> {
    if record.payload.is_some() {
        let session = ctx.store.session(&record.session_id).await.map_err(OpError::store(ErrorCode::Internal))?;
        if let Some(session) = session.filter(|s| s.key_mode == KeyMode::Gateway) {
            return Ok(Source::Held(Box::new(session)));
        }
    }
    Ok(accepted.map_or(Source::Nowhere, Source::Ksef))
}

/// The KSeF number `record` was accepted under, if it was.
fn accepted_number(record: &InvoiceRecord) -> Option<String> {
    view(record).ksef_number.filter(|_| record.state == DeliveryState::Accepted)
}

/// The invoice `id` of `tenant`.
pub async fn invoice(ctx: &Context, tenant: &Tenant, id: &str) -> Result<InvoiceDetail, OpError> {
    let record = owned(ctx, tenant, id).await?;
    let previewable = !matches!(source(ctx, &record, accepted_number(&record)).await?, Source::Nowhere);
    Ok(InvoiceDetail { row: row(&record), previewable })
}

/// The XML of invoice `id`, opened from what the gateway holds or downloaded from KSeF, and its KSeF number once
/// KSeF accepted it.
pub async fn invoice_xml(ctx: &Context, tenant: &Tenant, id: &str) -> Result<(Vec<u8>, Option<String>), OpError> {
    let record = owned(ctx, tenant, id).await?;
    let accepted = accepted_number(&record);
    match source(ctx, &record, accepted.clone()).await? {
        Source::Held(session) => {
            let (key, iv) = super::open_gateway_key(ctx, &session.id, session.sealed_key.as_deref(), session.iv.as_deref())?;
            let payload = record.payload.as_deref().unwrap_or_default();
            let xml = decrypt_cbc(&key, &iv, payload).map_err(|e| anyhow::anyhow!("invoice {id}: {e}"))?;
            if sha256_base64(&xml) != record.invoice_hash {
                return Err(anyhow::anyhow!("invoice {id} does not match its hash").into());
            }
            Ok((xml, accepted))
        }
        Source::Ksef(number) => Ok((super::invoices::get(ctx, tenant, &number).await?, accepted)),
        Source::Nowhere => Err(OpError::conflict(
            ErrorCode::InvoiceUnknown,
            "the gateway does not hold this invoice's content (it was encrypted with the caller's own key), and KSeF has not accepted it",
        )),
    }
}

/// Makes a waiting invoice due now and wakes the outbox: safe, since the outbox never sends an invoice twice (one
/// whose last attempt may have reached KSeF is looked up in KSeF's list first). 409 if it is not waiting.
pub async fn retry_now(ctx: &Context, actor: &Actor, tenant: &Tenant, id: &str) -> Result<(), OpError> {
    owned(ctx, tenant, id).await?;
    if !ctx.store.hurry_invoice(&tenant.id, id, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::Internal))? {
        return Err(OpError::conflict(ErrorCode::InvoiceSend, "only an invoice waiting for KSeF can be retried; KSeF has this one or gave its verdict"));
    }
    ctx.wake_outbox();
    admin::audit(ctx, actor, "invoice.retry", Some(id), None).await
}
