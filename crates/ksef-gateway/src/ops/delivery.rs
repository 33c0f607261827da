//! Delivery: how a recorded invoice reaches KSeF and how its fate comes back, shared by the send that tries at
//! once and the outbox worker (`workers.rs`) that retries, reconciles, polls, closes and fetches UPOs.
//!
//! An invoice once recorded is the gateway's to deliver: KSeF failing or unreachable puts it back in the queue
//! with a backoff, never back in the caller's hands. Before an invoice is sent again, KSeF's list of the session's
//! invoices is read, so an earlier attempt whose answer was lost (a timeout, a 500 after the fact, a process
//! killed mid-call) is found there instead of being sent twice. KSeF closing a session early moves it on to a new
//! KSeF session with the same key. A duplicate (440) is recorded with the original's KSeF number.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ksef_client::wire::EncryptionInfo;
use ksef_client::wire::codes::{ExceptionCode, invoice as invoice_status};
use ksef_client::wire::sessions::{OpenOnlineSessionRequest, SendInvoiceRequest, SessionInvoiceStatusResponse};
use futures_util::StreamExt as _;
use ksef_client::{ContextClient, KsefError};
use ksef_store::{DeliveryState, InvoiceRecord, InvoiceStatusUpdate, SessionKind, SessionRecord, StatusChange};

use super::sessions::InvoiceVersion;
use super::{Context, OpError, Tenant, micros, tenant_ksef};
use crate::errors::ErrorCode;

/// What a failed KSeF call means for the invoice or session it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// KSeF was unreachable, failing, busy or unsure: try again later (after `retry_after`, if KSeF said).
    Transient { retry_after: Option<Duration> },
    /// KSeF no longer takes invoices in that session (closed or expired): continue in a new one.
    SessionGone,
    /// KSeF refused the request itself: sending it again cannot help.
    Refused,
}

/// Reads a KSeF error as what to do next.
pub(crate) fn classify(err: &KsefError) -> Failure {
    match err {
        KsefError::Api { .. } if err.has_code(ExceptionCode::SessionStatusForbids) || err.has_code(ExceptionCode::SessionNotFound) => {
            Failure::SessionGone
        }
        KsefError::Api { .. } => Failure::Refused,
        KsefError::RateLimited { retry_after } => Failure::Transient { retry_after: *retry_after },
        KsefError::Paced { wait, .. } => Failure::Transient { retry_after: Some(*wait) },
        // A credential KSeF refuses, missing permissions, KSeF failing: all may be fixed without the invoice changing.
        _ => Failure::Transient { retry_after: None },
    }
}

/// Whether a failure says KSeF is down (for the gateway's view of its health): not a refusal, and not KSeF or
/// our pacing holding a call back, which says KSeF is up.
pub(crate) fn unreachable(err: &KsefError) -> bool {
    matches!(classify(err), Failure::Transient { .. }) && !matches!(err, KsefError::RateLimited { .. } | KsefError::Paced { .. })
}

/// The pause before send attempt `attempts + 1`: 1 s doubling to 5 minutes, a tenth of it random so that many
/// invoices failing together do not come back together.
pub(crate) fn retry_delay(attempts: i64) -> Duration {
    let base = Duration::from_secs(1) * 2u32.saturating_pow(u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0));
    let base = base.min(Duration::from_secs(300));
    let jitter = base.mul_f64(rand_fraction() / 10.0);
    base + jitter
}

fn rand_fraction() -> f64 {
    // The low bits of a v4 UUID are random enough for jitter.
    f64::from(uuid::Uuid::new_v4().as_u128() as u32) / f64::from(u32::MAX)
}

/// How long after `created_at` (µs) an invoice still in processing is polled next: soon at first, then less often.
pub(crate) fn poll_delay(created_at: i64, now: i64) -> Duration {
    let age = Duration::from_micros(u64::try_from(now - created_at).unwrap_or(0));
    (age / 8).clamp(Duration::from_millis(300), Duration::from_secs(60))
}

/// `delay` after `now` (µs).
pub(crate) fn at(now: i64, delay: Duration) -> i64 {
    now + i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 2)
}

/// KSeF's status of an invoice, as the store keeps it.
pub(crate) fn status_update(answer: &SessionInvoiceStatusResponse) -> InvoiceStatusUpdate {
    InvoiceStatusUpdate {
        code: i64::from(answer.status.code),
        description: answer.status.description.clone(),
        details: answer.status.details.clone().unwrap_or_default(),
        extensions: answer.status.extensions.as_ref().map(|e| serde_json::to_string(e).expect("map serializes")),
        ordinal: Some(i64::from(answer.ordinal_number)),
        invoice_number: answer.invoice_number.clone(),
        ksef_number: answer.ksef_number.clone(),
        acquisition_date: answer.acquisition_date.map(micros),
        permanent_storage_date: answer.permanent_storage_date.map(micros),
        invoicing_mode: answer.invoicing_mode.map(|m| m.as_str().to_owned()),
    }
}

/// Where KSeF's status leaves an invoice: still processing (polled again), accepted, a duplicate, or rejected.
pub(crate) fn status_change(answer: &SessionInvoiceStatusResponse, created_at: i64, now: i64) -> StatusChange {
    let code = answer.status.code;
    let (state, original, next_poll_at) = if invoice_status::in_progress(code) {
        (DeliveryState::Sent, None, Some(at(now, poll_delay(created_at, now))))
    } else if invoice_status::ACCEPTED.is(code) {
        (DeliveryState::Accepted, None, None)
    } else if invoice_status::DUPLICATE.is(code) {
        let original = answer.status.extensions.as_ref().and_then(|e| e.get(invoice_status::ORIGINAL_KSEF_NUMBER)).cloned();
        (DeliveryState::Duplicate, original, None)
    } else {
        (DeliveryState::Rejected, None, None)
    };
    StatusChange { state, status: status_update(answer), original_ksef_number: original, next_poll_at, reference: Some(answer.reference_number.clone()) }
}

/// The outcome of one attempt to hand an invoice to KSeF.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// KSeF took it (or had it already).
    Sent,
    /// Back in the queue, with the reason recorded.
    Requeued,
    /// KSeF refused the request carrying it.
    Refused(KsefError),
}

/// What KSeF's list of an invoice's session says of it, read before a resend when an earlier attempt may have
/// got through.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Known<'a> {
    /// No earlier attempt can have reached KSeF: not looked.
    Unchecked,
    /// KSeF's list does not have it.
    Absent,
    /// KSeF has it: the earlier attempt got through.
    Listed(&'a SessionInvoiceStatusResponse),
}

/// Who makes an attempt, which decides what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A send its caller is waiting for: a refused invoice is deleted (the caller is told why instead), and
    /// KSeF's acceptance is recorded after the caller is answered. Until it is, the invoice reads as being
    /// sent; should it never be (the process stops first, or the database keeps failing), the invoice is in
    /// the state an interrupted attempt leaves, and KSeF's list is read before any resend.
    Waiting,
    /// The outbox: a refusal is recorded as a rejection, and every outcome before the attempt ends.
    Outbox,
}

/// Sends the invoice `record` (state `sending`, held by this instance) into its session, recording the outcome
/// as `caller` needs; one KSeF already `Listed` is recorded as sent instead.
pub(crate) async fn attempt(
    ctx: &Context,
    tenant: &Tenant,
    record: &InvoiceRecord,
    request: &SendInvoiceRequest,
    known: Known<'_>,
    caller: Caller,
) -> Result<Attempt, OpError> {
    let mut reference = match &record.ksef_session {
        Some(reference) => reference.clone(),
        None => return Err(anyhow::anyhow!("invoice {} has no KSeF session", record.id).into()),
    };
    if let Known::Listed(found) = known {
        return record_found(ctx, record, &reference, found).await;
    }
    if let Some(wait) = ctx.ksef.paused(&tenant.id) {
        return defer(ctx, record, "this context's KSeF rate limit is spent; waiting for room", wait).await;
    }
    let ksef = tenant_ksef(ctx, tenant).await?;
    // At most one move to a new KSeF session per attempt: a second refusal in a fresh session is KSeF's answer.
    for moved in [false, true] {
        let now = micros(Utc::now());
        let sent = ksef.send_invoice(&reference, request).await;
        match &sent {
            Ok(_) => ctx.ksef.health().ok(),
            Err(KsefError::RateLimited { retry_after }) => {
                ctx.ksef.pause(&tenant.id, retry_after.unwrap_or(Duration::from_secs(1)));
                ctx.ksef.health().ok();
            }
            // Not sent: the context's budget for sends is spent (the pacer holds back its other sends; its other
            // calls, status reads among them, have budgets of their own).
            Err(err @ KsefError::Paced { wait, .. }) => return defer(ctx, record, &err.to_string(), *wait).await,
            Err(err) if unreachable(err) => ctx.ksef.health().failed(),
            Err(_) => ctx.ksef.health().ok(),
        }
        match sent {
            Ok(answer) => {
                let next_poll = at(now, poll_delay(record.created_at, now));
                if caller == Caller::Waiting {
                    let (store, id, number) = (ctx.store.clone(), record.id.clone(), answer.reference_number);
                    tokio::spawn(async move { record_sent_later(&store, &id, &reference, &number, now, next_poll).await });
                } else {
                    ctx.store.mark_invoice_sent(&record.id, &reference, &answer.reference_number, now, next_poll).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
                }
                return Ok(Attempt::Sent);
            }
            Err(err) => match classify(&err) {
                Failure::SessionGone if !moved => match continue_session(ctx, tenant, &ksef, &record.session_id, &reference).await {
                    Ok(next) => reference = next,
                    Err(continue_err) => return requeue(ctx, record, &continue_err, None, false).await,
                },
                Failure::Transient { .. } | Failure::SessionGone => return requeue(ctx, record, &err, retry_after(&err), uncertain(&err)).await,
                Failure::Refused => {
                    if caller == Caller::Waiting {
                        ctx.store.delete_refused_invoice(&record.id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
                    } else {
                        ctx.store.reject_invoice_send(&record.id, &err.to_string(), now).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
                        ctx.wake_webhooks();
                        tracing::warn!(invoice.id = %record.id, error = %err, "KSeF refused an invoice's send");
                    }
                    return Ok(Attempt::Refused(err));
                }
            },
        }
    }
    unreachable!("the loop returns on its second pass")
}

/// Records KSeF's acceptance of a send its caller was already answered for, trying a few times over about three
/// seconds (a busy database). If it never lands, the invoice goes back to the outbox marked to have KSeF's list
/// read first (as the outbox does when it cannot record an attempt), so it is neither stranded nor sent twice.
async fn record_sent_later(store: &ksef_store::Store, id: &str, reference: &str, number: &str, now: i64, next_poll: i64) {
    let mut wait = Duration::from_millis(100);
    for tries in 1..=5 {
        match store.mark_invoice_sent(id, reference, number, now, next_poll).await {
            Ok(()) => return,
            Err(e) if tries == 5 => {
                let later = micros(Utc::now());
                let why = format!("KSeF took the invoice but that could not be recorded ({e}); its session's list is read first");
                if let Err(requeue) = store.requeue_invoice(id, &why, later, later, true).await {
                    tracing::warn!(invoice.id = %id, error = %e, requeue = %requeue, "KSeF took an invoice but that could not be recorded; it is read from KSeF's list once this instance restarts");
                }
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

/// Records that KSeF's list of session `reference` has the invoice `record` (an earlier attempt, or its batch, got
/// it there): sent, with the status KSeF gives it; not sent again.
pub(crate) async fn record_found(ctx: &Context, record: &InvoiceRecord, reference: &str, found: &SessionInvoiceStatusResponse) -> Result<Attempt, OpError> {
    let now = micros(Utc::now());
    ctx.store.mark_invoice_sent(&record.id, reference, &found.reference_number, now, now).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
    record_statuses(ctx, vec![(record, status_change(found, record.created_at, now))], now).await?;
    tracing::info!(invoice.id = %record.id, "KSeF had the invoice already; not sent again");
    Ok(Attempt::Sent)
}

fn retry_after(err: &KsefError) -> Option<Duration> {
    match classify(err) {
        Failure::Transient { retry_after } => retry_after,
        _ => None,
    }
}

/// Whether a failed send may nevertheless have reached KSeF: the request may have gone out and its answer been
/// lost (a timeout, a cut connection, a 5xx other than 503). A refused connection, a 429, a 503 or a 4xx
/// mean KSeF did not take it.
pub(crate) fn uncertain(err: &KsefError) -> bool {
    match err {
        KsefError::Transport(e) => !e.is_connect(),
        KsefError::Server { status, .. } => *status != 503,
        KsefError::UnexpectedStatus { .. } | KsefError::Decode { .. } => true,
        _ => false,
    }
}

async fn requeue(
    ctx: &Context,
    record: &InvoiceRecord,
    why: &(dyn std::fmt::Display + Sync),
    retry_after: Option<Duration>,
    uncertain: bool,
) -> Result<Attempt, OpError> {
    let now = micros(Utc::now());
    let delay = retry_after.map_or(retry_delay(record.attempts), |wait| wait.max(retry_delay(record.attempts)));
    let why = why.to_string();
    ctx.store.requeue_invoice(&record.id, &why, at(now, delay), now, uncertain).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
    tracing::info!(invoice.id = %record.id, attempts = record.attempts, retry_in_ms = delay.as_millis() as u64, error = %why, "invoice not delivered yet; queued");
    Ok(Attempt::Requeued)
}

/// Puts an invoice back in the queue for `wait` without counting an attempt: it never left the gateway.
pub(crate) async fn defer(ctx: &Context, record: &InvoiceRecord, why: &str, wait: Duration) -> Result<Attempt, OpError> {
    let now = micros(Utc::now());
    ctx.store.defer_invoice(&record.id, why, at(now, wait), now).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
    tracing::debug!(invoice.id = %record.id, wait_ms = wait.as_millis() as u64, "invoice held back by its context's rate limit");
    Ok(Attempt::Requeued)
}

/// KSeF's list of session `reference`, by invoice hash, to look for earlier attempts of several invoices at once.
pub(crate) async fn listed_by_hash(ctx: &Context, tenant: &Tenant, reference: &str) -> Result<HashMap<String, SessionInvoiceStatusResponse>, OpError> {
    let ksef = tenant_ksef(ctx, tenant).await?;
    let listed = ksef.session_invoices(reference).await.map_err(|e| OpError::ksef(ErrorCode::InvoiceStatus, &e))?;
    Ok(listed.into_iter().map(|i| (i.invoice_hash.clone(), i)).collect())
}

/// Moves session `session_id` on from KSeF session `old_reference`, which KSeF closed, to a new one opened with
/// the same key; if another instance did so first, its new session is used.
async fn continue_session(
    ctx: &Context,
    tenant: &Tenant,
    ksef: &ContextClient,
    session_id: &str,
    old_reference: &str,
) -> anyhow::Result<String> {
    let session = ctx.store.session(session_id).await?.ok_or_else(|| anyhow::anyhow!("no session {session_id}"))?;
    ctx.forget_session(session_id);
    if let Some(current) = session.ksef_reference.as_deref().filter(|r| *r != old_reference) {
        return Ok(current.to_owned());
    }
    let (Some(encryption), SessionKind::Online) = (session.encryption.as_deref(), session.kind) else {
        anyhow::bail!("KSeF closed session {session_id}, which cannot be continued (opened before the gateway kept its key's wrapping)");
    };
    let encryption: EncryptionInfo = serde_json::from_str(encryption)?;
    let version = InvoiceVersion::parse(&session.invoice_version).map_err(|e| anyhow::anyhow!("{e}"))?;
    let opened = ksef.open_online(&OpenOnlineSessionRequest { form_code: version.form_code(), encryption }).await?;
    let moved = ctx.store.continue_session(session_id, old_reference, &opened.reference_number).await?;
    if moved {
        tracing::info!(session.id = %session_id, tenant = %tenant.id, old = %old_reference, new = %opened.reference_number, "KSeF closed the session; continued in a new one");
        return Ok(opened.reference_number);
    }
    // Another instance moved it on first: ours is closed unused, theirs is used.
    let _ = ksef.close_online_session(&opened.reference_number).await;
    let session = ctx.store.session(session_id).await?;
    session.and_then(|s| s.ksef_reference).ok_or_else(|| anyhow::anyhow!("session {session_id} lost its KSeF reference"))
}

/// The KSeF session of managed session `session_id`, opened now (with the session's own key, wrapped for KSeF)
/// if the outbox has not opened it yet; if another instance opens it at the same time, theirs is used.
pub(crate) async fn open_managed(ctx: &Context, tenant: &Tenant, session_id: &str) -> anyhow::Result<String> {
    let session = ctx.store.session(session_id).await?.ok_or_else(|| anyhow::anyhow!("no session {session_id}"))?;
    if let Some(reference) = session.ksef_reference {
        return Ok(reference);
    }
    let ksef = tenant_ksef(ctx, tenant).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let keys = ksef.keys().await?;
    let (key, iv) = super::open_gateway_key(ctx, session_id, session.sealed_key.as_deref(), session.iv.as_deref())?;
    let encryption = keys.wrap(&key, &iv)?;
    let version = InvoiceVersion::parse(&session.invoice_version).map_err(|e| anyhow::anyhow!("{e}"))?;
    let opened = ksef.open_online(&OpenOnlineSessionRequest { form_code: version.form_code(), encryption: encryption.clone() }).await;
    let opened = match opened {
        Ok(opened) => {
            ctx.ksef.health().ok();
            opened
        }
        Err(err) => {
            if unreachable(&err) {
                ctx.ksef.health().failed();
            }
            return Err(err.into());
        }
    };
    if ctx.store.set_managed_reference(session_id, &opened.reference_number, &serde_json::to_string(&encryption)?).await? {
        tracing::info!(session.id = %session_id, session.reference = %opened.reference_number, tenant = %tenant.id, "managed session opened in KSeF");
        return Ok(opened.reference_number);
    }
    let _ = ksef.close_online_session(&opened.reference_number).await;
    let session = ctx.store.session(session_id).await?;
    session.and_then(|s| s.ksef_reference).ok_or_else(|| anyhow::anyhow!("managed session {session_id} has no KSeF reference"))
}

/// Puts an invoice back in the queue because what it needs first (KSeF's list of its session, or its session
/// opened in KSeF) failed; held back by pacing, it waits without that counting as an attempt.
pub(crate) async fn requeue_for(ctx: &Context, record: &InvoiceRecord, why: &anyhow::Error) -> Result<(), OpError> {
    let message = format!("{why:#}");
    if let Some(KsefError::Paced { wait, .. }) = why.downcast_ref::<KsefError>() {
        return defer(ctx, record, &message, *wait).await.map(|_| ());
    }
    requeue(ctx, record, &message, None, record.verify_first).await.map(|_| ())
}

/// What polls read: each polled invoice with its new status, for [`record_statuses`] to write (the polls of a
/// worker's round together, in a few writes where each session's poll had one).
pub(crate) type Polled = Vec<(InvoiceRecord, StatusChange)>;

/// Reads the statuses of `records` (sent invoices of one tenant and one KSeF session) from KSeF: one request per
/// invoice for a few, KSeF's list of the session for more, and for a batch's (whose invoices KSeF numbers only as
/// it processes the package) the list once KSeF has processed it, matched by hash. Invoices a batch ended without
/// are given back to the queue, to go online; the rest come back with their new status, unrecorded.
pub(crate) async fn poll(ctx: &Context, tenant: &Tenant, ksef_session: &str, records: Vec<InvoiceRecord>) -> Result<Polled, OpError> {
    if let Some(wait) = ctx.ksef.paused(&tenant.id) {
        return Ok(defer_polls(records, "this context's KSeF rate limit is spent", Some(wait)));
    }
    let batch = match records.iter().find_map(|r| r.batch_session.clone()) {
        Some(batch) => {
            let row = ctx.store.session(&batch).await.map_err(OpError::store(ErrorCode::SessionSave))?;
            let fate = match &row {
                Some(row) => super::batches::fate(ctx, tenant, row).await,
                None => Ok(super::batches::Fate::NotTaken),
            };
            match fate {
                Ok(super::batches::Fate::Final) => Some(batch),
                // A batch's invoices are all known at once when KSeF has processed it: polled again soon at first,
                // less often as it takes longer (KSeF allows 1,200 session reads an hour).
                Ok(super::batches::Fate::Pending) => {
                    let age = Duration::from_micros(u64::try_from(micros(Utc::now()) - row.as_ref().map_or(0, |r| r.created_at)).unwrap_or(0));
                    let wait = (age / 8).clamp(BATCH_POLL_EVERY, Duration::from_secs(60));
                    return Ok(defer_polls(records, "KSeF is processing their batch", Some(wait)));
                }
                Ok(super::batches::Fate::NotTaken) => {
                    super::batches::give_back(ctx, &batch, None, "KSeF did not take the batch (it was never closed); sent online", true).await?;
                    return Ok(Vec::new());
                }
                Err(err) => {
                    tracing::info!(error = %err, session.id = %batch, "could not read a batch's status from KSeF; trying later");
                    return Ok(defer_polls(records, &err.to_string(), None));
                }
            }
        }
        None => None,
    };
    let ksef = tenant_ksef(ctx, tenant).await?;
    // A few invoices: one request each (a session's list can be long); many, or a batch's: the list, a thousand to
    // a page.
    let kept = batch.as_ref().and_then(|_| {
        let lists = ctx.batch_lists.lock().expect("batch lists lock");
        lists.get(ksef_session).filter(|(read, _)| read.elapsed() < BATCH_LIST_KEPT).map(|(_, list)| list.clone())
    });
    let answers: Result<Arc<Vec<SessionInvoiceStatusResponse>>, KsefError> = if let Some(kept) = kept {
        Ok(kept)
    } else if records.len() < 64 && batch.is_none() {
        let reads: Vec<_> = records.iter().filter_map(|r| r.ksef_reference.as_deref()).map(|reference| ksef.session_invoice(ksef_session, reference)).collect();
        futures_util::stream::iter(reads).buffer_unordered(8).collect::<Vec<_>>().await.into_iter().collect::<Result<Vec<_>, _>>().map(Arc::new)
    } else {
        let list = ksef.session_invoices(ksef_session).await.map(Arc::new);
        if let (Ok(list), Some(_)) = (&list, &batch) {
            let mut lists = ctx.batch_lists.lock().expect("batch lists lock");
            lists.retain(|_, (read, _)| read.elapsed() < BATCH_LIST_KEPT);
            lists.insert(ksef_session.to_owned(), (std::time::Instant::now(), list.clone()));
        }
        list
    };
    let answers = match answers {
        Ok(answers) => answers,
        Err(err) => {
            if let KsefError::RateLimited { retry_after } = &err {
                ctx.ksef.pause(&tenant.id, retry_after.unwrap_or(Duration::from_secs(1)));
            }
            return Ok(defer_polls(records, &err.to_string(), retry_after(&err)));
        }
    };
    let by_reference: HashMap<&str, &SessionInvoiceStatusResponse> = answers.iter().map(|a| (a.reference_number.as_str(), a)).collect();
    let by_hash: HashMap<&str, &SessionInvoiceStatusResponse> = answers.iter().map(|a| (a.invoice_hash.as_str(), a)).collect();
    let now = micros(Utc::now());
    let mut changes = Vec::with_capacity(records.len());
    for r in records {
        let answer = match r.ksef_reference.as_deref() {
            Some(reference) => by_reference.get(reference),
            None => by_hash.get(r.invoice_hash.as_str()),
        };
        let Some(answer) = answer else {
            if let Some(batch) = &batch {
                super::batches::give_back(ctx, batch, Some(&r.id), "KSeF processed its batch without it; sent online", true).await?;
            }
            continue;
        };
        let change = status_change(answer, r.created_at, now);
        if change.state.is_final() {
            tracing::info!(invoice.id = %r.id, state = change.state.as_str(), code = change.status.code, "KSeF's verdict on an invoice");
        }
        changes.push((r, change));
    }
    Ok(changes)
}

/// How often a batch's invoices are polled at first while KSeF processes it (one status read per batch, not per
/// invoice).
const BATCH_POLL_EVERY: Duration = Duration::from_secs(2);
/// How long a processed batch's list serves the polls of its invoices.
const BATCH_LIST_KEPT: Duration = Duration::from_secs(60);

/// After a failed poll, the claimed invoices wait as long as KSeF asked (`wait`), or their usual interval.
fn defer_polls(records: Vec<InvoiceRecord>, why: &str, wait: Option<Duration>) -> Polled {
    tracing::info!(why, invoices = records.len(), "invoice statuses not read from KSeF now; trying later");
    let now = micros(Utc::now());
    records
        .into_iter()
        .map(|r| {
            let delay = wait.unwrap_or_else(|| poll_delay(r.created_at, now).max(Duration::from_secs(2)));
            // Not yet seen by a poll: kept `sent` with the status KSeF gives every invoice it receives.
            let status = r.status.clone().unwrap_or_else(|| InvoiceStatusUpdate {
                code: i64::from(invoice_status::RECEIVED.code),
                description: invoice_status::RECEIVED.description.to_owned(),
                ..InvoiceStatusUpdate::default()
            });
            (r, StatusChange { state: DeliveryState::Sent, status, original_ksef_number: None, next_poll_at: Some(at(now, delay)), reference: None })
        })
        .collect()
}

/// Closes in KSeF a session the caller closed, now that its invoices are delivered. True when KSeF has it closed.
pub(crate) async fn close_in_ksef(ctx: &Context, tenant: &Tenant, session: &SessionRecord) -> Result<Result<(), KsefError>, OpError> {
    let Some(reference) = session.ksef_reference.as_deref() else { return Ok(Ok(())) };
    let ksef = tenant_ksef(ctx, tenant).await?;
    let closed = match session.kind {
        SessionKind::Batch => ksef.close_batch_session(reference).await,
        SessionKind::Online => ksef.close_online_session(reference).await,
    };
    match closed {
        // KSeF says the session is no longer open (closed by time, or already by us): it is closed.
        Ok(()) => {}
        Err(err) if err.has_code(ExceptionCode::SessionStatusForbids) => {}
        Err(err) => return Ok(Err(err)),
    }
    ctx.store.mark_session_ksef_closed(&session.id, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    tracing::info!(session.id = %session.id, tenant = %tenant.id, "session closed in KSeF");
    Ok(Ok(()))
}

/// When the worker looks at a session again after KSeF failed it.
pub(crate) fn session_retry_at(err: &KsefError) -> i64 {
    let delay = match classify(err) {
        Failure::Transient { retry_after: Some(wait) } => wait,
        _ => Duration::from_secs(5),
    };
    at(micros(Utc::now()), delay)
}

/// Records KSeF's latest statuses of invoices in one write; a verdict's event is posted to webhooks at once, and an
/// invoice KSeF has kept processing longer than `webhooks.held_after` is told of once.
pub(crate) async fn record_statuses<R: Borrow<InvoiceRecord>>(ctx: &Context, changes: Vec<(R, StatusChange)>, now: i64) -> Result<(), OpError> {
    let held_after = super::micros_of(ctx.webhooks.held_after);
    let mut held = Vec::new();
    let mut verdicts = false;
    let changes: Vec<(String, StatusChange)> = changes
        .into_iter()
        .map(|(record, change)| {
            let record = record.borrow();
            verdicts |= change.state.is_final();
            if change.state == DeliveryState::Sent
                && change.status.code == i64::from(invoice_status::PROCESSING.code)
                && now - record.created_at > held_after
            {
                held.push((record.tenant_id.clone(), record.id.clone()));
            }
            (record.id.clone(), change)
        })
        .collect();
    // One transaction for the lot, where each invoice had one of its own.
    ctx.store.update_invoice_statuses(changes, now).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
    for (tenant, id) in &held {
        let recorded = ctx.store.record_event(tenant, ksef_store::EventKind::InvoiceHeld, id, None, now, None).await;
        if recorded.map_err(OpError::store(ErrorCode::InvoiceSave))?.is_some() {
            tracing::warn!(invoice.id = %id, "KSeF has been processing an invoice longer than webhooks.held_after_secs");
        }
    }
    if verdicts || !held.is_empty() {
        ctx.wake_webhooks();
    }
    Ok(())
}

