//! Types that several KSeF endpoints share: status blocks, form codes, encryption info, tokens, identifiers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A status block: `{code, description, details?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// Status code (100 in progress, 200 success, 4xx failures, ...).
    pub code: i32,
    /// Human-readable description, in Polish as KSeF writes it.
    pub description: String,
    /// Further detail lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
}

/// An invoice's status block, which may carry extensions (duplicates name the original).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceStatusInfo {
    /// Invoice status code (100, 150, 200, 405, 410, 415, 430, 435, 440, 450, 500, 550).
    pub code: i32,
    /// Human-readable description.
    pub description: String,
    /// Further detail lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
    /// Named extra values, e.g. `originalKsefNumber` on status 440.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<BTreeMap<String, String>>,
}

/// The form an invoice follows: `{systemCode: "FA (3)", schemaVersion: "1-0E", value: "FA"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormCode {
    /// System code, e.g. `FA (3)` (with the space).
    pub system_code: String,
    /// Schema version, e.g. `1-0E`.
    pub schema_version: String,
    /// Form value, e.g. `FA`.
    pub value: String,
}

impl FormCode {
    /// FA(3), the current invoice form.
    pub fn fa3() -> FormCode {
        FormCode { system_code: "FA (3)".into(), schema_version: "1-0E".into(), value: "FA".into() }
    }

    /// FA(2), accepted on KSeF's TEST environment only.
    pub fn fa2() -> FormCode {
        FormCode { system_code: "FA (2)".into(), schema_version: "1-0E".into(), value: "FA".into() }
    }
}

/// A symmetric key wrapped for KSeF: `{encryptedSymmetricKey, initializationVector, publicKeyId?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionInfo {
    /// Base64 of the AES-256 key encrypted with RSA-OAEP-SHA256 under the `SymmetricKeyEncryption` key.
    pub encrypted_symmetric_key: String,
    /// Base64 of the 16-byte IV.
    pub initialization_vector: String,
    /// The `publicKeyId` of the certificate used (optional since API 2.5.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_id: Option<String>,
}

/// A token and its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// The JWT.
    pub token: String,
    /// When it expires.
    #[serde(with = "crate::datetime")]
    pub valid_until: DateTime<Utc>,
}

crate::enums::wire_enum! {
    /// The kind of context an authentication acts in.
    pub enum ContextIdentifierType {
        /// A taxpayer's NIP.
        Nip,
        /// An internal identifier (NIP-5 digits).
        InternalId,
        /// A NIP joined with an EU VAT number.
        NipVatUe,
        /// A Peppol service provider.
        PeppolId,
    }
}


/// `{type, value}` naming the context an authentication acts in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContextIdentifier {
    /// The identifier's kind.
    #[serde(rename = "type")]
    pub kind: ContextIdentifierType,
    /// The identifier itself.
    pub value: String,
}

crate::enums::wire_enum! {
    /// What a public key certificate may be used for.
    pub enum PublicKeyCertificateUsage {
        /// Encrypting a KSeF token for `/auth/ksef-token`.
        KsefTokenEncryption,
        /// Wrapping a session or export AES key.
        SymmetricKeyEncryption,
    }
}

/// One of KSeF's public key certificates (`GET /security/public-key-certificates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCertificate {
    /// Base64 of the DER X.509 certificate (no PEM armour).
    pub certificate: String,
    /// Base64 SHA-256 of the certificate DER.
    pub certificate_id: String,
    /// Base64 SHA-256 of the DER `SubjectPublicKeyInfo` (44 characters).
    pub public_key_id: String,
    /// Start of validity.
    #[serde(with = "crate::datetime")]
    pub valid_from: DateTime<Utc>,
    /// End of validity.
    #[serde(with = "crate::datetime")]
    pub valid_to: DateTime<Utc>,
    /// What the key is for.
    pub usage: Vec<PublicKeyCertificateUsage>,
}

crate::enums::wire_enum! {
    /// Whether an invoice was issued online or offline.
    pub enum InvoicingMode {
        /// Issued and sent online.
        Online,
        /// Issued offline and sent later.
        Offline,
    }
}


// Declared through `wire_enum!`, which derives no Default.
#[allow(clippy::derivable_impls)]
impl Default for CompressionType {
    fn default() -> CompressionType {
        CompressionType::Zip
    }
}

crate::enums::wire_enum! {
    /// Archive format of a batch package or an export.
    pub enum CompressionType {
        /// A ZIP archive (the default).
        Zip,
        /// A gzip-compressed tar archive (since API 2.6.0).
        TarGz,
    }
}

crate::enums::wire_enum! {
    /// Permissions a KSeF token or an authentication carries.
    pub enum TokenPermission {
        /// Read invoices.
        InvoiceRead,
        /// Send invoices.
        InvoiceWrite,
        /// Read credentials.
        CredentialsRead,
        /// Manage credentials.
        CredentialsManage,
        /// Manage subunits.
        SubunitManage,
        /// Enforcement operations.
        EnforcementOperations,
        /// Read sessions and statuses.
        Introspection,
        /// Manage collective identifiers (API 2.9).
        CollectiveIdentifierManage,
    }
}

