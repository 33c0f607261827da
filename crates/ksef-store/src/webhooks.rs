//! Webhook subscriptions and their deliveries: claimed with leases naming their claim, one probe of a failing
//! receiver across instances, every attempt logged.

use sqlx::{AssertSqlSafe, Row as _};

use crate::events::{EVENT_COLUMNS, EventRecord, event_from_row, kinds_from_text, kinds_text};
use crate::states::{WebhookDeliveryState, column};
use crate::{EventKind, Store, StoreError};

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Its id.
    pub id: String,
    /// The tenant whose events it receives.
    pub tenant_id: String,
    /// Where events are posted.
    pub url: String,
    /// The kinds it receives; `None`: every kind.
    pub kinds: Option<Vec<EventKind>>,
    /// The tenant's note.
    pub description: Option<String>,
    /// The signing secret, sealed under the master key.
    pub secret_sealed: Vec<u8>,
    /// Whether events are posted to it.
    pub enabled: bool,
    /// Why it was disabled (by the tenant, or after failing too long).
    pub disabled_why: Option<String>,
    /// Since when every attempt has failed (µs), if the last one did.
    pub failing_since: Option<i64>,
    /// When it was created (µs).
    pub created_at: i64,
    /// When it last changed (µs).
    pub updated_at: i64,
}

/// A new webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Where events are posted.
    pub url: String,
    /// The kinds it receives; `None`: every kind.
    pub kinds: Option<Vec<EventKind>>,
    /// The tenant's note.
    pub description: Option<String>,
    /// The signing secret, sealed.
    pub secret_sealed: Vec<u8>,
    /// When (µs).
    pub now: i64,
}

/// A change to a webhook; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    /// A new URL.
    pub url: Option<String>,
    /// New kinds (`Some(None)`: every kind).
    pub kinds: Option<Option<Vec<EventKind>>>,
    /// A new note.
    pub description: Option<String>,
    /// Enabled or disabled (with why).
    pub enabled: Option<(bool, Option<String>)>,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The webhook.
    pub webhook_id: String,
    /// The event.
    pub event: EventRecord,
    /// Where it is.
    pub state: WebhookDeliveryState,
    /// Attempts made.
    pub attempts: i64,
    /// When it is due (pending) (µs).
    pub next_attempt_at: Option<i64>,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the receiver took it (µs).
    pub delivered_at: Option<i64>,
    /// When it was queued, or queued again by a redelivery (µs): it is given up counting from then.
    pub queued_at: i64,
    /// The claim holding it, while one does: only that claim's attempt records its outcome.
    pub lease_owner: Option<String>,
}

/// One attempt to post an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// 1, 2, ….
    pub attempt: i64,
    /// When it began (µs).
    pub at: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// What came of an attempt, and what follows.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// The attempt.
    pub attempt: AttemptRecord,
    /// The receiver took it.
    pub delivered: bool,
    /// Not taken: when to try again; `None`: give up (failed).
    pub retry_at: Option<i64>,
    /// Not taken: when the failing receiver is tried next (with one delivery: a probe).
    pub others_wait_until: Option<i64>,
    /// The claim the attempt was made under.
    pub lease_owner: String,
}

const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, kinds, description, secret_sealed, enabled, disabled_why, failing_since, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "d.webhook_id, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.queued_at, d.lease_owner";

fn webhook_from_row(r: &sqlx::any::AnyRow) -> Result<WebhookRecord, sqlx::Error> {
    Ok(WebhookRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        url: r.try_get("url")?,
        kinds: kinds_from_text(&r.try_get::<String, _>("kinds")?),
        description: r.try_get("description")?,
        secret_sealed: r.try_get("secret_sealed")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        disabled_why: r.try_get("disabled_why")?,
        failing_since: r.try_get("failing_since")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn delivery_from_row(r: &sqlx::any::AnyRow) -> Result<DeliveryRecord, sqlx::Error> {
    Ok(DeliveryRecord {
        webhook_id: r.try_get("webhook_id")?,
        event: event_from_row(r)?,
        state: column(r, "state", WebhookDeliveryState::parse)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        delivered_at: r.try_get("delivered_at")?,
        queued_at: r.try_get("queued_at")?,
        lease_owner: r.try_get("lease_owner")?,
    })
}

impl Store {
    /// Records a webhook.
    pub async fn insert_webhook(&self, w: &NewWebhook) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhooks (id, tenant_id, url, kinds, description, secret_sealed, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(&w.id)
        .bind(&w.tenant_id)
        .bind(&w.url)
        .bind(kinds_text(&w.kinds))
        .bind(&w.description)
        .bind(&w.secret_sealed)
        .bind(w.now)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// The tenant's webhooks, oldest first.
    pub async fn webhooks(&self, tenant_id: &str) -> Result<Vec<WebhookRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, id")))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(webhook_from_row).collect::<Result<_, _>>()?)
    }

    /// The tenant's webhook `id`.
    pub async fn webhook(&self, tenant_id: &str, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(webhook_from_row).transpose()?)
    }

    /// Changes the tenant's webhook `id`; false if there is none. Enabling it clears its failure run.
    pub async fn update_webhook(&self, tenant_id: &str, id: &str, change: &WebhookChange, now: i64) -> Result<bool, StoreError> {
        let (enabled, why) = match &change.enabled {
            Some((on, why)) => (Some(i64::from(*on)), why.clone()),
            None => (None, None),
        };
        let done = sqlx::query(
            "UPDATE webhooks SET url = COALESCE($3, url), kinds = COALESCE($4, kinds), description = COALESCE($5, description),
                 enabled = COALESCE($6, enabled),
                 disabled_why = CASE WHEN $6 IS NULL THEN disabled_why WHEN $6 = 1 THEN NULL ELSE $7 END,
                 failing_since = CASE WHEN $6 = 1 THEN NULL ELSE failing_since END,
                 updated_at = $8
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(&change.url)
        .bind(change.kinds.as_ref().map(kinds_text))
        .bind(&change.description)
        .bind(enabled)
        .bind(why)
        .bind(now)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the tenant's webhook `id` with its deliveries and their attempts; false if there is none.
    pub async fn delete_webhook(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Delivery rows before the webhook's, the order attempts lock them in, so the two never deadlock.
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND tenant_id = $2").bind(id).bind(tenant_id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 1 {
            sqlx::query("DELETE FROM webhook_attempts WHERE webhook_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims pending deliveries due at `now` for the webhooks in `in_flight` with room and up to `webhooks` more
    /// enabled webhooks (those waiting longest since their last claim first), at most `per_webhook` of each in flight counting the caller's `in_flight`, leasing
    /// them to `owner` until
    /// `hold_until` so no other instance posts them meanwhile. A failing webhook gets one delivery (a probe) once
    /// its probe is due, and its next probe is pushed to `hold_until` in the same step, so instances sharing the
    /// database send a failing receiver one request at a time. Each webhook's share is read from its own index
    /// range, so a webhook with a long queue costs the others nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        hold_until: i64,
        webhooks: i64,
        per_webhook: i64,
        in_flight: &std::collections::HashMap<String, i64>,
        owner: &str,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let pending = WebhookDeliveryState::Pending.as_str();
        let busy: Vec<&String> = in_flight.iter().filter(|(_, n)| **n >= per_webhook).map(|(w, _)| w).collect();
        let busy_list = (0..busy.len()).map(|i| format!("${}", i + 4)).collect::<Vec<_>>().join(", ");
        let not_busy = if busy.is_empty() { String::new() } else { format!("AND w.id NOT IN ({busy_list})") };
        let mut due = sqlx::query(AssertSqlSafe(format!(
            "SELECT w.id, w.failing_since FROM webhooks w
             WHERE w.enabled = 1 AND (w.failing_since IS NULL OR w.probe_at IS NULL OR w.probe_at <= $1) {not_busy}
               AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = $2 AND d.next_attempt_at <= $1
                           AND (d.lease_until IS NULL OR d.lease_until <= $1))
             ORDER BY COALESCE(w.claimed_at, 0) LIMIT $3"
        )))
        .bind(now)
        .bind(pending)
        .bind(webhooks + i64::try_from(in_flight.len()).unwrap_or(0));
        for id in &busy {
            due = due.bind(*id);
        }
        let due = due.fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        let mut new_webhooks = 0;
        for row in due {
            let webhook_id: String = row.try_get("id")?;
            // Webhooks already being posted to take their free places; others only up to `webhooks` in all.
            if !in_flight.contains_key(&webhook_id) {
                if new_webhooks >= webhooks {
                    continue;
                }
                new_webhooks += 1;
            }
            let failing = row.try_get::<Option<i64>, _>("failing_since")?.is_some();
            let room = if failing { 1 } else { per_webhook } - in_flight.get(&webhook_id).copied().unwrap_or(0);
            if room <= 0 {
                continue;
            }
            if failing {
                // The probe's lock: only the instance that moves the probe time sends it.
                let took = sqlx::query("UPDATE webhooks SET probe_at = $3 WHERE id = $1 AND (probe_at IS NULL OR probe_at <= $2)")
                    .bind(&webhook_id)
                    .bind(now)
                    .bind(hold_until)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                if took.rows_affected() == 0 {
                    continue;
                }
            }
            let claimed = sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $2, lease_owner = $6, requeued = 0
                 WHERE (webhook_id, event_id) IN (
                     SELECT webhook_id, event_id FROM webhook_deliveries
                     WHERE webhook_id = $3 AND state = $4 AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
                     ORDER BY next_attempt_at, attempts, created_at LIMIT $5)
                   AND state = $4 AND (lease_until IS NULL OR lease_until <= $1)
                 RETURNING webhook_id, event_id",
            )
            .bind(now)
            .bind(hold_until)
            .bind(&webhook_id)
            .bind(pending)
            .bind(room)
            .bind(owner)
            .fetch_all(&mut *self.write_conn().await?)
            .await?;
            sqlx::query("UPDATE webhooks SET claimed_at = $2 WHERE id = $1").bind(&webhook_id).bind(now).execute(&mut *self.write_conn().await?).await?;
            for row in claimed {
                let event_id: String = row.try_get("event_id")?;
                if let Some(d) = self.delivery_by_ids(&webhook_id, &event_id).await? {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Gives a claimed delivery back without an attempt (the gateway, not the receiver, could not post it): due
    /// again at `retry_at`.
    pub async fn release_delivery(&self, webhook_id: &str, event_id: &str, owner: &str, retry_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = NULL, lease_owner = NULL, requeued = 0,
                 next_attempt_at = CASE WHEN requeued = 1 THEN queued_at ELSE $4 END
             WHERE webhook_id = $1 AND event_id = $2 AND lease_owner = $3",
        )
        .bind(webhook_id)
        .bind(event_id)
        .bind(owner)
        .bind(retry_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Extends a claim's lease on a delivery to `until`, just before it is posted; false when the claim no longer
    /// holds it (its lease ran out and another took it): then it must not be posted.
    pub async fn renew_lease(&self, webhook_id: &str, event_id: &str, owner: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = $5 WHERE webhook_id = $1 AND event_id = $2 AND lease_owner = $3 AND lease_until > $4",
        )
        .bind(webhook_id)
        .bind(event_id)
        .bind(owner)
        .bind(now)
        .bind(until)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the webhook's pending deliveries not being posted due at `now` (its receiver is back).
    pub async fn hasten_deliveries(&self, webhook_id: &str, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $2
             WHERE webhook_id = $1 AND state = $3 AND next_attempt_at > $2 AND (lease_until IS NULL OR lease_until <= $2)",
        )
        .bind(webhook_id)
        .bind(now)
        .bind(WebhookDeliveryState::Pending.as_str())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected())
    }

    async fn delivery_by_ids(&self, webhook_id: &str, event_id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, {EVENT_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.webhook_id = $1 AND d.event_id = $2"
        )))
        .bind(webhook_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(delivery_from_row).transpose()?)
    }

    /// Records an attempt and where it leaves the delivery and its webhook: a success ends the webhook's failure
    /// run; a failure makes the webhook's next probe wait until `others_wait_until`, so a receiver that is down
    /// gets one request at a time. Only the delivery's own row and the webhook's are written, so attempts of one
    /// webhook never deadlock. Returns since when the webhook has been failing (after the attempt), and whether
    /// this success ended a failure run (its other deliveries are then due: [`Store::hasten_deliveries`]).
    pub async fn record_delivery_attempt(&self, webhook_id: &str, event_id: &str, outcome: &AttemptOutcome) -> Result<(Option<i64>, bool), StoreError> {
        let a = &outcome.attempt;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (webhook_id, event_id, attempt, at, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .bind(webhook_id)
        .bind(event_id)
        .bind(a.attempt)
        .bind(a.at)
        .bind(a.status)
        .bind(&a.error)
        .bind(a.duration_ms)
        .execute(&mut *tx)
        .await?;
        let state = match (outcome.delivered, outcome.retry_at) {
            (true, _) => WebhookDeliveryState::Delivered,
            (false, Some(_)) => WebhookDeliveryState::Pending,
            (false, None) => WebhookDeliveryState::Failed,
        };
        let finished = a.at + a.duration_ms * 1000;
        // Only the claim's own attempt records its outcome (a lease that ran out may have passed to another
        // instance); a redelivery asked for meanwhile leaves the delivery pending, due at once, counted afresh.
        sqlx::query(
            "UPDATE webhook_deliveries SET
                 state = CASE WHEN requeued = 1 THEN $10 ELSE $3 END,
                 attempts = CASE WHEN requeued = 1 THEN 0 ELSE $4 END,
                 next_attempt_at = CASE WHEN requeued = 1 THEN $8 ELSE $5 END,
                 last_status = $6, last_error = $7,
                 delivered_at = CASE WHEN requeued = 1 THEN NULL ELSE $9 END,
                 lease_until = NULL, lease_owner = NULL, requeued = 0
             WHERE webhook_id = $1 AND event_id = $2 AND lease_owner = $11",
        )
        .bind(webhook_id)
        .bind(event_id)
        .bind(state.as_str())
        .bind(a.attempt)
        .bind(if outcome.delivered { None } else { outcome.retry_at })
        .bind(a.status)
        .bind(&a.error)
        .bind(finished)
        .bind(outcome.delivered.then_some(finished))
        .bind(WebhookDeliveryState::Pending.as_str())
        .bind(&outcome.lease_owner)
        .execute(&mut *tx)
        .await?;
        let mut recovered = false;
        let failing_since: Option<i64> = if outcome.delivered {
            let was: Option<Option<i64>> = sqlx::query_scalar("SELECT failing_since FROM webhooks WHERE id = $1").bind(webhook_id).fetch_optional(&mut *tx).await?;
            recovered = was.flatten().is_some();
            if recovered {
                sqlx::query("UPDATE webhooks SET failing_since = NULL, probe_at = NULL WHERE id = $1").bind(webhook_id).execute(&mut *tx).await?;
            }
            None
        } else {
            sqlx::query_scalar("UPDATE webhooks SET failing_since = COALESCE(failing_since, $2), probe_at = $3 WHERE id = $1 RETURNING failing_since")
                .bind(webhook_id)
                .bind(a.at)
                .bind(outcome.others_wait_until)
                .fetch_optional(&mut *tx)
                .await?
                .flatten()
        };
        tx.commit().await?;
        Ok((failing_since, recovered))
    }

    /// The webhook's deliveries, newest first, of `state` if given, older than event `before` (its seq) if given.
    pub async fn deliveries(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        state: Option<WebhookDeliveryState>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, {EVENT_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND ($3 IS NULL OR d.state = $3) AND ($4 IS NULL OR e.seq < $4)
             ORDER BY e.seq DESC LIMIT $5"
        )))
        .bind(tenant_id)
        .bind(webhook_id)
        .bind(state.map(WebhookDeliveryState::as_str))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery_from_row).collect::<Result<_, _>>()?)
    }

    /// One delivery of the tenant's.
    pub async fn delivery(&self, tenant_id: &str, webhook_id: &str, event_id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        Ok(self.delivery_by_ids(webhook_id, event_id).await?.filter(|d| d.event.tenant_id == tenant_id))
    }

    /// A delivery's attempts, first first.
    pub async fn delivery_attempts(&self, webhook_id: &str, event_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, at, status, error, duration_ms FROM webhook_attempts WHERE webhook_id = $1 AND event_id = $2 ORDER BY at",
        )
        .bind(webhook_id)
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    attempt: r.try_get("attempt")?,
                    at: r.try_get("at")?,
                    status: r.try_get("status")?,
                    error: r.try_get("error")?,
                    duration_ms: r.try_get("duration_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Sends a delivery of the tenant's again (whatever its state): pending and due at `now`, its attempts counted
    /// afresh (the log keeps the earlier ones), given up counting from now. One being posted keeps its lease and is
    /// queued again when that attempt ends. The event is the same, so the receiver sees the same `webhook-id`. A delivery never made (the webhook was disabled, or
    /// created after the event) is made now. False if the tenant has no such webhook or event.
    pub async fn redeliver(&self, tenant_id: &str, webhook_id: &str, event_id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, state, attempts, next_attempt_at, created_at, queued_at)
             SELECT w.id, e.id, w.tenant_id, $4, 0, $5, $5, $5 FROM webhooks w JOIN events e ON e.tenant_id = w.tenant_id
             WHERE w.tenant_id = $1 AND w.id = $2 AND e.id = $3
             ON CONFLICT (webhook_id, event_id) DO UPDATE SET state = excluded.state, attempts = 0, next_attempt_at = excluded.next_attempt_at,
                 queued_at = excluded.queued_at,
                 requeued = CASE WHEN webhook_deliveries.lease_until > excluded.queued_at THEN 1 ELSE 0 END",
        )
        .bind(tenant_id)
        .bind(webhook_id)
        .bind(event_id)
        .bind(WebhookDeliveryState::Pending.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() >= 1)
    }
}
