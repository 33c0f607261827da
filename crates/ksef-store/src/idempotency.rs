//! Idempotency keys: the first request with a key runs; any repeat gets the stored answer.

use sqlx::Row as _;

use crate::{Store, StoreError};

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// Body; `None` when it was too large to keep (a repeat then runs again).
    pub body: Option<Vec<u8>>,
}

/// What a request with an idempotency key should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// It is the first: run it, then store its answer.
    Run,
    /// An earlier identical request finished: answer this.
    Replay(StoredResponse),
    /// An earlier identical request finished with an answer too large to keep: run it again, store nothing.
    Rerun,
    /// An earlier identical request is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for a request whose body hashes to `request_hash`, or reports what happened to it before;
    /// a use of the key made before `expired_before` is forgotten first.
    pub async fn begin_idempotent(
        &self,
        tenant_id: &str,
        key: &str,
        request_hash: &str,
        now: i64,
        expired_before: i64,
    ) -> Result<IdempotencyStart, StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at < $3")
            .bind(tenant_id)
            .bind(key)
            .bind(expired_before)
            .execute(&mut *self.write_conn().await?)
            .await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, key) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(request_hash)
        .bind(now)
        .execute(&mut *self.write_conn().await?)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(IdempotencyStart::Run);
        }
        let row = sqlx::query("SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2")
            .bind(tenant_id)
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        let stored_hash: String = row.try_get("request_hash")?;
        if stored_hash != request_hash {
            return Ok(IdempotencyStart::Mismatch);
        }
        let status: Option<i64> = row.try_get("status")?;
        let body = row.try_get::<Option<Vec<u8>>, _>("body")?;
        Ok(match status {
            None => IdempotencyStart::InProgress,
            Some(_) if body.is_none() => IdempotencyStart::Rerun,
            Some(status) => IdempotencyStart::Replay(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                content_type: row.try_get::<Option<String>, _>("content_type")?.unwrap_or_default(),
                body,
            }),
        })
    }

    /// Stores the answer to the request that claimed `key`.
    pub async fn finish_idempotent(&self, tenant_id: &str, key: &str, response: &StoredResponse) -> Result<(), StoreError> {
        sqlx::query("UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE tenant_id = $1 AND key = $2")
            .bind(tenant_id)
            .bind(key)
            .bind(i64::from(response.status))
            .bind(&response.content_type)
            .bind(&response.body)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Forgets every key used before `before`; how many.
    pub async fn purge_idempotency(&self, before: i64) -> Result<u64, StoreError> {
        let purged = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(before).execute(&mut *self.write_conn().await?).await?;
        Ok(purged.rows_affected())
    }

    /// Releases `key` after its request failed in a way worth retrying, so a repeat runs again.
    pub async fn abandon_idempotent(&self, tenant_id: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status IS NULL")
            .bind(tenant_id)
            .bind(key)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}
