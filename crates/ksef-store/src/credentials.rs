//! KSeF credentials (a token, or a certificate with its sealed key), and which tenant uses which.

use sqlx::Row as _;

use crate::states::{CredentialKind, column};
use crate::{Store, StoreError};

/// A credential as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Its id.
    pub id: String,
    /// A unique name (a shared credential is chosen by it).
    pub name: String,
    /// Token or certificate.
    pub kind: CredentialKind,
    /// The token, or the PKCS#8 private key, sealed under the master key.
    pub secret_sealed: Vec<u8>,
    /// Certificate credentials: the certificate, DER.
    pub certificate: Option<Vec<u8>>,
    /// Who the certificate names, e.g. `Nip 5265877635`.
    pub subject: Option<String>,
    /// Certificate credentials: when the certificate expires (µs).
    pub expires_at: Option<i64>,
    /// Whether several tenants may use it.
    pub shared: bool,
    /// When it was recorded (µs).
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, kind, secret_sealed, certificate, subject, expires_at, shared, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<CredentialRecord, sqlx::Error> {
    Ok(CredentialRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: column(r, "kind", CredentialKind::parse)?,
        secret_sealed: r.try_get("secret_sealed")?,
        certificate: r.try_get("certificate")?,
        subject: r.try_get("subject")?,
        expires_at: r.try_get("expires_at")?,
        shared: r.try_get::<i64, _>("shared")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Records a credential.
    pub async fn insert_credential(&self, c: &CredentialRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credentials (id, name, kind, secret_sealed, certificate, subject, expires_at, shared, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(c.kind.as_str())
        .bind(&c.secret_sealed)
        .bind(&c.certificate)
        .bind(&c.subject)
        .bind(c.expires_at)
        .bind(i64::from(c.shared))
        .bind(c.created_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// The credential `id`.
    pub async fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM credentials WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The credential named `name`.
    pub async fn credential_by_name(&self, name: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM credentials WHERE name = $1")))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Makes a tenant use the credential `credential_id` (`None`: its original KSeF token); false if there is
    /// no such tenant.
    pub async fn set_tenant_credential(&self, tenant_id: &str, credential_id: Option<&str>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tenants SET credential_id = $2 WHERE id = $1").bind(tenant_id).bind(credential_id).execute(&mut *self.write_conn().await?).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every credential a tenant uses, in one query (listings and the expiry check read them all).
    pub async fn credentials_in_use(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM credentials WHERE id IN (SELECT credential_id FROM tenants WHERE credential_id IS NOT NULL)"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }
}
