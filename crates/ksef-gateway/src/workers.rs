//! Background work apart from HTTP handlers: watching tenants' certificates expire.

use std::time::Duration;

use chrono::Utc;

use crate::ops;

/// How often certificates' expiry is checked (and logged, and published as a metric).
const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);

/// Checks every tenant's credential at start and every [`EXPIRY_CHECK_EVERY`] after, until aborted.
pub(crate) fn start(ops: ops::Context) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_CHECK_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = ops::credentials::check_expiry(&ops, Utc::now()).await {
                tracing::warn!(error = %e, "failed to check credentials' expiry");
            }
        }
    })
}
