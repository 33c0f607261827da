//! Tenants, their sealed KSeF credentials, and the hashed API keys that identify them.

use sqlx::Row as _;

use crate::{Store, StoreError};

/// A tenant to record.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Its id.
    pub id: String,
    /// A human name.
    pub name: String,
    /// The NIP of its KSeF context.
    pub nip: String,
    /// Its KSeF token, sealed under the master key.
    pub ksef_token_sealed: Vec<u8>,
    /// When it was added (µs since the epoch).
    pub created_at: i64,
}

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Its id.
    pub id: String,
    /// A human name.
    pub name: String,
    /// The NIP of its KSeF context.
    pub nip: String,
    /// Its original KSeF token, sealed (used while it has no credential).
    pub ksef_token_sealed: Vec<u8>,
    /// When it was added.
    pub created_at: i64,
    /// The credential it authenticates with, if it has one.
    pub credential_id: Option<String>,
    /// When the operator disabled it (its API keys and console sign-ins stop working), if it is disabled.
    pub disabled_at: Option<i64>,
}

fn tenant_from_row(r: &sqlx::any::AnyRow) -> Result<TenantRecord, sqlx::Error> {
    Ok(TenantRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        nip: r.try_get("nip")?,
        ksef_token_sealed: r.try_get("ksef_token_sealed")?,
        created_at: r.try_get("created_at")?,
        credential_id: r.try_get("credential_id")?,
        disabled_at: r.try_get("disabled_at")?,
    })
}

/// A tenant's Offline certificate, for KOD II links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineCertificateRecord {
    /// Whose.
    pub tenant_id: String,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// Its PKCS#8 private key, sealed under the master key.
    pub private_key_sealed: Vec<u8>,
    /// The KSeF login context's type (`Nip`, `InternalId`, `NipVatUe`, `PeppolId`).
    pub context_type: String,
    /// The context's identifier.
    pub context_value: String,
    /// When it was recorded (µs since the epoch).
    pub created_at: i64,
}

impl Store {
    /// Records a tenant.
    pub async fn insert_tenant(&self, t: &NewTenant) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, name, nip, ksef_token_sealed, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.nip)
            .bind(&t.ksef_token_sealed)
            .bind(t.created_at)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// The tenant `id`.
    pub async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let row = sqlx::query("SELECT id, name, nip, ksef_token_sealed, created_at, credential_id, disabled_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(tenant_from_row).transpose()?)
    }

    /// Every tenant, oldest first.
    pub async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, name, nip, ksef_token_sealed, created_at, credential_id, disabled_at FROM tenants ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(tenant_from_row).collect::<Result<_, _>>()?)
    }

    /// Replaces a tenant's sealed KSeF token.
    pub async fn set_tenant_token(&self, id: &str, ksef_token_sealed: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tenants SET ksef_token_sealed = $2 WHERE id = $1")
            .bind(id)
            .bind(ksef_token_sealed)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an API key (by its hash) for a tenant.
    pub async fn insert_api_key(&self, tenant_id: &str, key_hash: &str, prefix: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_keys (key_hash, tenant_id, prefix, created_at) VALUES ($1, $2, $3, $4)")
            .bind(key_hash)
            .bind(tenant_id)
            .bind(prefix)
            .bind(now)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Revokes every live API key of a tenant; returns how many.
    pub async fn revoke_api_keys(&self, tenant_id: &str, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE tenant_id = $1 AND revoked_at IS NULL")
            .bind(tenant_id)
            .bind(now)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// The tenant owning the live API key whose hash is `key_hash`.
    pub async fn tenant_by_api_key(&self, key_hash: &str) -> Result<Option<TenantRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.name, t.nip, t.ksef_token_sealed, t.created_at, t.credential_id, t.disabled_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.disabled_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(tenant_from_row).transpose()?)
    }

    /// Records (or replaces) a tenant's Offline certificate.
    pub async fn set_offline_certificate(&self, c: &OfflineCertificateRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO offline_certificates (tenant_id, certificate, private_key_sealed, context_type, context_value, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id) DO UPDATE SET certificate = excluded.certificate, private_key_sealed = excluded.private_key_sealed,
                 context_type = excluded.context_type, context_value = excluded.context_value, created_at = excluded.created_at",
        )
        .bind(&c.tenant_id)
        .bind(&c.certificate)
        .bind(&c.private_key_sealed)
        .bind(&c.context_type)
        .bind(&c.context_value)
        .bind(c.created_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// A tenant's Offline certificate, if it has one.
    pub async fn offline_certificate(&self, tenant_id: &str) -> Result<Option<OfflineCertificateRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT tenant_id, certificate, private_key_sealed, context_type, context_value, created_at FROM offline_certificates WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(OfflineCertificateRecord {
            tenant_id: r.try_get("tenant_id")?,
            certificate: r.try_get("certificate")?,
            private_key_sealed: r.try_get("private_key_sealed")?,
            context_type: r.try_get("context_type")?,
            context_value: r.try_get("context_value")?,
            created_at: r.try_get("created_at")?,
        }))
    }
}
