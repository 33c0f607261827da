//! Invoice exports: requests, their status and the finished package's description.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row as _};
use sqlx::sqlite::SqliteRow;

use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// An export as stored.
#[derive(Debug, Clone)]
pub(crate) struct ExportRow {
    pub(crate) reference_number: String,
    pub(crate) context_value: String,
    /// The InvoiceExportRequest JSON.
    pub(crate) request: String,
    pub(crate) status: StoredStatus,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) completed_at: Option<DateTime<Utc>>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// The InvoicePackage JSON, part URLs left empty.
    pub(crate) package: Option<String>,
}

const EXPORT_COLUMNS: &str = "reference_number, context_value, request, status_code, status_description, status_details,
    created_at, completed_at, expires_at, package";

fn export_from_row(r: &SqliteRow) -> ExportRow {
    ExportRow {
        reference_number: r.get(0),
        context_value: r.get(1),
        request: r.get(2),
        status: StoredStatus { code: r.get(3), description: r.get(4), details: parse_details(r.get::<Option<&str>, _>(5)) },
        created_at: from_micros(r.get(6)),
        completed_at: r.get::<Option<i64>, _>(7).map(from_micros),
        expires_at: r.get::<Option<i64>, _>(8).map(from_micros),
        package: r.get(9),
    }
}

impl Db {
    /// Records a new export unless the context already has `max_running` in progress; false if it has.
    pub(crate) async fn insert_export(
        &self,
        reference: &str,
        context: (&str, &str),
        request_json: &str,
        now: DateTime<Utc>,
        max_running: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let running: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exports WHERE context_value = $1 AND status_code = 100")
            .bind(context.1)
            .fetch_one(&mut *tx)
            .await?;
        if running >= max_running {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO exports (reference_number, context_type, context_value, request, status_code, status_description, created_at)
             VALUES ($1, $2, $3, $4, 100, 'Eksport faktur w trakcie', $5)",
        )
        .bind(reference)
        .bind(context.0)
        .bind(context.1)
        .bind(request_json)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The export `reference` of context `context_value`.
    pub(crate) async fn export(&self, reference: &str, context_value: &str) -> Result<Option<ExportRow>, sqlx::Error> {
        let sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE reference_number = $1 AND context_value = $2");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(reference).bind(context_value).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(export_from_row))
    }

    /// The export `reference`, whoever owns it (tokenless part downloads).
    pub(crate) async fn export_any(&self, reference: &str) -> Result<Option<ExportRow>, sqlx::Error> {
        let sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE reference_number = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(reference).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(export_from_row))
    }

    /// Exports requested no later than `created_before` and still to be built, oldest first.
    pub(crate) async fn pending_exports(&self, created_before: DateTime<Utc>) -> Result<Vec<ExportRow>, sqlx::Error> {
        let sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE status_code = 100 AND created_at <= $1 ORDER BY created_at");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(to_micros(created_before)).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(export_from_row).collect())
    }

    /// Records an export's final status, and its package when it succeeded.
    pub(crate) async fn finish_export(
        &self,
        reference: &str,
        status: &StoredStatus,
        package: Option<&str>,
        completed_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE exports SET status_code = $2, status_description = $3, status_details = $4, package = $5,
                completed_at = $6, expires_at = $7
             WHERE reference_number = $1",
        )
        .bind(reference)
        .bind(status.code)
        .bind(&status.description)
        .bind(status.details_json())
        .bind(package)
        .bind(to_micros(completed_at))
        .bind(expires_at.map(to_micros))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }
}
