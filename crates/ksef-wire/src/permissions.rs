//! Permissions: granting and revoking them in the current context, the asynchronous operations that do it,
//! and the queries of what was granted.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::common::StatusInfo;
use crate::credentials::SubjectIdentifier;

crate::enums::wire_enum! {
    /// A permission in a context, as granted to persons.
    pub enum PermissionType {
        /// Manage credentials (grant permissions, tokens).
        CredentialsManage,
        /// Read credentials.
        CredentialsRead,
        /// Send invoices.
        InvoiceWrite,
        /// Read invoices.
        InvoiceRead,
        /// Read sessions and statuses.
        Introspection,
        /// Manage subunits.
        SubunitManage,
        /// Enforcement operations (enforcement authorities and bailiffs only).
        EnforcementOperations,
        /// Manage collective identifiers.
        CollectiveIdentifierManage,
        /// Manage EU VAT representatives (owner's only).
        VatUeManage,
    }
}

/// A person in a grant: `subjectDetailsType` and the details it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PersonSubjectDetails {
    /// `PersonByIdentifier`, `PersonByFingerprintWithIdentifier` or `PersonByFingerprintWithoutIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_details_type: Option<String>,
    /// Names, for `PersonByIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_by_id: Option<serde_json::Value>,
    /// Names and identifier, for `PersonByFingerprintWithIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_by_fp_with_id: Option<serde_json::Value>,
    /// Names and identity document, for `PersonByFingerprintWithoutIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_by_fp_no_id: Option<serde_json::Value>,
}

/// `POST /permissions/persons/grants` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonPermissionsGrantRequest {
    /// Who receives them.
    pub subject_identifier: SubjectIdentifier,
    /// What they may do.
    pub permissions: Vec<PermissionType>,
    /// Why, 5 to 256 characters.
    pub description: String,
    /// Who the person is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_details: Option<PersonSubjectDetails>,
}

/// One permission granted to an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityPermission {
    /// `InvoiceWrite`, `InvoiceRead` or `CollectiveIdentifierManage`.
    #[serde(rename = "type")]
    pub kind: PermissionType,
    /// Whether the entity may pass it on to its people (indirect grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_delegate: Option<bool>,
}

/// `{fullName}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityDetails {
    /// The entity's name.
    pub full_name: String,
}

/// `POST /permissions/entities/grants` body: invoice permissions for another company (e.g. an accounting office).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityPermissionsGrantRequest {
    /// The entity (`Nip`).
    pub subject_identifier: SubjectIdentifier,
    /// What it may do.
    pub permissions: Vec<EntityPermission>,
    /// Why.
    pub description: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_details: Option<EntityDetails>,
}

crate::enums::wire_enum! {
    /// Whose invoices an indirect grant covers.
    pub enum TargetIdentifierType {
        /// One client, by NIP.
        Nip,
        /// One client, by internal identifier.
        InternalId,
        /// Every client that delegated to the granting entity.
        AllPartners,
    }
}

/// `{type, value?}` naming an indirect grant's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetIdentifier {
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: TargetIdentifierType,
    /// The client (absent for `AllPartners`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `POST /permissions/indirect/grants` body: an entity passes its clients' permissions to one of its people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndirectPermissionsGrantRequest {
    /// Who receives them.
    pub subject_identifier: SubjectIdentifier,
    /// Which client's invoices (absent: every client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_identifier: Option<TargetIdentifier>,
    /// What they may do.
    pub permissions: Vec<PermissionType>,
    /// Why.
    pub description: String,
    /// Who the person is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_details: Option<PersonSubjectDetails>,
}

/// `202 {referenceNumber}` of a grant or a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsOperationResponse {
    /// The operation's reference number.
    pub reference_number: String,
}

/// `GET /permissions/operations/{referenceNumber}` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionsOperationStatusResponse {
    /// 100 in progress, 200 done, 4xx refused.
    pub status: StatusInfo,
}

crate::enums::wire_enum! {
    /// Whether a permission is in force.
    pub enum PermissionState {
        /// In force.
        Active,
        /// Not in force.
        Inactive,
    }
}

/// `POST /permissions/query/persons/grants` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PersonPermissionsQueryRequest {
    /// `PermissionsInCurrentContext` or `PermissionsGrantedInCurrentContext`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_type: Option<String>,
    /// Only those granted to this subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_identifier: Option<SubjectIdentifier>,
    /// Only these permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_types: Option<Vec<PermissionType>>,
    /// Only in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_state: Option<PermissionState>,
}

/// `{type, value}` of a context or an author in a permission's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedIdentifier {
    /// Its kind (`Nip`, `Pesel`, `Fingerprint`, `InternalId`, `AllPartners`, `System`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One permission in a query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionItem {
    /// Its id, for revocation.
    pub id: String,
    /// Who holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_identifier: Option<TypedIdentifier>,
    /// The context it is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_identifier: Option<TypedIdentifier>,
    /// An indirect grant's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_identifier: Option<TypedIdentifier>,
    /// Who granted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_identifier: Option<TypedIdentifier>,
    /// The permission.
    pub permission_scope: PermissionType,
    /// Why.
    pub description: String,
    /// In force or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_state: Option<PermissionState>,
    /// Since.
    #[serde(with = "crate::datetime")]
    pub start_date: DateTime<Utc>,
    /// Whether it may be passed on.
    pub can_delegate: bool,
}

/// The answer to a permissions query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsQueryResponse {
    /// This page.
    pub permissions: Vec<PermissionItem>,
    /// Whether more pages follow.
    pub has_more: bool,
}

/// `GET /permissions/attachments/status` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CheckAttachmentPermissionStatusResponse {
    /// Whether invoices with attachments may be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_attachment_allowed: Option<bool>,
    /// When the consent ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_date: Option<NaiveDate>,
}
