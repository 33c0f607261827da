//! Events and their webhooks: what happened to a tenant's invoices, numbered per tenant in commit order, and one
//! delivery per (webhook, event), recorded in the transaction that records the event, so none is lost.

use sqlx::{AssertSqlSafe, Row as _};

use crate::states::{EventKind, WebhookDeliveryState, column};
use crate::{Store, StoreError};

/// An event as stored: what it is about (`subject`), not a rendering of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The tenant it happened to.
    pub tenant_id: String,
    /// Its number among the tenant's events: later commits have larger numbers.
    pub seq: i64,
    /// Its id, unique across tenants (a webhook's `webhook-id`).
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// What it happened to: our invoice or session id, a received invoice's KSeF number, ….
    pub subject: String,
    /// What the subject does not say (JSON), for events without a subject of their own.
    pub detail: Option<String>,
    /// When it was recorded (µs).
    pub created_at: i64,
}

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

/// Kinds as stored: `*` for every kind, else `,a,b,` so one kind is found with `LIKE '%,kind,%'`.
fn kinds_text(kinds: &Option<Vec<EventKind>>) -> String {
    match kinds {
        None => "*".to_owned(),
        Some(kinds) => format!(",{},", kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")),
    }
}

fn kinds_from_text(text: &str) -> Option<Vec<EventKind>> {
    (text != "*").then(|| text.split(',').filter_map(EventKind::parse).collect())
}

const EVENT_COLUMNS: &str = "e.tenant_id, e.seq, e.id, e.kind, e.subject, e.detail, e.created_at";
const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, kinds, description, secret_sealed, enabled, disabled_why, failing_since, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "d.webhook_id, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.queued_at, d.lease_owner";

fn event_from_row(r: &sqlx::any::AnyRow) -> Result<EventRecord, sqlx::Error> {
    Ok(EventRecord {
        tenant_id: r.try_get("tenant_id")?,
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        kind: column(r, "kind", EventKind::parse)?,
        subject: r.try_get("subject")?,
        detail: r.try_get("detail")?,
        created_at: r.try_get("created_at")?,
    })
}

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

/// A write transaction, holding this process's turn to write on SQLite until it ends.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// Records an event in the caller's transaction, with a pending delivery to each of the tenant's enabled
/// webhooks that take its kind (only to `only_webhook` when given, whatever kinds it takes). `None` when the tenant has this event already
/// (same kind and subject). The tenant's counter row stays locked to the end of the transaction, so events
/// commit in the order of their numbers.
pub(crate) async fn record_event_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    kind: EventKind,
    subject: &str,
    detail: Option<&str>,
    now: i64,
    only_webhook: Option<&str>,
) -> Result<Option<EventRecord>, StoreError> {
    let known: Option<i64> = sqlx::query_scalar("SELECT seq FROM events WHERE tenant_id = $1 AND kind = $2 AND subject = $3")
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?;
    if known.is_some() {
        return Ok(None);
    }
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    let id = format!("evt_{}_{seq}", tenant_id.replace('-', ""));
    let inserted = sqlx::query(
        "INSERT INTO events (tenant_id, seq, id, kind, subject, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(seq)
    .bind(&id)
    .bind(kind.as_str())
    .bind(subject)
    .bind(detail)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, state, attempts, next_attempt_at, created_at, queued_at)
         SELECT w.id, $2, w.tenant_id, $3, 0, $4, $4, $4 FROM webhooks w
         WHERE w.tenant_id = $1 AND w.enabled = 1
           AND (($6 IS NULL AND (w.kinds = '*' OR w.kinds LIKE '%,' || $5 || ',%')) OR ($6 IS NOT NULL AND w.id = $6))",
    )
    .bind(tenant_id)
    .bind(&id)
    .bind(WebhookDeliveryState::Pending.as_str())
    .bind(now)
    .bind(kind.as_str())
    .bind(only_webhook)
    .execute(&mut *conn)
    .await?;
    Ok(Some(EventRecord { tenant_id: tenant_id.to_owned(), seq, id, kind, subject: subject.to_owned(), detail: detail.map(str::to_owned), created_at: now }))
}

/// Records events of `kind` about each of `subjects` the tenant has no such event of yet, in the caller's
/// transaction and in one go (one counter step, one insert, one fan-out to webhooks), in the order given. The
/// tenant's counter row is locked before the check, so a concurrent recorder cannot record the same subject.
pub(crate) async fn record_events_in(conn: &mut sqlx::AnyConnection, tenant_id: &str, kind: EventKind, subjects: &[&str], now: i64) -> Result<Vec<EventRecord>, StoreError> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    // The lock, before anything is read.
    sqlx::query("INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, 0) ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq")
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?;
    let list = (0..subjects.len()).map(|i| format!("${}", i + 3)).collect::<Vec<_>>().join(", ");
    let mut known = sqlx::query_scalar::<_, String>(AssertSqlSafe(format!("SELECT subject FROM events WHERE tenant_id = $1 AND kind = $2 AND subject IN ({list})")))
        .bind(tenant_id)
        .bind(kind.as_str());
    for subject in subjects {
        known = known.bind(*subject);
    }
    let known: std::collections::HashSet<String> = known.fetch_all(&mut *conn).await?.into_iter().collect();
    let mut fresh: Vec<&str> = Vec::with_capacity(subjects.len());
    for subject in subjects {
        if !known.contains(*subject) && !fresh.contains(subject) {
            fresh.push(subject);
        }
    }
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(fresh.len()).unwrap_or(i64::MAX);
    let last: i64 = sqlx::query_scalar("UPDATE event_counters SET last_seq = last_seq + $2 WHERE tenant_id = $1 RETURNING last_seq")
        .bind(tenant_id)
        .bind(n)
        .fetch_one(&mut *conn)
        .await?;
    let first = last - n + 1;
    let records: Vec<EventRecord> = fresh
        .iter()
        .zip(first..)
        .map(|(subject, seq)| EventRecord {
            tenant_id: tenant_id.to_owned(),
            seq,
            id: format!("evt_{}_{seq}", tenant_id.replace('-', "")),
            kind,
            subject: (*subject).to_owned(),
            detail: None,
            created_at: now,
        })
        .collect();
    let rows = (0..records.len()).map(|i| format!("($1, ${}, ${}, $2, ${}, NULL, $3)", 4 + i * 3, 5 + i * 3, 6 + i * 3)).collect::<Vec<_>>().join(", ");
    let mut insert = sqlx::query(AssertSqlSafe(format!("INSERT INTO events (tenant_id, seq, id, kind, subject, detail, created_at) VALUES {rows}")))
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(now);
    for r in &records {
        insert = insert.bind(r.seq).bind(&r.id).bind(&r.subject);
    }
    insert.execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, state, attempts, next_attempt_at, created_at, queued_at)
         SELECT w.id, e.id, w.tenant_id, $4, 0, $5, $5, $5 FROM webhooks w JOIN events e ON e.tenant_id = w.tenant_id
         WHERE e.tenant_id = $1 AND e.seq >= $2 AND e.seq <= $3 AND w.enabled = 1 AND (w.kinds = '*' OR w.kinds LIKE '%,' || e.kind || ',%')",
    )
    .bind(tenant_id)
    .bind(first)
    .bind(last)
    .bind(WebhookDeliveryState::Pending.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(records)
}

impl Store {
    /// Begins a transaction that will write: SQLite takes its write lock at once (a transaction that read first
    /// could find its snapshot stale when it comes to write, and fail rather than wait), after this process's
    /// other write transactions.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(match self.backend {
            crate::Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                WriteTx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await?, _turn: Some(turn) }
            }
            crate::Backend::Postgres => WriteTx { tx: self.pool.begin().await?, _turn: None },
        })
    }

    /// Records an event (see [`record_event_in`]) in a transaction of its own.
    pub async fn record_event(
        &self,
        tenant_id: &str,
        kind: EventKind,
        subject: &str,
        detail: Option<&str>,
        now: i64,
        only_webhook: Option<&str>,
    ) -> Result<Option<EventRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        let event = record_event_in(&mut tx, tenant_id, kind, subject, detail, now, only_webhook).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// The number of the tenant's last event (0 if none): every event up to it has committed.
    pub async fn last_event_seq(&self, tenant_id: &str) -> Result<i64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM event_counters WHERE tenant_id = $1").bind(tenant_id).fetch_optional(&self.pool).await?;
        Ok(last.unwrap_or(0))
    }

    /// The tenant's events numbered after `after` and up to `upto`, of `kinds` (all when `None`), oldest first, at
    /// most `limit`.
    pub async fn events_after(&self, tenant_id: &str, after: i64, upto: i64, kinds: Option<&[EventKind]>, limit: i64) -> Result<Vec<EventRecord>, StoreError> {
        let filter = kinds.map(|k| kinds_text(&Some(k.to_vec())));
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE e.tenant_id = $1 AND e.seq > $2 AND e.seq <= $5
               AND ($3 IS NULL OR $3 LIKE '%,' || e.kind || ',%')
             ORDER BY e.seq LIMIT $4"
        )))
        .bind(tenant_id)
        .bind(after)
        .bind(filter)
        .bind(limit)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }

    /// The tenant's latest event of `kind`.
    pub async fn last_event_of(&self, tenant_id: &str, kind: EventKind) -> Result<Option<EventRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.tenant_id = $1 AND e.kind = $2 ORDER BY e.seq DESC LIMIT 1")))
            .bind(tenant_id)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(event_from_row).transpose()?)
    }

    /// The tenant's event with this id.
    pub async fn event(&self, tenant_id: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.tenant_id = $1 AND e.id = $2")))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(event_from_row).transpose()?)
    }

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
        .execute(&self.pool)
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
        .execute(&self.pool)
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
                    .execute(&self.pool)
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
            .fetch_all(&self.pool)
            .await?;
            sqlx::query("UPDATE webhooks SET claimed_at = $2 WHERE id = $1").bind(&webhook_id).bind(now).execute(&self.pool).await?;
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
        .execute(&self.pool)
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
        .execute(&self.pool)
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
        .execute(&self.pool)
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

    /// Forgets what is old: attempts, and deliveries no longer pending, from before `deliveries_before`; events
    /// from before `events_before`, but not `invoice.received` ones (they are how a received invoice is known, and
    /// there is one per received invoice, which is kept for good) nor those a pending delivery still needs.
    /// Returns how many rows went.
    pub async fn prune_events(&self, deliveries_before: i64, events_before: i64) -> Result<u64, StoreError> {
        let mut gone = 0;
        gone += sqlx::query("DELETE FROM webhook_attempts WHERE at < $1").bind(deliveries_before).execute(&self.pool).await?.rows_affected();
        gone += sqlx::query("DELETE FROM webhook_deliveries WHERE state <> $2 AND created_at < $1")
            .bind(deliveries_before)
            .bind(WebhookDeliveryState::Pending.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        gone += sqlx::query(
            "DELETE FROM events WHERE created_at < $1 AND kind <> $2
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)",
        )
        .bind(events_before)
        .bind(EventKind::InvoiceReceived.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(gone)
    }

    /// Pending deliveries by webhook (for `/metrics` and the console).
    pub async fn pending_deliveries(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.webhook_id, COUNT(*) AS n FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = $1 GROUP BY d.webhook_id",
        )
            .bind(WebhookDeliveryState::Pending.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("webhook_id")?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>().map_err(StoreError::from)
    }
}
