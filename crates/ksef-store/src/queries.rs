//! Invoice searches: which KSeF export serves a tenant's query, and the key its package is encrypted with.

use sqlx::Row as _;

use crate::states::{KeyMode, column};
use crate::{Store, StoreError};

/// A search as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    /// Our id (QueryId).
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// KSeF's export reference number, once KSeF accepted the export.
    pub ksef_reference: Option<String>,
    /// Subject1, Subject2, Subject3 or SubjectAuthorized.
    pub subject_type: String,
    /// Start of the permanent-storage range (µs).
    pub range_from: i64,
    /// End of the range (µs), if given.
    pub range_to: Option<i64>,
    /// Who holds the package's key.
    pub key_mode: KeyMode,
    /// Gateway mode: the AES key, sealed.
    pub sealed_key: Option<Vec<u8>>,
    /// Gateway mode: the IV.
    pub iv: Option<Vec<u8>>,
    /// When it was started (µs).
    pub created_at: i64,
}

impl Store {
    /// Records a search before KSeF is asked for the export.
    pub async fn insert_query(&self, q: &QueryRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO queries (id, tenant_id, ksef_reference, subject_type, range_from, range_to, key_mode, sealed_key, iv, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&q.id)
        .bind(&q.tenant_id)
        .bind(&q.ksef_reference)
        .bind(&q.subject_type)
        .bind(q.range_from)
        .bind(q.range_to)
        .bind(q.key_mode.as_str())
        .bind(&q.sealed_key)
        .bind(&q.iv)
        .bind(q.created_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Records KSeF's export reference for a search.
    pub async fn set_query_reference(&self, id: &str, ksef_reference: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE queries SET ksef_reference = $2 WHERE id = $1").bind(id).bind(ksef_reference).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Forgets a search KSeF refused to start.
    pub async fn delete_unstarted_query(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM queries WHERE id = $1 AND ksef_reference IS NULL").bind(id).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// The search `id`, whoever owns it (the caller checks ownership).
    pub async fn query(&self, id: &str) -> Result<Option<QueryRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, ksef_reference, subject_type, range_from, range_to, key_mode, sealed_key, iv, created_at
             FROM queries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(QueryRecord {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            ksef_reference: r.try_get("ksef_reference")?,
            subject_type: r.try_get("subject_type")?,
            range_from: r.try_get("range_from")?,
            range_to: r.try_get("range_to")?,
            key_mode: column(&r, "key_mode", KeyMode::parse)?,
            sealed_key: r.try_get("sealed_key")?,
            iv: r.try_get("iv")?,
            created_at: r.try_get("created_at")?,
        }))
    }
}
