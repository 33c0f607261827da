//! The outbox's batches: a tenant's long queue of sessionless submits claimed into one batch session (ours), sent
//! to KSeF as one package, and put back in the queue, to go online, if that batch did not take them.

use sqlx::{AssertSqlSafe, Row as _};

use crate::invoices::{COLUMNS, invoice_from_row};
use crate::{DeliveryState, InvoiceRecord, Store, StoreError};

/// A tenant's queue of one schema and one mode (online or offline) long enough for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchQueue {
    /// Whose.
    pub tenant_id: String,
    /// The schema (`v2`, `v3`).
    pub invoice_version: String,
    /// Issued offline (a batch says so for all its invoices).
    pub offline: bool,
    /// Invoices due.
    pub count: i64,
}

/// The invoices a batch may take: queued sessionless submits (in a managed session), never possibly sent already (no
/// uncertain attempt), not technical corrections (which go online), and not put back from a batch. Whatever their
/// backoff: batches are sent while KSeF answers, and invoices held back by pacing are what batches are for.
const BATCHABLE: &str = "i.state = $1 AND s.managed = 1 AND i.verify_first = 0 AND i.online_only = 0 AND i.batch_session IS NULL
    AND i.hash_of_corrected IS NULL";

const OFFLINE: &str = "CAST(CASE WHEN i.offline_mode IS NULL THEN 0 ELSE 1 END AS BIGINT)";

impl Store {
    /// The queues holding at least `min` invoices.
    pub async fn batch_queues(&self, min: i64) -> Result<Vec<BatchQueue>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT i.tenant_id, s.invoice_version, {OFFLINE} AS offline, COUNT(*) AS n
             FROM invoices i JOIN sessions s ON s.id = i.session_id
             WHERE {BATCHABLE}
             GROUP BY i.tenant_id, s.invoice_version, {OFFLINE} HAVING COUNT(*) >= $2"
        )))
        .bind(DeliveryState::Queued.as_str())
        .bind(min)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BatchQueue {
                    tenant_id: r.try_get("tenant_id")?,
                    invoice_version: r.try_get("invoice_version")?,
                    offline: r.try_get::<i64, _>("offline")? != 0,
                    count: r.try_get("n")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Claims for batch session `batch` (held by `owner`) the oldest invoices of `queue`, at most `max_count` of
    /// them and at most `max_bytes` together; they are `sending` until the package is in KSeF.
    pub async fn claim_batch(&self, owner: &str, batch: &str, queue: &BatchQueue, now: i64, max_count: i64, max_bytes: i64) -> Result<Vec<InvoiceRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE invoices SET state = $4, lease_owner = $5, attempts = attempts + 1, batch_session = $6, updated_at = $2
             WHERE id IN (SELECT id FROM (SELECT i.id,
                                                 SUM(i.invoice_size) OVER (ORDER BY i.created_at, i.id) AS upto,
                                                 ROW_NUMBER() OVER (ORDER BY i.created_at, i.id) AS n
                                          FROM invoices i JOIN sessions s ON s.id = i.session_id
                                          WHERE {BATCHABLE} AND i.tenant_id = $7 AND s.invoice_version = $8 AND {OFFLINE} = $9) q
                          WHERE q.n <= $3 AND q.upto <= $10)
               AND state = $1 AND batch_session IS NULL
             RETURNING {COLUMNS}"
        )))
        .bind(DeliveryState::Queued.as_str())
        .bind(now)
        .bind(max_count)
        .bind(DeliveryState::Sending.as_str())
        .bind(owner)
        .bind(batch)
        .bind(&queue.tenant_id)
        .bind(&queue.invoice_version)
        .bind(i64::from(queue.offline))
        .bind(max_bytes)
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }

    /// Records the KSeF session a batch was opened as, on its invoices.
    pub async fn set_batch_reference(&self, batch: &str, reference: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE invoices SET ksef_session = $2 WHERE batch_session = $1 AND state = $3")
            .bind(batch)
            .bind(reference)
            .bind(DeliveryState::Sending.as_str())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records that a batch's package is in KSeF: its invoices are `sent` (the payload kept until KSeF's verdict,
    /// in case the batch fails and they go online), polled from `next_poll_at`; and, if all `expected` of them
    /// were still the batch's, its close asked for, in the same transaction. The two go together because a poll
    /// takes a batch KSeF still has open, whose close nobody asked for, to be one KSeF will cancel, and gives its
    /// invoices back to go online: recorded apart, a poll between them sent online what KSeF then got in the
    /// closed batch too. How many were marked.
    pub async fn mark_batch_sent(&self, batch: &str, now: i64, next_poll_at: i64, expected: u64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE invoices SET state = $4, lease_owner = NULL, send_error = NULL, next_attempt_at = $3, updated_at = $2
             WHERE batch_session = $1 AND state = $5",
        )
        .bind(batch)
        .bind(now)
        .bind(next_poll_at)
        .bind(DeliveryState::Sent.as_str())
        .bind(DeliveryState::Sending.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == expected {
            Store::request_session_close_in(&mut tx, batch, now).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Puts back in the queue from `next_attempt_at` the invoices of batch `batch` that KSeF did not take, or the
    /// one invoice `id` of it: `online_only` when KSeF ended the batch without them (they then go online), else
    /// they may go in another batch (this one never reached KSeF, or was never closed and is cancelled by it).
    pub async fn unbatch(&self, batch: &str, id: Option<&str>, why: &str, next_attempt_at: i64, now: i64, online_only: bool) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE invoices SET state = $5, batch_session = NULL, online_only = $9, verify_first = 0, lease_owner = NULL,
                 send_error = $3, next_attempt_at = $4, updated_at = $6
             WHERE batch_session = $1 AND ($2 IS NULL OR id = $2) AND state IN ($5, $7, $8)",
        )
        .bind(batch)
        .bind(id)
        .bind(why)
        .bind(next_attempt_at)
        .bind(DeliveryState::Queued.as_str())
        .bind(now)
        .bind(DeliveryState::Sending.as_str())
        .bind(DeliveryState::Sent.as_str())
        .bind(i64::from(online_only))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Makes every queued invoice waiting past `now` due at `now`: KSeF is back, so the backoff its outage built up
    /// no longer applies (those held back by pacing are held back again as they are tried). How many.
    pub async fn queue_due_now(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE invoices SET next_attempt_at = $1 WHERE state = $2 AND next_attempt_at > $1")
            .bind(now)
            .bind(DeliveryState::Queued.as_str())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected())
    }
}
