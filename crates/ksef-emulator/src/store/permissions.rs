//! Permissions granted in contexts (by their owners, or as TEST's test data), and the operations that grant
//! and revoke them.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::auth::SubjectKey;
use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// A granted permission.
#[derive(Debug, Clone)]
pub(crate) struct PermissionRow {
    pub(crate) id: String,
    /// `person`, `entity`, `indirect` or `testdata`.
    pub(crate) kind: String,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) subject: SubjectKey,
    pub(crate) permission: String,
    pub(crate) can_delegate: bool,
    pub(crate) target: Option<(String, Option<String>)>,
    pub(crate) description: String,
    pub(crate) author: Option<SubjectKey>,
    pub(crate) created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, context_type, context_value, subject_type, subject_value, permission, can_delegate, target_type,
    target_value, description, author_type, author_value, created_at";

fn permission_from_row(r: &SqliteRow) -> PermissionRow {
    PermissionRow {
        id: r.get("id"),
        kind: r.get("kind"),
        context_type: r.get("context_type"),
        context_value: r.get("context_value"),
        subject: (r.get("subject_type"), r.get("subject_value")),
        permission: r.get("permission"),
        can_delegate: r.get::<i64, _>("can_delegate") != 0,
        target: r.get::<Option<String>, _>("target_type").map(|t| (t, r.get("target_value"))),
        description: r.get("description"),
        author: r.get::<Option<String>, _>("author_type").zip(r.get::<Option<String>, _>("author_value")),
        created_at: from_micros(r.get("created_at")),
    }
}

impl Db {
    /// Records grants and their operation (already done: status 200) in one transaction; a permission the
    /// subject already holds the same way is not recorded twice.
    pub(crate) async fn grant(
        &self,
        operation: &str,
        grants: &[PermissionRow],
        status: &StoredStatus,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        for g in grants {
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT id FROM permissions WHERE kind = $1 AND context_value = $2 AND subject_type = $3 AND subject_value = $4
                   AND permission = $5 AND COALESCE(target_value, '') = COALESCE($6, '') AND COALESCE(target_type, '') = COALESCE($7, '')",
            )
            .bind(&g.kind)
            .bind(&g.context_value)
            .bind(&g.subject.0)
            .bind(&g.subject.1)
            .bind(&g.permission)
            .bind(g.target.as_ref().and_then(|t| t.1.as_deref()))
            .bind(g.target.as_ref().map(|t| t.0.as_str()))
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = exists {
                // Granted again: the delegation flag follows the latest grant.
                sqlx::query("UPDATE permissions SET can_delegate = $2 WHERE id = $1").bind(id).bind(g.can_delegate).execute(&mut *tx).await?;
                continue;
            }
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO permissions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )))
            .bind(&g.id)
            .bind(&g.kind)
            .bind(&g.context_type)
            .bind(&g.context_value)
            .bind(&g.subject.0)
            .bind(&g.subject.1)
            .bind(&g.permission)
            .bind(g.can_delegate)
            .bind(g.target.as_ref().map(|t| t.0.as_str()))
            .bind(g.target.as_ref().and_then(|t| t.1.as_deref()))
            .bind(&g.description)
            .bind(g.author.as_ref().map(|a| a.0.as_str()))
            .bind(g.author.as_ref().map(|a| a.1.as_str()))
            .bind(to_micros(g.created_at))
            .execute(&mut *tx)
            .await?;
        }
        insert_operation(&mut tx, operation, grants.first().map_or("", |g| g.context_value.as_str()), status, now).await?;
        tx.commit().await
    }

    /// Records a finished permission operation without grants (a revocation, or a refusal).
    pub(crate) async fn record_permission_operation(
        &self,
        operation: &str,
        context_value: &str,
        status: &StoredStatus,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        insert_operation(&mut tx, operation, context_value, status, now).await?;
        tx.commit().await
    }

    pub(crate) async fn permission_operation(&self, reference: &str, context: &str) -> Result<Option<(StoredStatus, DateTime<Utc>)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT status_code, status_description, status_details, created_at FROM permission_operations
             WHERE reference_number = $1 AND context_value = $2",
        )
        .bind(reference)
        .bind(context)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            let status = StoredStatus {
                code: r.get("status_code"),
                description: r.get("status_description"),
                details: parse_details(r.get::<Option<&str>, _>("status_details")),
            };
            (status, from_micros(r.get("created_at")))
        }))
    }

    /// Every permission held in a context by any of `subjects`, and every indirect grant naming them.
    pub(crate) async fn permissions_of(&self, subjects: &[SubjectKey]) -> Result<Vec<PermissionRow>, sqlx::Error> {
        let mut out = Vec::new();
        for (kind, value) in subjects {
            let sql = format!("SELECT {COLUMNS} FROM permissions WHERE subject_type = $1 AND subject_value = $2");
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(kind).bind(value).fetch_all(&self.pool).await?;
            out.extend(rows.iter().map(permission_from_row));
        }
        Ok(out)
    }

    /// Every permission granted in a context, newest first.
    pub(crate) async fn context_permissions(&self, context_value: &str) -> Result<Vec<PermissionRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM permissions WHERE context_value = $1 ORDER BY created_at DESC, id");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(context_value).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(permission_from_row).collect())
    }

    /// Entity grants a context made to `entity_nip` (what an accounting office may delegate).
    pub(crate) async fn entity_grants_to(&self, entity_nip: &str) -> Result<Vec<PermissionRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM permissions WHERE kind = 'entity' AND subject_type = 'Nip' AND subject_value = $1");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(entity_nip).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(permission_from_row).collect())
    }

    pub(crate) async fn permission(&self, id: &str) -> Result<Option<PermissionRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM permissions WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(permission_from_row))
    }

    /// Removes a permission and records the operation that did it.
    pub(crate) async fn revoke_permission(&self, id: &str, operation: &str, status: &StoredStatus, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let context: Option<String> =
            sqlx::query_scalar("DELETE FROM permissions WHERE id = $1 RETURNING context_value").bind(id).fetch_optional(&mut *tx).await?;
        insert_operation(&mut tx, operation, context.as_deref().unwrap_or(""), status, now).await?;
        tx.commit().await?;
        Ok(context.is_some())
    }

    /// Removes every test-data permission of a subject in a context.
    pub(crate) async fn revoke_test_permissions(&self, context_value: &str, subject: &SubjectKey) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM permissions WHERE kind = 'testdata' AND context_value = $1 AND subject_type = $2 AND subject_value = $3")
            .bind(context_value)
            .bind(&subject.0)
            .bind(&subject.1)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}

async fn insert_operation(
    tx: &mut super::WriteTx,
    reference: &str,
    context_value: &str,
    status: &StoredStatus,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO permission_operations (reference_number, context_value, status_code, status_description, status_details, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(reference)
    .bind(context_value)
    .bind(status.code)
    .bind(&status.description)
    .bind(status.details_json())
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
