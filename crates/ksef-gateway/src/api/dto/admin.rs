//! Our JSON for the admin API (not in the seed; in its style: camelCase, ISO dates).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ops::admin::{AuditEntry as AuditOp, TenantSummary};

/// A tenant as the operator sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTenant {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The NIP of its KSeF context.
    pub nip: String,
    /// When it was added.
    pub created: DateTime<Utc>,
    /// When the operator disabled it (its API keys stop working); absent while enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DateTime<Utc>>,
    /// What it authenticates in KSeF with.
    pub credential: AdminCredential,
}

/// A tenant's KSeF credential (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminCredential {
    /// `token` or `certificate`.
    pub kind: String,
    /// Who the certificate names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When the certificate expires (a token: absent; KSeF tokens' legal basis ends on 2026-12-31).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
    /// Shared with other tenants (an accounting office's certificate).
    pub shared: bool,
}

impl From<TenantSummary> for AdminTenant {
    fn from(t: TenantSummary) -> AdminTenant {
        let credential = match t.credential {
            Some(c) => AdminCredential { kind: c.kind.as_str().to_owned(), subject: c.subject, expires: c.expires_at, shared: c.shared },
            None => AdminCredential { kind: "token".to_owned(), subject: None, expires: None, shared: false },
        };
        AdminTenant { id: t.id, name: t.name, nip: t.nip, created: t.created, disabled: t.disabled, credential }
    }
}

/// Every tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTenantList {
    /// Oldest first.
    pub tenants: Vec<AdminTenant>,
}

/// A certificate with its private key, for KSeF's XAdES authentication.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateCredential {
    /// The certificate, PEM (absent when `key` is a PKCS#12 file).
    #[serde(default)]
    pub certificate: Option<String>,
    /// The private key: PEM (PKCS#8, plain or encrypted; PKCS#1; SEC 1), or base64 of a PKCS#12 file.
    pub key: String,
    /// Opens an encrypted key or a PKCS#12 file.
    #[serde(default)]
    pub password: Option<String>,
}

/// A tenant to add: a KSeF token or a certificate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddTenantRequest {
    /// A name for people (1–200 characters).
    pub name: String,
    /// The NIP of its KSeF context.
    pub nip: String,
    /// A KSeF token (one of `ksefToken`, `certificate`).
    #[serde(default)]
    pub ksef_token: Option<String>,
    /// A certificate with its key (one of `ksefToken`, `certificate`).
    #[serde(default)]
    pub certificate: Option<CertificateCredential>,
}

/// A tenant's new KSeF credential: a token or a certificate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialRequest {
    /// A KSeF token (one of `ksefToken`, `certificate`).
    #[serde(default)]
    pub ksef_token: Option<String>,
    /// A certificate with its key (one of `ksefToken`, `certificate`).
    #[serde(default)]
    pub certificate: Option<CertificateCredential>,
}

/// A tenant just added, with its API key (shown this once; only its hash is kept).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddedTenantResponse {
    /// The tenant.
    pub tenant: AdminTenant,
    /// Its API key.
    pub api_key: String,
}

/// A tenant's new API key (its earlier ones are revoked).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyResponse {
    /// The new key, shown this once.
    pub api_key: String,
}

/// One admin action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Its id (`before=` it gives the older ones).
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: `operator kgo_abcd…`, or `tenant <id>` for a tenant's console sign-in.
    pub actor: String,
    /// What: `tenant.add`, `tenant.disable`, `tenant.enable`, `tenant.rotate_api_key`, `tenant.set_token`,
    /// `tenant.set_certificate`, `console.sign_in`, `console.submit`, `invoice.retry`.
    pub action: String,
    /// On what (a tenant's or invoice's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// More (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<AuditOp> for AuditEntry {
    fn from(e: AuditOp) -> AuditEntry {
        AuditEntry { id: e.id, at: e.at, actor: e.actor, action: e.action, target: e.target, detail: e.detail }
    }
}

/// A page of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

/// Which audit entries.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this one's id.
    pub before: Option<String>,
    /// How many (1–500, default 100).
    pub limit: Option<i64>,
}
