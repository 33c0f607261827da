//! Invoices others issued to a tenant, synced from KSeF's exports: stored once per KSeF number, each with its
//! `invoice.received` event in the same transaction; and where each tenant's sync stands.

use sqlx::{AssertSqlSafe, Row as _};

use crate::events::record_events_in;
use crate::states::EventKind;
use crate::{Store, StoreError};

/// A received invoice to store.
#[derive(Debug, Clone)]
pub struct NewReceived {
    /// KSeF number.
    pub ksef_number: String,
    /// The KSeF subject type it came under (`subject2`, …).
    pub subject: String,
    /// Seller NIP.
    pub seller_nip: String,
    /// Seller name.
    pub seller_name: Option<String>,
    /// The seller's invoice number.
    pub invoice_number: String,
    /// Issue date, `YYYY-MM-DD`.
    pub issue_date: String,
    /// Gross amount as KSeF gave it.
    pub gross_amount: Option<String>,
    /// Gross amount in hundredths (for filters).
    pub gross_cents: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
    /// Base64 SHA-256 of the XML.
    pub invoice_hash: String,
    /// When KSeF stored it for good (µs).
    pub permanent_storage_date: i64,
    /// KSeF's metadata entry, JSON.
    pub metadata: String,
    /// The exact XML.
    pub xml: Vec<u8>,
}

/// A received invoice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRecord {
    /// KSeF number.
    pub ksef_number: String,
    /// The subject type it came under.
    pub subject: String,
    /// Its number among the tenant's events (the list's cursor).
    pub seq: i64,
    /// Seller NIP.
    pub seller_nip: String,
    /// Seller name.
    pub seller_name: Option<String>,
    /// The seller's number.
    pub invoice_number: String,
    /// Issue date.
    pub issue_date: String,
    /// Gross amount.
    pub gross_amount: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Base64 SHA-256 of the XML.
    pub invoice_hash: String,
    /// When KSeF stored it for good (µs).
    pub permanent_storage_date: i64,
    /// KSeF's metadata, JSON.
    pub metadata: String,
    /// The XML, when asked for.
    pub xml: Option<Vec<u8>>,
    /// When the gateway stored it (µs).
    pub received_at: i64,
}

/// Filters of the received list.
#[derive(Debug, Clone, Default)]
pub struct ReceivedFilter {
    /// After this cursor (seq).
    pub after: i64,
    /// Issued on or after (`YYYY-MM-DD`).
    pub issued_from: Option<String>,
    /// Issued on or before.
    pub issued_to: Option<String>,
    /// Seller NIP.
    pub seller_nip: Option<String>,
    /// Gross amount at least (hundredths).
    pub min_gross_cents: Option<i64>,
    /// Gross amount at most (hundredths).
    pub max_gross_cents: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Where a tenant's sync of one subject type stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    /// The tenant.
    pub tenant_id: String,
    /// The subject type.
    pub subject: String,
    /// Whether it runs.
    pub enabled: bool,
    /// The next window's start (µs).
    pub next_from: i64,
    /// When it runs next (µs).
    pub next_run_at: i64,
    /// Why the last run failed.
    pub last_error: Option<String>,
    /// When a run last completed (µs).
    pub last_success: Option<i64>,
}

const RECEIVED_COLUMNS: &str = "ksef_number, subject, seq, seller_nip, seller_name, invoice_number, issue_date, gross_amount, currency,
    invoice_hash, permanent_storage_date, metadata, received_at";

fn received_from_row(r: &sqlx::any::AnyRow, with_xml: bool) -> Result<ReceivedRecord, sqlx::Error> {
    Ok(ReceivedRecord {
        ksef_number: r.try_get("ksef_number")?,
        subject: r.try_get("subject")?,
        seq: r.try_get("seq")?,
        seller_nip: r.try_get("seller_nip")?,
        seller_name: r.try_get("seller_name")?,
        invoice_number: r.try_get("invoice_number")?,
        issue_date: r.try_get("issue_date")?,
        gross_amount: r.try_get("gross_amount")?,
        currency: r.try_get("currency")?,
        invoice_hash: r.try_get("invoice_hash")?,
        permanent_storage_date: r.try_get("permanent_storage_date")?,
        metadata: r.try_get("metadata")?,
        xml: if with_xml { Some(r.try_get("xml")?) } else { None },
        received_at: r.try_get("received_at")?,
    })
}

fn sync_from_row(r: &sqlx::any::AnyRow) -> Result<SyncRecord, sqlx::Error> {
    Ok(SyncRecord {
        tenant_id: r.try_get("tenant_id")?,
        subject: r.try_get("subject")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        next_from: r.try_get("next_from")?,
        next_run_at: r.try_get("next_run_at")?,
        last_error: r.try_get("last_error")?,
        last_success: r.try_get("last_success")?,
    })
}

const SYNC_COLUMNS: &str = "tenant_id, subject, enabled, next_from, next_run_at, last_error, last_success";

impl Store {
    /// Stores the invoices the tenant does not have yet, each with its `invoice.received` event, in one
    /// transaction; moves the sync of `subject` to `next_from` in the same transaction when given, so the position
    /// never runs ahead of what is stored. Returns how many were new.
    pub async fn insert_received(&self, tenant_id: &str, invoices: &[NewReceived], now: i64, sync: Option<(&str, i64)>) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut new = 0;
        if !invoices.is_empty() {
            let numbers: Vec<&str> = invoices.iter().map(|i| i.ksef_number.as_str()).collect();
            // Every invoice gets its event, or had one already; those with a new event are the new invoices.
            let events = record_events_in(&mut tx, tenant_id, EventKind::InvoiceReceived, &numbers, None, now, None).await?;
            let seqs: std::collections::HashMap<&str, i64> = events.iter().map(|e| (e.subject.as_str(), e.seq)).collect();
            let fresh: Vec<(&NewReceived, i64)> = {
                let mut seen = std::collections::HashSet::new();
                invoices.iter().filter(|i| seen.insert(i.ksef_number.as_str())).filter_map(|i| seqs.get(i.ksef_number.as_str()).map(|seq| (i, *seq))).collect()
            };
            if !fresh.is_empty() {
                let rows = (0..fresh.len())
                    .map(|r| {
                        let b = 3 + r * 14;
                        format!(
                            "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $2)",
                            b,
                            b + 1,
                            b + 2,
                            b + 3,
                            b + 4,
                            b + 5,
                            b + 6,
                            b + 7,
                            b + 8,
                            b + 9,
                            b + 10,
                            b + 11,
                            b + 12,
                            b + 13
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut insert = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO received_invoices (tenant_id, ksef_number, subject, seq, seller_nip, seller_name, invoice_number, issue_date,
                         gross_amount, gross_cents, currency, invoice_hash, permanent_storage_date, metadata, xml, received_at)
                     VALUES {rows} ON CONFLICT (tenant_id, ksef_number) DO NOTHING"
                )))
                .bind(tenant_id)
                .bind(now);
                for (i, seq) in &fresh {
                    insert = insert
                        .bind(&i.ksef_number)
                        .bind(&i.subject)
                        .bind(*seq)
                        .bind(&i.seller_nip)
                        .bind(&i.seller_name)
                        .bind(&i.invoice_number)
                        .bind(&i.issue_date)
                        .bind(&i.gross_amount)
                        .bind(i.gross_cents)
                        .bind(&i.currency)
                        .bind(&i.invoice_hash)
                        .bind(i.permanent_storage_date)
                        .bind(&i.metadata)
                        .bind(&i.xml);
                }
                new = insert.execute(&mut *tx).await?.rows_affected();
            }
        }
        if let Some((subject, next_from)) = sync {
            sqlx::query("UPDATE inbox_sync SET next_from = $3 WHERE tenant_id = $1 AND subject = $2 AND next_from < $3")
                .bind(tenant_id)
                .bind(subject)
                .bind(next_from)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    /// The tenant's received invoices matching `filter`, in the order they arrived (without their XML).
    pub async fn received_invoices(&self, tenant_id: &str, filter: &ReceivedFilter) -> Result<Vec<ReceivedRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RECEIVED_COLUMNS} FROM received_invoices
             WHERE tenant_id = $1 AND seq > $2 AND ($3 IS NULL OR issue_date >= $3) AND ($4 IS NULL OR issue_date <= $4)
               AND ($5 IS NULL OR seller_nip = $5) AND ($6 IS NULL OR gross_cents >= $6) AND ($7 IS NULL OR gross_cents <= $7)
             ORDER BY seq LIMIT $8"
        )))
        .bind(tenant_id)
        .bind(filter.after)
        .bind(&filter.issued_from)
        .bind(&filter.issued_to)
        .bind(&filter.seller_nip)
        .bind(filter.min_gross_cents)
        .bind(filter.max_gross_cents)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| received_from_row(r, false)).collect::<Result<_, _>>()?)
    }

    /// One received invoice of the tenant's, with its XML.
    pub async fn received_invoice(&self, tenant_id: &str, ksef_number: &str) -> Result<Option<ReceivedRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {RECEIVED_COLUMNS}, xml FROM received_invoices WHERE tenant_id = $1 AND ksef_number = $2")))
            .bind(tenant_id)
            .bind(ksef_number)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(|r| received_from_row(r, true)).transpose()?)
    }

    /// Starts syncing `subject` for the tenant from `from` (µs) unless it is set up already; returns whether it was.
    pub async fn ensure_sync(&self, tenant_id: &str, subject: &str, from: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO inbox_sync (tenant_id, subject, enabled, next_from, next_run_at) VALUES ($1, $2, 1, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(subject)
        .bind(from)
        .bind(now)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 0)
    }

    /// Switches the tenant's sync of `subject` on or off; on, from `from` when given (else where it stood, or
    /// `default_from` for a new one), due at `now`.
    pub async fn set_sync(&self, tenant_id: &str, subject: &str, enabled: bool, from: Option<i64>, default_from: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO inbox_sync (tenant_id, subject, enabled, next_from, next_run_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, subject) DO UPDATE SET enabled = excluded.enabled,
                 next_from = CASE WHEN $6 = 1 THEN excluded.next_from ELSE inbox_sync.next_from END, next_run_at = excluded.next_run_at,
                 last_error = NULL",
        )
        .bind(tenant_id)
        .bind(subject)
        .bind(i64::from(enabled))
        .bind(from.unwrap_or(default_from))
        .bind(now)
        .bind(i64::from(from.is_some()))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// The tenant's syncs.
    pub async fn syncs(&self, tenant_id: &str) -> Result<Vec<SyncRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {SYNC_COLUMNS} FROM inbox_sync WHERE tenant_id = $1 ORDER BY subject")))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(sync_from_row).collect::<Result<_, _>>()?)
    }

    /// Tenants without a sync of `subject` yet (new tenants), at most `limit`.
    pub async fn tenants_without_sync(&self, subject: &str, limit: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.created_at FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM inbox_sync s WHERE s.tenant_id = t.id AND s.subject = $1) LIMIT $2",
        )
        .bind(subject)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("created_at")?))).collect::<Result<_, sqlx::Error>>().map_err(StoreError::from)
    }

    /// Claims up to `limit` enabled syncs due at `now`, held until `hold_until` so no other instance runs them.
    pub async fn claim_due_syncs(&self, now: i64, hold_until: i64, limit: i64) -> Result<Vec<SyncRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE inbox_sync SET held_until = $2
             WHERE (tenant_id, subject) IN (SELECT tenant_id, subject FROM inbox_sync
                    WHERE enabled = 1 AND next_run_at <= $1 AND (held_until IS NULL OR held_until <= $1) ORDER BY next_run_at LIMIT $3)
               AND enabled = 1 AND next_run_at <= $1 AND (held_until IS NULL OR held_until <= $1)
             RETURNING {SYNC_COLUMNS}"
        )))
        .bind(now)
        .bind(hold_until)
        .bind(limit)
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        Ok(rows.iter().map(sync_from_row).collect::<Result<_, _>>()?)
    }

    /// Keeps a running sync held until `until` (a run renews its hold as it goes, so a long one is not taken over).
    pub async fn hold_sync(&self, tenant_id: &str, subject: &str, until: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE inbox_sync SET held_until = $3 WHERE tenant_id = $1 AND subject = $2").bind(tenant_id).bind(subject).bind(until).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Ends a run: due again at `next_run_at`, with its failure if it failed.
    pub async fn finish_sync(&self, tenant_id: &str, subject: &str, next_run_at: i64, error: Option<&str>, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE inbox_sync SET held_until = NULL, next_run_at = $3, last_error = $4,
                 last_success = CASE WHEN $4 IS NULL THEN $5 ELSE last_success END
             WHERE tenant_id = $1 AND subject = $2",
        )
        .bind(tenant_id)
        .bind(subject)
        .bind(next_run_at)
        .bind(error)
        .bind(now)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }
}
