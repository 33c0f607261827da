//! Events: what happened to a tenant's invoices, numbered per tenant in commit order, each recorded in the
//! transaction of the change it tells of, with one delivery per webhook that takes it (`webhooks.rs` keeps those).

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

/// Kinds as stored: `*` for every kind, else `,a,b,` so one kind is found with `LIKE '%,kind,%'`.
pub(crate) fn kinds_text(kinds: &Option<Vec<EventKind>>) -> String {
    match kinds {
        None => "*".to_owned(),
        Some(kinds) => format!(",{},", kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")),
    }
}

pub(crate) fn kinds_from_text(text: &str) -> Option<Vec<EventKind>> {
    (text != "*").then(|| text.split(',').filter_map(EventKind::parse).collect())
}

pub(crate) const EVENT_COLUMNS: &str = "e.tenant_id, e.seq, e.id, e.kind, e.subject, e.detail, e.created_at";

pub(crate) fn event_from_row(r: &sqlx::any::AnyRow) -> Result<EventRecord, sqlx::Error> {
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

/// Records an event in the caller's transaction, with a pending delivery to each of the tenant's enabled
/// webhooks that take its kind (only to `only_webhook` when given, whatever kinds it takes). `None` when the
/// tenant has this event already (same kind and subject). The tenant's counter row stays locked to the end of the
/// transaction, so events commit in the order of their numbers.
pub(crate) async fn record_event_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    kind: EventKind,
    subject: &str,
    detail: Option<&str>,
    now: i64,
    only_webhook: Option<&str>,
) -> Result<Option<EventRecord>, StoreError> {
    Ok(record_events_in(conn, tenant_id, kind, &[subject], detail, now, only_webhook).await?.pop())
}

/// Records events of `kind` (with `detail`) about each of `subjects` the tenant has no such event of yet, in the
/// caller's transaction and in one go (one counter step, one insert, one fan-out to webhooks: those that take the
/// kind, or only `only_webhook`), in the order given. The tenant's counter row is locked before the check, so a
/// concurrent recorder cannot record the same subject.
pub(crate) async fn record_events_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    kind: EventKind,
    subjects: &[&str],
    detail: Option<&str>,
    now: i64,
    only_webhook: Option<&str>,
) -> Result<Vec<EventRecord>, StoreError> {
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
            detail: detail.map(str::to_owned),
            created_at: now,
        })
        .collect();
    let rows = (0..records.len()).map(|i| format!("($1, ${}, ${}, $2, ${}, $4, $3)", 5 + i * 3, 6 + i * 3, 7 + i * 3)).collect::<Vec<_>>().join(", ");
    let mut insert = sqlx::query(AssertSqlSafe(format!("INSERT INTO events (tenant_id, seq, id, kind, subject, detail, created_at) VALUES {rows}")))
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(now)
        .bind(detail);
    for r in &records {
        insert = insert.bind(r.seq).bind(&r.id).bind(&r.subject);
    }
    insert.execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, state, attempts, next_attempt_at, created_at, queued_at)
         SELECT w.id, e.id, w.tenant_id, $4, 0, $5, $5, $5 FROM webhooks w JOIN events e ON e.tenant_id = w.tenant_id
         WHERE e.tenant_id = $1 AND e.seq >= $2 AND e.seq <= $3 AND w.enabled = 1
           AND (($6 IS NULL AND (w.kinds = '*' OR w.kinds LIKE '%,' || e.kind || ',%')) OR ($6 IS NOT NULL AND w.id = $6))",
    )
    .bind(tenant_id)
    .bind(first)
    .bind(last)
    .bind(WebhookDeliveryState::Pending.as_str())
    .bind(now)
    .bind(only_webhook)
    .execute(&mut *conn)
    .await?;
    Ok(records)
}

impl Store {
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

    /// Forgets what is old: attempts, and deliveries no longer pending, from before `deliveries_before`; events
    /// from before `events_before`, but not `invoice.received` ones (they are how a received invoice is known, and
    /// there is one per received invoice, which is kept for good) nor those a pending delivery still needs.
    /// Returns how many rows went.
    pub async fn prune_events(&self, deliveries_before: i64, events_before: i64) -> Result<u64, StoreError> {
        let mut gone = 0;
        gone += sqlx::query("DELETE FROM webhook_attempts WHERE at < $1").bind(deliveries_before).execute(&mut *self.write_conn().await?).await?.rows_affected();
        gone += sqlx::query("DELETE FROM webhook_deliveries WHERE state <> $2 AND created_at < $1")
            .bind(deliveries_before)
            .bind(WebhookDeliveryState::Pending.as_str())
            .execute(&mut *self.write_conn().await?)
            .await?
            .rows_affected();
        gone += sqlx::query(
            "DELETE FROM events WHERE created_at < $1 AND kind <> $2
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)",
        )
        .bind(events_before)
        .bind(EventKind::InvoiceReceived.as_str())
        .execute(&mut *self.write_conn().await?)
        .await?
        .rows_affected();
        Ok(gone)
    }
}
