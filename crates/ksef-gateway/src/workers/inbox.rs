//! Syncs the invoices others issue to each tenant from KSeF's exports (`ops::inbox`), every tenant's `subject2`
//! unless switched off, one tenant's run at a time per slot so a tenant with a large backlog takes its turns.

use std::time::Duration;

use chrono::TimeDelta;

use crate::ops::{self, inbox, micros};

/// Runs at once at most, by this instance.
const RUNS_AT_ONCE: usize = 2;

/// Runs until aborted, each tenant's sync due every `every`; each run is a task of its own, so a slow tenant's
/// export holds up no other's.
pub(super) async fn run(ctx: ops::Context, every: Duration) {
    let every = TimeDelta::from_std(every).unwrap_or(TimeDelta::minutes(5));
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(RUNS_AT_ONCE));
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = ctx.inbox_woken() => {}
        }
        let now = ops::now();
        // Every tenant syncs what it buys, from 30 days back, unless it switched that off.
        match ctx.store.tenants_without_sync("subject2", 100).await {
            Ok(new) => {
                for (tenant, _) in new {
                    let from = micros(now - TimeDelta::days(inbox::FIRST_SYNC_DAYS));
                    if let Err(e) = ctx.store.ensure_sync(&tenant, "subject2", from, micros(now)).await {
                        tracing::warn!(error = %e, "could not set up a tenant's sync of received invoices");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list tenants to sync"),
        }
        let free = slots.available_permits();
        if free == 0 {
            continue;
        }
        let due = match ctx.store.claim_due_syncs(micros(now), micros(now + inbox::SYNC_HOLD), free as i64).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim syncs of received invoices");
                continue;
            }
        };
        for sync in due {
            let Ok(permit) = slots.clone().try_acquire_owned() else { break };
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let result = inbox::sync_once(&ctx, &sync).await;
                let now = ops::now();
                let (next, error) = match &result {
                    Ok(run) if run.more => (now, None),
                    Ok(_) => (now + every, None),
                    Err(e) => (now + every, Some(e.to_string())),
                };
                match (&result, &sync.last_error) {
                    (Ok(run), _) if run.new > 0 => tracing::info!(tenant = %sync.tenant_id, subject = %sync.subject, new = run.new, windows = run.windows, "received invoices synced"),
                    // Logged when the failure is new, not every round it persists.
                    (Err(e), last) if last.as_deref() != Some(e.to_string().as_str()) => {
                        tracing::warn!(tenant = %sync.tenant_id, subject = %sync.subject, error = %e, "the sync of received invoices failed; it is retried")
                    }
                    _ => {}
                }
                if let Err(e) = ctx.store.finish_sync(&sync.tenant_id, &sync.subject, micros(next), error.as_deref(), micros(now)).await {
                    tracing::warn!(error = %e, "could not record a sync's end; it runs again when its hold ends");
                }
                ctx.wake_inbox();
            });
        }
    }
}
