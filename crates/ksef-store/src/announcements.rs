//! KSeF unavailability and failure windows the Ministry announced, as the operator recorded them, and the offline
//! invoices issued because of each.

use sqlx::{AssertSqlSafe, Row as _};

use crate::{Store, StoreError};

/// An announced window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Our id.
    pub id: String,
    /// `unavailability` or `failure`.
    pub kind: String,
    /// When it began (µs).
    pub starts_at: i64,
    /// When it ended (µs); `None` while it lasts.
    pub ends_at: Option<i64>,
    /// What the announcement said.
    pub note: Option<String>,
    /// When it was recorded (µs).
    pub created_at: i64,
}

const COLUMNS: &str = "id, kind, starts_at, ends_at, note, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Announcement, sqlx::Error> {
    Ok(Announcement {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Records an announcement.
    pub async fn insert_announcement(&self, a: &Announcement) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO announcements (id, kind, starts_at, ends_at, note, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&a.id)
            .bind(&a.kind)
            .bind(a.starts_at)
            .bind(a.ends_at)
            .bind(&a.note)
            .bind(a.created_at)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Records when an announced window ended; false if there is no such announcement.
    pub async fn end_announcement(&self, id: &str, ends_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE announcements SET ends_at = $2 WHERE id = $1").bind(id).bind(ends_at).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves the start of announcement `id` (the Latarnia moved a planned maintenance).
    pub async fn move_announcement_start(&self, id: &str, starts_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE announcements SET starts_at = $2 WHERE id = $1").bind(id).bind(starts_at).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected() == 1)
    }

    /// The announcement `id`.
    pub async fn announcement(&self, id: &str) -> Result<Option<Announcement>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM announcements WHERE id = $1"))).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The latest 100 announcements, newest first.
    pub async fn announcements(&self) -> Result<Vec<Announcement>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM announcements ORDER BY starts_at DESC, id LIMIT 100")))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// The windows in force at `now`, newest first.
    pub async fn active_announcements(&self, now: i64) -> Result<Vec<Announcement>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM announcements WHERE starts_at <= $1 AND (ends_at IS NULL OR ends_at > $1) ORDER BY starts_at DESC LIMIT 10"
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Gives the offline invoices issued under announcement `id` their deadline, now that its end is known.
    pub async fn set_announcement_deadlines(&self, id: &str, deadline_at: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE invoices SET deadline_at = $2 WHERE announcement_id = $1").bind(id).bind(deadline_at).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected())
    }
}
