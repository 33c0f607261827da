//! The outbox worker: what the gateway does for invoices after their senders were answered. Each round it sends
//! queued invoices (claimed, so instances sharing a database never send one twice), polls the statuses of those
//! KSeF is processing, closes in KSeF the sessions callers closed once their invoices are in, and fetches their
//! UPOs. Beside it a heartbeat tells other instances this one is alive; invoices an instance left mid-send when it
//! died are put back in the queue, and checked against KSeF's list before they are sent again.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt as _;
use ksef_client::EncryptedInvoice;
use ksef_store::{DeliveryState, InvoiceRecord, SessionRecord};

use ksef_client::wire::sessions::SessionInvoiceStatusResponse;

use crate::ops::delivery::{self, Failure, Known};
use crate::ops::{Context, OpError, Tenant, micros};

/// How often the worker looks for work.
const ROUND_EVERY: Duration = Duration::from_millis(200);
/// How often due statuses are polled: often, so each round's reads are few and spread out rather than a burst
/// every round that sends wait behind.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// How often queues long enough for a batch are looked for.
const BATCH_EVERY: Duration = Duration::from_secs(2);
/// Tenants' batches packaged and uploaded at once.
const BATCHES_AT_ONCE: usize = 2;
/// While KSeF is unreachable, how often the worker asks whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(10);
/// How often an instance says it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);
/// An instance silent this long is taken for dead, and the sends it held are taken over.
const LEASE_LAPSES_AFTER: Duration = Duration::from_secs(15);
/// Sends in flight at once; the worker claims more as they finish.
const SENDS_AT_ONCE: usize = 32;
/// Invoices of one tenant claimed per round, so a tenant's backlog does not hold up the others' invoices.
const CLAIM_SENDS_PER_TENANT: i64 = 16;
/// Invoices whose status is polled per round.
const CLAIM_POLLS: i64 = 512;
/// Statuses recorded in one write after a round of polls.
const STATUSES_PER_WRITE: usize = 128;
/// A claimed poll, close or UPO fetch is not claimed again by anyone for this long (if this instance dies meanwhile).
const CLAIM_HOLD: Duration = Duration::from_secs(30);
/// KSeF is asked for a session's UPO at most this often while it processes the session (less often as it takes longer).
const UPO_EVERY: Duration = Duration::from_secs(1);
/// Sessions closed longer ago than this are no longer asked for their UPO by the worker (a caller still can).
const UPO_GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// A managed session that took no invoice for this long is closed (its UPO follows); later submits open another.
const MANAGED_IDLE: chrono::TimeDelta = chrono::TimeDelta::seconds(20);
/// A managed session is closed at this age however busy, so UPOs keep coming.
const MANAGED_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::minutes(30);
/// A managed session is closed once it holds this many invoices (KSeF takes 10,000 per session; the worker looks
/// every two seconds, so this leaves room).
const MANAGED_FULL: i64 = 5_000;
/// How often offline deadlines are looked at (metrics, warnings).
const DEADLINES_EVERY: Duration = Duration::from_secs(60);
/// Offline invoices still undelivered this close to their deadline are warned about.
const DEADLINE_WARNING: chrono::TimeDelta = chrono::TimeDelta::hours(6);

/// Runs until aborted: sends, polls and session work each in a loop of their own, so a slow one (KSeF's list of
/// a long session, a 429 waited out) does not hold up the others.
pub(super) async fn run(ctx: Context) {
    tokio::join!(heartbeat(&ctx), sends(&ctx), batches(&ctx), polls(&ctx), sessions(&ctx), deadlines(&ctx));
}

/// A pipeline of sends: claims as many queued invoices as there is room for in flight, and claims again as each
/// finishes; waits for a round tick or a submit's wake-up only when there is nothing to claim. Each send is a task
/// of its own, so sends progress while the loop claims (a send left unpolled would hold its database connection).
async fn sends(ctx: &Context) {
    let mut tick = tokio::time::interval(ROUND_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Dropped with the worker, which aborts every send still running.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut tenants = HashMap::new();
    let lists = std::sync::Arc::new(Lists::default());
    loop {
        let room = SENDS_AT_ONCE.saturating_sub(in_flight.len());
        let mut claimed_any = false;
        // Claims come in handfuls: one per finished send would cost a claim per invoice.
        if room >= SENDS_AT_ONCE / 4 || in_flight.is_empty() {
            match claim_sends(ctx, room, &mut tenants, &lists).await {
                Ok(sends) => {
                    claimed_any = !sends.is_empty();
                    for send in sends {
                        in_flight.spawn(send);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "outbox could not claim invoices to send"),
            }
        }
        if claimed_any && SENDS_AT_ONCE - in_flight.len() >= SENDS_AT_ONCE / 4 {
            // More may be due already: claim again before waiting.
            continue;
        }
        tokio::select! {
            Some(result) = in_flight.join_next(), if !in_flight.is_empty() => {
                match result {
                    Ok(Err(e)) => tracing::warn!(error = %e, "outbox could not record a send"),
                    Err(e) if e.is_panic() => tracing::error!(error = %e, "a send panicked"),
                    _ => {}
                }
            }
            _ = tick.tick() => {}
            () = ctx.outbox_woken() => {}
        }
    }
}

/// Long queues go to KSeF as batches: every few seconds each tenant's queue of sessionless submits of one schema
/// and mode that is long enough is sent as one batch. While KSeF is unreachable nothing is packaged, and a queue
/// whose batch failed waits longer each time before the next.
async fn batches(ctx: &Context) {
    if ctx.batch_from <= 0 {
        return;
    }
    let mut tick = tokio::time::interval(BATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tenants = HashMap::new();
    // Per queue: failures in a row, and when to try again.
    let mut backoff: HashMap<(String, String, bool), (u32, std::time::Instant)> = HashMap::new();
    let mut was_unreachable = false;
    let mut last_probe = std::time::Instant::now();
    loop {
        tick.tick().await;
        if ctx.ksef.health().unreachable() {
            // Every queued invoice may be in a long backoff: asking KSeF for its public keys (a call every caller
            // may make) tells sooner that it is back.
            was_unreachable = true;
            if last_probe.elapsed() < PROBE_EVERY {
                continue;
            }
            last_probe = std::time::Instant::now();
            match ctx.ksef.client().public_key_certificates().await {
                Ok(_) => ctx.ksef.health().ok(),
                Err(_) => continue,
            }
        }
        if was_unreachable {
            was_unreachable = false;
            match ctx.store.queue_due_now(micros(Utc::now())).await {
                Ok(n) => tracing::info!(invoices = n, "KSeF answers again; every queued invoice is due now"),
                Err(e) => tracing::warn!(error = %e, "could not make the queued invoices due"),
            }
        }
        let queues = match ctx.store.batch_queues(ctx.batch_from).await {
            Ok(queues) => queues,
            Err(e) => {
                tracing::warn!(error = %e, "outbox could not look for queues to send as batches");
                continue;
            }
        };
        let mut due = Vec::new();
        for queue in queues {
            let key = (queue.tenant_id.clone(), queue.invoice_version.clone(), queue.offline);
            if backoff.get(&key).is_some_and(|(_, until)| std::time::Instant::now() < *until) {
                continue;
            }
            if !tenants.contains_key(&queue.tenant_id) {
                match self::tenants(ctx, std::iter::once(queue.tenant_id.as_str())).await {
                    Ok(found) => tenants.extend(found),
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox could not read a tenant");
                        continue;
                    }
                }
            }
            if let Some(tenant) = tenants.get(&queue.tenant_id).cloned() {
                due.push((key, tenant, queue));
            }
        }
        // A few tenants' batches at once, so one tenant's large package does not hold up another's.
        let results: Vec<_> = futures_util::stream::iter(due)
            .map(|(key, tenant, queue)| async move { (key, crate::ops::batches::send(ctx, &tenant, &queue).await) })
            .buffer_unordered(BATCHES_AT_ONCE)
            .collect()
            .await;
        for (key, result) in results {
            match result {
                Ok(_) => {
                    backoff.remove(&key);
                }
                Err(e) => {
                    let failures = backoff.get(&key).map_or(0, |(n, _)| *n) + 1;
                    let wait = delivery::retry_delay(i64::from(failures) + 2);
                    tracing::warn!(error = %e, tenant = %key.0, retry_in_s = wait.as_secs(), "a batch did not go; its invoices are back in the queue");
                    backoff.insert(key, (failures, std::time::Instant::now() + wait));
                }
            }
        }
    }
}

/// Polls statuses as long as a full claim comes back, then waits for a tick.
async fn polls(ctx: &Context) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match poll_statuses(ctx).await {
            Ok(full) if full => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox could not poll invoice statuses"),
        }
        tick.tick().await;
    }
}

/// Keeps the offline invoices' deadlines in `/metrics` and warns about those close to passing.
async fn deadlines(ctx: &Context) {
    let mut tick = tokio::time::interval(DEADLINES_EVERY);
    let mut tenants_seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    loop {
        tick.tick().await;
        let pending = match ctx.store.offline_pending().await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(error = %e, "could not read offline invoices' deadlines");
                continue;
            }
        };
        let now = Utc::now();
        let mut by_tenant: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        for (tenant, id, deadline) in pending {
            let entry = by_tenant.entry(tenant.clone()).or_insert((0, i64::MAX));
            entry.0 += 1;
            entry.1 = entry.1.min(deadline);
            let left = crate::ops::from_micros(deadline) - now;
            if left < DEADLINE_WARNING {
                tracing::warn!(tenant = %tenant, invoice.id = %id, hours_left = left.num_hours(), "an offline invoice is not in KSeF yet and its legal deadline is near");
                // Told to webhooks once per invoice.
                match ctx.store.record_event(&tenant, ksef_store::EventKind::OfflineDeadlineNear, &id, None, micros(now), None).await {
                    Ok(Some(_)) => ctx.wake_webhooks(),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not record an offline deadline's event"),
                }
            }
        }
        for tenant in tenants_seen.iter().filter(|t| !by_tenant.contains_key(*t)) {
            metrics::gauge!("ksef_gateway_offline_pending", "tenant" => tenant.clone()).set(0.0);
            metrics::gauge!("ksef_gateway_offline_deadline_seconds", "tenant" => tenant.clone()).set(f64::INFINITY);
        }
        for (tenant, (count, deadline)) in &by_tenant {
            metrics::gauge!("ksef_gateway_offline_pending", "tenant" => tenant.clone()).set(*count as f64);
            let left = (crate::ops::from_micros(*deadline) - now).num_seconds();
            metrics::gauge!("ksef_gateway_offline_deadline_seconds", "tenant" => tenant.clone()).set(left as f64);
        }
        tenants_seen = by_tenant.into_keys().collect();
        metrics::gauge!("ksef_gateway_ksef_reachable").set(if ctx.ksef.health().unreachable() { 0.0 } else { 1.0 });
        match ctx.store.invoice_counts().await {
            Ok(counts) => {
                for state in [DeliveryState::Queued, DeliveryState::Sending, DeliveryState::Sent, DeliveryState::Accepted, DeliveryState::Rejected, DeliveryState::Duplicate] {
                    let n = counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
                    metrics::gauge!("ksef_gateway_invoices", "state" => state.as_str()).set(n as f64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not count invoices by state"),
        }
    }
}

async fn heartbeat(ctx: &Context) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        let now = Utc::now();
        if let Err(e) = ctx.store.heartbeat(&ctx.instance, micros(now)).await {
            tracing::warn!(error = %e, "could not record this instance's heartbeat");
            continue;
        }
        if let Err(e) = adopt_orphans(ctx).await {
            tracing::warn!(error = %e, "could not take over the sends of a stopped instance");
        }
        match ctx.store.undelivered_by_tenant().await {
            Ok(counts) => ctx.set_backlog(counts.into_iter().collect()),
            Err(e) => tracing::warn!(error = %e, "could not count the invoices waiting for KSeF"),
        }
        let _ = ctx.store.forget_instances(micros(now - chrono::TimeDelta::hours(1))).await;
    }
}

/// Session work each round: idle managed sessions closed, closes done in KSeF, UPOs fetched.
async fn sessions(ctx: &Context) {
    let mut tick = tokio::time::interval(ROUND_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_idle_check = std::time::Instant::now();
    loop {
        tick.tick().await;
        if last_idle_check.elapsed() > Duration::from_secs(2) {
            last_idle_check = std::time::Instant::now();
            let now = Utc::now();
            match ctx.store.close_idle_managed_sessions(micros(now - MANAGED_IDLE), micros(now - MANAGED_MAX_AGE), MANAGED_FULL, micros(now)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "idle managed sessions closed"),
                Err(e) => tracing::warn!(error = %e, "could not close idle managed sessions"),
            }
        }
        for (what, result) in [("close sessions", close_sessions(ctx).await), ("fetch UPOs", fetch_upos(ctx).await)] {
            if let Err(e) = result {
                tracing::warn!(error = %e, "outbox could not {what}");
            }
        }
    }
}

/// Puts back in the queue the invoices a dead instance was sending; they are checked against KSeF before any
/// is sent again.
async fn adopt_orphans(ctx: &Context) -> Result<(), OpError> {
    let store = OpError::store(crate::errors::ErrorCode::InvoiceSave);
    let now = Utc::now();
    let alive_since = micros(now - LEASE_LAPSES_AFTER);
    let orphans = ctx.store.orphaned_sends(alive_since, 1000).await.map_err(store)?;
    for orphan in orphans {
        let now = micros(Utc::now());
        if ctx.store.adopt_orphan(&orphan.id, orphan.lease_owner.as_deref(), &ctx.instance, now).await.map_err(OpError::store(crate::errors::ErrorCode::InvoiceSave))? {
            let why = "the gateway instance sending it stopped before KSeF's answer was recorded; KSeF's list is checked before it is sent again";
            ctx.store.requeue_invoice(&orphan.id, why, now, now, true).await.map_err(OpError::store(crate::errors::ErrorCode::InvoiceSave))?;
            tracing::info!(invoice.id = %orphan.id, dead = orphan.lease_owner.as_deref().unwrap_or(""), "took over an invoice a stopped instance was sending");
        }
    }
    Ok(())
}

/// The tenants of `ids`, as operations need them.
async fn tenants(ctx: &Context, ids: impl Iterator<Item = &str>) -> Result<HashMap<String, Tenant>, OpError> {
    let mut tenants = HashMap::new();
    for id in ids {
        if tenants.contains_key(id) {
            continue;
        }
        if let Some(t) = ctx.store.tenant(id).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))? {
            tenants.insert(t.id.clone(), Tenant { id: t.id, nip: t.nip });
        }
    }
    Ok(tenants)
}

/// A read of KSeF's list of a session, by invoice hash (or why it failed).
type List = std::sync::Arc<Result<HashMap<String, SessionInvoiceStatusResponse>, String>>;

/// KSeF's lists of sessions, each as read at an instant (µs) and kept briefly, so many invoices of one session resent
/// in quick succession share one read, made by the first of their sends while the others wait for it. An invoice
/// uses a read only if it was made after its last attempt failed.
#[derive(Default)]
struct Lists {
    slots: std::sync::Mutex<HashMap<(String, String), Slot>>,
}

/// One session's latest read, locked while it is being made.
type Slot = std::sync::Arc<tokio::sync::Mutex<Option<(i64, List)>>>;

impl Lists {
    async fn get(&self, ctx: &Context, tenant: &Tenant, session: &str, failed_at: i64) -> List {
        let slot = {
            let mut slots = self.slots.lock().expect("lists lock");
            let now = micros(Utc::now());
            // Forget reads nobody can use any more.
            slots.retain(|_, slot| slot.try_lock().map_or(true, |s| s.as_ref().is_some_and(|(read_at, _)| *read_at > now - LIST_KEPT.num_microseconds().unwrap_or(0))));
            slots.entry((tenant.id.clone(), session.to_owned())).or_default().clone()
        };
        let mut read = slot.lock().await;
        let kept_since = micros(Utc::now()) - LIST_KEPT.num_microseconds().unwrap_or(0);
        if let Some((_, list)) = read.as_ref().filter(|(read_at, _)| *read_at > failed_at && *read_at > kept_since) {
            return list.clone();
        }
        let read_at = micros(Utc::now());
        let list: List = std::sync::Arc::new(delivery::listed_by_hash(ctx, tenant, session).await.map_err(|e| e.to_string()));
        *read = Some((read_at, list.clone()));
        list
    }
}

/// How long a read of KSeF's list of a session serves later resends.
const LIST_KEPT: chrono::TimeDelta = chrono::TimeDelta::seconds(3);

/// A send claimed and ready to run.
type Send = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), OpError>> + std::marker::Send>>;

/// Claims up to `room` queued invoices and makes their sends; those an earlier attempt may have delivered are
/// first looked up in KSeF's list of their session, one read per session however many of its invoices are resent.
async fn claim_sends(
    ctx: &Context,
    room: usize,
    tenants: &mut HashMap<String, Tenant>,
    lists: &std::sync::Arc<Lists>,
) -> Result<Vec<Send>, OpError> {
    let limit = i64::try_from(room).unwrap_or(i64::MAX);
    let claimed = ctx
        .store
        .claim_queued_invoices(&ctx.instance, micros(Utc::now()), limit, CLAIM_SENDS_PER_TENANT)
        .await
        .map_err(OpError::store(crate::errors::ErrorCode::InvoiceSave))?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    // A tenant's id and NIP never change: they are read once per process.
    let unknown: Vec<&str> = claimed.iter().map(|r| r.tenant_id.as_str()).filter(|id| !tenants.contains_key(*id)).collect();
    if !unknown.is_empty() {
        tenants.extend(self::tenants(ctx, unknown.into_iter()).await?);
    }
    Ok(claimed
        .into_iter()
        .map(|record| {
            let tenant = tenants.get(&record.tenant_id).cloned();
            let (ctx, lists) = (ctx.clone(), lists.clone());
            Box::pin(async move { send_one(&ctx, tenant, record, &lists).await }) as Send
        })
        .collect())
}

async fn send_one(ctx: &Context, tenant: Option<Tenant>, mut record: InvoiceRecord, lists: &Lists) -> Result<(), OpError> {
    let now = micros(Utc::now());
    let (Some(tenant), Some(payload)) = (tenant, record.payload.clone()) else {
        ctx.store.reject_invoice_send(&record.id, "the invoice's tenant or content is gone", now).await.map_err(OpError::store(crate::errors::ErrorCode::InvoiceSave))?;
        return Ok(());
    };
    // It was in a batch when an instance stopped: where that batch stands in KSeF decides.
    if let Some(batch) = record.batch_session.clone() {
        return settle_batch_orphan(ctx, &tenant, &record, &batch, lists).await;
    }
    // An earlier attempt may have got through: KSeF's list of the session is read first (one read shared by the
    // invoices of that session resent at about the same time).
    let list = match (record.verify_first, record.ksef_session.as_deref()) {
        (true, Some(session)) => Some(lists.get(ctx, &tenant, session, record.updated_at).await),
        _ => None,
    };
    let known = match list.as_deref() {
        None => Known::Unchecked,
        Some(Ok(list)) => list.get(&record.invoice_hash).map_or(Known::Absent, Known::Listed),
        // KSeF's list could not be read: nothing is sent until it can be.
        Some(Err(why)) => return delivery::requeue_for(ctx, &record, &anyhow::anyhow!("{why}")).await,
    };
    if record.ksef_session.is_none() {
        // A submit's managed session is opened in KSeF by the first send that needs it.
        match delivery::open_managed(ctx, &tenant, &record.session_id).await {
            Ok(reference) => {
                ctx.store.set_invoice_ksef_session(&record.id, &reference).await.map_err(OpError::store(crate::errors::ErrorCode::InvoiceSave))?;
                record.ksef_session = Some(reference);
            }
            Err(err) => return delivery::requeue_for(ctx, &record, &err).await,
        }
    }
    let mut request = EncryptedInvoice { ciphertext: payload, invoice_hash: record.invoice_hash.clone(), invoice_size: record.invoice_size }.request();
    request.offline_mode = record.offline_mode.is_some().then_some(true);
    request.hash_of_corrected_invoice = record.hash_of_corrected.clone();
    match delivery::attempt(ctx, &tenant, &record, &request, known, delivery::Caller::Outbox).await {
        Ok(_) => Ok(()),
        Err(err) => {
            // Not even the failure could be recorded: the invoice stays `sending` under this live instance, so
            // put it back before anyone waits on it.
            let _ = ctx.store.requeue_invoice(&record.id, &err.to_string(), now + 5_000_000, now, true).await;
            Err(err)
        }
    }
}

/// An invoice taken over from an instance that stopped while it was in batch `batch`: found in KSeF's list of the
/// batch if KSeF processed it, waited for while KSeF processes it, or given back to the queue if KSeF never took
/// the batch (online if KSeF ended it without the invoice).
async fn settle_batch_orphan(ctx: &Context, tenant: &Tenant, record: &InvoiceRecord, batch: &str, lists: &Lists) -> Result<(), OpError> {
    use crate::ops::batches::{Fate, fate, give_back};
    let row = ctx.store.session(batch).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))?;
    let fate = match &row {
        Some(row) => match fate(ctx, tenant, row).await {
            Ok(fate) => fate,
            Err(err) => return delivery::requeue_for(ctx, record, &anyhow::anyhow!("{err}")).await,
        },
        None => Fate::NotTaken,
    };
    let reference = row.and_then(|r| r.ksef_reference);
    match (fate, reference) {
        (Fate::Final, Some(reference)) => match lists.get(ctx, tenant, &reference, record.updated_at).await.as_ref() {
            Ok(listed) => match listed.get(&record.invoice_hash) {
                Some(found) => delivery::record_found(ctx, record, &reference, found).await.map(|_| ()),
                None => give_back(ctx, batch, Some(&record.id), "KSeF processed its batch without it; sent online", true).await.map(|_| ()),
            },
            Err(why) => delivery::requeue_for(ctx, record, &anyhow::anyhow!("{why}")).await,
        },
        (Fate::Pending, _) => delivery::requeue_for(ctx, record, &anyhow::anyhow!("KSeF is processing its batch")).await,
        _ => give_back(ctx, batch, Some(&record.id), "its batch never reached KSeF, or was never closed", false).await.map(|_| ()),
    }
}

/// Polls the statuses due; true when the claim was full (more may be due).
async fn poll_statuses(ctx: &Context) -> Result<bool, OpError> {
    let now = Utc::now();
    let claimed = ctx.store.claim_due_polls(micros(now), micros(now + CLAIM_HOLD), CLAIM_POLLS).await.map_err(OpError::store(crate::errors::ErrorCode::InvoiceSave))?;
    if claimed.is_empty() {
        return Ok(false);
    }
    let full = claimed.len() as i64 == CLAIM_POLLS;
    let tenants = tenants(ctx, claimed.iter().map(|r| r.tenant_id.as_str())).await?;
    let mut groups: BTreeMap<(String, String), Vec<InvoiceRecord>> = BTreeMap::new();
    for record in claimed {
        let Some(session) = record.ksef_session.clone() else { continue };
        groups.entry((record.tenant_id.clone(), session)).or_default().push(record);
    }
    let results: Vec<Result<delivery::Polled, OpError>> = futures_util::stream::iter(groups)
        .filter_map(|((tenant_id, session), records)| {
            let tenant = tenants.get(&tenant_id).cloned();
            async move { tenant.map(|tenant| (tenant, session, records)) }
        })
        .map(|(tenant, session, records)| async move { delivery::poll(ctx, &tenant, &session, records).await })
        .buffer_unordered(4)
        .collect()
        .await;
    // What the sessions' polls read is written together, a few writes per round where each session had its own
    // (a round is mostly many sessions with an invoice or two each); in slices, so that sends waiting for the
    // writer's turn are not held up behind one long write.
    let mut polled = Vec::new();
    let mut failed = None;
    for result in results {
        match result {
            Ok(changes) => polled.extend(changes),
            Err(err) => failed = failed.or(Some(err)),
        }
    }
    while !polled.is_empty() {
        let rest = polled.split_off(polled.len().min(STATUSES_PER_WRITE));
        delivery::record_statuses(ctx, std::mem::replace(&mut polled, rest), micros(Utc::now())).await?;
    }
    failed.map_or(Ok(full), Err)
}

async fn close_sessions(ctx: &Context) -> Result<(), OpError> {
    let now = Utc::now();
    let claimed = ctx.store.claim_due_closes(micros(now), micros(now + CLAIM_HOLD), 16).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))?;
    let tenants = tenants(ctx, claimed.iter().map(|s| s.tenant_id.as_str())).await?;
    for session in claimed {
        let Some(tenant) = tenants.get(&session.tenant_id) else { continue };
        match delivery::close_in_ksef(ctx, tenant, &session).await? {
            Ok(()) => {}
            Err(err) if delivery::classify(&err) == Failure::Refused => {
                tracing::warn!(session.id = %session.id, error = %err, "KSeF refused to close a session; it stays open");
                ctx.store.withdraw_session_close(&session.id).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))?;
            }
            Err(err) => {
                tracing::info!(session.id = %session.id, error = %err, "KSeF did not close the session yet");
                ctx.store.defer_session(&session.id, delivery::session_retry_at(&err)).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))?;
            }
        }
    }
    Ok(())
}

async fn fetch_upos(ctx: &Context) -> Result<(), OpError> {
    let now = Utc::now();
    let since = micros(now - UPO_GIVE_UP_AFTER);
    let claimed: Vec<SessionRecord> =
        ctx.store.claim_due_upos(micros(now), micros(now + UPO_EVERY), since, 16).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))?;
    let tenants = tenants(ctx, claimed.iter().map(|s| s.tenant_id.as_str())).await?;
    for session in claimed {
        let Some(tenant) = tenants.get(&session.tenant_id) else { continue };
        match crate::ops::sessions::fetch_upo(ctx, tenant, &session).await {
            Ok(_) => tracing::info!(session.id = %session.id, "session UPO kept"),
            // Still processing, or KSeF failing: looked at again soon at first, then less often, so a session KSeF
            // takes long over does not spend the context's budget of session reads (1,200 an hour).
            Err(OpError::Refused { .. }) => {
                let closed = session.ksef_closed_at.unwrap_or(micros(now));
                let next = micros(Utc::now()) + i64::try_from(delivery::poll_delay(closed, micros(Utc::now())).max(UPO_EVERY).as_micros()).unwrap_or(0);
                ctx.store.defer_session(&session.id, next).await.map_err(OpError::store(crate::errors::ErrorCode::SessionSave))?;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
