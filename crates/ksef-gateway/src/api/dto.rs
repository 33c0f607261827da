//! Our REST JSON: the classes of the ksef24 REST API 2.1, with the seed's class and field names, plus the
//! few documented additions (the `plain` send variant, `id` on InvoiceInfo, `name` and `ksef` on Error).
//! Only this module knows these shapes; the operations speak their own types.

pub mod admin;
pub mod events;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ErrorCode;
use crate::ops::Status;
use crate::ops::invoices::InvoiceView;

/// Key algorithms KSeF uses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum Algorithm {
    /// RSA.
    #[serde(rename = "RSA")]
    Rsa,
}

/// KSeF's public key, for wrapping the session key of an encrypted session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefPublicKeyResponse {
    /// The algorithm of the key.
    pub algorithm: Algorithm,
    /// DER `SubjectPublicKeyInfo`, base64. Wrap your AES-256 key with RSA-OAEP (SHA-256, MGF1-SHA-256).
    pub public_key: String,
}

/// Invoice schema versions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KsefInvoiceVersion {
    /// FA(2).
    V2,
    /// FA(3), current.
    V3,
}

/// The caller's own session key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionInfo {
    /// The AES-256 key, wrapped with the key from `ksefPublicKey`, base64.
    pub encrypted_key: String,
    /// The 16-byte initialization vector, base64.
    pub init_vector: String,
}

/// Opens an interactive session. Without `encryptionInfo` the gateway makes and keeps the session key, and
/// `ksefInvoiceSend` takes plain invoices (`plain`); with it, invoices arrive encrypted (`encrypted`) and the
/// gateway never sees them in clear.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefSessionOpenOnlineRequest {
    /// Schema version of the invoices to be sent: `v2` or `v3` (anything else is refused with 1201).
    #[schema(value_type = KsefInvoiceVersion)]
    pub invoice_version: String,
    /// The caller's session key, if it keeps its own.
    #[serde(default)]
    pub encryption_info: Option<EncryptionInfo>,
}

/// A session just opened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefSessionOpenOnlineResponse {
    /// The session id (SessionId) for every later call.
    pub id: String,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// One part of a batch package: a piece of the ZIP of at most 100 MB, encrypted on its own (AES-256-CBC,
/// PKCS#7) under the session key and IV.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchPartInfo {
    /// Position of the part, from 1.
    pub ordinal: i64,
    /// Size of the encrypted part in bytes.
    pub part_size: i64,
    /// SHA-256 of the encrypted part, base64.
    pub part_hash: String,
}

/// The batch package: a ZIP of invoice files (no folders), described before encryption, and its parts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// Size of the whole ZIP in bytes, 1 to 5,000,000,000.
    pub batch_size: i64,
    /// SHA-256 of the whole ZIP, base64.
    pub batch_hash: String,
    /// The encrypted parts, 1 to 50.
    pub batch_parts: Vec<BatchPartInfo>,
}

/// Opens a batch session for a package encrypted under the caller's own key (wrapped with `ksefPublicKey`).
/// The caller then uploads each part to its `partUploadInfo` URL, closes the session with `ksefSessionClose`,
/// and follows it with `ksefSessionStatus`, `ksefSessionInvoices` and `ksefSessionUpo`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefSessionOpenBatchRequest {
    /// Schema version of the invoices: `v2` or `v3` (anything else is refused with 1201).
    #[schema(value_type = KsefInvoiceVersion)]
    pub invoice_version: String,
    /// The caller's session key, which encrypted the parts.
    pub encryption_info: EncryptionInfo,
    /// Whether the invoices were issued offline.
    #[serde(default)]
    pub offline: bool,
    /// The package.
    pub batch_info: BatchInfo,
}

/// A header to send with a part.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartUploadHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// Where and how to upload one part: straight to KSeF's storage, with no credentials.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartUploadInfo {
    /// Which part.
    pub ordinal: i64,
    /// HTTP method (`PUT`).
    pub method: String,
    /// Pre-signed URL, valid for 20 minutes per part declared.
    pub url: String,
    /// Headers to send; the body is the encrypted part's bytes.
    pub headers: Vec<PartUploadHeader>,
}

/// A batch session just opened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefSessionOpenBatchResponse {
    /// The session id (SessionId) for every later call.
    pub id: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// One upload instruction per part.
    pub part_upload_info: Vec<PartUploadInfo>,
}

/// A plain ZIP sent as a batch (our addition to the seed): the session is already closed and KSeF is
/// processing it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefSessionSendBatchResponse {
    /// The session id, for `ksefSessionStatus`, `ksefSessionInvoices` and `ksefSessionUpo`.
    pub id: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Invoice files in the package.
    pub invoice_count: i64,
    /// Encrypted parts uploaded.
    pub part_count: i64,
}

/// A key and value of a status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusInfoAttribute {
    /// The name.
    pub key: String,
    /// The value.
    pub value: String,
}

/// A status as KSeF reports it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusInfo {
    /// KSeF's status code (invoices: 100, 150, 200, 405–550; sessions: 100, 170, 200, 4xx).
    pub code: i64,
    /// Its description.
    pub description: String,
    /// Further details, joined with "; ".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Named extra values (a duplicate names `originalKsefNumber` and `originalSessionReferenceNumber`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub extensions: Vec<StatusInfoAttribute>,
}

impl From<Status> for StatusInfo {
    fn from(s: Status) -> StatusInfo {
        StatusInfo {
            code: s.code,
            description: s.description,
            details: (!s.details.is_empty()).then(|| s.details.join("; ")),
            extensions: s.extensions.into_iter().map(|(key, value)| StatusInfoAttribute { key, value }).collect(),
        }
    }
}

/// A session's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// KSeF's session status.
    pub status: StatusInfo,
    /// Whether it is a batch session.
    pub batch: bool,
    /// Invoices received.
    pub invoice_count: Option<i64>,
    /// Invoices accepted.
    pub successful_invoice_count: Option<i64>,
    /// Invoices refused.
    pub failed_invoice_count: Option<i64>,
}

/// `ksefSessionStatus` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefSessionStatusResponse {
    /// The session's state.
    pub session_info: SessionInfo,
}

/// An invoice encrypted under the caller's session key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceEncrypted {
    /// AES-256-CBC (PKCS#7) ciphertext of the invoice XML under the session key and IV, base64.
    pub encrypted_invoice: String,
    /// SHA-256 of the plain invoice XML, base64.
    pub invoice_hash: String,
    /// Size of the plain invoice XML in bytes.
    pub invoice_size: i64,
}

/// A plain invoice, for a session whose key the gateway holds (opened without `encryptionInfo`). Ours, not the seed's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoicePlain {
    /// The invoice XML file, base64 of its exact bytes (the hash KSeF keeps is over these bytes).
    pub invoice: String,
}

/// Sends one invoice into a session: exactly one of `encrypted` or `plain`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceSendRequest {
    /// The session id.
    pub session_id: String,
    /// The invoice encrypted under the caller's key (sessions opened with `encryptionInfo`).
    #[serde(default)]
    pub encrypted: Option<KsefInvoiceEncrypted>,
    /// The plain invoice (sessions opened without `encryptionInfo`).
    #[serde(default)]
    pub plain: Option<KsefInvoicePlain>,
}

/// An invoice accepted for sending.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceSendResponse {
    /// When the gateway received it.
    pub created: DateTime<Utc>,
    /// The invoice id (InvoiceId) for `ksefInvoiceStatus`. Sending the same invoice into the same session again
    /// returns the same id and sends nothing.
    pub id: String,
}

/// An invoice's status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceInfo {
    /// The invoice id (ours; not in the seed, added so lists can be matched to sends).
    pub id: String,
    /// KSeF's invoice status; code 0 means KSeF does not have the invoice yet (see `delivery`).
    pub status: StatusInfo,
    /// Position in the session.
    pub ordinal: Option<String>,
    /// The invoice number (`P_2`).
    pub invoice_number: Option<String>,
    /// The KSeF number, once given.
    pub ksef_number: Option<String>,
    /// When KSeF gave the number.
    pub acquisition_date: Option<DateTime<Utc>>,
    /// When KSeF stored the invoice for good (always after `acquisitionDate`).
    pub permanent_storage_date: Option<DateTime<Utc>>,
    /// In a batch session, the invoice's file name in the package (not in the seed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invoice_file_name: Option<String>,
    /// `Online` or `Offline`, as KSeF recorded the invoice (not in the seed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invoicing_mode: Option<String>,
    /// Where the gateway is in delivering an invoice sent through it (not in the seed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delivery: Option<DeliveryInfo>,
}

/// The gateway's delivery of an invoice to KSeF (ours).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryInfo {
    /// `queued` (waiting for KSeF; retried with backoff), `sending`, `sent` (KSeF is processing it), `accepted`,
    /// `rejected`, or `duplicate` (KSeF already held an invoice with the same seller, kind and number: its KSeF
    /// number is `ksefNumber`, also in `originalKsefNumber`).
    pub state: DeliveryStateDto,
    /// Sends tried so far.
    pub attempts: i64,
    /// Why the last attempt did not deliver it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_error: Option<String>,
    /// When the next attempt is due, while queued.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// A duplicate's original KSeF number.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub original_ksef_number: Option<String>,
    /// Issued offline: `offline24` (sent with `offlineMode`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub offline_mode: Option<String>,
    /// Issued offline: the end of the last day on which it may reach KSeF.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub deadline: Option<DateTime<Utc>>,
    /// The KSeF session it went in, once sent: an online session (`…-SO-…`), or a batch (`…-SB-…`) when the
    /// gateway sent a long queue of submits as one package.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ksef_session: Option<String>,
}

/// Delivery states, as our JSON writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryStateDto {
    /// Waiting for a send.
    Queued,
    /// Being sent.
    Sending,
    /// KSeF is processing it.
    Sent,
    /// KSeF accepted it.
    Accepted,
    /// KSeF refused it.
    Rejected,
    /// KSeF already had it under another submission; reconciled to the original's KSeF number.
    Duplicate,
}

impl From<ksef_store::DeliveryState> for DeliveryStateDto {
    fn from(s: ksef_store::DeliveryState) -> Self {
        use ksef_store::DeliveryState as S;
        match s {
            S::Queued => DeliveryStateDto::Queued,
            S::Sending => DeliveryStateDto::Sending,
            S::Sent => DeliveryStateDto::Sent,
            S::Accepted => DeliveryStateDto::Accepted,
            S::Rejected => DeliveryStateDto::Rejected,
            S::Duplicate => DeliveryStateDto::Duplicate,
        }
    }
}

impl From<InvoiceView> for InvoiceInfo {
    fn from(v: InvoiceView) -> InvoiceInfo {
        InvoiceInfo {
            id: v.id,
            status: v.status.into(),
            ordinal: v.ordinal.map(|o| o.to_string()),
            invoice_number: v.invoice_number,
            ksef_number: v.ksef_number,
            acquisition_date: v.acquisition_date,
            permanent_storage_date: v.permanent_storage_date,
            invoice_file_name: v.file_name,
            invoicing_mode: v.invoicing_mode,
            delivery: v.delivery.map(|d| DeliveryInfo {
                state: d.state.into(),
                attempts: d.attempts,
                last_error: d.last_error,
                next_attempt_at: d.next_attempt_at,
                original_ksef_number: d.original_ksef_number,
                offline_mode: d.offline_mode,
                deadline: d.deadline,
                ksef_session: d.ksef_session,
            }),
        }
    }
}

/// `ksefInvoiceStatus` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KsefInvoiceStatusResponse {
    /// The invoice (one entry).
    pub invoices: Vec<InvoiceInfo>,
}

/// `ksefSessionInvoices` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KsefSessionInvoicesResponse {
    /// Every invoice sent into the session, in the order sent.
    pub invoices: Vec<InvoiceInfo>,
}

/// `ksefSessionClose` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KsefSessionCloseResponse {
    /// True when the session is closed (also when it already was).
    pub result: bool,
}

/// KSeF's own answer, when KSeF refused or failed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefErrorInfo {
    /// KSeF's HTTP status (0 when it could not be reached).
    pub http_status: u16,
    /// KSeF's exception code (e.g. 21403).
    pub code: Option<i32>,
    /// KSeF's message.
    pub message: String,
}

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Error {
    /// The error code, e.g. "1109" (a string, as the seed defines it).
    pub code: String,
    /// Its symbolic name, e.g. `SESSION_UNKNOWN`.
    pub name: String,
    /// What the code means.
    pub description: String,
    /// What exactly went wrong.
    pub details: String,
    /// KSeF's own code and message, when KSeF refused or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ksef: Option<KsefErrorInfo>,
    /// Every finding, when a document was checked (not in the seed): `details` is the first error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingInfo>,
}

impl Error {
    /// The body for `code` with `details`.
    pub fn new(code: ErrorCode, details: String, ksef: Option<KsefErrorInfo>) -> Error {
        Error {
            code: code.code().to_string(),
            name: code.name().to_owned(),
            description: code.description().to_owned(),
            details,
            ksef,
            findings: Vec::new(),
        }
    }
}

/// One problem found in an invoice document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingInfo {
    /// `precheck` (KSeF refuses the file before its schema), `schema` (the official XSD), `semantic` (rules beyond it),
    /// or `request` (a `ksefInvoiceGenerate` request that cannot become an invoice).
    pub kind: String,
    /// `error` (KSeF refuses the invoice: status 430, or 450 for semantic errors) or `warning` (likely wrong; KSeF does not check).
    pub severity: String,
    /// The check, e.g. `xsd:pattern`, `nip-checksum`, `totals`.
    pub rule: String,
    /// Where, e.g. `/Faktura/Fa/FaWiersz[2]/P_12`.
    pub path: String,
    /// The line, from 1.
    pub line: u32,
    /// The problem, in Polish.
    pub message_pl: String,
    /// The problem, in English.
    pub message_en: String,
}

impl From<&ksef_fa::Finding> for FindingInfo {
    fn from(f: &ksef_fa::Finding) -> FindingInfo {
        let kind = match f.kind {
            ksef_fa::Kind::Precheck => "precheck",
            ksef_fa::Kind::Schema => "schema",
            ksef_fa::Kind::Semantic => "semantic",
            ksef_fa::Kind::Request => "request",
        };
        let severity = if f.severity == ksef_fa::Severity::Error { "error" } else { "warning" };
        FindingInfo {
            kind: kind.to_owned(),
            severity: severity.to_owned(),
            rule: f.rule.clone(),
            path: f.path.clone(),
            line: f.line,
            message_pl: f.message_pl.clone(),
            message_en: f.message_en.clone(),
        }
    }
}

/// `ksefInvoiceGenerate` answer: the invoice, ready to send (its UTF-8 bytes are what KSeF hashes).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceGenerateResponse {
    /// The FA(3) XML.
    pub invoice: String,
    /// Warnings (rules KSeF does not enforce).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingInfo>,
}

/// `ksefInvoiceValidate` answer for a valid invoice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceValidateResponse {
    /// The schema version, from the document's namespace.
    pub invoice_version: KsefInvoiceVersion,
    /// Always true here: an invalid invoice is answered with an `Error` (1203) listing every finding.
    pub valid: bool,
    /// The document's Canonical XML 1.0 form (without comments), base64.
    pub canonical_form: String,
    /// Warnings (rules KSeF does not enforce); not in the seed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingInfo>,
}

/// Whose invoices a search is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SubjectType {
    /// Sales: invoices the tenant issued.
    Subject1,
    /// Costs: invoices the tenant received as buyer.
    Subject2,
    /// Invoices naming the tenant as a third party.
    Subject3,
    /// Invoices naming the tenant as the authorized subject.
    SubjectAuthorized,
}

/// The period searched, on KSeF's permanent-storage dates. Each bound is an RFC 3339 date-time, a date-time
/// without an offset (Europe/Warsaw time), or a date (`from`: the start of that day; `to`: its end, Warsaw time).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KsefInvoiceQueryStartRange {
    /// From (inclusive).
    pub from: String,
    /// To (inclusive); now when absent. At most three months after `from`.
    #[serde(default)]
    pub to: Option<String>,
}

/// Starts a search. Without `encryptionInfo` the gateway makes and keeps the package key and
/// `ksefInvoiceQueryResult` serves the plain ZIP; with it, the parts come encrypted under the caller's key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceQueryStartRequest {
    /// The period.
    pub range: KsefInvoiceQueryStartRange,
    /// The caller's own key for the package, wrapped with the key from `ksefPublicKey`.
    #[serde(default)]
    pub encryption_info: Option<EncryptionInfo>,
    /// Whose invoices: `subject1` (sales), `subject2` (costs), `subject3` (third party), `subjectAuthorized`.
    #[schema(value_type = SubjectType)]
    pub subject_type: String,
}

/// A search just started.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceQueryStartResponse {
    /// The search id (QueryId).
    pub query_id: String,
}

/// A search's state and, once ready, its result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceQueryStatusResponse {
    /// KSeF's status of the search: 100 in progress, 200 ready, 210 expired, 420 `from` is past KSeF's high-water
    /// mark (nothing to search yet), other 4xx/5xx failed (ours, beyond the seed).
    pub status: StatusInfo,
    /// Invoices found (at most 10,000).
    pub number_of_invoices: i64,
    /// Bytes the parts deliver in all: the ZIP's size with the gateway's key, the encrypted parts' with the caller's.
    pub package_size: i64,
    /// Whether KSeF's 10,000-invoice limit cut the result; then search again from `nextFrom`.
    pub is_truncated: bool,
    /// The parts (QueryPartNumber) to fetch with `ksefInvoiceQueryResult`.
    pub part_numbers: Vec<String>,
    /// When truncated: the permanent-storage date of the last invoice included, where the next search starts.
    /// Invoices stored at exactly that instant may come again; keep their KSeF numbers to skip them (ours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_from: Option<DateTime<Utc>>,
    /// KSeF's high-water mark: everything stored before it is in the search. After a search that was not
    /// truncated, an incremental sync's next window starts here, or at `range.to` if that is earlier (ours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
}

/// `ksefInvoiceLinks` request: what KOD I (and KOD II) are made of.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KsefInvoiceLinksRequest {
    /// The seller's NIP (10 digits).
    pub nip: String,
    /// The invoice's issue date (`P_1`), `YYYY-MM-DD` (a date-time is accepted; its date is used).
    pub issue_date: String,
    /// SHA-256 of the invoice's exact XML bytes, base64 (as in UPOs) or base64url.
    pub invoice_hash: String,
    /// The KSeF number, when the invoice has one; without it the invoice counts as issued offline.
    #[serde(default)]
    pub invoice_ksef_number: Option<String>,
}

/// A link and its QR code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefQrCode {
    /// The link.
    pub link: String,
    /// The QR code: base64 of a PNG (level M, 4-module quiet zone, 5 px per module).
    pub image: String,
    /// What is printed under the code: the KSeF number, `OFFLINE` or `CERTYFIKAT` (an addition to the seed).
    pub caption: String,
}

/// `ksefInvoiceLinks` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KsefInvoiceLinksResponse {
    /// KOD I: the invoice's verification link.
    pub invoice: KsefQrCode,
    /// KOD II: the issuer's certificate link, for an invoice without a KSeF number when the tenant has an
    /// Offline certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<KsefQrCode>,
}

/// The format of a visualization.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// HTML (TextHtmlContent).
    Html,
    /// PDF (ApplicationPdfContent): PDF/A-3b with the invoice's XML attached.
    Pdf,
}

/// The language of a visualization.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub enum OutputLanguage {
    /// Polish.
    #[serde(rename = "pl")]
    Pl,
    /// English.
    #[serde(rename = "en")]
    En,
    /// Polish with English beside it.
    #[serde(rename = "pl_en")]
    PlEn,
}

/// `ksefInvoiceVisualize` request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KsefInvoiceVisualizeRequest {
    /// The template: `default` (or omitted).
    #[serde(default)]
    pub template_name: Option<String>,
    /// The invoice was issued offline: KOD I is captioned `OFFLINE`, and KOD II is added when the tenant has an
    /// Offline certificate.
    #[serde(default)]
    pub offline: bool,
    /// The invoice's KSeF number (the caption under KOD I).
    #[serde(default)]
    pub invoice_ksef_number: Option<String>,
    /// The invoice XML: base64 of its exact bytes (the XML text itself is accepted too).
    pub invoice_data: String,
    /// `html` or `pdf`.
    pub output_format: OutputFormat,
    /// `pl`, `en` or `pl_en`.
    pub output_language: OutputLanguage,
}

/// How a submit asks for offline issue (ours).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OfflineChoice {
    /// Online, unless KSeF is unreachable and the tenant has an Offline certificate: then offline24.
    #[default]
    Auto,
    /// Online only, however long KSeF fails.
    Never,
    /// Issued in offline24 mode: due in KSeF by the next business day after its issue date.
    Offline24,
    /// Issued during an announced KSeF unavailability: due the business day after it ends.
    Unavailability,
    /// Issued during an announced KSeF failure: due seven business days after it ends.
    Failure,
}

/// `POST /api/v2/invoices` (ours): one invoice, without a session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceSubmitRequest {
    /// The invoice file (FA(2)/FA(3) XML), base64; or give `generate`.
    #[serde(default)]
    pub invoice: Option<String>,
    /// The invoice as `ksefInvoiceGenerate` takes it (JSON with readable names); or give `invoice`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub generate: Option<serde_json::Value>,
    /// Offline issue; `auto` when omitted (`unavailability` and `failure` while such a window is announced).
    #[serde(default)]
    pub offline: OfflineChoice,
    /// A technical correction of a rejected offline invoice: base64 SHA-256 of that invoice (needs `offline`).
    #[serde(default)]
    pub hash_of_corrected_invoice: Option<String>,
}

/// An offline invoice's mode, deadline and verification codes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfflineInfo {
    /// `offline24`, `unavailability` or `failure`.
    pub mode: String,
    /// The last day (in Poland) on which the invoice may reach KSeF; absent while an announced window lasts (then
    /// `GET /api/v2/invoices/{id}` shows it once the window ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<chrono::NaiveDate>,
    /// KOD I, captioned `OFFLINE`.
    pub invoice: KsefQrCode,
    /// KOD II, signed with the tenant's Offline certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<KsefQrCode>,
}

/// `POST /api/v2/invoices` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceSubmitResponse {
    /// The invoice's id, for `GET /api/v2/invoices/{id}` (and `ksefInvoiceStatus`).
    pub id: String,
    /// When the gateway first received it.
    pub created: DateTime<Utc>,
    /// True when this invoice (tenant, seller NIP, kind, number) was submitted before: this is that submit.
    pub existing: bool,
    /// Set when it was issued offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflineInfo>,
}

/// `GET /api/v2/invoices/{id}` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedInvoiceResponse {
    /// Its status, KSeF number and delivery.
    pub invoice: InvoiceInfo,
    /// The gateway's session it went into (its UPO: `ksefSessionUpo`).
    pub session_id: String,
}
