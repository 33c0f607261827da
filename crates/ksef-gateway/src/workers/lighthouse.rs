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
    loop {
        tick.tick().await;
        match ops::announcements::follow_lighthouse(&ctx, &url, &mut missing).await {
            Ok(status) => {
                if failing {
                    tracing::info!(lighthouse = %url, "the Latarnia answers again");
                }
                failing = false;
                for (known, name) in [
                    (KsefStatus::Available, "available"),
                    (KsefStatus::Maintenance, "maintenance"),
                    (KsefStatus::Failure, "failure"),
                    (KsefStatus::TotalFailure, "total_failure"),
                ] {
                    metrics::gauge!("ksef_gateway_lighthouse_status", "status" => name).set(if status == known { 1.0 } else { 0.0 });
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
