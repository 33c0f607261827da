//! Invoice retrieval payloads: metadata queries, invoice metadata and asynchronous exports.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{CompressionType, EncryptionInfo, FormCode, InvoicingMode, StatusInfo};

crate::enums::wire_enum! {
    /// Whose invoices a query asks for, by the caller's role on them.
    pub enum InvoiceQuerySubjectType {
        /// The caller is the seller (Podmiot1).
        Subject1,
        /// The caller is the buyer (Podmiot2).
        Subject2,
        /// The caller is a third party (Podmiot3).
        Subject3,
        /// The caller is an authorized subject (PodmiotUpowazniony).
        SubjectAuthorized,
    }
}

crate::enums::wire_enum! {
    /// Which date a query's range applies to.
    pub enum InvoiceQueryDateType {
        /// The issue date, `P_1`.
        Issue,
        /// When KSeF received the invoice.
        Invoicing,
        /// When KSeF stored it for good.
        PermanentStorage,
    }
}

/// `{dateType, from, to?, restrictToPermanentStorageHwmDate?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQueryDateRange {
    /// The date the range applies to.
    pub date_type: InvoiceQueryDateType,
    /// Start, inclusive.
    #[serde(with = "crate::datetime")]
    pub from: DateTime<Utc>,
    /// End, inclusive; now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub to: Option<DateTime<Utc>>,
    /// Cap `to` at the permanent-storage high-water mark (PermanentStorage only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_to_permanent_storage_hwm_date: Option<bool>,
}

crate::enums::wire_enum! {
    /// Which amount a query's amount filter applies to.
    pub enum AmountType {
        /// Gross.
        Brutto,
        /// Net.
        Netto,
        /// VAT.
        Vat,
    }
}

/// `{type, from?, to?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQueryAmount {
    /// Which amount.
    #[serde(rename = "type")]
    pub kind: AmountType,
    /// Lower bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// Upper bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<f64>,
}

crate::enums::wire_enum! {
    /// How the buyer is identified.
    pub enum BuyerIdentifierType {
        /// A Polish NIP.
        Nip,
        /// An EU VAT number.
        VatUe,
        /// Another identifier.
        Other,
        /// No identifier.
        None,
    }
}

/// `{type, value?}` naming a buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerIdentifier {
    /// The identifier's kind.
    #[serde(rename = "type")]
    pub kind: BuyerIdentifierType,
    /// The identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

crate::enums::wire_enum! {
    /// Form family a query filters on.
    pub enum InvoiceQueryFormType {
        /// FA invoices.
        FA,
        /// PEF invoices.
        PEF,
        /// FA_RR invoices.
            FaRr = "FA_RR",
    }
}

crate::enums::wire_enum! {
    /// Kind of invoice, as KSeF's metadata names them.
    pub enum InvoiceType {
        /// VAT invoice.
        Vat,
        /// Advance invoice.
        Zal,
        /// Correction.
        Kor,
        /// Settlement invoice.
        Roz,
        /// Simplified invoice.
        Upr,
        /// Correction of an advance invoice.
        KorZal,
        /// Correction of a settlement invoice.
        KorRoz,
        /// PEF VAT invoice.
        VatPef,
        /// PEF VAT invoice (simplified).
        VatPefSp,
        /// PEF correction.
        KorPef,
        /// VAT RR invoice.
        VatRr,
        /// VAT RR correction.
        KorVatRr,
    }
}

impl InvoiceType {
    /// The metadata kind of an FA invoice's `RodzajFaktury`.
    pub fn from_rodzaj_faktury(rodzaj: &str) -> Option<InvoiceType> {
        Some(match rodzaj {
            "VAT" => InvoiceType::Vat,
            "ZAL" => InvoiceType::Zal,
            "KOR" => InvoiceType::Kor,
            "ROZ" => InvoiceType::Roz,
            "UPR" => InvoiceType::Upr,
            "KOR_ZAL" => InvoiceType::KorZal,
            "KOR_ROZ" => InvoiceType::KorRoz,
            _ => return None,
        })
    }
}

/// `POST /invoices/query/metadata` body, and an export's `filters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQueryFilters {
    /// The caller's role.
    pub subject_type: InvoiceQuerySubjectType,
    /// The date range, at most 3 months.
    pub date_range: InvoiceQueryDateRange,
    /// Exact KSeF number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ksef_number: Option<String>,
    /// Exact invoice number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// Amount range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<InvoiceQueryAmount>,
    /// Seller NIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_nip: Option<String>,
    /// Buyer identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_identifier: Option<BuyerIdentifier>,
    /// Currencies (ISO 4217).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_codes: Option<Vec<String>>,
    /// Online or offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoicing_mode: Option<InvoicingMode>,
    /// Self-invoicing only (or never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_self_invoicing: Option<bool>,
    /// Form family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_type: Option<InvoiceQueryFormType>,
    /// Invoice kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_types: Option<Vec<InvoiceType>>,
    /// With attachments only (or never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_attachment: Option<bool>,
}

impl InvoiceQueryFilters {
    /// Filters on `subject_type` and `date_range` only.
    pub fn new(subject_type: InvoiceQuerySubjectType, date_range: InvoiceQueryDateRange) -> InvoiceQueryFilters {
        InvoiceQueryFilters {
            subject_type,
            date_range,
            ksef_number: None,
            invoice_number: None,
            amount: None,
            seller_nip: None,
            buyer_identifier: None,
            currency_codes: None,
            invoicing_mode: None,
            is_self_invoicing: None,
            form_type: None,
            invoice_types: None,
            has_attachment: None,
        }
    }
}

/// `{nip, name?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMetadataSeller {
    /// Seller NIP.
    pub nip: String,
    /// Seller name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `{identifier, name?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMetadataBuyer {
    /// Buyer identifier.
    pub identifier: BuyerIdentifier,
    /// Buyer name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

crate::enums::wire_enum! {
    /// How a third party is identified.
    pub enum ThirdSubjectIdentifierType {
        /// A Polish NIP.
        Nip,
        /// An internal identifier.
        InternalId,
        /// An EU VAT number.
        VatUe,
        /// Another identifier.
        Other,
        /// No identifier.
        None,
    }
}

/// `{type, value?}` naming a third party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThirdSubjectIdentifier {
    /// The identifier's kind.
    #[serde(rename = "type")]
    pub kind: ThirdSubjectIdentifierType,
    /// The identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A third party (Podmiot3) of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMetadataThirdSubject {
    /// Identifier.
    pub identifier: ThirdSubjectIdentifier,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The FA role code (`Rola`), 0 when the invoice gives a free-text role.
    pub role: i32,
}

/// The authorized subject (PodmiotUpowazniony) of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMetadataAuthorizedSubject {
    /// NIP.
    pub nip: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// 1 enforcement authority, 2 court bailiff, 3 tax representative.
    pub role: i32,
}

/// One invoice's metadata, in query results and in an export's `_metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceMetadata {
    /// KSeF number.
    pub ksef_number: String,
    /// Invoice number, `P_2`.
    pub invoice_number: String,
    /// Issue date, `P_1`.
    pub issue_date: NaiveDate,
    /// When KSeF received it.
    #[serde(with = "crate::datetime")]
    pub invoicing_date: DateTime<Utc>,
    /// When the KSeF number was assigned.
    #[serde(with = "crate::datetime")]
    pub acquisition_date: DateTime<Utc>,
    /// When it was stored for good.
    #[serde(with = "crate::datetime")]
    pub permanent_storage_date: DateTime<Utc>,
    /// Seller.
    pub seller: InvoiceMetadataSeller,
    /// Buyer.
    pub buyer: InvoiceMetadataBuyer,
    /// Net amount.
    pub net_amount: f64,
    /// Gross amount.
    pub gross_amount: f64,
    /// VAT amount.
    pub vat_amount: f64,
    /// Currency code.
    pub currency: String,
    /// Online or offline.
    pub invoicing_mode: InvoicingMode,
    /// Kind.
    pub invoice_type: InvoiceType,
    /// Form.
    pub form_code: FormCode,
    /// Whether the buyer issued it (self-invoicing).
    pub is_self_invoicing: bool,
    /// Whether it carries an attachment.
    pub has_attachment: bool,
    /// Base64 SHA-256 of the invoice.
    pub invoice_hash: String,
    /// For a technical correction, the corrected invoice's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_of_corrected_invoice: Option<String>,
    /// Third parties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_subjects: Option<Vec<InvoiceMetadataThirdSubject>>,
    /// Authorized subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_subject: Option<InvoiceMetadataAuthorizedSubject>,
}

/// `POST /invoices/query/metadata` → 200.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryInvoicesMetadataResponse {
    /// Whether more results follow.
    pub has_more: bool,
    /// Whether the 10,000-record cap cut the results.
    pub is_truncated: bool,
    /// Everything stored before this instant is visible.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
    /// This page.
    pub invoices: Vec<InvoiceMetadata>,
}

/// The archive of `{ksefNumber}.xml` files plus `_metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageMetadataFile {
    /// Every invoice in the package.
    pub invoices: Vec<InvoiceMetadata>,
}

/// `POST /invoices/exports` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceExportRequest {
    /// The caller's key and IV for the package parts.
    pub encryption: EncryptionInfo,
    /// Only `_metadata.json`, no invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_metadata: Option<bool>,
    /// Which invoices.
    pub filters: InvoiceQueryFilters,
    /// Archive format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_type: Option<CompressionType>,
}

/// `POST /invoices/exports` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportInvoicesResponse {
    /// The export's reference number (`…-EH-…`).
    pub reference_number: String,
}

/// One part of an export package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePackagePart {
    /// Position, from 1.
    pub ordinal_number: i32,
    /// File name, e.g. `…-EH-…-001.zip.aes`.
    pub part_name: String,
    /// HTTP method, `GET`.
    pub method: String,
    /// Pre-signed URL; send no Authorization header.
    pub url: String,
    /// Plain part size.
    pub part_size: i64,
    /// Base64 SHA-256 of the plain part.
    pub part_hash: String,
    /// Encrypted part size.
    pub encrypted_part_size: i64,
    /// Base64 SHA-256 of the encrypted part.
    pub encrypted_part_hash: String,
    /// When the URL stops working.
    #[serde(with = "crate::datetime")]
    pub expiration_date: DateTime<Utc>,
}

/// A finished export's package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePackage {
    /// Invoices in the package (at most 10,000).
    pub invoice_count: i64,
    /// Archive size before encryption (sum of `partSize`).
    pub size: i64,
    /// The parts.
    pub parts: Vec<InvoicePackagePart>,
    /// Whether the 10,000-invoice cap cut the results.
    pub is_truncated: bool,
    /// The last issue date included, when truncated on `Issue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_issue_date: Option<NaiveDate>,
    /// The last invoicing date included, when truncated on `Invoicing`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub last_invoicing_date: Option<DateTime<Utc>>,
    /// The last permanent-storage date included, when truncated on `PermanentStorage`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub last_permanent_storage_date: Option<DateTime<Utc>>,
    /// The high-water mark, for `PermanentStorage` queries.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
    /// Archive format.
    pub compression_type: CompressionType,
}

/// `GET /invoices/exports/{ref}` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceExportStatusResponse {
    /// 100 in progress, 200 done, 210 expired, 4xx/5xx failures.
    pub status: StatusInfo,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub completed_date: Option<DateTime<Utc>>,
    /// When the package stops being downloadable.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub package_expiration_date: Option<DateTime<Utc>>,
    /// The package, when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<InvoicePackage>,
}
