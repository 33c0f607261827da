//! KSeF tokens, challenges and authentication operations.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row as _};

use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// A KSeF token as stored (its hash, never the token).
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub(crate) reference_number: String,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) permissions: Vec<String>,
    pub(crate) active: bool,
}

/// An authentication operation about to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct NewAuthOperation {
    pub(crate) reference_number: String,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) token_reference: Option<String>,
    pub(crate) permissions: Vec<String>,
    pub(crate) status: StoredStatus,
    pub(crate) started_at: DateTime<Utc>,
}

/// An authentication operation.
#[derive(Debug, Clone)]
pub(crate) struct AuthOperation {
    pub(crate) reference_number: String,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) token_reference: Option<String>,
    pub(crate) permissions: Vec<String>,
    pub(crate) status: StoredStatus,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) redeemed: bool,
    pub(crate) refresh_valid_until: Option<DateTime<Utc>>,
    pub(crate) last_refresh_at: Option<DateTime<Utc>>,
}

fn split_permissions(text: &str) -> Vec<String> {
    text.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

impl Db {
    pub(crate) async fn insert_token(
        &self,
        reference_number: &str,
        token_hash: &str,
        context: (&str, &str),
        permissions: &[String],
        description: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO ksef_tokens (reference_number, token_hash, context_type, context_value, permissions, description, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'Active', $7)",
        )
        .bind(reference_number)
        .bind(token_hash)
        .bind(context.0)
        .bind(context.1)
        .bind(permissions.join(","))
        .bind(description)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, sqlx::Error> {
        self.token_where("token_hash = $1", token_hash).await
    }

    pub(crate) async fn token_by_reference(&self, reference: &str) -> Result<Option<TokenRecord>, sqlx::Error> {
        self.token_where("reference_number = $1", reference).await
    }

    async fn token_where(&self, condition: &str, value: &str) -> Result<Option<TokenRecord>, sqlx::Error> {
        let sql = format!(
            "SELECT reference_number, context_type, context_value, permissions, status FROM ksef_tokens WHERE {condition}"
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(value).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| TokenRecord {
            reference_number: r.get(0),
            context_type: r.get(1),
            context_value: r.get(2),
            permissions: split_permissions(r.get::<&str, _>(3)),
            active: r.get::<&str, _>(4) == "Active",
        }))
    }

    pub(crate) async fn insert_challenge(
        &self,
        challenge: &str,
        timestamp_ms: i64,
        client_ip: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO challenges (challenge, timestamp_ms, client_ip) VALUES ($1, $2, $3)")
            .bind(challenge)
            .bind(timestamp_ms)
            .bind(client_ip)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks an unused challenge used and returns its timestamp; `None` if unknown or already used.
    pub(crate) async fn use_challenge(&self, challenge: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("UPDATE challenges SET used = 1 WHERE challenge = $1 AND used = 0 RETURNING timestamp_ms")
            .bind(challenge)
            .fetch_optional(&self.pool)
            .await
    }

    pub(crate) async fn insert_auth_operation(&self, op: &NewAuthOperation) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_operations (reference_number, context_type, context_value, token_reference, permissions,
                status_code, status_description, status_details, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&op.reference_number)
        .bind(&op.context_type)
        .bind(&op.context_value)
        .bind(&op.token_reference)
        .bind(op.permissions.join(","))
        .bind(op.status.code)
        .bind(&op.status.description)
        .bind(op.status.details_json())
        .bind(to_micros(op.started_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn auth_operation(&self, reference: &str) -> Result<Option<AuthOperation>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT reference_number, context_type, context_value, token_reference, permissions, status_code,
                    status_description, status_details, started_at, redeemed, refresh_valid_until, last_refresh_at
             FROM auth_operations WHERE reference_number = $1",
        )
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| AuthOperation {
            reference_number: r.get(0),
            context_type: r.get(1),
            context_value: r.get(2),
            token_reference: r.get(3),
            permissions: split_permissions(r.get::<&str, _>(4)),
            status: StoredStatus {
                code: r.get(5),
                description: r.get(6),
                details: parse_details(r.get::<Option<&str>, _>(7)),
            },
            started_at: from_micros(r.get(8)),
            redeemed: r.get::<i64, _>(9) != 0,
            refresh_valid_until: r.get::<Option<i64>, _>(10).map(from_micros),
            last_refresh_at: r.get::<Option<i64>, _>(11).map(from_micros),
        }))
    }

    /// Marks the tokens of a successful operation redeemed; false if they already were.
    pub(crate) async fn redeem(
        &self,
        reference: &str,
        refresh_valid_until: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE auth_operations SET redeemed = 1, refresh_valid_until = $2
             WHERE reference_number = $1 AND redeemed = 0 AND status_code = 200",
        )
        .bind(reference)
        .bind(to_micros(refresh_valid_until))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn record_refresh(&self, reference: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE auth_operations SET last_refresh_at = $2 WHERE reference_number = $1")
            .bind(reference)
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
