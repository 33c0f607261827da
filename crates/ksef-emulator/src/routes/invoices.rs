//! Invoice retrieval: download by KSeF number, metadata queries, and starting and polling exports.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ksef_core::ids::{KsefNumber, ReferenceKind, ReferenceNumber};
use ksef_wire::codes::{ExceptionCode, export};
use ksef_wire::TokenPermission as P;
use ksef_wire::invoices::{
    ExportInvoicesResponse, InvoiceExportRequest, InvoiceExportStatusResponse, InvoicePackage, InvoiceQueryFilters,
    QueryInvoicesMetadataResponse,
};
use serde::Deserialize;

use crate::error::EmuError;
use crate::extract::{Caller, KsefJson, KsefPath, KsefQuery, reference};
use crate::query::{RangeError, matches, resolve};
use crate::limits::{EXPORT_RETENTION, MAX_EXPORT_INVOICES, MAX_RUNNING_EXPORTS, PART_URL_LIFETIME};
use crate::routes::xml_with_hash;
use crate::session::decode_encryption;
use crate::state::AppState;
use crate::store::QueryOrder;

/// `GET /v2/invoices/ksef/{ksefNumber}`: the original bytes.
pub(crate) async fn download(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(ksef_number): KsefPath<String>,
) -> Result<Response, EmuError> {
    caller.require_any(&[P::InvoiceRead])?;
    KsefNumber::parse(&ksef_number).map_err(|e| EmuError::validation([e.to_string()]))?;
    let context_nip = caller.context.value.split('-').next().unwrap_or(&caller.context.value).to_owned();
    let found = match state.db.invoice_content_for(&ksef_number, &caller.context.value).await? {
        Some(found) => Some(found),
        None if context_nip != caller.context.value => state.db.invoice_content_for(&ksef_number, &context_nip).await?,
        None => None,
    };
    let (content, hash) = found
        .ok_or_else(|| EmuError::code(ExceptionCode::InvoiceNotFound, [format!("Faktura o numerze KSeF {ksef_number} nie została znaleziona.")]))?;
    Ok(xml_with_hash(content, hash))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetadataParams {
    sort_order: Option<String>,
    page_offset: Option<i64>,
    page_size: Option<i64>,
}

/// `POST /v2/invoices/query/metadata`.
pub(crate) async fn query_metadata(
    State(state): State<AppState>,
    caller: Caller,
    KsefQuery(params): KsefQuery<MetadataParams>,
    KsefJson(filters): KsefJson<InvoiceQueryFilters>,
) -> Result<Json<QueryInvoicesMetadataResponse>, EmuError> {
    caller.require_any(&[P::InvoiceRead])?;
    let order = match params.sort_order.as_deref() {
        None | Some("Asc") => QueryOrder::Asc,
        Some("Desc") => QueryOrder::Desc,
        Some(other) => return Err(EmuError::validation([format!("sortOrder '{other}' nie jest Asc ani Desc.")])),
    };
    // pageOffset is a page index (0 = first page), as the API describes it.
    let page = params.page_offset.unwrap_or(0);
    let size = params.page_size.unwrap_or(10);
    if !(0..=i64::from(i32::MAX)).contains(&page) || !(10..=250).contains(&size) {
        return Err(EmuError::validation(["pageOffset musi być z zakresu 0-2147483647, a pageSize z zakresu 10-250.".to_owned()]));
    }
    let q = resolve(&state, &caller.context.value, filters, order).await?.map_err(EmuError::from)?;
    let start = usize::try_from(page * size).unwrap_or(usize::MAX);
    let limit = start.saturating_add(size as usize).min(MAX_EXPORT_INVOICES);
    let mut found = Vec::new();
    state
        .db
        .scan_metadata(&q.store, |m| {
            if matches(&q.filters, &m) {
                found.push(m);
            }
            found.len() <= limit
        })
        .await?;
    let has_more = found.len() > limit;
    let is_truncated = has_more && limit == MAX_EXPORT_INVOICES;
    let invoices = found.into_iter().take(limit).skip(start).collect();
    Ok(Json(QueryInvoicesMetadataResponse { has_more, is_truncated, permanent_storage_hwm_date: q.hwm, invoices }))
}

/// `POST /v2/invoices/exports` → 201; the package is built in the background.
pub(crate) async fn start_export(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<InvoiceExportRequest>,
) -> Result<impl IntoResponse, EmuError> {
    caller.require_any(&[P::InvoiceRead])?;
    decode_encryption(&state, &req.encryption)?;
    // A malformed range is refused now; one past the high-water mark fails the export (status 420) later.
    if let Err(RangeError::Invalid(detail)) = resolve(&state, &caller.context.value, req.filters.clone(), QueryOrder::Asc).await? {
        return Err(EmuError::validation([detail]));
    }
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::Export, now.date_naive());
    let request = serde_json::to_string(&req).map_err(anyhow::Error::from)?;
    let context = (caller.context.kind.as_str(), caller.context.value.as_str());
    if !state.db.insert_export(reference.as_str(), context, &request, now, MAX_RUNNING_EXPORTS).await? {
        return Err(EmuError::code(
            ExceptionCode::ExportLimit,
            [format!(
                "Dla uwierzytelnionego podmiotu w bieżącym kontekście osiągnięto maksymalny limit {MAX_RUNNING_EXPORTS} równoczesnych eksportów faktur. Spróbuj ponownie później."
            )],
        ));
    }
    state.exports_waiting.notify_one();
    Ok((StatusCode::CREATED, Json(ExportInvoicesResponse { reference_number: reference.to_string() })))
}

/// `GET /v2/invoices/exports/{ref}`.
pub(crate) async fn export_status(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(export_ref): KsefPath<String>,
) -> Result<Json<InvoiceExportStatusResponse>, EmuError> {
    caller.require_any(&[P::InvoiceRead])?;
    reference(&export_ref)?;
    let export = state.db.export(&export_ref, &caller.context.value).await?.ok_or_else(|| EmuError::code(ExceptionCode::QueryResultNotFound, []))?;
    let now = state.now();
    if now - export.created_at > EXPORT_RETENTION {
        return Err(EmuError::Gone("Operacja wygasła i nie jest już dostępna.".to_owned()));
    }
    let expired = export.expires_at.is_some_and(|t| now > t);
    if expired {
        return Ok(Json(InvoiceExportStatusResponse {
            status: ksef_wire::StatusInfo { code: export::EXPIRED.code, description: export::EXPIRED.description.into(), details: None },
            completed_date: export.completed_at,
            package_expiration_date: export.expires_at,
            package: None,
        }));
    }
    let package = match export.package.as_deref() {
        Some(json) => {
            let mut package: InvoicePackage = serde_json::from_str(json).map_err(anyhow::Error::from)?;
            let url_expiry = (now + PART_URL_LIFETIME).min(export.expires_at.unwrap_or(now));
            for part in &mut package.parts {
                let path = format!("/storage/exports/{}/{}", export.reference_number, part.part_name);
                part.url = state.presigned("GET", &path, url_expiry);
                part.expiration_date = url_expiry;
            }
            Some(package)
        }
        None => None,
    };
    Ok(Json(InvoiceExportStatusResponse {
        status: export.status.to_wire(),
        completed_date: export.completed_at,
        package_expiration_date: export.expires_at,
        package,
    }))
}
