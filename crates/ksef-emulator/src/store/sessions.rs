//! Sessions and their collective UPO pages.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row as _};
use sqlx::sqlite::SqliteRow;

use ksef_wire::sessions::SessionType;

use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// A session about to be opened.
#[derive(Debug, Clone)]
pub(crate) struct NewSession {
    pub(crate) reference_number: String,
    pub(crate) kind: SessionType,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) auth_reference: String,
    pub(crate) token_reference: Option<String>,
    pub(crate) form: ksef_wire::FormCode,
    pub(crate) encrypted_key: Vec<u8>,
    pub(crate) iv: Vec<u8>,
    pub(crate) status: StoredStatus,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) valid_until: DateTime<Utc>,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub(crate) reference_number: String,
    pub(crate) kind: SessionType,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) token_reference: Option<String>,
    pub(crate) form: ksef_wire::FormCode,
    pub(crate) encrypted_key: Vec<u8>,
    pub(crate) iv: Vec<u8>,
    pub(crate) status: StoredStatus,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) valid_until: DateTime<Utc>,
    pub(crate) invoice_count: i32,
    pub(crate) successful_count: i32,
    pub(crate) failed_count: i32,
}

/// Filters of `GET /sessions`.
#[derive(Debug, Clone)]
pub(crate) struct SessionListFilter {
    pub(crate) kind: SessionType,
    pub(crate) reference_number: Option<String>,
    pub(crate) created_from: Option<DateTime<Utc>>,
    pub(crate) created_to: Option<DateTime<Utc>>,
    pub(crate) closed_from: Option<DateTime<Utc>>,
    pub(crate) closed_to: Option<DateTime<Utc>>,
    pub(crate) updated_from: Option<DateTime<Utc>>,
    pub(crate) updated_to: Option<DateTime<Utc>>,
    /// Status codes to keep; empty keeps all.
    pub(crate) status_codes: Vec<i32>,
}

pub(super) const SESSION_COLUMNS: &str = "reference_number, kind, context_type, context_value, token_reference, system_code,
    schema_version, form_value, encrypted_key, iv, status_code, status_description, status_details, created_at,
    updated_at, valid_until, invoice_count, successful_count, failed_count";

pub(super) fn session_from_row(r: &SqliteRow) -> SessionRow {
    SessionRow {
        reference_number: r.get("reference_number"),
        kind: SessionType::parse(r.get("kind")).unwrap_or(SessionType::Online),
        context_type: r.get("context_type"),
        context_value: r.get("context_value"),
        token_reference: r.get("token_reference"),
        form: ksef_wire::FormCode { system_code: r.get("system_code"), schema_version: r.get("schema_version"), value: r.get("form_value") },
        encrypted_key: r.get("encrypted_key"),
        iv: r.get("iv"),
        status: StoredStatus { code: r.get("status_code"), description: r.get("status_description"), details: parse_details(r.get::<Option<&str>, _>("status_details")) },
        created_at: from_micros(r.get("created_at")),
        updated_at: from_micros(r.get("updated_at")),
        valid_until: from_micros(r.get("valid_until")),
        invoice_count: r.get("invoice_count"),
        successful_count: r.get("successful_count"),
        failed_count: r.get("failed_count"),
    }
}

impl Db {
    pub(crate) async fn insert_session(&self, s: &NewSession) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        insert_session(&mut conn, s).await
    }

    /// The session `reference` if it belongs to the context `context_value`.
    pub(crate) async fn session(&self, reference: &str, context_value: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE reference_number = $1 AND context_value = $2");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(reference).bind(context_value).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(session_from_row))
    }

    /// The session `reference`, whoever owns it (for tokenless downloads and background work).
    pub(crate) async fn session_any(&self, reference: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE reference_number = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(reference).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(session_from_row))
    }

    /// Moves an open session to `status` (closing it); false if it was not open.
    pub(crate) async fn close_session(
        &self,
        reference: &str,
        status: &StoredStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sessions SET status_code = $2, status_description = $3, status_details = $4, closed_at = $5, updated_at = $5
             WHERE reference_number = $1 AND status_code = 100",
        )
        .bind(reference)
        .bind(status.code)
        .bind(&status.description)
        .bind(status.details_json())
        .bind(to_micros(now))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes every open session of `kind` whose time is up; their references.
    pub(crate) async fn close_expired_sessions(
        &self,
        kind: SessionType,
        status: &StoredStatus,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE sessions SET status_code = $2, status_description = $3, status_details = $4, closed_at = $5, updated_at = $5
             WHERE kind = $1 AND status_code = 100 AND valid_until < $5 RETURNING reference_number",
        )
        .bind(kind.as_str())
        .bind(status.code)
        .bind(&status.description)
        .bind(status.details_json())
        .bind(to_micros(now))
        .fetch_all(&mut *self.write_conn().await?)
        .await
    }

    /// Closed online sessions, and unpacked batch sessions, none of whose invoices are still being processed.
    pub(crate) async fn sessions_ready_to_finish(&self) -> Result<Vec<SessionRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.status_code = 170 AND NOT EXISTS
               (SELECT 1 FROM invoices i WHERE i.session_reference = s.reference_number AND i.status_code = 100)
             UNION ALL
             SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.status_code = 150
               AND EXISTS (SELECT 1 FROM batch_packages b WHERE b.session_reference = s.reference_number AND b.unpacked = 1)
               AND NOT EXISTS
               (SELECT 1 FROM invoices i WHERE i.session_reference = s.reference_number AND i.status_code = 100)"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(session_from_row).collect())
    }

    /// Stores a finished session's UPO pages and final status in one transaction.
    pub(crate) async fn finish_session(
        &self,
        reference: &str,
        status: &StoredStatus,
        pages: &[(String, Vec<u8>, String)],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        for (page_no, (upo_reference, content, hash)) in pages.iter().enumerate() {
            sqlx::query(
                "INSERT INTO upo_pages (reference_number, session_reference, page, content, content_hash) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(upo_reference)
            .bind(reference)
            .bind(page_no as i64 + 1)
            .bind(content)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE sessions SET status_code = $2, status_description = $3, status_details = $4, updated_at = $5
             WHERE reference_number = $1",
        )
        .bind(reference)
        .bind(status.code)
        .bind(&status.description)
        .bind(status.details_json())
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The UPO page references of a session, in page order.
    pub(crate) async fn upo_page_references(&self, session: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT reference_number FROM upo_pages WHERE session_reference = $1 ORDER BY page")
            .bind(session)
            .fetch_all(&self.pool)
            .await
    }

    /// A UPO page's XML and hash.
    pub(crate) async fn upo_page(&self, session: &str, upo_reference: &str) -> Result<Option<(Vec<u8>, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT content, content_hash FROM upo_pages WHERE session_reference = $1 AND reference_number = $2")
            .bind(session)
            .bind(upo_reference)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get("content"), r.get("content_hash"))))
    }

    /// A page of a context's sessions, newest first.
    pub(crate) async fn list_sessions(
        &self,
        context_value: &str,
        filter: &SessionListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<SessionRow>, sqlx::Error> {
        let mut sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE context_value = $1 AND kind = $2");
        let mut binds: Vec<i64> = Vec::new();
        let mut push = |sql: &mut String, column: &str, op: &str, value: Option<DateTime<Utc>>| {
            if let Some(v) = value {
                binds.push(to_micros(v));
                sql.push_str(&format!(" AND {column} {op} ${}", binds.len() + 3));
            }
        };
        push(&mut sql, "created_at", ">=", filter.created_from);
        push(&mut sql, "created_at", "<=", filter.created_to);
        push(&mut sql, "closed_at", ">=", filter.closed_from);
        push(&mut sql, "closed_at", "<=", filter.closed_to);
        push(&mut sql, "updated_at", ">=", filter.updated_from);
        push(&mut sql, "updated_at", "<=", filter.updated_to);
        if !filter.status_codes.is_empty() {
            let codes: Vec<String> = filter.status_codes.iter().map(i32::to_string).collect();
            sql.push_str(&format!(" AND status_code IN ({})", codes.join(",")));
        }
        sql.push_str(" AND ($3 IS NULL OR reference_number = $3) ORDER BY created_at DESC, reference_number");
        sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(context_value).bind(filter.kind.as_str()).bind(&filter.reference_number);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(session_from_row).collect())
    }
}

/// Inserts a session row (on any connection, so a batch session and its package share a transaction).
pub(super) async fn insert_session(conn: &mut sqlx::SqliteConnection, s: &NewSession) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (reference_number, kind, context_type, context_value, auth_reference, token_reference,
            system_code, schema_version, form_value, encrypted_key, iv, status_code, status_description,
            status_details, created_at, updated_at, valid_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16)",
    )
    .bind(&s.reference_number)
    .bind(s.kind.as_str())
    .bind(&s.context_type)
    .bind(&s.context_value)
    .bind(&s.auth_reference)
    .bind(&s.token_reference)
    .bind(&s.form.system_code)
    .bind(&s.form.schema_version)
    .bind(&s.form.value)
    .bind(&s.encrypted_key)
    .bind(&s.iv)
    .bind(s.status.code)
    .bind(&s.status.description)
    .bind(s.status.details_json())
    .bind(to_micros(s.created_at))
    .bind(to_micros(s.valid_until))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
