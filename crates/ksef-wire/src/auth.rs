//! Authentication payloads: challenge, KSeF-token authentication, status, redeem and refresh.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{ContextIdentifier, StatusInfo, TokenInfo};

/// `POST /auth/challenge` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationChallengeResponse {
    /// The 36-character challenge.
    pub challenge: String,
    /// When it was issued.
    #[serde(with = "crate::datetime")]
    pub timestamp: DateTime<Utc>,
    /// The same instant in Unix milliseconds; part of the encrypted token plaintext.
    pub timestamp_ms: i64,
    /// The caller's IP address as KSeF saw it.
    pub client_ip: String,
}

/// IP restrictions a caller may attach to its authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AllowedIps {
    /// Single IPv4 addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip4_addresses: Option<Vec<String>>,
    /// Ranges `a.b.c.d-e.f.g.h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip4_ranges: Option<Vec<String>>,
    /// Masks `a.b.c.d/n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip4_masks: Option<Vec<String>>,
}

/// `{allowedIps}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    /// Allowed source addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<AllowedIps>,
}

/// `POST /auth/ksef-token` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitTokenAuthenticationRequest {
    /// The challenge being answered.
    pub challenge: String,
    /// The context to act in.
    pub context_identifier: ContextIdentifier,
    /// Base64 of RSA-OAEP-SHA256(`"{token}|{timestampMs}"`).
    pub encrypted_token: String,
    /// Which `KsefTokenEncryption` key was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_id: Option<String>,
    /// Optional IP restrictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_policy: Option<AuthorizationPolicy>,
}

/// `POST /auth/ksef-token` → 202.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationInitResponse {
    /// The authentication operation's reference number (`…-AU-…`).
    pub reference_number: String,
    /// The operation token used to poll the status and redeem the tokens.
    pub authentication_token: TokenInfo,
}

crate::enums::wire_enum! {
    /// How the subject authenticated (deprecated in the API, still required in responses).
    pub enum AuthenticationMethod {
        /// A KSeF token.
        Token,
        /// Poland's trusted profile.
        TrustedProfile,
        /// A KSeF-issued certificate.
        InternalCertificate,
        /// A qualified signature.
        QualifiedSignature,
        /// A qualified seal.
        QualifiedSeal,
        /// A personal signature.
        PersonalSignature,
        /// A Peppol signature.
        PeppolSignature,
    }
}

crate::enums::wire_enum! {
    /// Category of an authentication method.
    pub enum AuthenticationMethodCategory {
        /// XAdES-signed request.
        XadesSignature,
        /// National node.
        NationalNode,
        /// KSeF token.
        Token,
        /// Anything else.
        Other,
    }
}

/// `{category, code, displayName}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationMethodInfo {
    /// The category.
    pub category: AuthenticationMethodCategory,
    /// A short code, e.g. `token`.
    pub code: String,
    /// A display name.
    pub display_name: String,
}

/// `GET /auth/{referenceNumber}` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationOperationStatusResponse {
    /// When the operation started.
    #[serde(with = "crate::datetime")]
    pub start_date: DateTime<Utc>,
    /// The method used.
    pub authentication_method: AuthenticationMethod,
    /// The method, in detail.
    pub authentication_method_info: AuthenticationMethodInfo,
    /// 100 in progress, 200 success, 4xx failures.
    pub status: StatusInfo,
    /// Whether the tokens have been redeemed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_token_redeemed: Option<bool>,
    /// Last refresh of the access token.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub last_token_refresh_date: Option<DateTime<Utc>>,
    /// Expiry of the refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub refresh_token_valid_until: Option<DateTime<Utc>>,
}

/// `POST /auth/token/redeem` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationTokensResponse {
    /// The access token, for every protected call.
    pub access_token: TokenInfo,
    /// The refresh token, for `POST /auth/token/refresh`.
    pub refresh_token: TokenInfo,
}

/// `POST /auth/token/refresh` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationTokenRefreshResponse {
    /// A fresh access token.
    pub access_token: TokenInfo,
}
