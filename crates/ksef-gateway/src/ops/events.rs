//! Events: what happened to a tenant's invoices, in the order it was recorded, read by cursor (for those who
//! cannot receive webhooks) and rendered for webhooks from what they are about.

use ksef_store::{EventKind, EventRecord};

use super::invoices::InvoiceView;
use super::{Context, OpError, Tenant};
use crate::errors::ErrorCode;

/// Most events in one page.
pub const MAX_PAGE: i64 = 500;
/// Events in a page unless asked otherwise.
pub const DEFAULT_PAGE: i64 = 100;
/// Longest wait for a next event (`wait`), in seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// How long webhook deliveries that ended (delivered, failed) and every attempt are kept in the log.
pub const DELIVERIES_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// How long events are kept for the events list (`invoice.received` ones, one per received invoice, for good).
pub const EVENTS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(90);

/// What an event is about, as it stands now (an event's subject does not change once it has happened).
#[derive(Debug, Clone)]
pub enum Subject {
    /// An invoice sent through the gateway, and the gateway session it is in.
    Invoice {
        /// Its status, KSeF number and delivery.
        view: Box<InvoiceView>,
        /// The gateway session.
        session_id: String,
    },
    /// A gateway session whose UPO is in.
    Session {
        /// Our id.
        session_id: String,
        /// KSeF's reference number.
        ksef_reference: Option<String>,
    },
    /// An invoice another party issued to the tenant.
    Received(Box<super::inbox::ReceivedInvoice>),
    /// What the event's own detail (JSON) says.
    Detail(serde_json::Value),
    /// Nothing more (a test event), or the subject is gone.
    Nothing,
}

/// One page of events.
#[derive(Debug, Clone)]
pub struct Page {
    /// The events, oldest first.
    pub events: Vec<EventRecord>,
    /// The cursor to ask with next (the last event's, or the one given when there is none).
    pub next: i64,
}

/// Reads a cursor: empty or absent is the beginning.
pub fn parse_cursor(cursor: Option<&str>) -> Result<i64, OpError> {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            OpError::refused(ErrorCode::EventQuery, format!("`after` is not a cursor this API gave: {}", crate::telemetry::loggable(c)))
        }),
    }
}

/// Reads event types (comma-separated); every problem reported.
pub fn parse_types(types: Option<&str>) -> Result<Option<Vec<EventKind>>, OpError> {
    let Some(types) = types.map(str::trim).filter(|t| !t.is_empty() && *t != "*") else {
        return Ok(None);
    };
    let mut kinds = Vec::new();
    let mut unknown = Vec::new();
    for t in types.split(',').map(str::trim) {
        match EventKind::parse(t) {
            Some(k) => kinds.push(k),
            None => unknown.push(crate::telemetry::loggable(t)),
        }
    }
    if !unknown.is_empty() {
        return Err(OpError::refused(
            ErrorCode::EventQuery,
            format!(
                "unknown event type(s): {} (known: {})",
                unknown.join(", "),
                EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(Some(kinds))
}

/// The tenant's events after `after`, of `kinds`, at most `limit`; with `wait`, waits up to that long for the
/// first one when there is none yet (long polling).
pub async fn list(ctx: &Context, tenant: &Tenant, after: i64, kinds: Option<&[EventKind]>, limit: i64, wait: std::time::Duration) -> Result<Page, OpError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(OpError::refused(ErrorCode::EventQuery, format!("`limit` must be 1 to {MAX_PAGE}")));
    }
    let until = std::time::Instant::now() + wait.min(std::time::Duration::from_secs(MAX_WAIT_SECS));
    loop {
        // Every event up to the tenant's last number has committed (they commit in number order), so a page
        // shorter than `limit` has read everything up to it: the next page starts there, whatever the filter
        // passed over.
        let upto = ctx.store.last_event_seq(&tenant.id).await.map_err(OpError::store(ErrorCode::Internal))?;
        let events = ctx.store.events_after(&tenant.id, after, upto, kinds, limit).await.map_err(OpError::store(ErrorCode::Internal))?;
        if !events.is_empty() || std::time::Instant::now() >= until {
            let next = if (events.len() as i64) < limit { upto.max(after) } else { events.last().map_or(after, |e| e.seq) };
            return Ok(Page { events, next });
        }
        // Another instance may record the next event, so the store is asked again; a quarter second is the latency.
        tokio::time::sleep(std::time::Duration::from_millis(250).min(until.saturating_duration_since(std::time::Instant::now()))).await;
    }
}

/// What `event` is about.
pub async fn subject(ctx: &Context, event: &EventRecord) -> Result<Subject, OpError> {
    let tenant = Tenant { id: event.tenant_id.clone(), nip: String::new() };
    Ok(match event.kind {
        EventKind::InvoiceAccepted | EventKind::InvoiceRejected | EventKind::InvoiceDuplicate | EventKind::InvoiceHeld | EventKind::OfflineDeadlineNear => {
            match super::submit::invoice(ctx, &tenant, &event.subject).await {
                Ok((view, session_id)) => Subject::Invoice { view: Box::new(view), session_id },
                Err(OpError::Refused { code: ErrorCode::InvoiceUnknown, .. }) => Subject::Nothing,
                Err(e) => return Err(e),
            }
        }
        EventKind::SessionUpoReady => {
            let session = ctx.store.session(&event.subject).await.map_err(OpError::store(ErrorCode::SessionSave))?;
            match session {
                Some(s) => Subject::Session { session_id: s.id, ksef_reference: s.ksef_reference },
                None => Subject::Nothing,
            }
        }
        EventKind::InvoiceReceived => match super::inbox::received(ctx, &tenant, &event.subject).await {
            Ok(r) => Subject::Received(Box::new(r)),
            Err(OpError::Refused { code: ErrorCode::ReceivedUnknown, .. }) => Subject::Nothing,
            Err(e) => return Err(e),
        },
        EventKind::CredentialExpiring | EventKind::KsefStatus | EventKind::WebhookTest => {
            match event.detail.as_deref().map(serde_json::from_str::<serde_json::Value>) {
                Some(Ok(detail)) => Subject::Detail(detail),
                _ => Subject::Nothing,
            }
        }
    })
}

/// Records a `ksef.status` event (KSeF's announced state changed to `status`, as `source` says) for every tenant.
pub async fn tell_everyone_ksef_status(ctx: &Context, status: &str, source: &str) {
    let tenants = match ctx.store.tenants().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "could not list tenants to tell of KSeF's state");
            return;
        }
    };
    let now = super::now();
    // Instances reading the same Latarnia within a minute record one event (same subject); a later instance, or
    // one restarted, finds the state already told and records none.
    let subject = format!("{status}@{}", now.timestamp() / 60);
    let detail = serde_json::json!({ "status": status, "source": source, "since": now }).to_string();
    for tenant in tenants {
        let told = ctx.store.last_event_of(&tenant.id, EventKind::KsefStatus).await;
        let same = told.ok().flatten().and_then(|e| e.detail).and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok()).is_some_and(|d| d["status"] == status);
        if same {
            continue;
        }
        if let Err(e) = ctx.store.record_event(&tenant.id, EventKind::KsefStatus, &subject, Some(&detail), super::micros(now), None).await {
            tracing::warn!(error = %e, "could not record KSeF's state for a tenant");
        }
    }
    ctx.wake_webhooks();
}
