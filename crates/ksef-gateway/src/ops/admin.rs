//! The operator's work: operator keys (kept apart from tenants' API keys), tenants added, listed, disabled and
//! re-keyed, their credentials set, and every such action in the audit log.

use std::path::Path;

use chrono::{DateTime, Utc};
use ksef_core::crypto::{b64url, random_array};
use ksef_store::{AuditRecord, TenantRecord};

use super::credentials::{self, CertificateInput, CredentialSummary};
use super::tenants::{self, AddedTenant, ApiKey};
use super::{Context, OpError, Tenant, from_micros, micros};
use crate::errors::ErrorCode;

/// Every operator key starts with this (a tenant's starts with `kgw_`), so the two are never confused.
pub const OPERATOR_KEY_PREFIX: &str = "kgo_";

/// Where `serve` writes the operator key it made on a fresh setup.
pub const OPERATOR_KEY_FILE: &str = "operator-key.json";

/// Who did something, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator, by the first characters of the key used.
    Operator {
        /// `kgo_` and four more characters.
        prefix: String,
    },
    /// A tenant, through the console with its API key.
    Tenant(Tenant),
    /// Someone with a shell on the server, through the command line (`ksef-gateway operator-key`).
    CommandLine,
}

impl Actor {
    /// The audit log's name for this actor (never a whole key).
    pub fn name(&self) -> String {
        match self {
            Actor::Operator { prefix } => format!("operator {prefix}…"),
            Actor::Tenant(t) => format!("tenant {}", t.id),
            Actor::CommandLine => "command line".to_owned(),
        }
    }

    /// The tenant, when a tenant acts.
    pub fn tenant(&self) -> Option<&Tenant> {
        match self {
            Actor::Tenant(t) => Some(t),
            Actor::Operator { .. } | Actor::CommandLine => None,
        }
    }
}

/// A new operator key: shown once; only its hash is stored.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OperatorKey(String);

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorKey({}…)", self.prefix())
    }
}

impl OperatorKey {
    /// Its first characters (`kgo_` and four more): what the store and the audit log name it by.
    fn prefix(&self) -> &str {
        self.0.get(..OPERATOR_KEY_PREFIX.len() + 4).unwrap_or(OPERATOR_KEY_PREFIX)
    }

    /// Writes it to `data_dir/operator-key.json`, readable by its owner only.
    fn save(&self, data_dir: &Path) -> anyhow::Result<()> {
        let file = OperatorKeyFile { operator_key: self.clone() };
        Ok(crate::files::write_private(&data_dir.join(OPERATOR_KEY_FILE), &serde_json::to_vec_pretty(&file)?)?)
    }

    /// The key, to show to the operator.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The operator key file's contents.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorKeyFile {
    operator_key: OperatorKey,
}

/// Issues a new operator key.
pub async fn issue_operator_key(ctx: &Context) -> Result<OperatorKey, OpError> {
    let key = OperatorKey(format!("{OPERATOR_KEY_PREFIX}{}", b64url(&random_array::<32>())));
    ctx.store
        .insert_operator_key(&tenants::api_key_hash(&key.0), key.prefix(), micros(Utc::now()))
        .await
        .map_err(OpError::store(ErrorCode::Internal))?;
    Ok(key)
}

/// Where this start found the operator key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorKeyFound {
    /// Made now, on a database that had none, and written to `operator-key.json`: to be shown once.
    Created(OperatorKey),
    /// A live key in this data folder's `operator-key.json`, made by an earlier start (not shown again).
    Saved(OperatorKey),
    /// Keys exist, but this data folder's file holds no live one (another instance made it, or it was replaced).
    Elsewhere,
}

impl OperatorKeyFound {
    /// The key, when this data folder holds it.
    pub fn key(&self) -> Option<&OperatorKey> {
        match self {
            OperatorKeyFound::Created(key) | OperatorKeyFound::Saved(key) => Some(key),
            OperatorKeyFound::Elsewhere => None,
        }
    }
}

/// On a database with no operator key, makes one and writes it to `data_dir/operator-key.json` (mode 0600);
/// on later starts, the key in that file while it is still live. (Two instances starting at once on an empty
/// database may each make one; both work.)
pub async fn ensure_operator_key(ctx: &Context, data_dir: &Path) -> anyhow::Result<OperatorKeyFound> {
    let file = data_dir.join(OPERATOR_KEY_FILE);
    let saved = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<OperatorKeyFile>(&b).ok()).map(|f| f.operator_key);
    if let Some(saved) = saved.filter(|k| k.0.starts_with(OPERATOR_KEY_PREFIX))
        && ctx.store.operator_key(&tenants::api_key_hash(&saved.0)).await?.is_some()
    {
        return Ok(OperatorKeyFound::Saved(saved));
    }
    if ctx.store.operator_key_count().await? > 0 {
        return Ok(OperatorKeyFound::Elsewhere);
    }
    let key = issue_operator_key(ctx).await.map_err(|e| anyhow::anyhow!("failed to make the operator key: {e}"))?;
    key.save(data_dir)?;
    Ok(OperatorKeyFound::Created(key))
}

/// Revokes every operator key, issues a new one and writes it to `data_dir/operator-key.json`: for an operator
/// key lost or leaked (`ksef-gateway operator-key rotate`, on the server). Console sign-ins with the old keys end.
pub async fn rotate_operator_key(ctx: &Context, data_dir: &Path) -> anyhow::Result<OperatorKey> {
    let revoked = ctx.store.revoke_operator_keys(micros(Utc::now())).await?;
    let key = issue_operator_key(ctx).await.map_err(|e| anyhow::anyhow!("failed to make the operator key: {e}"))?;
    key.save(data_dir)?;
    audit(ctx, &Actor::CommandLine, "operator.rotate_key", None, Some(format!("{revoked} key(s) revoked; new key {}…", key.prefix())))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(key)
}

/// The operator, if `key` is a live operator key.
pub async fn authenticate_operator(ctx: &Context, key: &str) -> Result<Actor, OpError> {
    if !key.starts_with(OPERATOR_KEY_PREFIX) {
        return Err(OpError::refused(ErrorCode::OperatorKey, "an operator key starts with kgo_ (a tenant's API key is not one)"));
    }
    let prefix = ctx
        .store
        .operator_key(&tenants::api_key_hash(key))
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| OpError::refused(ErrorCode::OperatorKey, "unknown or revoked operator key"))?;
    Ok(Actor::Operator { prefix })
}

/// Records an action in the audit log.
pub async fn audit(ctx: &Context, actor: &Actor, action: &str, target: Option<&str>, detail: Option<String>) -> Result<(), OpError> {
    let record = AuditRecord {
        id: uuid::Uuid::now_v7().to_string(),
        at: micros(Utc::now()),
        actor: actor.name(),
        action: action.to_owned(),
        target: target.map(str::to_owned),
        detail,
    };
    ctx.store.record_audit(&record).await.map_err(OpError::store(ErrorCode::Internal))
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id (entries older than it follow with `before`).
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// More.
    pub detail: Option<String>,
}

/// Most audit entries one page holds.
pub const MAX_AUDIT_PAGE: i64 = 500;

/// The audit log, newest first, `limit` entries older than `before` (or the newest).
pub async fn audit_log(ctx: &Context, before: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>, OpError> {
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(OpError::refused(ErrorCode::RequestInvalid, format!("limit must be 1–{MAX_AUDIT_PAGE}")));
    }
    let records = ctx.store.audit_log(before, limit).await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok(records
        .into_iter()
        .map(|r| AuditEntry { id: r.id, at: from_micros(r.at), actor: r.actor, action: r.action, target: r.target, detail: r.detail })
        .collect())
}

/// A tenant as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSummary {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The NIP of its KSeF context.
    pub nip: String,
    /// When it was added.
    pub created: DateTime<Utc>,
    /// When it was disabled, if it is.
    pub disabled: Option<DateTime<Utc>>,
    /// Its credential; `None`: the KSeF token it was added with.
    pub credential: Option<CredentialSummary>,
}

fn summary(record: TenantRecord, credential: Option<CredentialSummary>) -> TenantSummary {
    TenantSummary {
        id: record.id,
        name: record.name,
        nip: record.nip,
        created: from_micros(record.created_at),
        disabled: record.disabled_at.map(from_micros),
        credential,
    }
}

/// Every tenant, oldest first.
pub async fn list_tenants(ctx: &Context) -> Result<Vec<TenantSummary>, OpError> {
    Ok(credentials::tenants_with_credentials(ctx).await?.into_iter().map(|(t, c)| summary(t, c)).collect())
}

/// One tenant.
pub async fn tenant(ctx: &Context, id: &str) -> Result<TenantSummary, OpError> {
    let (record, credential) = credentials::tenant_with_credential(ctx, id).await?.ok_or_else(|| unknown(id))?;
    Ok(summary(record, credential))
}

fn unknown(id: &str) -> OpError {
    OpError::refused(ErrorCode::TenantUnknown, format!("no tenant {id}"))
}

/// Longest tenant name.
pub const MAX_TENANT_NAME: usize = 200;

/// What a new tenant authenticates in KSeF with.
#[derive(Debug, Clone, Copy)]
pub enum NewCredential<'a> {
    /// A KSeF token.
    Token(&'a str),
    /// A certificate with its key.
    Certificate(CertificateInput<'a>),
}

/// Adds a tenant and issues its first API key (shown once).
pub async fn add_tenant(ctx: &Context, actor: &Actor, name: &str, nip: &str, credential: NewCredential<'_>) -> Result<AddedTenant, OpError> {
    let name = name.trim();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > MAX_TENANT_NAME || name.chars().any(char::is_control) {
        problems.push(format!("name: 1–{MAX_TENANT_NAME} characters, no control characters"));
    }
    if let Err(e) = ksef_core::ids::Nip::parse(nip.trim()) {
        problems.push(format!("nip: {e}"));
    }
    if let NewCredential::Token(token) = credential
        && token.trim().is_empty()
    {
        problems.push("ksefToken: empty".to_owned());
    }
    if !problems.is_empty() {
        return Err(OpError::refused(ErrorCode::RequestInvalid, problems.join("; ")));
    }
    let added = match credential {
        NewCredential::Token(token) => tenants::add(ctx, name, nip.trim(), token).await?,
        NewCredential::Certificate(input) => credentials::add_tenant(ctx, name, nip.trim(), input).await?.0,
    };
    let kind = match credential {
        NewCredential::Token(_) => "token",
        NewCredential::Certificate(_) => "certificate",
    };
    audit(ctx, actor, "tenant.add", Some(&added.tenant.id), Some(format!("name {name:?}, NIP {}, {kind}", added.tenant.nip))).await?;
    Ok(added)
}

/// Disables a tenant (its API keys and console sign-ins stop working; what it sent is still delivered) or
/// enables it again.
pub async fn set_disabled(ctx: &Context, actor: &Actor, id: &str, disabled: bool) -> Result<TenantSummary, OpError> {
    let at = disabled.then(|| micros(Utc::now()));
    if !ctx.store.set_tenant_disabled(id, at).await.map_err(OpError::store(ErrorCode::Internal))? {
        return Err(unknown(id));
    }
    if disabled {
        ctx.store.delete_tenant_console_sessions(id).await.map_err(OpError::store(ErrorCode::Internal))?;
    }
    audit(ctx, actor, if disabled { "tenant.disable" } else { "tenant.enable" }, Some(id), None).await?;
    tenant(ctx, id).await
}

/// Revokes a tenant's API keys and issues a new one (shown once).
pub async fn rotate_api_key(ctx: &Context, actor: &Actor, id: &str) -> Result<ApiKey, OpError> {
    tenant(ctx, id).await?;
    let key = tenants::rotate_key(ctx, id).await?;
    ctx.store.delete_tenant_console_sessions(id).await.map_err(OpError::store(ErrorCode::Internal))?;
    audit(ctx, actor, "tenant.rotate_api_key", Some(id), Some(format!("new key {}…", key.prefix()))).await?;
    Ok(key)
}

/// Sets a tenant's KSeF credential: a token, or a certificate with its key.
pub async fn set_credential(ctx: &Context, actor: &Actor, id: &str, credential: NewCredential<'_>) -> Result<TenantSummary, OpError> {
    tenant(ctx, id).await?;
    match credential {
        NewCredential::Token(token) => {
            if token.trim().is_empty() {
                return Err(OpError::refused(ErrorCode::RequestInvalid, "ksefToken: empty"));
            }
            tenants::set_ksef_token(ctx, id, token).await?;
            audit(ctx, actor, "tenant.set_token", Some(id), None).await?;
        }
        NewCredential::Certificate(input) => {
            let summary = credentials::set_certificate(ctx, id, input).await?;
            let expires = summary.expires_at.map(|t| format!(", expires {}", t.to_rfc3339())).unwrap_or_default();
            audit(ctx, actor, "tenant.set_certificate", Some(id), Some(format!("{}{expires}", summary.subject.unwrap_or_default()))).await?;
        }
    }
    tenant(ctx, id).await
}
