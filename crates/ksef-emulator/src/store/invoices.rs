//! Invoices: recording sends, the processing outcome (with duplicate detection) and lookups.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row as _};
use sqlx::sqlite::SqliteRow;

use ksef_wire::InvoicingMode;
use ksef_wire::codes::{invoice, session};
use ksef_wire::sessions::SessionType;

use super::metadata::PartyRole;
use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// An invoice received in a session, before processing.
#[derive(Debug, Clone)]
pub(crate) struct NewInvoice {
    pub(crate) reference_number: String,
    pub(crate) session_reference: String,
    pub(crate) invoice_hash: String,
    pub(crate) invoice_size: i64,
    /// `None` when the ciphertext could not be decrypted.
    pub(crate) content: Option<Vec<u8>>,
    pub(crate) invoicing_date: DateTime<Utc>,
    pub(crate) offline_requested: bool,
    pub(crate) hash_of_corrected: Option<String>,
    pub(crate) file_name: Option<String>,
}

/// Why an invoice could not be added to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddRefused {
    /// The session is not open; its status code.
    NotOpen(i32),
    /// The session already holds the most invoices allowed.
    Full,
    /// No such session.
    NoSession,
}

/// An invoice waiting for processing, with what processing needs to know about its session.
#[derive(Debug, Clone)]
pub(crate) struct PendingInvoice {
    pub(crate) reference_number: String,
    pub(crate) session_reference: String,
    pub(crate) content: Option<Vec<u8>>,
    pub(crate) invoice_hash: String,
    pub(crate) invoicing_date: DateTime<Utc>,
    pub(crate) offline_requested: bool,
    pub(crate) hash_of_corrected: Option<String>,
    pub(crate) session_kind: SessionType,
    pub(crate) context_value: String,
    pub(crate) form: ksef_wire::FormCode,
}

/// The result of processing one invoice.
#[derive(Debug, Clone)]
pub(crate) enum InvoiceOutcome {
    /// Accepted, unless it turns out to duplicate an accepted invoice.
    Accepted {
        ksef_number: String,
        acquisition_date: DateTime<Utc>,
        permanent_storage_date: DateTime<Utc>,
        invoicing_mode: InvoicingMode,
        seller_nip: String,
        invoice_kind: String,
        invoice_number: String,
        issue_date: String,
        /// The InvoiceMetadata JSON.
        metadata: String,
        parties: Vec<(PartyRole, String)>,
    },
    /// Refused with this status.
    Failed { status: StoredStatus, invoice_number: Option<String>, invoicing_mode: InvoicingMode },
}

/// One processed invoice.
#[derive(Debug, Clone)]
pub(crate) struct ProcessedInvoice {
    pub(crate) reference_number: String,
    pub(crate) session_reference: String,
    pub(crate) outcome: InvoiceOutcome,
}

/// An invoice as stored (without its content).
#[derive(Debug, Clone)]
pub(crate) struct InvoiceRow {
    pub(crate) reference_number: String,
    pub(crate) session_reference: String,
    pub(crate) ordinal: i32,
    pub(crate) invoice_hash: String,
    pub(crate) status: StoredStatus,
    pub(crate) extensions: Option<BTreeMap<String, String>>,
    pub(crate) invoicing_date: DateTime<Utc>,
    pub(crate) acquisition_date: Option<DateTime<Utc>>,
    pub(crate) permanent_storage_date: Option<DateTime<Utc>>,
    pub(crate) ksef_number: Option<String>,
    pub(crate) invoice_number: Option<String>,
    pub(crate) seller_nip: Option<String>,
    pub(crate) issue_date: Option<String>,
    pub(crate) invoicing_mode: InvoicingMode,
    pub(crate) file_name: Option<String>,
}

const INVOICE_COLUMNS: &str = "reference_number, session_reference, ordinal, invoice_hash, status_code,
    status_description, status_details, status_extensions, invoicing_date, acquisition_date, permanent_storage_date,
    ksef_number, invoice_number, seller_nip, issue_date, invoicing_mode, file_name";

fn invoice_from_row(r: &SqliteRow) -> InvoiceRow {
    InvoiceRow {
        reference_number: r.get("reference_number"),
        session_reference: r.get("session_reference"),
        ordinal: r.get("ordinal"),
        invoice_hash: r.get("invoice_hash"),
        status: StoredStatus { code: r.get("status_code"), description: r.get("status_description"), details: parse_details(r.get::<Option<&str>, _>("status_details")) },
        extensions: r.get::<Option<&str>, _>("status_extensions").and_then(|j| serde_json::from_str(j).ok()),
        invoicing_date: from_micros(r.get("invoicing_date")),
        acquisition_date: r.get::<Option<i64>, _>("acquisition_date").map(from_micros),
        permanent_storage_date: r.get::<Option<i64>, _>("permanent_storage_date").map(from_micros),
        ksef_number: r.get("ksef_number"),
        invoice_number: r.get("invoice_number"),
        seller_nip: r.get("seller_nip"),
        issue_date: r.get("issue_date"),
        invoicing_mode: InvoicingMode::parse(r.get("invoicing_mode")).unwrap_or(InvoicingMode::Online),
        file_name: r.get("file_name"),
    }
}

impl Db {
    /// Adds invoices to their open sessions, each with its session's next ordinal, in one transaction
    /// (a group commit: concurrent sends share one write). Each gets its ordinal or the reason it was refused.
    pub(crate) async fn add_invoices(
        &self,
        invoices: &[NewInvoice],
        max_invoices: i32,
    ) -> Result<Vec<Result<i32, AddRefused>>, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let mut results = Vec::with_capacity(invoices.len());
        for invoice in invoices {
            results.push(add_one(&mut tx, invoice, max_invoices).await?);
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Up to `limit` invoices at status 100 received no later than `received_before`, oldest first.
    pub(crate) async fn pending_invoices(
        &self,
        received_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PendingInvoice>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT i.reference_number, i.session_reference, i.content, i.invoice_hash, i.invoicing_date,
                    i.offline_requested, i.hash_of_corrected, s.kind, s.context_value,
                    s.system_code, s.schema_version, s.form_value
             FROM invoices i JOIN sessions s ON s.reference_number = i.session_reference
             WHERE i.status_code = 100 AND i.invoicing_date <= $1
             ORDER BY i.invoicing_date LIMIT $2",
        )
        .bind(to_micros(received_before))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PendingInvoice {
                reference_number: r.get("reference_number"),
                session_reference: r.get("session_reference"),
                content: r.get("content"),
                invoice_hash: r.get("invoice_hash"),
                invoicing_date: from_micros(r.get("invoicing_date")),
                offline_requested: r.get::<i64, _>("offline_requested") != 0,
                hash_of_corrected: r.get("hash_of_corrected"),
                session_kind: SessionType::parse(r.get("kind")).unwrap_or(SessionType::Online),
                context_value: r.get("context_value"),
                form: ksef_wire::FormCode { system_code: r.get("system_code"), schema_version: r.get("schema_version"), value: r.get("form_value") },
            })
            .collect())
    }

    /// Records processing outcomes in one transaction, turning an acceptance that duplicates an accepted
    /// invoice (same seller NIP, kind and number) into status 440.
    pub(crate) async fn record_outcomes(&self, items: Vec<ProcessedInvoice>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        for item in items {
            let outcome = match item.outcome {
                InvoiceOutcome::Accepted { ref seller_nip, ref invoice_kind, ref invoice_number, invoicing_mode, .. } => {
                    let original = sqlx::query(
                        "SELECT ksef_number, session_reference FROM invoices
                         WHERE seller_nip = $1 AND invoice_kind = $2 AND invoice_number = $3 AND status_code = 200",
                    )
                    .bind(seller_nip)
                    .bind(invoice_kind)
                    .bind(invoice_number)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match original {
                        None => item.outcome,
                        Some(row) => {
                            let (ksef, session): (String, String) = (row.get("ksef_number"), row.get("session_reference"));
                            let extensions = BTreeMap::from([
                                (invoice::ORIGINAL_KSEF_NUMBER.to_owned(), ksef.clone()),
                                (invoice::ORIGINAL_SESSION_REFERENCE.to_owned(), session.clone()),
                            ]);
                            let status = StoredStatus::from(invoice::DUPLICATE).with_details(vec![format!(
                                "Duplikat faktury. Faktura o numerze KSeF: {ksef} została już prawidłowo przesłana do systemu w sesji: {session}"
                            )]);
                            sqlx::query("UPDATE invoices SET status_extensions = $2 WHERE reference_number = $1")
                                .bind(&item.reference_number)
                                .bind(serde_json::to_string(&extensions).expect("map serializes"))
                                .execute(&mut *tx)
                                .await?;
                            InvoiceOutcome::Failed { status, invoice_number: Some(invoice_number.clone()), invoicing_mode }
                        }
                    }
                }
                failed => failed,
            };
            let success = matches!(outcome, InvoiceOutcome::Accepted { .. });
            // Only an invoice still at 100 changes, so an outcome recorded twice counts once.
            let updated = match outcome {
                InvoiceOutcome::Accepted {
                    ksef_number,
                    acquisition_date,
                    permanent_storage_date,
                    invoicing_mode,
                    seller_nip,
                    invoice_kind,
                    invoice_number,
                    issue_date,
                    metadata,
                    parties,
                } => {
                    let updated = sqlx::query(
                        "UPDATE invoices SET status_code = $11, status_description = $12, ksef_number = $2,
                            acquisition_date = $3, permanent_storage_date = $4, invoicing_mode = $5, seller_nip = $6,
                            invoice_kind = $7, invoice_number = $8, issue_date = $9, metadata = $10
                         WHERE reference_number = $1 AND status_code = 100",
                    )
                    .bind(&item.reference_number)
                    .bind(&ksef_number)
                    .bind(to_micros(acquisition_date))
                    .bind(to_micros(permanent_storage_date))
                    .bind(invoicing_mode.as_str())
                    .bind(&seller_nip)
                    .bind(&invoice_kind)
                    .bind(&invoice_number)
                    .bind(&issue_date)
                    .bind(&metadata)
                    .bind(invoice::ACCEPTED.code)
                    .bind(invoice::ACCEPTED.description)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    // Only now is the invoice known to change: record who may find it.
                    for (role, identifier) in parties.into_iter().filter(|_| updated == 1) {
                        sqlx::query(
                            "INSERT OR IGNORE INTO invoice_parties (subject_type, identifier, invoice_reference) VALUES ($1, $2, $3)",
                        )
                        .bind(role.as_str())
                        .bind(identifier)
                        .bind(&item.reference_number)
                        .execute(&mut *tx)
                        .await?;
                    }
                    updated
                }
                InvoiceOutcome::Failed { status, invoice_number, invoicing_mode } => {
                    sqlx::query(
                        "UPDATE invoices SET status_code = $2, status_description = $3, status_details = $4,
                            invoice_number = $5, invoicing_mode = $6
                         WHERE reference_number = $1 AND status_code = 100",
                    )
                    .bind(&item.reference_number)
                    .bind(status.code)
                    .bind(&status.description)
                    .bind(status.details_json())
                    .bind(invoice_number)
                    .bind(invoicing_mode.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                }
            };
            if updated == 0 {
                continue;
            }
            let counter = if success { "successful_count" } else { "failed_count" };
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE sessions SET {counter} = {counter} + 1, updated_at = $2 WHERE reference_number = $1"
            )))
            .bind(&item.session_reference)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Invoice `reference` of session `session`.
    pub(crate) async fn invoice(&self, session: &str, reference: &str) -> Result<Option<InvoiceRow>, sqlx::Error> {
        let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE session_reference = $1 AND reference_number = $2");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(session).bind(reference).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(invoice_from_row))
    }

    /// Invoice `reference` of session `session` if that session is context `context_value`'s: `None` when it is
    /// not (or there is no such session), `Some(None)` when the session has no such invoice. One read where a
    /// status poll used to take two (the session, then the invoice).
    pub(crate) async fn owned_invoice(&self, session: &str, context_value: &str, reference: &str) -> Result<Option<Option<InvoiceRow>>, sqlx::Error> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let columns = INVOICE_COLUMNS.split(',').map(|c| format!("i.{}", c.trim())).collect::<Vec<_>>().join(", ");
            format!(
                "SELECT s.context_value AS owner, {columns} FROM sessions s
                 LEFT JOIN invoices i ON i.session_reference = s.reference_number AND i.reference_number = $3
                 WHERE s.reference_number = $1 AND s.context_value = $2"
            )
        });
        let row = sqlx::query(AssertSqlSafe(SQL.as_str())).bind(session).bind(context_value).bind(reference).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.get::<Option<&str>, _>("reference_number").is_some().then(|| invoice_from_row(&r))))
    }

    /// The invoice of session `session` with KSeF number `ksef_number`.
    pub(crate) async fn invoice_by_ksef_number(&self, session: &str, ksef_number: &str) -> Result<Option<InvoiceRow>, sqlx::Error> {
        let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE session_reference = $1 AND ksef_number = $2");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(session).bind(ksef_number).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(invoice_from_row))
    }

    /// Up to `limit` invoices of a session after `after_ordinal`, in order; failed ones only when asked.
    pub(crate) async fn session_invoices(
        &self,
        session: &str,
        after_ordinal: i32,
        limit: i64,
        failed_only: bool,
    ) -> Result<Vec<InvoiceRow>, sqlx::Error> {
        // Invoices of a package still being unpacked are not listed yet.
        let filter = if failed_only { "AND status_code >= 400" } else { "AND status_code <> 99" };
        let sql = format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE session_reference = $1 AND ordinal > $2 {filter} ORDER BY ordinal LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(session).bind(after_ordinal).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(invoice_from_row).collect())
    }

    /// Accepted invoices of a session in ordinal order, for its collective UPO.
    pub(crate) async fn accepted_invoices(&self, session: &str) -> Result<Vec<InvoiceRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE session_reference = $1 AND status_code = 200 ORDER BY ordinal"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(session).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(invoice_from_row).collect())
    }

    /// The original bytes and hash of an accepted invoice the context may see: as sender or as a party.
    pub(crate) async fn invoice_content_for(
        &self,
        ksef_number: &str,
        context_value: &str,
    ) -> Result<Option<(Vec<u8>, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT i.content, i.invoice_hash FROM invoices i JOIN sessions s ON s.reference_number = i.session_reference
             WHERE i.ksef_number = $1 AND i.status_code = 200 AND (s.context_value = $2 OR EXISTS
               (SELECT 1 FROM invoice_parties p WHERE p.invoice_reference = i.reference_number AND p.identifier = $2))",
        )
        .bind(ksef_number)
        .bind(context_value)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get("content"), r.get("invoice_hash"))))
    }

    /// The content of an accepted invoice, by KSeF number, for export packages.
    pub(crate) async fn invoice_content(&self, ksef_number: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        sqlx::query_scalar("SELECT content FROM invoices WHERE ksef_number = $1 AND status_code = 200")
            .bind(ksef_number)
            .fetch_optional(&self.pool)
            .await
            .map(Option::flatten)
    }

}

async fn add_one(
    conn: &mut sqlx::SqliteConnection,
    invoice: &NewInvoice,
    max_invoices: i32,
) -> Result<Result<i32, AddRefused>, sqlx::Error> {
    let ordinal: Option<i32> = sqlx::query_scalar(
        "UPDATE sessions SET invoice_count = invoice_count + 1, updated_at = $2
         WHERE reference_number = $1 AND status_code = 100 AND invoice_count < $3 RETURNING invoice_count",
    )
    .bind(&invoice.session_reference)
    .bind(to_micros(invoice.invoicing_date))
    .bind(max_invoices)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(ordinal) = ordinal else {
        let status: Option<i32> = sqlx::query_scalar("SELECT status_code FROM sessions WHERE reference_number = $1")
            .bind(&invoice.session_reference)
            .fetch_optional(&mut *conn)
            .await?;
        return Ok(Err(match status {
            None => AddRefused::NoSession,
            Some(code) if session::ONLINE_OPEN.is(code) => AddRefused::Full,
            Some(code) => AddRefused::NotOpen(code),
        }));
    };
    insert_invoice(conn, invoice, ordinal, &invoice::RECEIVED.into()).await?;
    Ok(Ok(ordinal))
}

/// Inserts one received invoice with its ordinal and first status (100, or a failure found on receipt).
pub(super) async fn insert_invoice(
    conn: &mut sqlx::SqliteConnection,
    invoice: &NewInvoice,
    ordinal: i32,
    status: &StoredStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoices (reference_number, session_reference, ordinal, invoice_hash, invoice_size, content,
            status_code, status_description, status_details, invoicing_date, invoicing_mode, offline_requested,
            hash_of_corrected, file_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&invoice.reference_number)
    .bind(&invoice.session_reference)
    .bind(ordinal)
    .bind(&invoice.invoice_hash)
    .bind(invoice.invoice_size)
    .bind(&invoice.content)
    .bind(status.code)
    .bind(&status.description)
    .bind(status.details_json())
    .bind(to_micros(invoice.invoicing_date))
    .bind(if invoice.offline_requested { InvoicingMode::Offline } else { InvoicingMode::Online }.as_str())
    .bind(invoice.offline_requested)
    .bind(&invoice.hash_of_corrected)
    .bind(&invoice.file_name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
