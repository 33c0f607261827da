//! What a context and a subject may do (`GET /v2/limits/context`, `/v2/limits/subject`, `/v2/rate-limits`),
//! as KSeF publishes it unless TEST's test data changed it, and Peppol providers (`GET /v2/peppol/query`).

use axum::Json;
use axum::extract::State;
use ksef_core::limits::{MAX_INVOICE_BYTES, MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT, RateGroup};
use ksef_wire::testdata::{
    CertificateCountLimit, CollectiveIdentifierLimits, ContextLimits, EnrollmentLimit, QueryPeppolProvidersResponse, RateLimit,
    SessionLimits, SubjectLimits,
};
use serde_json::{Map, Value};

use crate::error::EmuError;
use crate::extract::{Caller, QueryPairs};
use crate::routes::certificates::limits_of;
use crate::routes::tokens::caller_subject;
use crate::state::AppState;

/// A context's limits: KSeF's defaults, or what `/testdata/limits/context/session` set.
pub(crate) async fn context_limits(state: &AppState, context_value: &str) -> Result<ContextLimits, EmuError> {
    if let Some(body) = state.db.test_limits("context-session", context_value).await? {
        return Ok(serde_json::from_str(&body).map_err(anyhow::Error::from)?);
    }
    let session = SessionLimits {
        max_invoice_size_in_mb: (MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT / 1_000_000) as i32,
        max_invoice_with_attachment_size_in_mb: (MAX_INVOICE_BYTES / 1_000_000) as i32,
        max_invoices: state.config.max_invoices_per_session,
    };
    Ok(ContextLimits { online_session: session, batch_session: session, collective_identifier: CollectiveIdentifierLimits { max_invoices: 500 } })
}

/// `GET /v2/limits/context`.
pub(crate) async fn context(State(state): State<AppState>, caller: Caller) -> Result<Json<ContextLimits>, EmuError> {
    Ok(Json(context_limits(&state, &caller.context.value).await?))
}

/// `GET /v2/limits/subject`.
pub(crate) async fn subject(State(state): State<AppState>, caller: Caller) -> Result<Json<SubjectLimits>, EmuError> {
    let Some(subject) = caller_subject(&state, &caller).await? else { return Ok(Json(SubjectLimits::default())) };
    let (enrollments, certificates) = limits_of(&state, &subject).await?;
    Ok(Json(SubjectLimits {
        enrollment: Some(EnrollmentLimit { max_enrollments: Some(enrollments as i32) }),
        certificate: Some(CertificateCountLimit { max_certificates: Some(certificates as i32) }),
    }))
}

/// `GET /v2/rate-limits`: every group's limits, with the context's TEST overrides.
pub(crate) async fn rate_limits(State(state): State<AppState>, caller: Caller) -> Result<Json<Map<String, Value>>, EmuError> {
    let overrides: Map<String, Value> = match state.db.test_limits("rate-limits", &caller.context.value).await? {
        Some(body) => serde_json::from_str(&body).map_err(anyhow::Error::from)?,
        None => Map::new(),
    };
    let mut out = Map::new();
    let published = |n: Option<u32>| n.and_then(|n| i32::try_from(n).ok()).unwrap_or(-1);
    for group in RateGroup::all() {
        let value = overrides.get(group.name()).cloned().unwrap_or_else(|| {
            let limit = group.published();
            let limit = RateLimit { per_second: published(limit.per_second), per_minute: published(limit.per_minute), per_hour: published(limit.per_hour) };
            serde_json::to_value(limit).expect("limits serialize")
        });
        out.insert(group.name().to_owned(), value);
    }
    Ok(Json(out))
}

/// `GET /v2/peppol/query`: the emulator knows no Peppol providers.
pub(crate) async fn peppol(QueryPairs(params): QueryPairs) -> Result<Json<QueryPeppolProvidersResponse>, EmuError> {
    params.page_size(10, 10..=100)?;
    params.page_offset()?;
    Ok(Json(QueryPeppolProvidersResponse { peppol_providers: Vec::new(), has_more: false }))
}
