//! Tenants' KSeF credentials: a KSeF token, or a certificate with its key (a KSeF certificate, or a qualified
//! signature or seal), possibly shared by many tenants (an accounting office's certificate, each tenant acting
//! in its own context); obtaining KSeF certificates through KSeF (enrollment); and when certificates expire.
//!
//! Keys are sealed under the master key, bound to the credential's id, and never leave the gateway.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ksef_client::Credentials;
use ksef_client::wire::credentials::KsefCertificateType;
use ksef_client::wire::{ContextIdentifier, ContextIdentifierType};
use ksef_client::xades::{Certificate, Credential};
use ksef_core::keys::PrivateKey;
use ksef_store::{CredentialKind, CredentialRecord, TenantRecord};

use super::{Context, OpError, from_micros, micros, tenant_ksef, Tenant};
use crate::errors::ErrorCode;

/// A certificate and key as given by an operator: files' bytes, and a password for an encrypted key or a
/// PKCS#12 file (then `certificate` is `None`).
#[derive(Clone, Copy)]
pub struct CertificateInput<'a> {
    /// The certificate, PEM or DER (absent with PKCS#12).
    pub certificate: Option<&'a [u8]>,
    /// The key: PKCS#8 (plain or encrypted), PKCS#1, SEC 1, or a PKCS#12 file.
    pub key: &'a [u8],
    /// Opens an encrypted key or a PKCS#12 file.
    pub password: Option<&'a str>,
}

impl std::fmt::Debug for CertificateInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateInput(<redacted>)")
    }
}

/// What a tenant's credential is, for listings and warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    /// Token or certificate.
    pub kind: CredentialKind,
    /// The credential's name.
    pub name: String,
    /// Who the certificate names.
    pub subject: Option<String>,
    /// When the certificate expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether other tenants use it too.
    pub shared: bool,
}

/// What a sealed credential secret is bound to.
fn seal_context(credential_id: &str) -> String {
    format!("credential:{credential_id}")
}

fn refused(detail: impl std::fmt::Display) -> OpError {
    OpError::refused(ErrorCode::RequestInvalid, detail.to_string())
}

fn subject_of(certificate: &Certificate) -> String {
    certificate.subject_identity().map_or_else(|| format!("Fingerprint {}", certificate.fingerprint()), |i| i.to_string())
}

/// Records a certificate credential (named `name`, `shared` or not) and returns its record.
async fn record_certificate(ctx: &Context, name: &str, credential: &Credential, shared: bool) -> Result<CredentialRecord, OpError> {
    let id = uuid::Uuid::now_v7().to_string();
    let key = credential.key_pkcs8().map_err(refused)?;
    let certificate = credential.certificate();
    let record = CredentialRecord {
        secret_sealed: ctx.master_key.seal(&seal_context(&id), &key),
        id,
        name: name.to_owned(),
        kind: CredentialKind::Certificate,
        certificate: Some(certificate.der().to_vec()),
        subject: Some(subject_of(certificate)),
        expires_at: Some(micros(certificate.not_after())),
        shared,
        created_at: micros(Utc::now()),
    };
    ctx.store.insert_credential(&record).await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok(record)
}

fn load(input: CertificateInput<'_>) -> Result<Credential, OpError> {
    let credential = Credential::load(input.certificate, input.key, input.password).map_err(refused)?;
    if credential.certificate().key_usage().is_some_and(|u| !u.digital_signature && u.non_repudiation) {
        return Err(refused("this is an Offline certificate (for KOD II); KSeF logs in only with an Authentication certificate or a qualified one"));
    }
    Ok(credential)
}

async fn existing_tenant(ctx: &Context, tenant_id: &str) -> Result<TenantRecord, OpError> {
    ctx.store.tenant(tenant_id).await.map_err(OpError::store(ErrorCode::Internal))?.ok_or_else(|| refused(format!("no tenant {tenant_id}")))
}

/// Makes a tenant authenticate with its own certificate (replacing its token or earlier certificate).
pub async fn set_certificate(ctx: &Context, tenant_id: &str, input: CertificateInput<'_>) -> Result<CredentialSummary, OpError> {
    existing_tenant(ctx, tenant_id).await?;
    let credential = load(input)?;
    attach(ctx, tenant_id, &credential).await
}

async fn attach(ctx: &Context, tenant_id: &str, credential: &Credential) -> Result<CredentialSummary, OpError> {
    let name = format!("tenant {tenant_id} certificate {}", credential.certificate().serial_hex());
    let record = record_certificate(ctx, &name, credential, false).await?;
    switch(ctx, tenant_id, &record.id).await?;
    Ok(summary(&record))
}

/// Adds a tenant that authenticates with its own certificate (checked before the tenant is added).
pub async fn add_tenant(ctx: &Context, name: &str, nip: &str, input: CertificateInput<'_>) -> Result<(super::tenants::AddedTenant, CredentialSummary), OpError> {
    let credential = load(input)?;
    let added = super::tenants::insert(ctx, name, nip, None).await?;
    let summary = attach(ctx, &added.tenant.id, &credential).await?;
    Ok((added, summary))
}

/// Records a shared certificate (an accounting office's), usable by many tenants.
pub async fn add_shared(ctx: &Context, name: &str, input: CertificateInput<'_>) -> Result<CredentialSummary, OpError> {
    if ctx.store.credential_by_name(name).await.map_err(OpError::store(ErrorCode::Internal))?.is_some() {
        return Err(refused(format!("a credential named '{name}' exists already")));
    }
    let credential = load(input)?;
    Ok(summary(&record_certificate(ctx, name, &credential, true).await?))
}

/// Makes a tenant authenticate with the shared credential `name`, in the tenant's own context: KSeF admits it
/// once the tenant granted the credential's subject permissions there.
pub async fn use_shared(ctx: &Context, tenant_id: &str, name: &str) -> Result<CredentialSummary, OpError> {
    existing_tenant(ctx, tenant_id).await?;
    let record = ctx
        .store
        .credential_by_name(name)
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .filter(|c| c.shared)
        .ok_or_else(|| refused(format!("no shared credential '{name}'")))?;
    switch(ctx, tenant_id, &record.id).await?;
    Ok(summary(&record))
}

async fn switch(ctx: &Context, tenant_id: &str, credential_id: &str) -> Result<(), OpError> {
    ctx.store.set_tenant_credential(tenant_id, Some(credential_id)).await.map_err(OpError::store(ErrorCode::Internal))?;
    // The next call logs in afresh with the new credential.
    ctx.ksef.forget(tenant_id);
    tracing::info!(tenant = %tenant_id, credential = %credential_id, "tenant credential switched");
    Ok(())
}

/// What KSeF is logged in with for `record` (the tenant's credential, or its original token).
pub(crate) async fn credentials_of(ctx: &Context, record: &TenantRecord) -> Result<Credentials, OpError> {
    let context = ContextIdentifier { kind: ContextIdentifierType::Nip, value: record.nip.clone() };
    let Some(id) = &record.credential_id else {
        let token = ctx.master_key.open(&record.id, &record.ksef_token_sealed)?;
        let token = String::from_utf8(token).map_err(|_| anyhow::anyhow!("tenant {}'s KSeF token is not text", record.id))?;
        if token.is_empty() {
            return Err(OpError::refused(ErrorCode::SessionToken, format!("tenant {} has no KSeF credential: set a token or a certificate", record.id)));
        }
        return Ok(Credentials::token(context, &token));
    };
    let credential = ctx.store.credential(id).await.map_err(OpError::store(ErrorCode::SessionSave))?.ok_or_else(|| anyhow::anyhow!("credential {id} vanished"))?;
    let secret = ctx.master_key.open(&seal_context(id), &credential.secret_sealed)?;
    match credential.kind {
        CredentialKind::Token => {
            let token = String::from_utf8(secret).map_err(|_| anyhow::anyhow!("credential {id} is not text"))?;
            Ok(Credentials::token(context, &token))
        }
        CredentialKind::Certificate => {
            let der = credential.certificate.as_deref().ok_or_else(|| anyhow::anyhow!("credential {id} lacks its certificate"))?;
            let certificate = Certificate::from_der(der).map_err(anyhow::Error::from)?;
            let key = PrivateKey::from_pkcs8(&secret).map_err(anyhow::Error::from)?;
            let credential = Credential::new(certificate, key).map_err(anyhow::Error::from)?;
            Ok(Credentials::certificate(context, Arc::new(credential)))
        }
    }
}

/// The certificates a tenant obtained through KSeF.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The Authentication certificate's serial (the tenant now logs in with it).
    pub authentication: String,
    /// The Offline certificate's serial (now the tenant's KOD II certificate).
    pub offline: String,
    /// When they expire.
    pub expires_at: DateTime<Utc>,
}

/// Obtains the tenant's KSeF certificates through KSeF with its current credential (a certificate: KSeF enrolls
/// only after a certificate login): one of type Authentication, which the tenant switches to, and one of type
/// Offline, which becomes its KOD II certificate.
pub async fn enroll(ctx: &Context, tenant: &Tenant) -> Result<Enrolled, OpError> {
    let ksef = tenant_ksef(ctx, tenant).await?;
    let failed = |e: ksef_client::KsefError| OpError::ksef(ErrorCode::SessionToken, &e);
    let name = |kind: &str| format!("ksef-gateway {kind} {}", Utc::now().format("%Y-%m-%d"));
    let authentication = ksef.enroll(KsefCertificateType::Authentication, &name("logowanie")).await.map_err(failed)?;
    let offline = ksef.enroll(KsefCertificateType::Offline, &name("offline")).await.map_err(failed)?;
    let record_name = format!("tenant {} KSeF certificate {}", tenant.id, authentication.certificate().serial_hex());
    let record = record_certificate(ctx, &record_name, &authentication, false).await?;
    let offline_key = offline.key_pkcs8().map_err(refused)?;
    let context = (ksef_visualize::links::ContextType::Nip, tenant.nip.as_str());
    super::tenants::set_offline_certificate(ctx, &tenant.id, offline.certificate().der(), &offline_key, context).await?;
    switch(ctx, &tenant.id, &record.id).await?;
    Ok(Enrolled {
        authentication: authentication.certificate().serial_hex(),
        offline: offline.certificate().serial_hex(),
        expires_at: authentication.certificate().not_after(),
    })
}

fn summary(record: &CredentialRecord) -> CredentialSummary {
    CredentialSummary {
        kind: record.kind,
        name: record.name.clone(),
        subject: record.subject.clone(),
        expires_at: record.expires_at.map(from_micros),
        shared: record.shared,
    }
}

/// One tenant with its credential (`None`: its original KSeF token); `None` if there is no such tenant.
pub async fn tenant_with_credential(ctx: &Context, id: &str) -> Result<Option<(TenantRecord, Option<CredentialSummary>)>, OpError> {
    let Some(tenant) = ctx.store.tenant(id).await.map_err(OpError::store(ErrorCode::Internal))? else { return Ok(None) };
    let credential = match &tenant.credential_id {
        Some(cid) => ctx.store.credential(cid).await.map_err(OpError::store(ErrorCode::Internal))?.as_ref().map(summary),
        None => None,
    };
    Ok(Some((tenant, credential)))
}

/// Every tenant with its credential (`None`: its original KSeF token).
pub async fn tenants_with_credentials(ctx: &Context) -> Result<Vec<(TenantRecord, Option<CredentialSummary>)>, OpError> {
    let credentials: std::collections::HashMap<String, CredentialSummary> =
        ctx.store.credentials_in_use().await.map_err(OpError::store(ErrorCode::Internal))?.iter().map(|c| (c.id.clone(), summary(c))).collect();
    let tenants = ctx.store.tenants().await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok(tenants
        .into_iter()
        .map(|tenant| {
            let credential = tenant.credential_id.as_ref().and_then(|id| credentials.get(id).cloned());
            (tenant, credential)
        })
        .collect())
}

/// Publishes each tenant's time left as `ksef_gateway_credential_expiry_seconds` (labelled with the
/// credential's kind; a token has no expiry: +Inf) and, if `warn`, logs a warning for every certificate
/// expiring within 30 days (an error within 7).
pub async fn check_expiry(ctx: &Context, now: DateTime<Utc>, warn: bool) -> Result<(), OpError> {
    for (tenant, credential) in tenants_with_credentials(ctx).await? {
        let kind = credential.as_ref().map_or("token", |c| c.kind.as_str());
        let Some(expires) = credential.as_ref().and_then(|c| c.expires_at) else {
            metrics::gauge!("ksef_gateway_credential_expiry_seconds", "tenant" => tenant.id.clone(), "kind" => kind).set(f64::INFINITY);
            continue;
        };
        let left = expires - now;
        metrics::gauge!("ksef_gateway_credential_expiry_seconds", "tenant" => tenant.id.clone(), "kind" => kind).set(left.num_seconds() as f64);
        let name = credential.as_ref().map_or("", |c| c.name.as_str());
        // Told to webhooks once 30 days before and once 7 days before (one event per credential, expiry and step).
        for (days, step) in [(30, "30d"), (7, "7d")] {
            if left < chrono::Duration::days(days) {
                let subject = format!("{}@{}@{step}", tenant.credential_id.as_deref().unwrap_or("token"), expires.timestamp());
                let detail = serde_json::json!({ "credential": name, "kind": kind, "expiresAt": expires, "daysLeft": left.num_days() }).to_string();
                let recorded = ctx.store.record_event(&tenant.id, ksef_store::EventKind::CredentialExpiring, &subject, Some(&detail), super::micros(now), None).await;
                match recorded {
                    Ok(Some(_)) => ctx.wake_webhooks(),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not record a credential's expiry event"),
                }
            }
        }
        if !warn {
            continue;
        }
        if left < chrono::Duration::days(7) {
            tracing::error!(tenant = %tenant.id, credential = %name, expires = %expires, "the tenant's KSeF certificate expires within 7 days: enroll or set a new one");
        } else if left < chrono::Duration::days(30) {
            tracing::warn!(tenant = %tenant.id, credential = %name, expires = %expires, "the tenant's KSeF certificate expires within 30 days");
        }
    }
    Ok(())
}
