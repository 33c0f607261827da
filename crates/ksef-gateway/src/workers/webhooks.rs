//! Posts events to webhooks: signed after Standard Webhooks, at least once, with exponential backoff; a receiver
//! that is down gets one probe at a time, one that stays down is disabled; one slow receiver holds up no other
//! (at most eight of a webhook's deliveries in flight per instance, the rest of the slots for the others).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ksef_store::{AttemptOutcome, AttemptRecord, DeliveryRecord, WebhookChange};

use crate::ops::webhooks::{GuardedResolver, Policy, open_secret, sign};
use crate::ops::{self, micros};

/// Deliveries of one webhook posted at once, by this instance.
const PER_WEBHOOK: i64 = 8;
/// Webhooks being posted to at once, by this instance.
const WEBHOOKS_AT_ONCE: usize = 64;
/// How often the worker looks for due deliveries when nothing wakes it (events recorded by other instances, retries).
const ROUND: Duration = Duration::from_millis(200);
/// The first retry's pause; each next one doubles, up to the configured most.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// Bytes of a failing receiver's answer kept in the log.
const ANSWER_KEPT: usize = 200;

/// Runs until aborted.
pub(super) async fn run(ctx: ops::Context) {
    let policy = ctx.webhooks.clone();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would connect on the gateway's behalf to wherever the URL says, past the address checks.
        .no_proxy()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout.min(Duration::from_secs(5)))
        .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
        .user_agent(concat!("ksef-gateway-webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(PER_WEBHOOK as usize)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks are off: their HTTP client could not be built");
            return;
        }
    };
    // Each webhook's deliveries being posted by this instance; a new claim fills what is free, so posting never
    // waits for a whole group to end.
    let in_flight: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    // Each round's claim is its own owner, so only the attempt it made can record an outcome.
    let mut round: u64 = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep(ROUND) => {}
            () = ctx.webhooks_woken() => {}
        }
        let counts: HashMap<String, i64> = in_flight.lock().expect("in-flight lock").clone();
        // Room for webhooks not being posted to yet; those being posted to fill their own free places.
        let free = WEBHOOKS_AT_ONCE.saturating_sub(counts.len());
        if free == 0 && counts.values().all(|n| *n >= PER_WEBHOOK) {
            continue;
        }
        let now = micros(ops::now());
        let hold = now + ops::micros_of(policy.timeout + Duration::from_secs(30));
        round += 1;
        let owner = format!("{}/{round}", ctx.instance);
        let claimed = match ctx.store.claim_due_deliveries(now, hold, free as i64, PER_WEBHOOK, &counts, &owner).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim webhook deliveries");
                continue;
            }
        };
        for d in claimed {
            *in_flight.lock().expect("in-flight lock").entry(d.webhook_id.clone()).or_default() += 1;
            let guard = InFlight { counts: in_flight.clone(), webhook_id: d.webhook_id.clone(), ctx: ctx.clone() };
            let (ctx, client, policy) = (ctx.clone(), client.clone(), policy.clone());
            tokio::spawn(async move {
                let _guard = guard;
                deliver(&ctx, &client, &policy, d, hold).await;
            });
        }
    }
}

/// A delivery being posted by this instance; no longer once its task ends, however it ends (a panic included).
struct InFlight {
    counts: Arc<Mutex<HashMap<String, i64>>>,
    webhook_id: String,
    ctx: ops::Context,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.webhook_id) {
            *n -= 1;
            if *n <= 0 {
                counts.remove(&self.webhook_id);
            }
        }
        // There may be room for more of this webhook's.
        self.ctx.wake_webhooks();
    }
}

/// How long after failed attempt `attempt` (1, 2, …) the next one is due: doubling from 5 s up to the most
/// configured, with a tenth of jitter so receivers coming back are not hit by every gateway at once.
pub(crate) fn backoff(attempt: i64, max: Duration) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let base = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(doublings)).min(max);
    let jitter = f64::from(ksef_core::crypto::random_array::<1>()[0]) / 255.0 * 0.1;
    base.mul_f64(1.0 - jitter)
}

/// Posts one event to one webhook, claimed until `hold`, and records what came of it.
async fn deliver(ctx: &ops::Context, client: &reqwest::Client, policy: &Policy, d: DeliveryRecord, hold: i64) {
    let tenant = d.event.tenant_id.clone();
    let webhook = match ctx.store.webhook(&tenant, &d.webhook_id).await {
        Ok(Some(w)) if w.enabled => w,
        // Deleted or disabled meanwhile: nothing to post (a disabled one's deliveries wait for it).
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, webhook = %d.webhook_id, "could not read a webhook");
            return;
        }
    };
    let owner = d.lease_owner.clone().unwrap_or_default();
    let at = micros(ops::now());
    let started = Instant::now();
    let result = match post(ctx, client, policy, &webhook, &d, hold).await {
        Ok(answer) => Ok(answer),
        Err(Failure::Receiver(why)) => Err(why),
        Err(Failure::LeaseLost) => return,
        Err(Failure::Gateway(why)) => {
            // Not the receiver's fault: no attempt is counted and the webhook is not marked failing.
            tracing::warn!(webhook = %webhook.id, event = %d.event.id, error = %why, "the gateway could not post an event; it tries again in a minute");
            if let Err(e) = ctx.store.release_delivery(&webhook.id, &d.event.id, &owner, at + 60_000_000).await {
                tracing::warn!(error = %e, "could not give a delivery back");
            }
            return;
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let attempt = d.attempts + 1;
    let (status, error) = match &result {
        Ok((status, _)) if (200..300).contains(status) => (Some(i64::from(*status)), None),
        Ok((status, _)) if (300..400).contains(status) => (Some(i64::from(*status)), Some(format!("answered {status}: webhooks do not follow redirects"))),
        Ok((status, said)) if said.is_empty() => (Some(i64::from(*status)), Some(format!("answered {status}"))),
        Ok((status, said)) => (Some(i64::from(*status)), Some(format!("answered {status}: {said}"))),
        Err(e) => (None, Some(e.clone())),
    };
    let delivered = error.is_none();
    let now = micros(ops::now());
    let give_up = now - d.queued_at > ops::micros_of(policy.give_up_after);
    let retry_at = (!delivered && !give_up).then(|| now + ops::micros_of(backoff(attempt, policy.max_backoff)));
    // The next probe of a failing receiver: a quarter of how long it has been failing, between 1 s and the most
    // pause configured.
    let failing_for = webhook.failing_since.map_or(0, |since| (now - since).max(0));
    let others_wait_until = (!delivered).then(|| now + (failing_for / 4).clamp(1_000_000, ops::micros_of(policy.max_backoff).max(1_000_000)));
    let outcome = AttemptOutcome {
        attempt: AttemptRecord { attempt, at, status, error: error.clone(), duration_ms },
        delivered,
        retry_at,
        others_wait_until,
        lease_owner: owner,
    };
    let failing_since = match ctx.store.record_delivery_attempt(&webhook.id, &d.event.id, &outcome).await {
        Ok((_, true)) => {
            // The receiver is back: what waited for it is due now.
            if let Err(e) = ctx.store.hasten_deliveries(&webhook.id, micros(ops::now())).await {
                tracing::warn!(error = %e, webhook = %webhook.id, "could not make a recovered webhook's deliveries due");
            }
            None
        }
        Ok((f, false)) => f,
        Err(e) => {
            tracing::warn!(error = %e, webhook = %webhook.id, "could not record a webhook attempt; it is retried when its hold ends");
            return;
        }
    };
    metrics::counter!("ksef_gateway_webhook_attempts_total", "outcome" => if delivered { "delivered" } else { "failed" }).increment(1);
    if delivered {
        if webhook.failing_since.is_some() {
            tracing::info!(webhook = %webhook.id, "a webhook's receiver takes events again");
        }
        return;
    }
    if retry_at.is_none() {
        tracing::warn!(webhook = %webhook.id, event = %d.event.id, error = ?error, "a webhook delivery was given up; it can be redelivered");
    }
    if let Some(since) = failing_since {
        if now - since > ops::micros_of(policy.disable_after) {
            let why = format!("disabled by the gateway: every attempt failed since {} (last: {})", ops::from_micros(since).to_rfc3339(), error.unwrap_or_default());
            let change = WebhookChange { enabled: Some((false, Some(why.clone()))), ..WebhookChange::default() };
            match ctx.store.update_webhook(&tenant, &webhook.id, &change, now).await {
                Ok(_) => tracing::warn!(webhook = %webhook.id, "{why}"),
                Err(e) => tracing::warn!(error = %e, webhook = %webhook.id, "could not disable a failing webhook"),
            }
        } else if webhook.failing_since.is_none() {
            tracing::warn!(webhook = %webhook.id, error = ?error, "a webhook's receiver fails; its events wait and are retried");
        }
    }
}


/// Why an event was not posted.
enum Failure {
    /// The receiver, or the way to it: counted as an attempt.
    Receiver(String),
    /// The gateway itself (its database, its master key): not the receiver's fault.
    Gateway(String),
    /// Another claim holds the delivery now: nothing to do.
    LeaseLost,
}

/// Renders, signs and posts the event; the receiver's HTTP status (and the start of what it said, when it
/// refused), or why there is none.
async fn post(ctx: &ops::Context, client: &reqwest::Client, policy: &Policy, webhook: &ksef_store::WebhookRecord, d: &DeliveryRecord, hold: i64) -> Result<(u16, String), Failure> {
    let url = url::Url::parse(&webhook.url).map_err(|e| Failure::Receiver(format!("the webhook's URL is not valid: {e}")))?;
    // Names are checked as they resolve (GuardedResolver); an address written in the URL is checked here.
    let port = url.port_or_known_default().unwrap_or(443);
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(why) = literal.and_then(|ip| policy.refuses(std::net::SocketAddr::new(ip, port))) {
        return Err(Failure::Receiver(format!("not posted: {why}")));
    }
    let event = crate::api::events::render_event(ctx, &d.event, true).await.map_err(|e| Failure::Gateway(format!("the event could not be rendered: {e}")))?;
    let body = serde_json::to_vec(&event).map_err(|e| Failure::Gateway(format!("the event could not be written: {e}")))?;
    let key = open_secret(ctx, webhook).map_err(|e| Failure::Gateway(format!("the webhook's secret could not be opened: {e}")))?;
    // A post must end before its lease does (else another claim could post it too): when preparing the event
    // took so long that the lease would not outlast the post, it is renewed first, or the post is not made.
    let now = micros(ops::now());
    if hold - now < ops::micros_of(policy.timeout + Duration::from_secs(5)) {
        let until = now + ops::micros_of(policy.timeout + Duration::from_secs(30));
        match ctx.store.renew_lease(&webhook.id, &d.event.id, d.lease_owner.as_deref().unwrap_or_default(), now, until).await {
            Ok(true) => {}
            Ok(false) => return Err(Failure::LeaseLost),
            Err(e) => return Err(Failure::Gateway(format!("the delivery's lease could not be renewed: {e}"))),
        }
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(&key, &event.id, timestamp, &body);
    let request = client
        .post(url)
        .header("webhook-id", &event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send();
    // The resolver checks each address with the port it will be reached on.
    let response = crate::ops::webhooks::CONNECT_PORT.scope(port, request).await.map_err(|e| Failure::Receiver(describe(&e)))?;
    let status = response.status().as_u16();
    let mut said = String::new();
    if status >= 400 {
        // A little of what the receiver said, for the log; never more than that is read.
        let mut kept = Vec::new();
        let mut response = response;
        while let Ok(Some(chunk)) = response.chunk().await {
            kept.extend_from_slice(&chunk[..chunk.len().min(ANSWER_KEPT - kept.len())]);
            if kept.len() >= ANSWER_KEPT {
                break;
            }
        }
        said = crate::telemetry::loggable(String::from_utf8_lossy(&kept).trim()).to_string();
    }
    Ok((status, said))
}

/// A transport failure in a few words (reqwest's own say little: the cause chain says what happened).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() { what.to_owned() } else { format!("{what}: {}", crate::telemetry::loggable(&cause)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_the_most() {
        let max = Duration::from_secs(3600);
        let first = backoff(1, max);
        assert!(first <= Duration::from_secs(5) && first >= Duration::from_millis(4500), "{first:?}");
        let third = backoff(3, max);
        assert!(third <= Duration::from_secs(20) && third >= Duration::from_secs(18), "{third:?}");
        assert!(backoff(40, max) <= max);
        assert!(backoff(2, Duration::from_secs(1)) <= Duration::from_secs(1));
    }
}
