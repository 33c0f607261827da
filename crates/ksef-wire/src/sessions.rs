//! Session payloads: opening online and batch sessions, sending invoices, statuses and UPO pages.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{CompressionType, EncryptionInfo, FormCode, InvoiceStatusInfo, InvoicingMode, StatusInfo};

/// `POST /sessions/online` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOnlineSessionRequest {
    /// The form every invoice of the session follows.
    pub form_code: FormCode,
    /// The session's wrapped AES key and IV.
    pub encryption: EncryptionInfo,
}

/// `POST /sessions/online` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOnlineSessionResponse {
    /// The session's reference number (`…-SO-…`).
    pub reference_number: String,
    /// When the session closes by itself (12 hours after opening).
    #[serde(with = "crate::datetime")]
    pub valid_until: DateTime<Utc>,
}

/// `POST /sessions/online/{ref}/invoices` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendInvoiceRequest {
    /// Base64 SHA-256 of the plain invoice.
    pub invoice_hash: String,
    /// Plain invoice size in bytes.
    pub invoice_size: i64,
    /// Base64 SHA-256 of the ciphertext.
    pub encrypted_invoice_hash: String,
    /// Ciphertext size in bytes.
    pub encrypted_invoice_size: i64,
    /// Base64 ciphertext (AES-256-CBC, PKCS#7, session key and IV).
    pub encrypted_invoice_content: String,
    /// Whether the invoice was issued offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_mode: Option<bool>,
    /// For a technical correction: the hash of the rejected original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_of_corrected_invoice: Option<String>,
}

/// `POST /sessions/online/{ref}/invoices` → 202.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendInvoiceResponse {
    /// The invoice's reference number within the session (`…-EE-…`).
    pub reference_number: String,
}

/// One page of a session's collective UPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpoPageResponse {
    /// The page's reference number (`…-EU-…`).
    pub reference_number: String,
    /// A tokenless download URL.
    pub download_url: String,
    /// When that URL stops working.
    #[serde(with = "crate::datetime")]
    pub download_url_expiration_date: DateTime<Utc>,
}

/// `{pages}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpoResponse {
    /// The pages, each of at most 10,000 documents.
    pub pages: Vec<UpoPageResponse>,
}

/// `GET /sessions/{ref}` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStatusResponse {
    /// Session status (online: 100 open, 170 closed, 200 processed, 4xx failures).
    pub status: StatusInfo,
    /// When the session was opened.
    #[serde(with = "crate::datetime")]
    pub date_created: DateTime<Utc>,
    /// When it last changed.
    #[serde(with = "crate::datetime")]
    pub date_updated: DateTime<Utc>,
    /// When an open session closes by itself.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub valid_until: Option<DateTime<Utc>>,
    /// The collective UPO, once the session is processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upo: Option<UpoResponse>,
    /// Invoices received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_count: Option<i32>,
    /// Invoices that got a KSeF number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_invoice_count: Option<i32>,
    /// Invoices that failed; absent while an online session has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_invoice_count: Option<i32>,
}

/// One invoice of a session (`GET /sessions/{ref}/invoices/{invRef}` and list entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInvoiceStatusResponse {
    /// Position in the session, from 1.
    pub ordinal_number: i32,
    /// The invoice number (`P_2`) when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// The KSeF number, once assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ksef_number: Option<String>,
    /// The invoice's reference number (`…-EE-…`).
    pub reference_number: String,
    /// Base64 SHA-256 of the plain invoice.
    pub invoice_hash: String,
    /// The file name inside a batch package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_file_name: Option<String>,
    /// When the KSeF number was assigned.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub acquisition_date: Option<DateTime<Utc>>,
    /// When the invoice was received.
    #[serde(with = "crate::datetime")]
    pub invoicing_date: DateTime<Utc>,
    /// When the invoice was stored for good (always after `acquisitionDate`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub permanent_storage_date: Option<DateTime<Utc>>,
    /// A tokenless URL of the invoice's UPO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upo_download_url: Option<String>,
    /// When that URL stops working.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub upo_download_url_expiration_date: Option<DateTime<Utc>>,
    /// Online or offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoicing_mode: Option<InvoicingMode>,
    /// The invoice's status.
    pub status: InvoiceStatusInfo,
}

/// `GET /sessions/{ref}/invoices[/failed]` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInvoicesResponse {
    /// Pass back in `x-continuation-token` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// This page's invoices.
    pub invoices: Vec<SessionInvoiceStatusResponse>,
}

crate::enums::wire_enum! {
    /// Online or batch, as `GET /sessions` filters them.
    pub enum SessionType {
        /// Online (interactive) sessions.
        Online,
        /// Batch sessions.
        Batch,
    }
}


crate::enums::wire_enum! {
    /// The coarse state `GET /sessions` filters on.
    pub enum CommonSessionStatus {
        /// Open or being processed.
        InProgress,
        /// Processed (some invoices may still have failed).
        Succeeded,
        /// Failed at session level.
        Failed,
        /// Cancelled.
        Cancelled,
    }
}

/// One entry of `GET /sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsQueryResponseItem {
    /// The session's reference number.
    pub reference_number: String,
    /// Its status.
    pub status: StatusInfo,
    /// When it was opened.
    #[serde(with = "crate::datetime")]
    pub date_created: DateTime<Utc>,
    /// When it last changed.
    #[serde(with = "crate::datetime")]
    pub date_updated: DateTime<Utc>,
    /// When an open session closes by itself.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub valid_until: Option<DateTime<Utc>>,
    /// Invoices received.
    pub total_invoice_count: i32,
    /// Invoices that got a KSeF number.
    pub successful_invoice_count: i32,
    /// Invoices that failed.
    pub failed_invoice_count: i32,
}

/// `GET /sessions` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsQueryResponse {
    /// Pass back in `x-continuation-token` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// This page's sessions, newest first.
    pub sessions: Vec<SessionsQueryResponseItem>,
}

/// One part of a batch package as declared at open: its ordinal, encrypted size and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFilePartInfo {
    /// Position, from 1.
    pub ordinal_number: i32,
    /// Encrypted part size in bytes.
    pub file_size: i64,
    /// Base64 SHA-256 of the encrypted part.
    pub file_hash: String,
}

/// The whole batch package as declared at open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFileInfo {
    /// Size of the whole archive before encryption.
    pub file_size: i64,
    /// Base64 SHA-256 of the whole archive before encryption.
    pub file_hash: String,
    /// Archive format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_type: Option<CompressionType>,
    /// The encrypted parts.
    pub file_parts: Vec<BatchFilePartInfo>,
}

/// `POST /sessions/batch` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenBatchSessionRequest {
    /// The form every invoice of the package follows.
    pub form_code: FormCode,
    /// The package.
    pub batch_file: BatchFileInfo,
    /// The wrapped key and IV.
    pub encryption: EncryptionInfo,
    /// Whether the invoices were issued offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_mode: Option<bool>,
}

/// Where and how to upload one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartUploadRequest {
    /// Which part.
    pub ordinal_number: i32,
    /// HTTP method, `PUT`.
    pub method: String,
    /// Pre-signed URL; send no Authorization header.
    pub url: String,
    /// Headers to send with the part.
    pub headers: BTreeMap<String, String>,
}

/// `POST /sessions/batch` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenBatchSessionResponse {
    /// The session's reference number (`…-SB-…`).
    pub reference_number: String,
    /// One upload instruction per declared part.
    pub part_upload_requests: Vec<PartUploadRequest>,
}
