//! What the operator's console and admin API keep: operator keys, the audit log, console sign-ins, disabled
//! tenants, and invoices searched and counted per tenant.

use sqlx::{AssertSqlSafe, Row as _};

use crate::invoices::{COLUMNS, invoice_from_row};
use crate::states::{DeliveryState, column};
use crate::{InvoiceRecord, Store, StoreError};

/// One admin action, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its id (UUID v7, so in time order).
    pub id: String,
    /// When (µs since the epoch).
    pub at: i64,
    /// Who: `operator kgo_abcd…` or `tenant <id>`.
    pub actor: String,
    /// What, e.g. `tenant.add`.
    pub action: String,
    /// On what, e.g. a tenant's id.
    pub target: Option<String>,
    /// More, never a secret.
    pub detail: Option<String>,
}

/// A console sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The tenant signed in, or `None` for the operator.
    pub tenant_id: Option<String>,
    /// Who, as the audit log names them.
    pub actor: String,
    /// The hash of the key signed in with: the sign-in lasts while that key is live.
    pub key_hash: String,
    /// The token forms must carry back (cross-site request forgery).
    pub csrf: String,
    /// When it ends (µs).
    pub expires_at: i64,
}

/// Who holds a live console sign-in, as [`Store::console_session`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    /// A tenant.
    Tenant {
        /// Its id.
        id: String,
        /// Its NIP.
        nip: String,
    },
    /// The operator.
    Operator {
        /// Their key's first characters, as the audit log names them.
        prefix: String,
    },
}

/// A live console sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConsoleSession {
    /// Who.
    pub signed_in: SignedIn,
    /// The token forms must carry back.
    pub csrf: String,
    /// When it ends (µs).
    pub expires_at: i64,
}

/// Which of a tenant's invoices to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// Part of the invoice number, KSeF number, buyer's NIP or our id (case-insensitive).
    pub text: Option<String>,
    /// In this state only.
    pub state: Option<DeliveryState>,
    /// Recorded at or after (µs).
    pub from: Option<i64>,
    /// Recorded before (µs).
    pub to: Option<i64>,
}

/// `%text%` for LIKE, with LIKE's own characters taken literally (escaped with `\`).
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        // ASCII only, as SQLite's LOWER folds (and PostgreSQL's under the C locale).
        out.push(c.to_ascii_lowercase());
    }
    out.push('%');
    out
}

impl Store {
    /// Records an operator key (by its hash).
    pub async fn insert_operator_key(&self, key_hash: &str, prefix: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO operator_keys (key_hash, prefix, created_at) VALUES ($1, $2, $3)")
            .bind(key_hash)
            .bind(prefix)
            .bind(now)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Revokes every live operator key; returns how many.
    pub async fn revoke_operator_keys(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE operator_keys SET revoked_at = $1 WHERE revoked_at IS NULL").bind(now).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected())
    }

    /// How many live operator keys there are.
    pub async fn operator_key_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM operator_keys WHERE revoked_at IS NULL").fetch_one(&self.pool).await?)
    }

    /// The prefix of the live operator key whose hash is `key_hash`.
    pub async fn operator_key(&self, key_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT prefix FROM operator_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Records an admin action.
    pub async fn record_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&r.id)
            .bind(r.at)
            .bind(&r.actor)
            .bind(&r.action)
            .bind(&r.target)
            .bind(&r.detail)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// The audit log, newest first: up to `limit` entries older than `before` (an entry's id), or the newest.
    pub async fn audit_log(&self, before: Option<&str>, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail FROM audit_log WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Disables (`Some(now)`) or enables (`None`) a tenant; false if there is no such tenant.
    pub async fn set_tenant_disabled(&self, id: &str, disabled_at: Option<i64>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tenants SET disabled_at = $2 WHERE id = $1").bind(id).bind(disabled_at).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a console sign-in under the hash of its cookie's token.
    pub async fn insert_console_session(&self, token_hash: &str, s: &ConsoleSession, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, tenant_id, actor, csrf, created_at, expires_at, key_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
            .bind(token_hash)
            .bind(&s.tenant_id)
            .bind(&s.actor)
            .bind(&s.csrf)
            .bind(now)
            .bind(s.expires_at)
            .bind(&s.key_hash)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// The live console sign-in whose token hashes to `token_hash`: not expired, its key not revoked, its tenant
    /// there and not disabled; with who holds it, read in the same query.
    pub async fn console_session(&self, token_hash: &str, now: i64) -> Result<Option<LiveConsoleSession>, StoreError> {
        let row = sqlx::query(
            "SELECT s.tenant_id, t.nip, o.prefix, s.csrf, s.expires_at FROM console_sessions s
             LEFT JOIN tenants t ON t.id = s.tenant_id
             LEFT JOIN operator_keys o ON s.tenant_id IS NULL AND o.key_hash = s.key_hash AND o.revoked_at IS NULL
             WHERE s.token_hash = $1 AND s.expires_at > $2
               AND CASE WHEN s.tenant_id IS NULL
                   THEN o.key_hash IS NOT NULL
                   ELSE t.id IS NOT NULL AND t.disabled_at IS NULL
                        AND EXISTS (SELECT 1 FROM api_keys k WHERE k.key_hash = s.key_hash AND k.tenant_id = s.tenant_id AND k.revoked_at IS NULL) END",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let signed_in = match r.try_get::<Option<String>, _>("tenant_id")? {
                Some(id) => SignedIn::Tenant { id, nip: r.try_get("nip")? },
                None => SignedIn::Operator { prefix: r.try_get("prefix")? },
            };
            Ok(LiveConsoleSession { signed_in, csrf: r.try_get("csrf")?, expires_at: r.try_get("expires_at")? })
        })
        .transpose()
        .map_err(|e: sqlx::Error| e.into())
    }

    /// Forgets console sign-ins that ended before `now` (µs); returns how many.
    pub async fn forget_expired_console_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1").bind(now).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected())
    }

    /// Ends a console sign-in.
    pub async fn delete_console_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// Ends every console sign-in of a tenant (its keys were rotated or it was disabled).
    pub async fn delete_tenant_console_sessions(&self, tenant_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE tenant_id = $1").bind(tenant_id).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// A page of a tenant's invoices matching `filter`, newest first, and how many match in all.
    pub async fn search_invoices(&self, tenant_id: &str, filter: &InvoiceFilter, offset: i64, limit: i64) -> Result<(Vec<InvoiceRecord>, i64), StoreError> {
        // The same conditions for the page and the count; an absent condition is a NULL parameter.
        let conditions = "tenant_id = $1
            AND ($2 IS NULL OR LOWER(COALESCE(invoice_number, '')) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(ksef_number, '')) LIKE $2 ESCAPE '\\'
                 OR LOWER(id) LIKE $2 ESCAPE '\\' OR COALESCE(buyer_nip, '') LIKE $2 ESCAPE '\\')
            AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5)";
        let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(like_pattern);
        let state = filter.state.map(DeliveryState::as_str);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM invoices WHERE {conditions}")))
            .bind(tenant_id)
            .bind(&text)
            .bind(state)
            .bind(filter.from)
            .bind(filter.to)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM invoices WHERE {conditions} ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
        )))
        .bind(tenant_id)
        .bind(&text)
        .bind(state)
        .bind(filter.from)
        .bind(filter.to)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?, total))
    }

    /// Makes a tenant's waiting invoice due now (the operator asked to retry at once); false if it is not waiting.
    pub async fn hurry_invoice(&self, tenant_id: &str, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE invoices SET next_attempt_at = $3 WHERE id = $1 AND tenant_id = $2 AND state = $4")
            .bind(id)
            .bind(tenant_id)
            .bind(now)
            .bind(DeliveryState::Queued.as_str())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A tenant's invoices issued offline and not yet in KSeF, soonest deadline first, at most `limit`.
    pub async fn tenant_offline_pending(&self, tenant_id: &str, limit: i64) -> Result<Vec<InvoiceRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM invoices WHERE tenant_id = $1 AND deadline_at IS NOT NULL AND state IN ($3, $4, $5)
             ORDER BY deadline_at, id LIMIT $2"
        )))
        .bind(tenant_id)
        .bind(limit)
        .bind(DeliveryState::Queued.as_str())
        .bind(DeliveryState::Sending.as_str())
        .bind(DeliveryState::Sent.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }

    /// Drops the content kept for rejected invoices that last changed before `before` (µs); returns how many.
    pub async fn forget_rejected_payloads(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE invoices SET payload = NULL WHERE state = $1 AND updated_at < $2 AND payload IS NOT NULL")
            .bind(DeliveryState::Rejected.as_str())
            .bind(before)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// A tenant's invoices recorded since `since` (µs), by delivery state.
    pub async fn tenant_invoice_counts(&self, tenant_id: &str, since: i64) -> Result<Vec<(DeliveryState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM invoices WHERE tenant_id = $1 AND created_at >= $2 GROUP BY state")
            .bind(tenant_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((column(r, "state", DeliveryState::parse)?, r.try_get("n")?))).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// A tenant's invoices in these states, newest change first, at most `limit`.
    pub async fn tenant_invoices_in(&self, tenant_id: &str, states: &[DeliveryState], limit: i64) -> Result<Vec<InvoiceRecord>, StoreError> {
        let marks: Vec<String> = (0..states.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!("SELECT {COLUMNS} FROM invoices WHERE tenant_id = $1 AND state IN ({}) ORDER BY updated_at DESC, id DESC LIMIT $2", marks.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(tenant_id).bind(limit);
        for state in states {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(invoice_from_row).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_take_the_wildcards_of_like_literally() {
        assert_eq!(like_pattern("FV/1"), "%fv/1%");
        assert_eq!(like_pattern("100%_a\\"), "%100\\%\\_a\\\\%");
        assert_eq!(like_pattern("ŁÓDŹ/A"), "%ŁÓdŹ/a%", "ASCII folded only, as the engines do");
    }
}
