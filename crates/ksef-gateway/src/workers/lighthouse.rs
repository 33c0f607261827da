//! Reads the Latarnia, where the Ministry announces KSeF's maintenance and failures, into the gateway's
//! announcements (so submits are issued offline in the announced mode and get their deadlines), and KSeF's state
//! as it reports it into `/metrics`.

use std::time::Duration;

use ksef_client::wire::lighthouse::KsefStatus;

use crate::ops;

/// Runs until aborted, reading `url` every `every`.
pub(super) async fn run(ctx: ops::Context, url: String, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    let mut missing = std::collections::HashSet::new();
    let mut last: Option<KsefStatus> = None;
    loop {
        tick.tick().await;
        match ops::announcements::follow_lighthouse(&ctx, &url, &mut missing).await {
            Ok(status) => {
                if failing {
                    tracing::info!(lighthouse = %url, "the Latarnia answers again");
                }
                failing = false;
                // A change of KSeF's state is told to every tenant (not the first reading of an available KSeF).
                if last != Some(status) && status != KsefStatus::Unknown && !(last.is_none() && status == KsefStatus::Available) {
                    ops::events::tell_everyone_ksef_status(&ctx, status_name(status), "latarnia").await;
                }
                last = Some(status);
                for known in [KsefStatus::Available, KsefStatus::Maintenance, KsefStatus::Failure, KsefStatus::TotalFailure] {
                    metrics::gauge!("ksef_gateway_lighthouse_status", "status" => status_name(known)).set(if status == known { 1.0 } else { 0.0 });
                }
            }
            // Logged when it starts failing, not every minute it stays so.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(lighthouse = %url, error = %e, "could not read the Latarnia; announcements are not followed until it answers");
            }
            Err(_) => {}
        }
    }
}

/// KSeF's state as `/metrics` and the `ksef.status` event name it.
fn status_name(status: KsefStatus) -> &'static str {
    match status {
        KsefStatus::Available => "available",
        KsefStatus::Maintenance => "maintenance",
        KsefStatus::Failure => "failure",
        KsefStatus::TotalFailure => "total_failure",
        KsefStatus::Unknown => "unknown",
    }
}
