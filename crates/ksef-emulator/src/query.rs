//! Invoice queries shared by `POST /invoices/query/metadata` and exports: who the caller is on the
//! invoice, the date range rules, the permanent-storage high-water mark and the exact-match filters.

use chrono::{DateTime, Months, Utc};
use ksef_wire::codes::ExceptionCode;
use ksef_wire::invoices::{
    AmountType, InvoiceMetadata, InvoiceQueryDateType, InvoiceQueryFilters, InvoiceQueryFormType, InvoiceQuerySubjectType,
};


use crate::error::EmuError;
use crate::state::AppState;
use crate::store::{MetadataQuery, PartyRole, QueryOrder};

/// A query checked and resolved against the current high-water mark.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedQuery {
    pub(crate) store: MetadataQuery,
    pub(crate) filters: InvoiceQueryFilters,
    /// Set for `PermanentStorage` queries.
    pub(crate) hwm: Option<DateTime<Utc>>,
}

/// Why a query's range cannot be served.
#[derive(Debug)]
pub(crate) enum RangeError {
    /// Malformed: 21405.
    Invalid(String),
    /// `from` lies after the high-water mark while restricting to it: 21183 (status 420 for exports).
    AfterHwm,
}

impl From<RangeError> for EmuError {
    fn from(err: RangeError) -> Self {
        match err {
            RangeError::Invalid(detail) => EmuError::validation([detail]),
            RangeError::AfterHwm => EmuError::code(
                ExceptionCode::RangeBeyondData,
                ["Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym restrictToPermanentStorageHwmDate.".to_owned()],
            ),
        }
    }
}

/// Everything stored before this instant is visible: the receipt time of the oldest invoice still in processing.
pub(crate) async fn high_water_mark(state: &AppState) -> Result<DateTime<Utc>, EmuError> {
    let now = state.now();
    Ok(state.db.earliest_pending_invoicing_date().await?.map_or(now, |t| t.min(now)))
}

/// Checks `filters` for the caller's context and resolves `to` and the high-water mark.
pub(crate) async fn resolve(
    state: &AppState,
    context_value: &str,
    filters: InvoiceQueryFilters,
    order: QueryOrder,
) -> Result<Result<ResolvedQuery, RangeError>, EmuError> {
    let range = &filters.date_range;
    let hwm = match range.date_type {
        InvoiceQueryDateType::PermanentStorage => Some(high_water_mark(state).await?),
        _ => None,
    };
    let mut to = range.to.unwrap_or_else(|| state.now());
    if range.restrict_to_permanent_storage_hwm_date == Some(true) {
        let Some(hwm) = hwm else {
            return Ok(Err(RangeError::Invalid(
                "restrictToPermanentStorageHwmDate wymaga dateType = PermanentStorage.".to_owned(),
            )));
        };
        if range.from > hwm {
            return Ok(Err(RangeError::AfterHwm));
        }
        to = to.min(hwm);
    }
    if range.from > to {
        return Ok(Err(RangeError::Invalid("dateRange.from jest późniejsze niż dateRange.to.".to_owned())));
    }
    if range.from.checked_add_months(Months::new(3)).is_some_and(|limit| to > limit) {
        return Ok(Err(RangeError::Invalid("Zakres dat nie może przekraczać 3 miesięcy.".to_owned())));
    }
    let role = match filters.subject_type {
        InvoiceQuerySubjectType::Subject1 => PartyRole::Subject1,
        InvoiceQuerySubjectType::Subject2 => PartyRole::Subject2,
        InvoiceQuerySubjectType::Subject3 => PartyRole::Subject3,
        InvoiceQuerySubjectType::SubjectAuthorized => PartyRole::SubjectAuthorized,
    };
    let identifier = context_value.split('-').next().unwrap_or(context_value).to_owned();
    let store = MetadataQuery { role, identifier, date_type: range.date_type, from: range.from, to, order };
    Ok(Ok(ResolvedQuery { store, filters, hwm }))
}

/// Whether `m` passes the filters the store does not apply.
pub(crate) fn matches(f: &InvoiceQueryFilters, m: &InvoiceMetadata) -> bool {
    if f.ksef_number.as_ref().is_some_and(|k| *k != m.ksef_number) {
        return false;
    }
    if f.invoice_number.as_ref().is_some_and(|n| *n != m.invoice_number) {
        return false;
    }
    if f.seller_nip.as_ref().is_some_and(|n| *n != m.seller.nip) {
        return false;
    }
    if let Some(b) = &f.buyer_identifier
        && (b.kind != m.buyer.identifier.kind || (b.value.is_some() && b.value != m.buyer.identifier.value))
    {
        return false;
    }
    if let Some(a) = &f.amount {
        let value = match a.kind {
            AmountType::Brutto => m.gross_amount,
            AmountType::Netto => m.net_amount,
            AmountType::Vat => m.vat_amount,
        };
        if a.from.is_some_and(|from| value < from) || a.to.is_some_and(|to| value > to) {
            return false;
        }
    }
    if f.currency_codes.as_ref().is_some_and(|c| !c.is_empty() && !c.contains(&m.currency)) {
        return false;
    }
    if f.invoicing_mode.is_some_and(|mode| mode != m.invoicing_mode) {
        return false;
    }
    if f.is_self_invoicing.is_some_and(|s| s != m.is_self_invoicing) {
        return false;
    }
    if f.form_type.is_some_and(|t| t != InvoiceQueryFormType::FA) {
        return false;
    }
    if f.invoice_types.as_ref().is_some_and(|t| !t.is_empty() && !t.contains(&m.invoice_type)) {
        return false;
    }
    if f.has_attachment.is_some_and(|a| a != m.has_attachment) {
        return false;
    }
    true
}

/// The date a query orders by, for truncation markers.
pub(crate) fn date_of(date_type: InvoiceQueryDateType, m: &InvoiceMetadata) -> DateTime<Utc> {
    match date_type {
        InvoiceQueryDateType::Issue => m.issue_date.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
        InvoiceQueryDateType::Invoicing => m.invoicing_date,
        InvoiceQueryDateType::PermanentStorage => m.permanent_storage_date,
    }
}
