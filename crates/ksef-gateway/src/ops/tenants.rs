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
        write!(f, "ApiKey({}…)", &self.0[..API_KEY_PREFIX.len() + 4])
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
}

/// The stored form of an API key.
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
    let nip = Nip::parse(nip).map_err(|e| OpError::refused(ErrorCode::RequestInvalid, e.to_string()))?;
    if ksef_token.trim().is_empty() {
        return Err(OpError::refused(ErrorCode::RequestInvalid, "the KSeF token is empty"));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let now = micros(Utc::now());
    let tenant = NewTenant {
        ksef_token_sealed: ctx.master_key.seal(&id, ksef_token.trim().as_bytes()),
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
    let prefix = &key.expose()[..API_KEY_PREFIX.len() + 4];
    ctx.store
        .insert_api_key(tenant_id, &api_key_hash(key.expose()), prefix, micros(Utc::now()))
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
