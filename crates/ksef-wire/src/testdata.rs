//! TEST's self-service test data (`/testdata/*`): subjects, persons, permissions, attachment consent, blocked
//! contexts, and per-context limits; and the limits every subject and context can read (`/limits/*`,
//! `/rate-limits`), and Peppol providers.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::common::ContextIdentifier;
use crate::credentials::SubjectIdentifier;
use crate::permissions::PermissionType;

crate::enums::wire_enum! {
    /// A test subject's kind.
    pub enum TestSubjectType {
        /// An enforcement authority.
        EnforcementAuthority,
        /// A VAT group.
        VatGroup,
        /// A local government unit.
        #[allow(clippy::upper_case_acronyms)]
        JST,
    }
}

/// A subunit of a test subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSubunit {
    /// Its NIP.
    pub subject_nip: String,
    /// Its description.
    pub description: String,
}

/// `POST /testdata/subject` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataSubjectRequest {
    /// Its NIP.
    pub subject_nip: String,
    /// Its kind.
    pub subject_type: TestSubjectType,
    /// A description.
    pub description: String,
    /// Its subunits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subunits: Option<Vec<TestSubunit>>,
    /// When it was made.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub created_date: Option<DateTime<Utc>>,
}

/// `{subjectNip}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataSubjectRemoveRequest {
    /// Its NIP.
    pub subject_nip: String,
}

/// `POST /testdata/person` body: a PESEL linked to a NIP (its owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataPersonRequest {
    /// The NIP.
    pub nip: String,
    /// The person's PESEL.
    pub pesel: String,
    /// A bailiff (enforcement operations).
    pub is_bailiff: bool,
    /// A description.
    pub description: String,
    /// Deceased (authentication then ends 470).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_deceased: Option<bool>,
    /// When it was made.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub created_date: Option<DateTime<Utc>>,
}

/// `{nip}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestDataNipRequest {
    /// The NIP.
    pub nip: String,
}

/// One test-data permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataPermission {
    /// Why.
    pub description: String,
    /// What.
    pub permission_type: PermissionType,
}

/// `POST /testdata/permissions` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataPermissionsGrantRequest {
    /// The context (`Nip`).
    pub context_identifier: ContextIdentifier,
    /// Who receives them.
    pub authorized_identifier: SubjectIdentifier,
    /// What.
    pub permissions: Vec<TestDataPermission>,
}

/// `POST /testdata/permissions/revoke` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataPermissionsRevokeRequest {
    /// The context.
    pub context_identifier: ContextIdentifier,
    /// Whose.
    pub authorized_identifier: SubjectIdentifier,
}

/// `POST /testdata/attachment/revoke` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDataAttachmentRevokeRequest {
    /// The NIP.
    pub nip: String,
    /// When the consent ends (absent: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_end_date: Option<NaiveDate>,
}

/// `POST /testdata/context/block` and `/unblock` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TestDataContextRequest {
    /// The context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_identifier: Option<ContextIdentifier>,
}

/// The limits of one kind of session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionLimits {
    /// Largest invoice without attachments, MB.
    #[serde(rename = "maxInvoiceSizeInMB")]
    pub max_invoice_size_in_mb: i32,
    /// Largest invoice with attachments, MB.
    #[serde(rename = "maxInvoiceWithAttachmentSizeInMB")]
    pub max_invoice_with_attachment_size_in_mb: i32,
    /// Most invoices.
    pub max_invoices: i32,
}

/// `{maxInvoices}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveIdentifierLimits {
    /// Most invoices.
    pub max_invoices: i32,
}

/// `GET /limits/context` → 200 (and `POST /testdata/limits/context/session` body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextLimits {
    /// Online sessions.
    pub online_session: SessionLimits,
    /// Batch sessions.
    pub batch_session: SessionLimits,
    /// Collective identifiers.
    pub collective_identifier: CollectiveIdentifierLimits,
}

/// `{maxEnrollments?}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentLimit {
    /// Most enrollments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_enrollments: Option<i32>,
}

/// `{maxCertificates?}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCountLimit {
    /// Most active certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_certificates: Option<i32>,
}

/// `GET /limits/subject` → 200 (and `POST /testdata/limits/subject/certificate` body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SubjectLimits {
    /// Enrollments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment: Option<EnrollmentLimit>,
    /// Certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateCountLimit>,
}

/// `{perSecond, perMinute, perHour}`; −1 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second.
    pub per_second: i32,
    /// Requests per minute.
    pub per_minute: i32,
    /// Requests per hour.
    pub per_hour: i32,
}

/// One Peppol provider (`GET /peppol/query`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeppolProvider {
    /// Its Peppol identifier.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was registered.
    #[serde(with = "crate::datetime")]
    pub date_created: DateTime<Utc>,
}

/// `GET /peppol/query` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPeppolProvidersResponse {
    /// This page.
    pub peppol_providers: Vec<PeppolProvider>,
    /// Whether more pages follow.
    pub has_more: bool,
}
