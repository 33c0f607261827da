//! Sessions the gateway opened in KSeF for its tenants, with their last known status and UPO.

use sqlx::{AssertSqlSafe, Row as _};

use crate::states::{DeliveryState, KeyMode, SessionKind, column};
use crate::{Store, StoreError, details_from_json, details_to_json};

/// A session to record, before KSeF is asked to open it.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Our id.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// `v2` or `v3`.
    pub invoice_version: String,
    /// Online or batch.
    pub kind: SessionKind,
    /// Who holds the key.
    pub key_mode: KeyMode,
    /// In gateway mode, the AES key sealed under the master key.
    pub sealed_key: Option<Vec<u8>>,
    /// In gateway mode, the IV.
    pub iv: Option<Vec<u8>>,
    /// The `EncryptionInfo` KSeF is given, as JSON (the key RSA-wrapped for KSeF), so the session can continue in a
    /// new KSeF session with the same key if KSeF closes this one.
    pub encryption: Option<String>,
    /// When it was requested.
    pub created_at: i64,
    /// The gateway's own session for sessionless submits (opened in KSeF by the outbox, when it has invoices).
    pub managed: bool,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Our id.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// KSeF's reference number, once KSeF opened it.
    pub ksef_reference: Option<String>,
    /// `v2` or `v3`.
    pub invoice_version: String,
    /// Online or batch.
    pub kind: SessionKind,
    /// Who holds the key.
    pub key_mode: KeyMode,
    /// Gateway mode: the sealed AES key.
    pub sealed_key: Option<Vec<u8>>,
    /// Gateway mode: the IV.
    pub iv: Option<Vec<u8>>,
    /// Last known KSeF status.
    pub status: Option<SessionStatusUpdate>,
    /// When it was requested.
    pub created_at: i64,
    /// When the caller closed it (no invoice is taken after).
    pub closed_at: Option<i64>,
    /// When KSeF confirmed the close (after every invoice recorded before `closed_at` was delivered).
    pub ksef_closed_at: Option<i64>,
    /// The `EncryptionInfo` KSeF was given, as JSON.
    pub encryption: Option<String>,
    /// The gateway's own session for sessionless submits.
    pub managed: bool,
    /// The collective UPO, once downloaded.
    pub upo: Option<Vec<u8>>,
}

/// KSeF's view of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatusUpdate {
    /// Status code.
    pub code: i64,
    /// Description.
    pub description: String,
    /// Details.
    pub details: Vec<String>,
    /// Invoices received.
    pub invoice_count: Option<i64>,
    /// Invoices accepted.
    pub successful_count: Option<i64>,
    /// Invoices refused.
    pub failed_count: Option<i64>,
}

const COLUMNS: &str = "id, tenant_id, ksef_reference, invoice_version, key_mode, sealed_key, iv, status_code, status_description,
    status_details, invoice_count, successful_count, failed_count, created_at, closed_at, upo, kind, ksef_closed_at, encryption, managed";

fn session_from_row(r: &sqlx::any::AnyRow) -> Result<SessionRecord, sqlx::Error> {
    let code: Option<i64> = r.try_get("status_code")?;
    Ok(SessionRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        ksef_reference: r.try_get("ksef_reference")?,
        invoice_version: r.try_get("invoice_version")?,
        key_mode: column(r, "key_mode", KeyMode::parse)?,
        sealed_key: r.try_get("sealed_key")?,
        iv: r.try_get("iv")?,
        status: match code {
            Some(code) => Some(SessionStatusUpdate {
                code,
                description: r.try_get::<Option<String>, _>("status_description")?.unwrap_or_default(),
                details: details_from_json(r.try_get("status_details")?),
                invoice_count: r.try_get("invoice_count")?,
                successful_count: r.try_get("successful_count")?,
                failed_count: r.try_get("failed_count")?,
            }),
            None => None,
        },
        created_at: r.try_get("created_at")?,
        closed_at: r.try_get("closed_at")?,
        ksef_closed_at: r.try_get("ksef_closed_at")?,
        encryption: r.try_get("encryption")?,
        managed: r.try_get::<i64, _>("managed")? != 0,
        upo: r.try_get("upo")?,
        kind: column(r, "kind", SessionKind::parse)?,
    })
}

impl Store {
    /// Records a session before KSeF is asked to open it.
    pub async fn insert_session(&self, s: &NewSession) -> Result<(), StoreError> {
        self.insert_session_row(s, "").await.map(|_| ())
    }

    /// Records a managed session, unless the tenant has an open one for the same schema already (false: use that).
    pub async fn insert_managed_session(&self, s: &NewSession) -> Result<bool, StoreError> {
        Ok(self.insert_session_row(s, "ON CONFLICT DO NOTHING").await? == 1)
    }

    async fn insert_session_row(&self, s: &NewSession, on_conflict: &'static str) -> Result<u64, StoreError> {
        let done = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sessions (id, tenant_id, invoice_version, key_mode, sealed_key, iv, created_at, kind, encryption, managed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) {on_conflict}"
        )))
        .bind(&s.id)
        .bind(&s.tenant_id)
        .bind(&s.invoice_version)
        .bind(s.key_mode.as_str())
        .bind(&s.sealed_key)
        .bind(&s.iv)
        .bind(s.created_at)
        .bind(s.kind.as_str())
        .bind(&s.encryption)
        .bind(i64::from(s.managed))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Records KSeF's reference number for a session it opened.
    pub async fn set_session_reference(&self, id: &str, ksef_reference: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET ksef_reference = $2 WHERE id = $1")
            .bind(id)
            .bind(ksef_reference)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Forgets a session KSeF refused to open.
    pub async fn delete_unopened_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1 AND ksef_reference IS NULL").bind(id).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// The session `id`, whoever owns it (the caller checks ownership).
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(session_from_row).transpose()?)
    }

    /// Records KSeF's latest status of a session.
    pub async fn update_session_status(&self, id: &str, status: &SessionStatusUpdate) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET status_code = $2, status_description = $3, status_details = $4, invoice_count = $5,
                successful_count = $6, failed_count = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(status.code)
        .bind(&status.description)
        .bind(details_to_json(&status.details))
        .bind(status.invoice_count)
        .bind(status.successful_count)
        .bind(status.failed_count)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Records that the caller closed a session: it takes no more invoices; the worker closes it in KSeF once the
    /// invoices recorded before are delivered. False if it was closed already.
    pub async fn request_session_close(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        Ok(Store::request_session_close_in(&mut *self.write_conn().await?, id, now).await?)
    }

    /// `request_session_close` on `conn`, within its caller's transaction.
    pub(crate) async fn request_session_close_in(conn: &mut sqlx::AnyConnection, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE sessions SET closed_at = $2, next_attempt_at = NULL WHERE id = $1 AND closed_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes back a close KSeF refused (e.g. a batch package missing parts): the session is open again.
    pub async fn withdraw_session_close(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET closed_at = NULL WHERE id = $1 AND ksef_closed_at IS NULL").bind(id).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Whether a session still has invoices waiting to reach KSeF.
    pub async fn session_has_undelivered(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM invoices WHERE session_id = $1 AND state IN ($2, $3)")
            .bind(id)
            .bind(DeliveryState::Queued.as_str())
            .bind(DeliveryState::Sending.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Records that KSeF closed a session (by our request, or on its own).
    pub async fn mark_session_ksef_closed(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET ksef_closed_at = $2, next_attempt_at = NULL WHERE id = $1 AND ksef_closed_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Puts off the worker's next look at a session until `at`.
    pub async fn defer_session(&self, id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET next_attempt_at = $2 WHERE id = $1").bind(id).bind(at).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Claims up to `limit` sessions the caller closed that KSeF has not, whose invoices are all delivered, due at
    /// `now`; their next look is pushed to `hold_until`.
    pub async fn claim_due_closes(&self, now: i64, hold_until: i64, limit: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE sessions SET next_attempt_at = $2
             WHERE id IN (SELECT s.id FROM sessions s
                          WHERE s.closed_at IS NOT NULL AND s.ksef_closed_at IS NULL AND s.ksef_reference IS NOT NULL
                            AND (s.next_attempt_at IS NULL OR s.next_attempt_at <= $1)
                            AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.session_id = s.id AND i.state IN ($4, $5))
                          ORDER BY s.closed_at LIMIT $3)
               AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
             RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(hold_until)
        .bind(limit)
        .bind(DeliveryState::Queued.as_str())
        .bind(DeliveryState::Sending.as_str())
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        Ok(rows.iter().map(session_from_row).collect::<Result<_, _>>()?)
    }

    /// Claims up to `limit` sessions closed in KSeF since `since` whose UPO is not yet kept and whose KSeF status is
    /// not final without one, due at `now`; their next look is pushed to `hold_until`.
    pub async fn claim_due_upos(&self, now: i64, hold_until: i64, since: i64, limit: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE sessions SET next_attempt_at = $2
             WHERE id IN (SELECT id FROM sessions
                          WHERE ksef_closed_at IS NOT NULL AND ksef_closed_at >= $3 AND upo IS NULL
                            AND (status_code IS NULL OR status_code <= 200)
                            AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
                          ORDER BY ksef_closed_at LIMIT $4)
               AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
             RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(hold_until)
        .bind(since)
        .bind(limit)
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        Ok(rows.iter().map(session_from_row).collect::<Result<_, _>>()?)
    }

    /// The newest open managed session of a tenant for `invoice_version`, if any.
    pub async fn open_managed_session(&self, tenant_id: &str, invoice_version: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND invoice_version = $2 AND managed = 1 AND closed_at IS NULL
             ORDER BY created_at DESC LIMIT 1"
        )))
        .bind(tenant_id)
        .bind(invoice_version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(session_from_row).transpose()?)
    }

    /// Records KSeF's reference and the key's wrapping of a managed session the outbox opened, unless another
    /// instance did first (false: read the session again).
    pub async fn set_managed_reference(&self, id: &str, reference: &str, encryption: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sessions SET ksef_reference = $2, encryption = $3 WHERE id = $1 AND ksef_reference IS NULL")
            .bind(id)
            .bind(reference)
            .bind(encryption)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes the managed sessions created before `idle_before` that took no invoice since then, created before
    /// `old_before`, or holding `full` invoices: later submits go into new ones, and these are closed in KSeF once
    /// their invoices are in.
    pub async fn close_idle_managed_sessions(&self, idle_before: i64, old_before: i64, full: i64, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET closed_at = $3, next_attempt_at = NULL
             WHERE managed = 1 AND closed_at IS NULL
               AND ((created_at < $1 AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.session_id = sessions.id AND i.created_at >= $1))
                    OR created_at < $2
                    OR (SELECT COUNT(*) FROM invoices i WHERE i.session_id = sessions.id) >= $4)",
        )
        .bind(idle_before)
        .bind(old_before)
        .bind(now)
        .bind(full)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Moves a session on to a new KSeF session after KSeF closed `old_reference`, unless another instance did
    /// first (false: read the session again).
    pub async fn continue_session(&self, id: &str, old_reference: &str, new_reference: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET ksef_reference = $3, ksef_closed_at = NULL, upo = NULL, status_code = NULL, next_attempt_at = NULL
             WHERE id = $1 AND ksef_reference = $2",
        )
        .bind(id)
        .bind(old_reference)
        .bind(new_reference)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps a session's collective UPO, recording its event (`now`, µs) the first time.
    pub async fn set_session_upo(&self, id: &str, upo: &[u8], now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let tenant: Option<String> =
            sqlx::query_scalar("UPDATE sessions SET upo = $2 WHERE id = $1 RETURNING tenant_id").bind(id).bind(upo).fetch_optional(&mut *tx).await?;
        if let Some(tenant) = tenant {
            crate::events::record_event_in(&mut tx, &tenant, crate::states::EventKind::SessionUpoReady, id, None, now, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
