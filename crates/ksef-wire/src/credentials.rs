//! Credentials: KSeF certificates (limits, enrollment, retrieval, revocation, queries), KSeF tokens, and the
//! authentication sessions of a subject.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::{AuthenticationMethod, AuthenticationMethodInfo};
use crate::common::{ContextIdentifier, StatusInfo, TokenPermission};

crate::enums::wire_enum! {
    /// What a KSeF certificate is for.
    pub enum KsefCertificateType {
        /// Logging in (key usage digital signature).
        Authentication,
        /// Signing KOD II of invoices issued offline (key usage non-repudiation); it cannot log in.
        Offline,
    }
}

crate::enums::wire_enum! {
    /// A KSeF certificate's state.
    pub enum CertificateStatus {
        /// Usable.
        Active,
        /// Being revoked.
        Blocked,
        /// Revoked.
        Revoked,
        /// Past its validity.
        Expired,
    }
}

crate::enums::wire_enum! {
    /// How a subject is identified: by NIP, PESEL or certificate fingerprint.
    pub enum SubjectIdentifierType {
        /// A NIP.
        Nip,
        /// A PESEL.
        Pesel,
        /// A certificate's SHA-256 fingerprint.
        Fingerprint,
    }
}

/// `{type, value}` naming a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubjectIdentifier {
    /// The identifier's kind.
    #[serde(rename = "type")]
    pub kind: SubjectIdentifierType,
    /// The identifier.
    pub value: String,
}

/// `{remaining, limit}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateLimit {
    /// How many are left.
    pub remaining: i32,
    /// The limit.
    pub limit: i32,
}

/// `GET /certificates/limits` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateLimitsResponse {
    /// Whether an enrollment may be made now.
    pub can_request: bool,
    /// Enrollments.
    pub enrollment: CertificateLimit,
    /// Active certificates.
    pub certificate: CertificateLimit,
}

/// `GET /certificates/enrollments/data` → 200: the subject attributes a certificate request must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CertificateEnrollmentDataResponse {
    /// `commonName` (2.5.4.3).
    pub common_name: String,
    /// `countryName` (2.5.4.6).
    pub country_name: String,
    /// `givenName` (2.5.4.42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `surname` (2.5.4.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// `serialNumber` (2.5.4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// `uniqueIdentifier` (2.5.4.45).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_identifier: Option<String>,
    /// `organizationName` (2.5.4.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// `organizationIdentifier` (2.5.4.97).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_identifier: Option<String>,
}

/// `POST /certificates/enrollments` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollCertificateRequest {
    /// A name, 5 to 100 characters.
    pub certificate_name: String,
    /// Authentication or Offline.
    pub certificate_type: KsefCertificateType,
    /// Base64 of a DER PKCS#10 request.
    pub csr: String,
    /// Valid from (default: when issued).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub valid_from: Option<DateTime<Utc>>,
}

/// `POST /certificates/enrollments` → 202.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollCertificateResponse {
    /// The enrollment's reference number.
    pub reference_number: String,
    /// When it was received.
    #[serde(with = "crate::datetime")]
    pub timestamp: DateTime<Utc>,
}

/// `GET /certificates/enrollments/{referenceNumber}` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateEnrollmentStatusResponse {
    /// When it was requested.
    #[serde(with = "crate::datetime")]
    pub request_date: DateTime<Utc>,
    /// 100 received, 200 issued, 400 refused, 500 failed.
    pub status: StatusInfo,
    /// The issued certificate's serial, 16 hex characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_serial_number: Option<String>,
}

/// `POST /certificates/retrieve` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrieveCertificatesRequest {
    /// 1 to 10 serials.
    pub certificate_serial_numbers: Vec<String>,
}

/// One retrieved certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrieveCertificatesListItem {
    /// Base64 DER.
    pub certificate: String,
    /// Its name.
    pub certificate_name: String,
    /// Its serial.
    pub certificate_serial_number: String,
    /// Its type.
    pub certificate_type: KsefCertificateType,
}

/// `POST /certificates/retrieve` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrieveCertificatesResponse {
    /// The certificates found.
    pub certificates: Vec<RetrieveCertificatesListItem>,
}

crate::enums::wire_enum! {
    /// Why a certificate is revoked.
    pub enum CertificateRevocationReason {
        /// No reason given.
        Unspecified,
        /// Replaced by another.
        Superseded,
        /// Its key leaked.
        KeyCompromise,
    }
}

/// `POST /certificates/{serial}/revoke` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RevokeCertificateRequest {
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<CertificateRevocationReason>,
}

/// `POST /certificates/query` body (all filters optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct QueryCertificatesRequest {
    /// Exactly this serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_serial_number: Option<String>,
    /// Names containing this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Of this type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<KsefCertificateType>,
    /// In this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CertificateStatus>,
    /// Expiring after.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub expires_after: Option<DateTime<Utc>>,
}

/// One certificate in a query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateListItem {
    /// Serial, 16 hex characters.
    pub certificate_serial_number: String,
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: KsefCertificateType,
    /// The subject's common name.
    pub common_name: String,
    /// State.
    pub status: CertificateStatus,
    /// Whose.
    pub subject_identifier: SubjectIdentifier,
    /// Valid from.
    #[serde(with = "crate::datetime")]
    pub valid_from: DateTime<Utc>,
    /// Valid until.
    #[serde(with = "crate::datetime")]
    pub valid_to: DateTime<Utc>,
    /// Last used to log in.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub last_use_date: Option<DateTime<Utc>>,
    /// When it was requested.
    #[serde(with = "crate::datetime")]
    pub request_date: DateTime<Utc>,
}

/// `POST /certificates/query` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCertificatesResponse {
    /// This page.
    pub certificates: Vec<CertificateListItem>,
    /// Whether more pages follow.
    pub has_more: bool,
}

crate::enums::wire_enum! {
    /// A KSeF token's state.
    pub enum AuthenticationTokenStatus {
        /// Being made.
        Pending,
        /// Usable.
        Active,
        /// Being revoked.
        Revoking,
        /// Revoked.
        Revoked,
        /// Could not be made.
        Failed,
    }
}

/// `POST /tokens` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateTokenRequest {
    /// Permissions the token carries (each among the caller's own).
    pub permissions: Vec<TokenPermission>,
    /// A description, 5 to 256 characters.
    pub description: String,
}

/// `POST /tokens` → 202.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateTokenResponse {
    /// The token's reference number (`…-EC-…`).
    pub reference_number: String,
    /// The token itself, shown once.
    pub token: String,
}

/// A KSeF token as listed (`GET /tokens`, `GET /tokens/{ref}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatusResponse {
    /// Reference number.
    pub reference_number: String,
    /// Who made it.
    pub author_identifier: SubjectIdentifier,
    /// Where it works.
    pub context_identifier: ContextIdentifier,
    /// Description.
    pub description: String,
    /// Its permissions.
    pub requested_permissions: Vec<TokenPermission>,
    /// When it was made.
    #[serde(with = "crate::datetime")]
    pub date_created: DateTime<Utc>,
    /// When it was last used.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub last_use_date: Option<DateTime<Utc>>,
    /// State.
    pub status: AuthenticationTokenStatus,
    /// Errors, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_details: Option<Vec<String>>,
}

/// `GET /tokens` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryTokensResponse {
    /// Present when more pages follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// This page.
    pub tokens: Vec<TokenStatusResponse>,
}

/// One authentication session (`GET /auth/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationListItem {
    /// When it began.
    #[serde(with = "crate::datetime")]
    pub start_date: DateTime<Utc>,
    /// How (deprecated, still required).
    pub authentication_method: AuthenticationMethod,
    /// How.
    pub authentication_method_info: AuthenticationMethodInfo,
    /// Its status.
    pub status: StatusInfo,
    /// Whether its tokens were redeemed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_token_redeemed: Option<bool>,
    /// Last refresh.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub last_token_refresh_date: Option<DateTime<Utc>>,
    /// Until when it can be refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub refresh_token_valid_until: Option<DateTime<Utc>>,
    /// Its reference number.
    pub reference_number: String,
    /// Whether it is the caller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_current: Option<bool>,
}

/// `GET /auth/sessions` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationListResponse {
    /// Present when more pages follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// This page.
    pub items: Vec<AuthenticationListItem>,
}
