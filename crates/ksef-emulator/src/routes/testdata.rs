//! TEST's self-service test data (`/v2/testdata/*`), so third-party clients' TEST scripts run unchanged:
//! subjects, persons linked to NIPs, permissions granted directly, attachment consent, blocked contexts, and
//! overrides of a context's or subject's limits. Like on TEST, most need no token.

use axum::extract::State;
use axum::http::StatusCode;
use ksef_wire::ContextIdentifierType;
use ksef_wire::codes::{ExceptionCode, permission};
use ksef_wire::credentials::SubjectIdentifierType;
use ksef_wire::testdata::{
    ContextLimits, SubjectLimits, TestDataAttachmentRevokeRequest, TestDataContextRequest, TestDataNipRequest, TestDataPermissionsGrantRequest,
    TestDataPermissionsRevokeRequest, TestDataPersonRequest, TestDataSubjectRemoveRequest, TestDataSubjectRequest,
};
use ksef_core::ids::{Nip, Pesel, ReferenceKind, ReferenceNumber};
use serde::Deserialize;

use crate::error::EmuError;
use crate::extract::{Caller, KsefJson, KsefPath};
use crate::routes::tokens::caller_subject;
use crate::state::AppState;
use crate::store::{PermissionRow, TestPerson};

/// A NIP by KSeF's pattern (TEST does not check the checksum of test data).
fn nip(text: &str) -> Result<String, EmuError> {
    Nip::parse(text).map(|n| n.to_string()).map_err(|e| EmuError::validation([e.to_string()]))
}

fn exists() -> EmuError {
    EmuError::code(ExceptionCode::TestDataExists, [])
}

/// `POST /v2/testdata/subject`.
pub(crate) async fn subject(State(state): State<AppState>, KsefJson(req): KsefJson<TestDataSubjectRequest>) -> Result<StatusCode, EmuError> {
    let subject = nip(&req.subject_nip)?;
    let subunits: Vec<(String, String)> =
        req.subunits.unwrap_or_default().into_iter().map(|s| Ok((nip(&s.subject_nip)?, s.description))).collect::<Result<_, EmuError>>()?;
    if !state.db.insert_test_subject(&subject, req.subject_type.as_str(), &req.description, &subunits, state.now()).await? {
        return Err(exists());
    }
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/subject/remove`.
pub(crate) async fn remove_subject(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<TestDataSubjectRemoveRequest>,
) -> Result<StatusCode, EmuError> {
    state.db.remove_test_subject(&nip(&req.subject_nip)?).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/person`: a PESEL linked to a NIP, who then logs in there as its owner.
pub(crate) async fn person(State(state): State<AppState>, KsefJson(req): KsefJson<TestDataPersonRequest>) -> Result<StatusCode, EmuError> {
    let pesel = Pesel::parse(&req.pesel).map_err(|_| EmuError::validation([format!("'{}' nie jest numerem PESEL.", req.pesel)]))?;
    let person = TestPerson { nip: nip(&req.nip)?, pesel: pesel.to_string(), is_bailiff: req.is_bailiff, is_deceased: req.is_deceased == Some(true) };
    if !state.db.insert_test_person(&person, &req.description, state.now()).await? {
        return Err(exists());
    }
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/person/remove`.
pub(crate) async fn remove_person(State(state): State<AppState>, KsefJson(req): KsefJson<TestDataNipRequest>) -> Result<StatusCode, EmuError> {
    state.db.remove_test_person(&nip(&req.nip)?).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/permissions`: permissions granted directly in a NIP context (as a paper ZAW-FA would).
pub(crate) async fn permissions(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<TestDataPermissionsGrantRequest>,
) -> Result<StatusCode, EmuError> {
    if req.context_identifier.kind != ContextIdentifierType::Nip {
        return Err(EmuError::validation(["contextIdentifier.type musi być Nip.".to_owned()]));
    }
    let context = nip(&req.context_identifier.value)?;
    let subject = authorized(req.authorized_identifier.kind, &req.authorized_identifier.value)?;
    let now = state.now();
    let rows: Vec<PermissionRow> = req
        .permissions
        .iter()
        .map(|p| PermissionRow {
            id: crate::routes::permissions::permission_id(),
            kind: "testdata".to_owned(),
            context_type: "Nip".to_owned(),
            context_value: context.clone(),
            subject: subject.clone(),
            permission: p.permission_type.as_str().to_owned(),
            can_delegate: false,
            target: None,
            description: p.description.clone(),
            author: None,
            created_at: now,
        })
        .collect();
    let operation = ReferenceNumber::generate(ReferenceKind::PermissionOperation, now.date_naive()).to_string();
    state.db.grant(&operation, &rows, &permission::DONE.into(), now).await?;
    Ok(StatusCode::OK)
}

fn authorized(kind: SubjectIdentifierType, value: &str) -> Result<(String, String), EmuError> {
    let valid = match kind {
        SubjectIdentifierType::Nip => value.len() == 10,
        SubjectIdentifierType::Pesel => value.len() == 11,
        SubjectIdentifierType::Fingerprint => (10..=64).contains(&value.len()),
    } && match kind {
        SubjectIdentifierType::Fingerprint => value.bytes().all(|b| b.is_ascii_hexdigit()),
        SubjectIdentifierType::Nip | SubjectIdentifierType::Pesel => value.bytes().all(|b| b.is_ascii_digit()),
    };
    if !valid {
        return Err(EmuError::validation([format!("'{value}' nie jest poprawnym identyfikatorem typu {}.", kind.as_str())]));
    }
    let value = if kind == SubjectIdentifierType::Fingerprint { value.to_ascii_uppercase() } else { value.to_owned() };
    Ok((kind.as_str().to_owned(), value))
}

/// `POST /v2/testdata/permissions/revoke`.
pub(crate) async fn revoke_permissions(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<TestDataPermissionsRevokeRequest>,
) -> Result<StatusCode, EmuError> {
    if req.context_identifier.kind != ContextIdentifierType::Nip {
        return Err(EmuError::validation(["contextIdentifier.type musi być Nip.".to_owned()]));
    }
    let context = nip(&req.context_identifier.value)?;
    let subject = authorized(req.authorized_identifier.kind, &req.authorized_identifier.value)?;
    state.db.revoke_test_permissions(&context, &subject).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/attachment`: the NIP may send invoices with attachments.
pub(crate) async fn attachment(State(state): State<AppState>, KsefJson(req): KsefJson<TestDataNipRequest>) -> Result<StatusCode, EmuError> {
    state.db.set_attachment_consent(&nip(&req.nip)?, true, None).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/attachment/revoke`.
pub(crate) async fn revoke_attachment(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<TestDataAttachmentRevokeRequest>,
) -> Result<StatusCode, EmuError> {
    let end = req.expected_end_date.unwrap_or_else(|| state.now().date_naive());
    state.db.set_attachment_consent(&nip(&req.nip)?, false, Some(end)).await?;
    Ok(StatusCode::OK)
}

async fn block(state: &AppState, req: TestDataContextRequest, blocked: bool) -> Result<StatusCode, EmuError> {
    let context = req.context_identifier.ok_or_else(|| EmuError::validation(["contextIdentifier jest wymagany.".to_owned()]))?;
    state.db.set_context_blocked((context.kind.as_str(), &context.value), blocked).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/context/block`: logins in the context then end 480.
pub(crate) async fn block_context(State(state): State<AppState>, KsefJson(req): KsefJson<TestDataContextRequest>) -> Result<StatusCode, EmuError> {
    block(&state, req, true).await
}

/// `POST /v2/testdata/context/unblock`.
pub(crate) async fn unblock_context(State(state): State<AppState>, KsefJson(req): KsefJson<TestDataContextRequest>) -> Result<StatusCode, EmuError> {
    block(&state, req, false).await
}

/// `POST /v2/testdata/limits/context/session`: the caller's context's session limits.
pub(crate) async fn set_context_limits(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(limits): KsefJson<ContextLimits>,
) -> Result<StatusCode, EmuError> {
    let body = serde_json::to_string(&limits).map_err(anyhow::Error::from)?;
    state.db.set_test_limits("context-session", &caller.context.value, Some(&body)).await?;
    Ok(StatusCode::OK)
}

/// `DELETE /v2/testdata/limits/context/session`.
pub(crate) async fn reset_context_limits(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, EmuError> {
    state.db.set_test_limits("context-session", &caller.context.value, None).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/limits/subject/certificate`: the caller's subject's certificate limits.
pub(crate) async fn set_subject_limits(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(limits): KsefJson<SubjectLimitsRequest>,
) -> Result<StatusCode, EmuError> {
    let subject = caller_subject(&state, &caller).await?.ok_or_else(|| EmuError::validation(["Nie można ustalić podmiotu.".to_owned()]))?;
    let body = serde_json::to_string(&SubjectLimits { enrollment: limits.enrollment, certificate: limits.certificate }).map_err(anyhow::Error::from)?;
    state.db.set_test_limits("subject-certificate", &subject.1, Some(&body)).await?;
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/limits/subject/certificate` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubjectLimitsRequest {
    #[serde(default)]
    enrollment: Option<ksef_wire::testdata::EnrollmentLimit>,
    #[serde(default)]
    certificate: Option<ksef_wire::testdata::CertificateCountLimit>,
}

/// `DELETE /v2/testdata/limits/subject/certificate`.
pub(crate) async fn reset_subject_limits(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, EmuError> {
    if let Some(subject) = caller_subject(&state, &caller).await? {
        state.db.set_test_limits("subject-certificate", &subject.1, None).await?;
    }
    Ok(StatusCode::OK)
}

/// `POST /v2/testdata/rate-limits`: the caller's context's API rate limits, by group.
pub(crate) async fn set_rate_limits(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(body): KsefJson<serde_json::Value>,
) -> Result<StatusCode, EmuError> {
    let limits = body.get("rateLimits").filter(|v| v.is_object()).ok_or_else(|| EmuError::validation(["rateLimits jest wymagane.".to_owned()]))?;
    state.db.set_test_limits("rate-limits", &caller.context.value, Some(&limits.to_string())).await?;
    if let Some(limiter) = &state.limiter {
        limiter.forget_overrides(&caller.context.value);
    }
    Ok(StatusCode::OK)
}

/// `DELETE /v2/testdata/rate-limits` and `POST /v2/testdata/rate-limits/production`: back to the defaults.
pub(crate) async fn reset_rate_limits(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, EmuError> {
    state.db.set_test_limits("rate-limits", &caller.context.value, None).await?;
    if let Some(limiter) = &state.limiter {
        limiter.forget_overrides(&caller.context.value);
    }
    Ok(StatusCode::OK)
}

/// `PUT /v2/testdata/certificates/{serial}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificateValidity {
    #[serde(with = "ksef_wire::datetime")]
    valid_to: chrono::DateTime<chrono::Utc>,
}

/// `PUT /v2/testdata/certificates/{serial}`: brings a certificate's expiry forward (to test expiry handling).
pub(crate) async fn certificate_validity(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(serial): KsefPath<String>,
    KsefJson(req): KsefJson<CertificateValidity>,
) -> Result<StatusCode, EmuError> {
    let serial = serial.to_ascii_uppercase();
    // Only the authenticated subject's own certificates.
    let subject = crate::routes::tokens::caller_subject(&state, &caller).await?;
    if state.db.certificate(&serial).await?.is_none_or(|c| Some(&c.identity) != subject.as_ref()) {
        return Err(EmuError::code(ExceptionCode::CertificateNotFound, []));
    }
    if !state.db.shorten_certificate(&serial, req.valid_to).await? {
        return Err(EmuError::validation(["Nowa data ważności nie może być późniejsza niż obecna.".to_owned()]));
    }
    Ok(StatusCode::OK)
}
