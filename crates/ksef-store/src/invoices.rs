//! Invoices the gateway sent for its tenants: recorded before KSeF is called, so no retry sends twice and a
//! restart forgets nothing; then KSeF's reference number and every status it reports.

use sqlx::{AssertSqlSafe, Row as _};

use crate::states::{DeliveryState, column};
use crate::{Store, StoreError, details_from_json, details_to_json};

/// An invoice about to be sent.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    /// Our id.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// Our session id.
    pub session_id: String,
    /// Base64 SHA-256 of the plain invoice.
    pub invoice_hash: String,
    /// Plain size in bytes.
    pub invoice_size: i64,
    /// The encrypted invoice, kept until KSeF has accepted it.
    pub payload: Vec<u8>,
    /// When it was received.
    pub created_at: i64,
}

/// What recording an invoice found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceInsert {
    /// A new invoice was recorded.
    Inserted,
    /// The session already holds an invoice with this hash: this one.
    Existing(Box<InvoiceRecord>),
}

/// KSeF's view of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvoiceStatusUpdate {
    /// Status code.
    pub code: i64,
    /// Description.
    pub description: String,
    /// Details.
    pub details: Vec<String>,
    /// Extensions, as a JSON object.
    pub extensions: Option<String>,
    /// Position in the KSeF session.
    pub ordinal: Option<i64>,
    /// `P_2`.
    pub invoice_number: Option<String>,
    /// KSeF number.
    pub ksef_number: Option<String>,
    /// When the KSeF number was given (µs).
    pub acquisition_date: Option<i64>,
    /// When it was stored for good (µs).
    pub permanent_storage_date: Option<i64>,
}

/// An invoice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    /// Our id.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// Our session id.
    pub session_id: String,
    /// Base64 SHA-256 of the plain invoice.
    pub invoice_hash: String,
    /// Plain size.
    pub invoice_size: i64,
    /// Where it is on its way to KSeF.
    pub state: DeliveryState,
    /// The encrypted invoice while KSeF has not accepted it.
    pub payload: Option<Vec<u8>>,
    /// KSeF's reference number, once sent.
    pub ksef_reference: Option<String>,
    /// Why the last send failed.
    pub send_error: Option<String>,
    /// Last known KSeF status.
    pub status: Option<InvoiceStatusUpdate>,
    /// When it was received.
    pub created_at: i64,
}

const COLUMNS: &str = "id, tenant_id, session_id, invoice_hash, invoice_size, state, payload, ksef_reference, send_error,
    status_code, status_description, status_details, status_extensions, ordinal, invoice_number, ksef_number,
    acquisition_date, permanent_storage_date, created_at";

fn invoice_from_row(r: &sqlx::any::AnyRow) -> Result<InvoiceRecord, sqlx::Error> {
    let code: Option<i64> = r.try_get("status_code")?;
    Ok(InvoiceRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        session_id: r.try_get("session_id")?,
        invoice_hash: r.try_get("invoice_hash")?,
        invoice_size: r.try_get("invoice_size")?,
        state: column(r, "state", DeliveryState::parse)?,
        payload: r.try_get("payload")?,
        ksef_reference: r.try_get("ksef_reference")?,
        send_error: r.try_get("send_error")?,
        status: match code {
            Some(code) => Some(InvoiceStatusUpdate {
                code,
                description: r.try_get::<Option<String>, _>("status_description")?.unwrap_or_default(),
                details: details_from_json(r.try_get("status_details")?),
                extensions: r.try_get("status_extensions")?,
                ordinal: r.try_get("ordinal")?,
                invoice_number: r.try_get("invoice_number")?,
                ksef_number: r.try_get("ksef_number")?,
                acquisition_date: r.try_get("acquisition_date")?,
                permanent_storage_date: r.try_get("permanent_storage_date")?,
            }),
            None => None,
        },
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Records an invoice before it is sent, unless its session already holds one with the same hash.
    pub async fn insert_invoice(&self, i: &NewInvoice) -> Result<InvoiceInsert, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO invoices (id, tenant_id, session_id, invoice_hash, invoice_size, state, payload, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $8, $6, $7, $7)
             ON CONFLICT (session_id, invoice_hash) DO NOTHING",
        )
        .bind(&i.id)
        .bind(&i.tenant_id)
        .bind(&i.session_id)
        .bind(&i.invoice_hash)
        .bind(i.invoice_size)
        .bind(&i.payload)
        .bind(i.created_at)
        .bind(DeliveryState::Sending.as_str())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(InvoiceInsert::Inserted);
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM invoices WHERE session_id = $1 AND invoice_hash = $2")))
            .bind(&i.session_id)
            .bind(&i.invoice_hash)
            .fetch_one(&self.pool)
            .await?;
        Ok(InvoiceInsert::Existing(Box::new(invoice_from_row(&row)?)))
    }

    /// Marks an invoice as a new attempt to send (after an earlier attempt failed).
    pub async fn retry_invoice_send(&self, id: &str, payload: &[u8], now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE invoices SET state = $4, payload = $2, send_error = NULL, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(payload)
            .bind(now)
            .bind(DeliveryState::Sending.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that KSeF accepted an invoice for processing, under `ksef_reference`; the payload is dropped.
    pub async fn mark_invoice_sent(&self, id: &str, ksef_reference: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE invoices SET state = $4, ksef_reference = $2, payload = NULL, send_error = NULL, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(ksef_reference)
        .bind(now)
        .bind(DeliveryState::Sent.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that sending failed; the payload is kept so a retry can send it.
    pub async fn mark_invoice_send_failed(&self, id: &str, error: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE invoices SET state = $4, send_error = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(now)
            .bind(DeliveryState::SendFailed.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets an invoice KSeF refused outright (it never entered the session).
    pub async fn delete_refused_invoice(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM invoices WHERE id = $1 AND state <> $2").bind(id).bind(DeliveryState::Sent.as_str()).execute(&self.pool).await?;
        Ok(())
    }

    /// Records KSeF's latest status of an invoice.
    pub async fn update_invoice_status(&self, id: &str, s: &InvoiceStatusUpdate, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE invoices SET status_code = $2, status_description = $3, status_details = $4, status_extensions = $5,
                ordinal = $6, invoice_number = $7, ksef_number = $8, acquisition_date = $9, permanent_storage_date = $10,
                updated_at = $11
             WHERE id = $1",
        )
        .bind(id)
        .bind(s.code)
        .bind(&s.description)
        .bind(details_to_json(&s.details))
        .bind(&s.extensions)
        .bind(s.ordinal)
        .bind(&s.invoice_number)
        .bind(&s.ksef_number)
        .bind(s.acquisition_date)
        .bind(s.permanent_storage_date)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The invoice `id`, whoever owns it (the caller checks ownership).
    pub async fn invoice(&self, id: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM invoices WHERE id = $1"))).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(invoice_from_row).transpose()?)
    }

    /// Every invoice of a session, in the order received.
    pub async fn session_invoices(&self, session_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM invoices WHERE session_id = $1 ORDER BY created_at, id")))
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }
}
