//! Background work apart from HTTP handlers: the outbox (`outbox.rs`: delivering invoices, polling their
//! statuses, closing sessions in KSeF, fetching UPOs), following the Latarnia's announcements (`lighthouse.rs`),
//! posting events to webhooks (`webhooks.rs`), syncing received invoices (`inbox.rs`), watching tenants'
//! certificates expire, forgetting old idempotency keys, events, webhook deliveries and the content of long-rejected invoices.

mod inbox;
mod lighthouse;
mod outbox;
pub(crate) mod webhooks;

use std::time::Duration;

use chrono::Utc;

use crate::ops;

/// How often the expiry metric is refreshed (credentials change from the command line, in another process).
const EXPIRY_REFRESH_EVERY: Duration = Duration::from_secs(3600);
/// Warnings about expiring certificates are logged at start and every this many refreshes (twice a day).
const EXPIRY_WARN_EVERY: u32 = 12;

/// Runs the outbox, the Latarnia's follower, webhooks and the inbox sync, and checks every tenant's credential at start and every [`EXPIRY_REFRESH_EVERY`] after,
/// until aborted.
pub(crate) fn start(ops: ops::Context) -> tokio::task::JoinHandle<()> {
    let outbox = outbox::run(ops.clone());
    let lighthouse = {
        let ops = ops.clone();
        async move {
            if let Some((url, every)) = ops.lighthouse.clone() {
                lighthouse::run(ops, url, every).await;
            }
        }
    };
    let webhooks = webhooks::run(ops.clone());
    let inbox = {
        let ops = ops.clone();
        async move {
            if let Some(every) = ops.inbox_every {
                inbox::run(ops, every).await;
            }
        }
    };
    let housekeeping = async move {
        let mut tick = tokio::time::interval(EXPIRY_REFRESH_EVERY);
        for round in 0u32.. {
            tick.tick().await;
            if let Err(e) = ops::credentials::check_expiry(&ops, Utc::now(), round % EXPIRY_WARN_EVERY == 0).await {
                tracing::warn!(error = %e, "failed to check credentials' expiry");
            }
            let now = Utc::now();
            match ops.store.prune_events(ops::micros(now - ops::events::DELIVERIES_KEPT), ops::micros(now - ops::events::EVENTS_KEPT)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "old events and webhook deliveries forgotten"),
                Err(e) => tracing::warn!(error = %e, "failed to forget old events"),
            }
            match ops.store.forget_rejected_payloads(ops::micros(now - ops::REJECTED_CONTENT_KEPT)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(invoices = n, "content of long-rejected invoices forgotten"),
                Err(e) => tracing::warn!(error = %e, "failed to forget the content of rejected invoices"),
            }
            match ops.store.forget_expired_console_sessions(ops::micros(now)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sign_ins = n, "ended console sign-ins forgotten"),
                Err(e) => tracing::warn!(error = %e, "failed to forget ended console sign-ins"),
            }
            let expired = ops::micros(Utc::now() - ops::IDEMPOTENCY_KEY_LIFETIME);
            match ops.store.purge_idempotency(expired).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "expired idempotency keys forgotten"),
                Err(e) => tracing::warn!(error = %e, "failed to forget expired idempotency keys"),
            }
        }
    };
    // One task, so aborting it stops them all.
    tokio::spawn(async move {
        tokio::join!(outbox, lighthouse, webhooks, inbox, housekeeping);
    })
}
