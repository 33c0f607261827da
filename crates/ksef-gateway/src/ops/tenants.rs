//! Tenants: adding one (its KSeF token sealed), issuing and rotating API keys, and finding the tenant of a key.

use chrono::Utc;
use ksef_core::crypto::{b64url, random_array, sha256_base64};
use ksef_core::ids::Nip;
use ksef_store::NewTenant;

use super::{Context, OpError, Tenant, micros};
use crate::errors::ErrorCode;

/// Every API key starts with this, so leaked keys are easy to recognise in logs and scanners.
pub const API_KEY_PREFIX: &str = "kgw_";

/// A new API key: shown to its owner once; only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}…)", self.prefix())
    }
}

impl ApiKey {
    fn generate() -> ApiKey {
        ApiKey(format!("{API_KEY_PREFIX}{}", b64url(&random_array::<32>())))
    }

    /// The key, to show to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its first characters (`kgw_` and four more): what the store and the audit log name it by.
    pub fn prefix(&self) -> &str {
        &self.0[..API_KEY_PREFIX.len() + 4]
    }
}

/// The stored form of a key (a tenant's API key, or an operator key).
pub fn api_key_hash(key: &str) -> String {
    sha256_base64(key.as_bytes())
}

/// A tenant just added, with its first API key.
#[derive(Debug, Clone)]
pub struct AddedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its API key (shown once).
    pub api_key: ApiKey,
}

/// Adds a tenant acting in the KSeF context of `nip` with `ksef_token`, and issues its first API key.
pub async fn add(ctx: &Context, name: &str, nip: &str, ksef_token: &str) -> Result<AddedTenant, OpError> {
    if ksef_token.trim().is_empty() {
        return Err(OpError::refused(ErrorCode::RequestInvalid, "the KSeF token is empty"));
    }
    insert(ctx, name, nip, Some(ksef_token)).await
}

/// Adds a tenant with `ksef_token`, or with none when a certificate is set right after (by
/// [`super::credentials`]), and issues its first API key.
pub(crate) async fn insert(ctx: &Context, name: &str, nip: &str, ksef_token: Option<&str>) -> Result<AddedTenant, OpError> {
    let nip = Nip::parse(nip).map_err(|e| OpError::refused(ErrorCode::RequestInvalid, e.to_string()))?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = micros(Utc::now());
    let tenant = NewTenant {
        ksef_token_sealed: ctx.master_key.seal(&id, ksef_token.unwrap_or_default().trim().as_bytes()),
        id: id.clone(),
        name: name.to_owned(),
        nip: nip.to_string(),
        created_at: now,
    };
    ctx.store.insert_tenant(&tenant).await.map_err(OpError::store(ErrorCode::Internal))?;
    let api_key = issue_key(ctx, &id).await?;
    Ok(AddedTenant { tenant: Tenant { id, nip: nip.to_string() }, api_key })
}

async fn issue_key(ctx: &Context, tenant_id: &str) -> Result<ApiKey, OpError> {
    let key = ApiKey::generate();
    ctx.store
        .insert_api_key(tenant_id, &api_key_hash(key.expose()), key.prefix(), micros(Utc::now()))
        .await
        .map_err(OpError::store(ErrorCode::Internal))?;
    Ok(key)
}

/// Revokes every API key of a tenant and issues a new one.
pub async fn rotate_key(ctx: &Context, tenant_id: &str) -> Result<ApiKey, OpError> {
    ctx.store
        .tenant(tenant_id)
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| OpError::refused(ErrorCode::RequestInvalid, format!("no tenant {tenant_id}")))?;
    ctx.store.revoke_api_keys(tenant_id, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::Internal))?;
    issue_key(ctx, tenant_id).await
}

/// Replaces a tenant's KSeF token.
pub async fn set_ksef_token(ctx: &Context, tenant_id: &str, ksef_token: &str) -> Result<(), OpError> {
    let sealed = ctx.master_key.seal(tenant_id, ksef_token.trim().as_bytes());
    if !ctx.store.set_tenant_token(tenant_id, &sealed).await.map_err(OpError::store(ErrorCode::Internal))? {
        return Err(OpError::refused(ErrorCode::RequestInvalid, format!("no tenant {tenant_id}")));
    }
    // A token set now is what the tenant logs in with, whatever credential it had.
    ctx.store.set_tenant_credential(tenant_id, None).await.map_err(OpError::store(ErrorCode::Internal))?;
    ctx.ksef.forget(tenant_id);
    Ok(())
}

/// The tenant whose live API key is `key`.
pub async fn authenticate(ctx: &Context, key: &str) -> Result<Tenant, OpError> {
    if !key.starts_with(API_KEY_PREFIX) {
        return Err(OpError::refused(ErrorCode::ApiKey, "an API key starts with kgw_"));
    }
    let record = ctx
        .store
        .tenant_by_api_key(&api_key_hash(key))
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| OpError::refused(ErrorCode::ApiKey, "unknown or revoked API key"))?;
    Ok(Tenant { id: record.id, nip: record.nip })
}

/// Records a tenant's KSeF Offline certificate (DER or PEM) and its PKCS#8 private key (DER or PEM, sealed under
/// the master key; it never leaves the gateway), with the login context KOD II links name. Refused with 1208
/// when the two do not belong together.
pub async fn set_offline_certificate(
    ctx: &Context,
    tenant_id: &str,
    certificate: &[u8],
    private_key: &[u8],
    context: (ksef_visualize::links::ContextType, &str),
) -> Result<String, OpError> {
    let refused = |e: String| OpError::refused(ErrorCode::InvoiceInput, e);
    let checked = ksef_visualize::Certificate::new(certificate, private_key).map_err(|e| refused(e.to_string()))?;
    let cert_der = ksef_core::offline::pem_or_der(certificate, "CERTIFICATE").map_err(|e| refused(e.to_string()))?;
    let key = ksef_core::offline::OfflineKey::from_pkcs8(private_key).map_err(|e| refused(e.to_string()))?;
    let key_der = key.pkcs8_der().map_err(|e| refused(e.to_string()))?;
    if ctx.store.tenant(tenant_id).await.map_err(OpError::store(ErrorCode::Internal))?.is_none() {
        return Err(refused(format!("no tenant {tenant_id}")));
    }
    let record = ksef_store::OfflineCertificateRecord {
        tenant_id: tenant_id.to_owned(),
        certificate: cert_der,
        private_key_sealed: ctx.master_key.seal(&offline_key_context(tenant_id), &key_der),
        context_type: context.0.as_str().to_owned(),
        context_value: context.1.trim().to_owned(),
        created_at: micros(Utc::now()),
    };
    ctx.store.set_offline_certificate(&record).await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok(checked.serial().to_owned())
}

/// What an Offline key is sealed to (so a sealed key cannot be moved to another tenant).
pub(crate) fn offline_key_context(tenant_id: &str) -> String {
    format!("offline-key:{tenant_id}")
}

/// A tenant's Offline certificate, ready to sign, with its login context; `None` if it has none.
pub(crate) async fn offline_certificate(
    ctx: &Context,
    tenant_id: &str,
) -> Result<Option<(ksef_visualize::Certificate, ksef_visualize::links::ContextType, String)>, OpError> {
    let Some(record) = ctx.store.offline_certificate(tenant_id).await.map_err(OpError::store(ErrorCode::Internal))? else {
        return Ok(None);
    };
    let key = ctx.master_key.open(&offline_key_context(tenant_id), &record.private_key_sealed)?;
    let certificate = ksef_visualize::Certificate::new(&record.certificate, &key).map_err(anyhow::Error::from)?;
    let context = ksef_visualize::links::ContextType::parse(&record.context_type).unwrap_or(ksef_visualize::links::ContextType::Nip);
    Ok(Some((certificate, context, record.context_value)))
}
