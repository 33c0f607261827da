//! Invoices the gateway delivers for its tenants, as a durable outbox: recorded before KSeF is called, so no retry
//! sends twice and a restart forgets nothing; claimed by one instance at a time; then KSeF's reference number and
//! every status it reports, polled until final.

use sqlx::{AssertSqlSafe, Row as _};

use crate::events::{record_event_in, record_events_in};
use crate::states::{DeliveryState, EventKind, column};
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
    /// The instance that sends it at once (recorded as `sending`, held by it); `None`: recorded as `queued`, for
    /// the outbox worker.
    pub lease_owner: Option<String>,
    /// What else a sessionless submit records.
    pub submission: Option<Submission>,
    /// The buyer's NIP, when the gateway read the invoice in clear.
    pub buyer_nip: Option<String>,
}

/// What a sessionless submit records beside the invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    /// Unique per invoice: tenant, seller NIP, kind and number; the same again is answered with the first.
    pub key: String,
    /// `P_2`.
    pub invoice_number: String,
    /// Offline mode (`offline24`, `unavailability`, `failure`), if issued offline.
    pub offline_mode: Option<String>,
    /// The end of the last day the invoice may reach KSeF (µs), if issued offline.
    pub deadline_at: Option<i64>,
    /// A technical correction: the base64 SHA-256 of the rejected offline invoice it corrects.
    pub hash_of_corrected: Option<String>,
    /// Issued offline because of this announced window (its deadline follows the window's end).
    pub announcement_id: Option<String>,
}

/// What recording an invoice found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceInsert {
    /// A new invoice was recorded.
    Inserted,
    /// The session already holds an invoice with this hash: this one.
    Existing(Box<InvoiceRecord>),
    /// The session was closed (or does not exist): nothing was recorded.
    SessionClosed,
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
    /// How KSeF recorded it was issued: `Online` or `Offline`.
    pub invoicing_mode: Option<String>,
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
    /// `P_2`: as a sessionless submit recorded it, or as KSeF reported it.
    pub invoice_number: Option<String>,
    /// The buyer's NIP, when the gateway read the invoice in clear.
    pub buyer_nip: Option<String>,
    /// When it was received.
    pub created_at: i64,
    /// Sends tried.
    pub attempts: i64,
    /// When the worker may send (queued) or poll (sent) it next.
    pub next_attempt_at: Option<i64>,
    /// While `sending`: the instance calling KSeF.
    pub lease_owner: Option<String>,
    /// KSeF's reference of the session it went (or goes) into.
    pub ksef_session: Option<String>,
    /// A duplicate's original KSeF number.
    pub original_ksef_number: Option<String>,
    /// Offline mode, if issued offline.
    pub offline_mode: Option<String>,
    /// Offline: the end of the last day to reach KSeF (µs).
    pub deadline_at: Option<i64>,
    /// A technical correction's original hash.
    pub hash_of_corrected: Option<String>,
    /// An earlier send may have reached KSeF without its answer arriving: KSeF's list is read before a resend.
    pub verify_first: bool,
    /// The batch session (ours) it is in, while it goes to KSeF in a batch.
    pub batch_session: Option<String>,
    /// When it last changed (µs).
    pub updated_at: i64,
}

pub(crate) const COLUMNS: &str = "id, tenant_id, session_id, invoice_hash, invoice_size, state, payload, ksef_reference, send_error,
    status_code, status_description, status_details, status_extensions, ordinal, invoice_number, ksef_number,
    acquisition_date, permanent_storage_date, invoicing_mode, created_at, attempts, next_attempt_at, lease_owner, ksef_session,
    original_ksef_number, offline_mode, deadline_at, hash_of_corrected, verify_first, batch_session, updated_at, buyer_nip";

/// [`COLUMNS`] with the payload left out (read as absent): a poll needs the invoice's identity, not its bytes.
static COLUMNS_BUT_PAYLOAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| COLUMNS.replacen(" payload,", " NULL AS payload,", 1));

pub(crate) fn invoice_from_row(r: &sqlx::any::AnyRow) -> Result<InvoiceRecord, sqlx::Error> {
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
                invoicing_mode: r.try_get("invoicing_mode")?,
            }),
            None => None,
        },
        invoice_number: r.try_get("invoice_number")?,
        buyer_nip: r.try_get("buyer_nip")?,
        created_at: r.try_get("created_at")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        lease_owner: r.try_get("lease_owner")?,
        ksef_session: r.try_get("ksef_session")?,
        original_ksef_number: r.try_get("original_ksef_number")?,
        offline_mode: r.try_get("offline_mode")?,
        deadline_at: r.try_get("deadline_at")?,
        hash_of_corrected: r.try_get("hash_of_corrected")?,
        verify_first: r.try_get::<i64, _>("verify_first")? != 0,
        batch_session: r.try_get("batch_session")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Where an invoice stands after KSeF's latest status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The delivery state it moves to.
    pub state: DeliveryState,
    /// KSeF's status.
    pub status: InvoiceStatusUpdate,
    /// A duplicate's original KSeF number.
    pub original_ksef_number: Option<String>,
    /// When to poll again, while not final.
    pub next_poll_at: Option<i64>,
    /// KSeF's reference number of the invoice, kept unless it has one (a batch's invoices learn theirs so).
    pub reference: Option<String>,
}

impl Store {
    /// Records an invoice before it is sent (`sending`, held by `lease_owner`, or `queued` without one), unless
    /// it is there already (the same hash in the session, or the same submission key): that one is answered. A
    /// closed session takes none; recording and the session's state are checked in one statement, so an invoice
    /// never lands in a session closed meanwhile.
    pub async fn insert_invoice(&self, i: &NewInvoice) -> Result<InvoiceInsert, StoreError> {
        let i = i.clone();
        self.grouped_statement(move |conn| Box::pin(async move { Store::insert_invoice_in(conn, &i).await })).await
    }

    /// [`Store::insert_invoice`] on `conn`.
    async fn insert_invoice_in(conn: &mut sqlx::AnyConnection, i: &NewInvoice) -> Result<InvoiceInsert, StoreError> {
        let state = if i.lease_owner.is_some() { DeliveryState::Sending } else { DeliveryState::Queued };
        let sub = i.submission.clone().unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO invoices (id, tenant_id, session_id, invoice_hash, invoice_size, state, payload, created_at, updated_at,
                 attempts, lease_owner, ksef_session, submission_key, invoice_number, offline_mode, deadline_at, hash_of_corrected,
                 announcement_id, buyer_nip)
             SELECT $1, $2, $3, $4, $5, $8, $6, $7, $7, $10, $9, s.ksef_reference, $11, $12, $13, $14, $15, $16, $17
             FROM sessions s WHERE s.id = $3 AND s.closed_at IS NULL
             ON CONFLICT DO NOTHING",
        )
        .bind(&i.id)
        .bind(&i.tenant_id)
        .bind(&i.session_id)
        .bind(&i.invoice_hash)
        .bind(i.invoice_size)
        .bind(&i.payload)
        .bind(i.created_at)
        .bind(state.as_str())
        .bind(&i.lease_owner)
        .bind(i64::from(i.lease_owner.is_some()))
        .bind(i.submission.as_ref().map(|s| s.key.clone()))
        .bind(i.submission.as_ref().map(|s| s.invoice_number.clone()))
        .bind(&sub.offline_mode)
        .bind(sub.deadline_at)
        .bind(&sub.hash_of_corrected)
        .bind(&sub.announcement_id)
        .bind(&i.buyer_nip)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(InvoiceInsert::Inserted);
        }
        let row = match &i.submission {
            Some(submission) => {
                sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM invoices WHERE submission_key = $1")))
                    .bind(&submission.key)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM invoices WHERE session_id = $1 AND invoice_hash = $2")))
                    .bind(&i.session_id)
                    .bind(&i.invoice_hash)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        match row {
            Some(row) => Ok(InvoiceInsert::Existing(Box::new(invoice_from_row(&row)?))),
            None => Ok(InvoiceInsert::SessionClosed),
        }
    }

    /// Records the KSeF session an invoice goes into (a managed session opened after it was queued).
    pub async fn set_invoice_ksef_session(&self, id: &str, ksef_session: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE invoices SET ksef_session = $2 WHERE id = $1").bind(id).bind(ksef_session).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Offline invoices not yet accepted by KSeF, with their deadlines, of every tenant: (tenant, id, deadline µs).
    pub async fn offline_pending(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant_id, id, deadline_at FROM invoices
             WHERE deadline_at IS NOT NULL AND state IN ($1, $2, $3) ORDER BY deadline_at",
        )
        .bind(DeliveryState::Queued.as_str())
        .bind(DeliveryState::Sending.as_str())
        .bind(DeliveryState::Sent.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("tenant_id")?, r.try_get("id")?, r.try_get("deadline_at")?))).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Claims up to `limit` queued invoices due at `now` for `owner`, at most `per_tenant` of each tenant (so one
    /// tenant's backlog does not hold up another's invoice): each becomes `sending`, held by it, headed for its
    /// session's current KSeF session. Two instances never claim the same invoice (the state is checked again on
    /// the row itself as it is updated). `updated_at` is left as the last failure set it, for [`InvoiceRecord`]'s
    /// readers to tell whether a read of KSeF's list came after it.
    pub async fn claim_queued_invoices(&self, owner: &str, now: i64, limit: i64, per_tenant: i64) -> Result<Vec<InvoiceRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE invoices SET state = $1, lease_owner = $2, attempts = attempts + 1,
                 ksef_session = (SELECT s.ksef_reference FROM sessions s WHERE s.id = invoices.session_id)
             WHERE id IN (SELECT id FROM (SELECT id, created_at, ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY created_at) AS n
                                          FROM invoices WHERE state = $4 AND (next_attempt_at IS NULL OR next_attempt_at <= $3)) due
                          WHERE n <= $6 ORDER BY created_at LIMIT $5)
               AND state = $4
             RETURNING {COLUMNS}"
        )))
        .bind(DeliveryState::Sending.as_str())
        .bind(owner)
        .bind(now)
        .bind(DeliveryState::Queued.as_str())
        .bind(limit)
        .bind(per_tenant)
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }

    /// Invoices left `sending` by an instance whose heartbeat is older than `alive_since` (it died mid-send):
    /// whether KSeF took them is unknown until KSeF's list of the session's invoices is read.
    pub async fn orphaned_sends(&self, alive_since: i64, limit: i64) -> Result<Vec<InvoiceRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM invoices WHERE state = $1
               AND (lease_owner IS NULL OR lease_owner NOT IN (SELECT id FROM instances WHERE heartbeat_at >= $2))
             ORDER BY created_at LIMIT $3"
        )))
        .bind(DeliveryState::Sending.as_str())
        .bind(alive_since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }

    /// Takes over an orphaned send from `dead_owner`; false if another instance took it first.
    pub async fn adopt_orphan(&self, id: &str, dead_owner: Option<&str>, owner: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invoices SET lease_owner = $3, updated_at = $4
             WHERE id = $1 AND state = $5 AND COALESCE(lease_owner, '') = COALESCE($2, '')",
        )
        .bind(id)
        .bind(dead_owner)
        .bind(owner)
        .bind(now)
        .bind(DeliveryState::Sending.as_str())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that KSeF accepted an invoice for processing, under `ksef_reference` in KSeF session
    /// `ksef_session`; its status is polled from `next_poll_at`. The payload is kept until KSeF's verdict: a
    /// rejected invoice stays readable (the console shows what was refused).
    pub async fn mark_invoice_sent(
        &self,
        id: &str,
        ksef_session: &str,
        ksef_reference: &str,
        now: i64,
        next_poll_at: i64,
    ) -> Result<(), StoreError> {
        let (id, ksef_session, ksef_reference) = (id.to_owned(), ksef_session.to_owned(), ksef_reference.to_owned());
        self.grouped_statement(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE invoices SET state = $4, ksef_reference = $2, ksef_session = $6, send_error = NULL,
                         lease_owner = NULL, next_attempt_at = $5, updated_at = $3, verify_first = 0
                     WHERE id = $1 AND state IN ($7, $8)",
                )
                .bind(id)
                .bind(ksef_reference)
                .bind(now)
                .bind(DeliveryState::Sent.as_str())
                .bind(next_poll_at)
                .bind(ksef_session)
                .bind(DeliveryState::Sending.as_str())
                .bind(DeliveryState::Queued.as_str())
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Puts an invoice back in the queue after a failed attempt, to be sent again from `next_attempt_at`; the
    /// payload is kept. `uncertain`: the attempt may have reached KSeF, so KSeF's list is read before the next.
    pub async fn requeue_invoice(&self, id: &str, error: &str, next_attempt_at: i64, now: i64, uncertain: bool) -> Result<(), StoreError> {
        self.put_back(id, error, next_attempt_at, now, uncertain, false).await
    }

    /// Puts an invoice being sent back in the queue until `next_attempt_at` without it counting as an attempt: it
    /// was held back before reaching KSeF (its context's rate budget was spent), so no backoff grows from it.
    pub async fn defer_invoice(&self, id: &str, why: &str, next_attempt_at: i64, now: i64) -> Result<(), StoreError> {
        self.put_back(id, why, next_attempt_at, now, false, true).await
    }

    async fn put_back(&self, id: &str, why: &str, next_attempt_at: i64, now: i64, uncertain: bool, uncount: bool) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE invoices SET state = $4, send_error = $2, lease_owner = NULL, next_attempt_at = $5, updated_at = $3,
                 verify_first = CASE WHEN $7 = 1 THEN 1 ELSE verify_first END,
                 attempts = CASE WHEN $8 = 1 AND attempts > 0 THEN attempts - 1 ELSE attempts END
             WHERE id = $1 AND state = $6",
        )
        .bind(id)
        .bind(why)
        .bind(now)
        .bind(DeliveryState::Queued.as_str())
        .bind(next_attempt_at)
        .bind(DeliveryState::Sending.as_str())
        .bind(i64::from(uncertain))
        .bind(i64::from(uncount))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Records that KSeF refused the request carrying an invoice the caller was already told is recorded: it ends
    /// rejected, with KSeF's reason (and its event).
    pub async fn reject_invoice_send(&self, id: &str, error: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let tenant: Option<String> = sqlx::query_scalar(
            "UPDATE invoices SET state = $4, send_error = $2, lease_owner = NULL, next_attempt_at = NULL,
                 updated_at = $3
             WHERE id = $1 AND state IN ($5, $6) RETURNING tenant_id",
        )
        .bind(id)
        .bind(error)
        .bind(now)
        .bind(DeliveryState::Rejected.as_str())
        .bind(DeliveryState::Sending.as_str())
        .bind(DeliveryState::Queued.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(tenant) = tenant {
            record_event_in(&mut tx, &tenant, EventKind::InvoiceRejected, id, None, now, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets an invoice KSeF refused outright while its sender waited for the answer (it never entered the
    /// session, and the sender is told so).
    pub async fn delete_refused_invoice(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM invoices WHERE id = $1 AND state = $2").bind(id).bind(DeliveryState::Sending.as_str()).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Records KSeF's latest statuses of invoices (a poll's) and where they leave each; a verdict (accepted,
    /// rejected, duplicate) records its event. One transaction for all, where each invoice had one of its own; on
    /// SQLite it shares the send path's group commit (a savepoint in a group, a transaction alone), so a poll's
    /// writes take no turn of their own while sends wait.
    pub async fn update_invoice_statuses(&self, changes: Vec<(String, StatusChange)>, now: i64) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.grouped(move |tx| {
            Box::pin(async move {
                // Verdicts' events, by tenant and kind, recorded after the updates in one go per pair (a handful of
                // statements for the lot, where each invoice took as many).
                let mut verdicts: Vec<(String, EventKind, Vec<&str>)> = Vec::new();
                for (id, change) in &changes {
                    let s = &change.status;
                    let tenant: Option<String> = sqlx::query_scalar(
                        "UPDATE invoices SET status_code = $2, status_description = $3, status_details = $4, status_extensions = $5,
                            ordinal = $6, invoice_number = $7, ksef_number = $8, acquisition_date = $9, permanent_storage_date = $10,
                            updated_at = $11, state = $12, original_ksef_number = $13, next_attempt_at = $14, invoicing_mode = $15,
                            ksef_reference = COALESCE(ksef_reference, $16), payload = CASE WHEN $17 = 1 THEN NULL ELSE payload END
                         WHERE id = $1 RETURNING tenant_id",
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
                    .bind(change.state.as_str())
                    .bind(&change.original_ksef_number)
                    .bind(change.next_poll_at)
                    .bind(&s.invoicing_mode)
                    .bind(&change.reference)
                    // Dropped once KSeF holds the invoice for good; a rejected one keeps it, to be shown with its reason.
                    .bind(i64::from(matches!(change.state, DeliveryState::Accepted | DeliveryState::Duplicate)))
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let (Some(tenant), Some(kind)) = (tenant, EventKind::of_delivery(change.state)) {
                        match verdicts.iter_mut().find(|(t, k, _)| *t == tenant && *k == kind) {
                            Some((_, _, subjects)) => subjects.push(id),
                            None => verdicts.push((tenant, kind, vec![id])),
                        }
                    }
                }
                // In one order of tenants for every writer: each recording locks its tenant's event counter, and two
                // instances' writes taking two tenants' counters in opposite orders would deadlock on PostgreSQL.
                verdicts.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
                for (tenant, kind, subjects) in &verdicts {
                    record_events_in(tx, tenant, *kind, subjects, None, now, None).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Claims up to `limit` sent invoices whose status is due for a poll at `now`, pushing their next poll to
    /// `hold_until` so no other instance polls them meanwhile; without their payloads, which a poll does not need.
    pub async fn claim_due_polls(&self, now: i64, hold_until: i64, limit: i64) -> Result<Vec<InvoiceRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE invoices SET next_attempt_at = $2
             WHERE id IN (SELECT id FROM invoices WHERE state = $3 AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
                          ORDER BY next_attempt_at LIMIT $4)
               AND state = $3 AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
             RETURNING {}",
            *COLUMNS_BUT_PAYLOAD
        )))
        .bind(now)
        .bind(hold_until)
        .bind(DeliveryState::Sent.as_str())
        .bind(limit)
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }

    /// Invoices by delivery state, of every tenant (for metrics).
    pub async fn invoice_counts(&self) -> Result<Vec<(DeliveryState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM invoices GROUP BY state").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((column(r, "state", DeliveryState::parse)?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Invoices waiting for KSeF (queued or being sent), per tenant.
    pub async fn undelivered_by_tenant(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT tenant_id, COUNT(*) AS n FROM invoices WHERE state IN ($1, $2) GROUP BY tenant_id")
            .bind(DeliveryState::Queued.as_str())
            .bind(DeliveryState::Sending.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("tenant_id")?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// The KSeF numbers of every accepted invoice, of every tenant (one per invoice, for checks of exactly-once).
    pub async fn ksef_numbers(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT ksef_number FROM invoices WHERE state = $1 AND ksef_number IS NOT NULL")
            .bind(DeliveryState::Accepted.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get("ksef_number")).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
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

    /// Records that instance `id` is alive at `now`.
    pub async fn heartbeat(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Forgets instances silent since before `before` (their leases already lapsed).
    pub async fn forget_instances(&self, before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM instances WHERE heartbeat_at < $1").bind(before).execute(&mut *self.write_conn().await?).await?.rows_affected())
    }
}
