//! KSeF tokens, challenges and authentication operations (with who authenticated, and how).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// A subject as the emulator records it: `Nip`, `Pesel` or `Fingerprint`, and the identifier.
pub(crate) type SubjectKey = (String, String);

/// A KSeF token as stored (its hash, never the token).
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub(crate) reference_number: String,
    pub(crate) context_type: String,
    pub(crate) context_value: String,
    pub(crate) permissions: Vec<String>,
    pub(crate) description: String,
    pub(crate) active: bool,
    pub(crate) author: Option<SubjectKey>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_use: Option<DateTime<Utc>>,
}

/// A KSeF token to record.
#[derive(Debug, Clone)]
pub(crate) struct NewToken<'a> {
    pub(crate) reference_number: &'a str,
    pub(crate) token_hash: &'a str,
    pub(crate) context: (&'a str, &'a str),
    pub(crate) permissions: &'a [String],
    pub(crate) description: &'a str,
    pub(crate) author: Option<SubjectKey>,
    pub(crate) now: DateTime<Utc>,
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
    /// Who signed in, for certificate logins.
    pub(crate) identity: Option<SubjectKey>,
    /// `Token`, `QualifiedSignature`, `QualifiedSeal` or `InternalCertificate`.
    pub(crate) method: &'static str,
    /// The signing certificate (DER), for certificate logins.
    pub(crate) certificate: Option<Vec<u8>>,
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
    pub(crate) identity: Option<SubjectKey>,
    pub(crate) method: String,
    pub(crate) certificate: Option<Vec<u8>>,
}

fn split_permissions(text: &str) -> Vec<String> {
    text.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

const TOKEN_COLUMNS: &str =
    "reference_number, context_type, context_value, permissions, description, status, author_type, author_value, created_at, last_use";

fn token_from_row(r: &SqliteRow) -> TokenRecord {
    TokenRecord {
        reference_number: r.get("reference_number"),
        context_type: r.get("context_type"),
        context_value: r.get("context_value"),
        permissions: split_permissions(r.get::<&str, _>("permissions")),
        description: r.get("description"),
        active: r.get::<&str, _>("status") == "Active",
        author: pair(r.get("author_type"), r.get("author_value")),
        created_at: from_micros(r.get("created_at")),
        last_use: r.get::<Option<i64>, _>("last_use").map(from_micros),
    }
}

fn pair(kind: Option<String>, value: Option<String>) -> Option<SubjectKey> {
    kind.zip(value)
}

const OPERATION_COLUMNS: &str = "reference_number, context_type, context_value, token_reference, permissions, status_code,
    status_description, status_details, started_at, redeemed, refresh_valid_until, last_refresh_at, identity_type,
    identity_value, method, certificate";

fn operation_from_row(r: &SqliteRow) -> AuthOperation {
    AuthOperation {
        reference_number: r.get("reference_number"),
        context_type: r.get("context_type"),
        context_value: r.get("context_value"),
        token_reference: r.get("token_reference"),
        permissions: split_permissions(r.get::<&str, _>("permissions")),
        status: StoredStatus {
            code: r.get("status_code"),
            description: r.get("status_description"),
            details: parse_details(r.get::<Option<&str>, _>("status_details")),
        },
        started_at: from_micros(r.get("started_at")),
        redeemed: r.get::<i64, _>("redeemed") != 0,
        refresh_valid_until: r.get::<Option<i64>, _>("refresh_valid_until").map(from_micros),
        last_refresh_at: r.get::<Option<i64>, _>("last_refresh_at").map(from_micros),
        identity: pair(r.get("identity_type"), r.get("identity_value")),
        method: r.get("method"),
        certificate: r.get("certificate"),
    }
}

impl Db {
    pub(crate) async fn insert_token(&self, t: &NewToken<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO ksef_tokens (reference_number, token_hash, context_type, context_value, permissions, description, status,
                created_at, author_type, author_value)
             VALUES ($1, $2, $3, $4, $5, $6, 'Active', $7, $8, $9)",
        )
        .bind(t.reference_number)
        .bind(t.token_hash)
        .bind(t.context.0)
        .bind(t.context.1)
        .bind(t.permissions.join(","))
        .bind(t.description)
        .bind(to_micros(t.now))
        .bind(t.author.as_ref().map(|a| a.0.as_str()))
        .bind(t.author.as_ref().map(|a| a.1.as_str()))
        .execute(&mut *self.write_conn().await?)
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
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM ksef_tokens WHERE {condition}");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(value).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(token_from_row))
    }

    /// The tokens of a context, newest first.
    pub(crate) async fn context_tokens(&self, context_value: &str) -> Result<Vec<TokenRecord>, sqlx::Error> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM ksef_tokens WHERE context_value = $1 ORDER BY created_at DESC, reference_number");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(context_value).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(token_from_row).collect())
    }

    /// Revokes an active token; false if there was none.
    pub(crate) async fn revoke_token(&self, reference: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE ksef_tokens SET status = 'Revoked' WHERE reference_number = $1 AND status = 'Active'")
            .bind(reference)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a token was used to log in.
    pub(crate) async fn touch_token(&self, reference: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ksef_tokens SET last_use = $2 WHERE reference_number = $1").bind(reference).bind(to_micros(now)).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    pub(crate) async fn insert_challenge(&self, challenge: &str, timestamp_ms: i64, client_ip: &str) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO challenges (challenge, timestamp_ms, client_ip) VALUES ($1, $2, $3)")
            .bind(challenge)
            .bind(timestamp_ms)
            .bind(client_ip)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Marks an unused challenge used and returns its timestamp; `None` if unknown or already used.
    pub(crate) async fn use_challenge(&self, challenge: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("UPDATE challenges SET used = 1 WHERE challenge = $1 AND used = 0 RETURNING timestamp_ms")
            .bind(challenge)
            .fetch_optional(&mut *self.write_conn().await?)
            .await
    }

    pub(crate) async fn insert_auth_operation(&self, op: &NewAuthOperation) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_operations (reference_number, context_type, context_value, token_reference, permissions,
                status_code, status_description, status_details, started_at, identity_type, identity_value, method, certificate)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(op.identity.as_ref().map(|i| i.0.as_str()))
        .bind(op.identity.as_ref().map(|i| i.1.as_str()))
        .bind(op.method)
        .bind(&op.certificate)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn auth_operation(&self, reference: &str) -> Result<Option<AuthOperation>, sqlx::Error> {
        let sql = format!("SELECT {OPERATION_COLUMNS} FROM auth_operations WHERE reference_number = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(reference).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(operation_from_row))
    }

    /// The redeemed, unrevoked authentications in a context by the same subject (or token), newest first.
    pub(crate) async fn auth_sessions(&self, of: &AuthOperation, now: DateTime<Utc>) -> Result<Vec<AuthOperation>, sqlx::Error> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM auth_operations
             WHERE context_value = $1 AND redeemed = 1 AND revoked = 0 AND refresh_valid_until > $2
               AND ((identity_type = $3 AND identity_value = $4) OR (token_reference = $5))
             ORDER BY started_at DESC, reference_number"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&of.context_value)
            .bind(to_micros(now))
            .bind(of.identity.as_ref().map(|i| i.0.as_str()))
            .bind(of.identity.as_ref().map(|i| i.1.as_str()))
            .bind(&of.token_reference)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(operation_from_row).collect())
    }

    /// Revokes an authentication (its refresh token stops working; status 425).
    pub(crate) async fn revoke_auth_operation(&self, reference: &str, status: &StoredStatus) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE auth_operations SET revoked = 1, status_code = $2, status_description = $3, status_details = $4
             WHERE reference_number = $1 AND revoked = 0",
        )
        .bind(reference)
        .bind(status.code)
        .bind(&status.description)
        .bind(status.details_json())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks the tokens of a successful operation redeemed; false if they already were.
    pub(crate) async fn redeem(&self, reference: &str, refresh_valid_until: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE auth_operations SET redeemed = 1, refresh_valid_until = $2
             WHERE reference_number = $1 AND redeemed = 0 AND status_code = 200",
        )
        .bind(reference)
        .bind(to_micros(refresh_valid_until))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn record_refresh(&self, reference: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE auth_operations SET last_refresh_at = $2 WHERE reference_number = $1")
            .bind(reference)
            .bind(to_micros(now))
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}
