//! Invoice searches (the seed's "Searching and downloading invoices"): each is one KSeF export over a range of
//! permanent-storage dates, restricted to KSeF's high-water mark so that consecutive windows miss nothing.
//!
//! Truncation: KSeF stops a package at 10,000 invoices. The status then says `isTruncated` and gives `nextFrom`
//! (KSeF's `lastPermanentStorageDate`); the next search starts there. Invoices stored at exactly that instant
//! appear in both packages, so a caller that keeps their KSeF numbers misses nothing and doubles nothing.

use std::pin::Pin;

use bytes::Bytes;
use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use futures_util::{Stream, StreamExt as _};
use ksef_client::wire::invoices::{
    InvoiceExportRequest, InvoiceExportStatusResponse, InvoiceQueryDateRange, InvoiceQueryDateType,
    InvoiceQueryFilters, InvoiceQuerySubjectType,
};
use ksef_client::wire::EncryptionInfo;
use ksef_client::wire::codes::export as export_status;
use ksef_store::{KeyMode, QueryRecord};

use super::sessions::CallerEncryption;
use super::{Context, OpError, Status, Tenant, micros, tenant_ksef};
use crate::errors::ErrorCode;

/// Whose invoices a search is for, by the tenant's role on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectType {
    /// Sales: the tenant is the seller.
    Subject1,
    /// Purchases (costs): the tenant is the buyer.
    Subject2,
    /// The tenant is a third party (Podmiot3).
    Subject3,
    /// The tenant is the authorized subject.
    SubjectAuthorized,
}

impl SubjectType {
    /// Reads `subject1`…`subjectAuthorized` (any case).
    pub fn parse(text: &str) -> Result<SubjectType, OpError> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "subject1" => SubjectType::Subject1,
            "subject2" => SubjectType::Subject2,
            "subject3" => SubjectType::Subject3,
            "subjectauthorized" => SubjectType::SubjectAuthorized,
            _ => {
                return Err(OpError::refused(
                    ErrorCode::QueryInvoiceParams,
                    format!("subjectType '{text}' is none of subject1, subject2, subject3, subjectAuthorized"),
                ));
            }
        })
    }

    fn wire(self) -> InvoiceQuerySubjectType {
        match self {
            SubjectType::Subject1 => InvoiceQuerySubjectType::Subject1,
            SubjectType::Subject2 => InvoiceQuerySubjectType::Subject2,
            SubjectType::Subject3 => InvoiceQuerySubjectType::Subject3,
            SubjectType::SubjectAuthorized => InvoiceQuerySubjectType::SubjectAuthorized,
        }
    }

    /// As our API writes it.
    pub fn api_name(self) -> &'static str {
        match self {
            SubjectType::Subject1 => "subject1",
            SubjectType::Subject2 => "subject2",
            SubjectType::Subject3 => "subject3",
            SubjectType::SubjectAuthorized => "subjectAuthorized",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            SubjectType::Subject1 => "Subject1",
            SubjectType::Subject2 => "Subject2",
            SubjectType::Subject3 => "Subject3",
            SubjectType::SubjectAuthorized => "SubjectAuthorized",
        }
    }
}

/// Which end of a range a bound is: a bare date means the start of that day for `From`, its end for `To`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The range's start.
    From,
    /// The range's end.
    To,
}

/// Reads a range bound: an RFC 3339 date-time, a date-time without offset (Europe/Warsaw time), or a date
/// (`YYYY-MM-DD`, Warsaw time: from its first microsecond for `From`, to its last for `To`).
pub fn parse_bound(text: &str, bound: Bound) -> Result<DateTime<Utc>, OpError> {
    let name = match bound {
        Bound::From => "range.from",
        Bound::To => "range.to",
    };
    let bad = || OpError::refused(ErrorCode::QueryInvoiceParams, format!("{name} '{text}' is neither a date (YYYY-MM-DD) nor an ISO 8601 date-time"));
    if let Some(t) = ksef_client::wire::datetime::parse(text) {
        return Ok(t);
    }
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).and_then(ksef_client::wire::datetime::warsaw_local_to_utc);
    match bound {
        Bound::From => start(day).ok_or_else(bad),
        Bound::To => day.succ_opt().and_then(start).map(|t| t - TimeDelta::microseconds(1)).ok_or_else(bad),
    }
}

/// A search to start.
#[derive(Debug, Clone)]
pub struct QueryStart {
    /// Whose invoices.
    pub subject: SubjectType,
    /// Permanent storage from (inclusive).
    pub from: DateTime<Utc>,
    /// Permanent storage to (inclusive); now when absent. At most three months after `from`.
    pub to: Option<DateTime<Utc>>,
    /// The caller's key for the package; without it the gateway holds the key and serves the plain ZIP.
    pub encryption: Option<CallerEncryption>,
}

/// Starts a search; the answer is its id (QueryId).
pub async fn start(ctx: &Context, tenant: &Tenant, q: QueryStart) -> Result<String, OpError> {
    let params = |detail: &str| OpError::refused(ErrorCode::QueryInvoiceParams, detail);
    let now = Utc::now();
    if q.from > now {
        return Err(params("range.from is in the future"));
    }
    let to = q.to.unwrap_or(now);
    if q.from > to {
        return Err(params("range.from is after range.to"));
    }
    if q.from.checked_add_months(Months::new(3)).is_some_and(|limit| to > limit) {
        return Err(params("a range spans at most three months (KSeF's limit); split it into several searches"));
    }
    let ksef = tenant_ksef(ctx, tenant).await?;
    let keys = ksef.keys().await.map_err(|e| OpError::ksef(ErrorCode::QueryInvoiceInit, &e))?;
    let id = uuid::Uuid::now_v7().to_string();
    let (encryption, key_mode, sealed_key, iv) = match q.encryption {
        Some(caller) => (super::sessions::caller_encryption(&caller, &keys)?, KeyMode::Caller, None, None),
        None => {
            let key = ksef_client::SymmetricKey::generate(&keys).map_err(|e| OpError::ksef(ErrorCode::QueryInvoiceInit, &e))?;
            (key.encryption, KeyMode::Gateway, Some(ctx.master_key.seal(&id, key.key.as_bytes())), Some(key.iv.as_bytes().to_vec()))
        }
    };
    let record = QueryRecord {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        ksef_reference: None,
        subject_type: q.subject.as_str().to_owned(),
        range_from: micros(q.from),
        range_to: q.to.map(micros),
        key_mode,
        sealed_key,
        iv,
        created_at: micros(Utc::now()),
    };
    ctx.store.insert_query(&record).await.map_err(OpError::store(ErrorCode::QueryInvoiceInit))?;
    let request = export_request(q.subject, q.from, q.to, encryption);
    match ksef.start_export(&request).await {
        Ok(export) => {
            ctx.store.set_query_reference(&id, &export.reference_number).await.map_err(OpError::store(ErrorCode::QueryInvoiceInit))?;
            tracing::info!(query.id = %id, export.reference = %export.reference_number, tenant = %tenant.id, "search started");
            Ok(id)
        }
        Err(err) => {
            let _ = ctx.store.delete_unstarted_query(&id).await;
            Err(OpError::ksef(ErrorCode::QueryInvoiceInit, &err))
        }
    }
}

/// KSeF's export request for a search: permanent-storage dates, restricted to KSeF's high-water mark so that
/// the next window, starting where this one ended, misses nothing.
pub(crate) fn export_request(subject: SubjectType, from: DateTime<Utc>, to: Option<DateTime<Utc>>, encryption: EncryptionInfo) -> InvoiceExportRequest {
    InvoiceExportRequest {
        encryption,
        only_metadata: None,
        filters: InvoiceQueryFilters::new(
            subject.wire(),
            InvoiceQueryDateRange {
                date_type: InvoiceQueryDateType::PermanentStorage,
                from,
                to,
                restrict_to_permanent_storage_hwm_date: Some(true),
            },
        ),
        compression_type: None,
    }
}

/// A search's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryStatus {
    /// KSeF's export status (100 in progress, 200 ready, 210 expired, 4xx/5xx failed).
    pub status: Status,
    /// Invoices in the package.
    pub number_of_invoices: i64,
    /// Bytes the parts deliver in all (encrypted sizes with the caller's key, the ZIP's size otherwise).
    pub package_size: i64,
    /// Whether KSeF's 10,000-invoice limit cut the package.
    pub is_truncated: bool,
    /// The parts to fetch with `ksefInvoiceQueryResult`.
    pub part_numbers: Vec<String>,
    /// When truncated, where the next search starts.
    pub next_from: Option<DateTime<Utc>>,
    /// Everything stored before this instant is visible: the next window of an incremental sync starts here.
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
}

async fn owned_query(ctx: &Context, tenant: &Tenant, id: &str, code: ErrorCode) -> Result<(QueryRecord, String), OpError> {
    let unknown = || OpError::Refused { code, status: 404, details: format!("no search {id}"), ksef: None };
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(unknown());
    }
    let record = ctx.store.query(id).await.map_err(OpError::store(code))?.ok_or_else(unknown)?;
    if record.tenant_id != tenant.id {
        return Err(unknown());
    }
    let reference = record.ksef_reference.clone().ok_or_else(unknown)?;
    Ok((record, reference))
}

async fn export_status(ctx: &Context, tenant: &Tenant, reference: &str, code: ErrorCode) -> Result<InvoiceExportStatusResponse, OpError> {
    let ksef = tenant_ksef(ctx, tenant).await?;
    ksef.export_status(reference).await.map_err(|e| match e {
        ksef_client::KsefError::Gone { .. } => {
            OpError::Refused { code, status: 410, details: "KSeF no longer keeps this search; start a new one".into(), ksef: None }
        }
        other => OpError::ksef(code, &other),
    })
}

/// The search's state, from KSeF.
pub async fn status(ctx: &Context, tenant: &Tenant, id: &str) -> Result<QueryStatus, OpError> {
    let (record, reference) = owned_query(ctx, tenant, id, ErrorCode::QueryInvoiceStatus).await?;
    let answer = export_status(ctx, tenant, &reference, ErrorCode::QueryInvoiceStatus).await?;
    let status = Status {
        code: i64::from(answer.status.code),
        description: answer.status.description.clone(),
        details: answer.status.details.clone().unwrap_or_default(),
        extensions: Default::default(),
    };
    let Some(package) = answer.package.filter(|_| export_status::READY.is(answer.status.code)) else {
        return Ok(QueryStatus {
            status,
            number_of_invoices: 0,
            package_size: 0,
            is_truncated: false,
            part_numbers: Vec::new(),
            next_from: None,
            permanent_storage_hwm_date: None,
        });
    };
    let gateway_holds_key = record.key_mode == KeyMode::Gateway;
    Ok(QueryStatus {
        status,
        number_of_invoices: package.invoice_count,
        package_size: if gateway_holds_key { package.size } else { package.parts.iter().map(|p| p.encrypted_part_size).sum() },
        is_truncated: package.is_truncated,
        // With the gateway's key, the parts are joined into one ZIP: one logical part.
        part_numbers: if gateway_holds_key { vec!["1".to_owned()] } else { package.parts.iter().map(|p| p.ordinal_number.to_string()).collect() },
        next_from: package.last_permanent_storage_date,
        permanent_storage_hwm_date: package.permanent_storage_hwm_date,
    })
}

/// Bytes of a result, as they arrive.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// One part of a search's result.
pub enum QueryPart {
    /// A package part encrypted under the caller's key, exactly as KSeF serves it.
    Encrypted {
        /// Its length.
        length: i64,
        /// Base64 SHA-256 of the encrypted bytes.
        hash: String,
        /// The bytes.
        body: ByteStream,
    },
    /// The whole package as one plain ZIP, decrypted by the gateway as it streams.
    Zip {
        /// Its length.
        length: i64,
        /// The bytes.
        body: ByteStream,
    },
}

impl std::fmt::Debug for QueryPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryPart::Encrypted { length, .. } => write!(f, "QueryPart::Encrypted({length} bytes)"),
            QueryPart::Zip { length, .. } => write!(f, "QueryPart::Zip({length} bytes)"),
        }
    }
}

fn result_error(status: u16, details: impl Into<String>) -> OpError {
    OpError::Refused { code: ErrorCode::QueryInvoiceResult, status, details: details.into(), ksef: None }
}

/// Part `part` of the search's result.
pub async fn result(ctx: &Context, tenant: &Tenant, id: &str, part: &str) -> Result<QueryPart, OpError> {
    let (record, reference) = owned_query(ctx, tenant, id, ErrorCode::QueryInvoiceResult).await?;
    let answer = export_status(ctx, tenant, &reference, ErrorCode::QueryInvoiceResult).await?;
    let package = match (answer.status.code, answer.package) {
        (code, Some(package)) if export_status::READY.is(code) => package,
        (code, _) if export_status::IN_PROGRESS.is(code) => {
            return Err(result_error(409, "KSeF is still preparing the package; ask ksefInvoiceQueryStatus"));
        }
        (code, _) if export_status::EXPIRED.is(code) => return Err(result_error(410, "the package has expired; start a new search")),
        (code, _) => return Err(result_error(409, format!("the search failed: status {code} {}", answer.status.description))),
    };
    let ksef = tenant_ksef(ctx, tenant).await?;
    if record.key_mode == KeyMode::Caller {
        let wanted = part.parse::<i32>().ok();
        let p = package
            .parts
            .iter()
            .find(|p| Some(p.ordinal_number) == wanted)
            .ok_or_else(|| result_error(404, format!("no part {part}; the parts are listed by ksefInvoiceQueryStatus")))?;
        let download = ksef.client().stream_presigned(&p.url).await.map_err(download_error)?;
        let body = download.body.map(|r| r.map_err(std::io::Error::other));
        return Ok(QueryPart::Encrypted { length: p.encrypted_part_size, hash: p.encrypted_part_hash.clone(), body: Box::pin(body) });
    }
    if part != "1" {
        return Err(result_error(404, format!("no part {part}: with the gateway's key the result is one ZIP, part 1")));
    }
    let (key, iv) = super::open_gateway_key(ctx, id, record.sealed_key.as_deref(), record.iv.as_deref())?;
    let length = package.size;
    let stream = ksef_client::decrypted_package(ksef.client().clone(), package.parts, key, iv).await.map_err(download_error)?;
    // A part failing its hash cuts the download short: the caller sees a broken transfer, never a wrong archive.
    let body = stream.map(|item| {
        item.map_err(|err| {
            tracing::error!(error = %err, "package download failed; the response is cut short");
            std::io::Error::other(err)
        })
    });
    Ok(QueryPart::Zip { length, body: Box::pin(body) })
}

/// A part's download refused: its pre-signed link expired or the package is gone (410), or KSeF failed.
fn download_error(err: ksef_client::KsefError) -> OpError {
    use ksef_client::KsefError as E;
    match err {
        E::Forbidden { .. } | E::Gone { .. } | E::Api { status: 404, .. } | E::UnexpectedStatus { status: 404, .. } => {
            result_error(410, "KSeF no longer serves this package (its links expired); start a new search")
        }
        other => OpError::ksef(ErrorCode::QueryInvoiceResult, &other),
    }
}
