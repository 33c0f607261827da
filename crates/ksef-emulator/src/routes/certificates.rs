//! KSeF certificates (`/v2/certificates/*`): limits, the data a request must carry, enrollment of a PKCS#10
//! request (issued at once by the emulator's authority), its status, retrieval, revocation and queries. A
//! certificate belongs to the subject that logged in (its NIP, PESEL or fingerprint), in any context.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use ksef_core::crypto::{b64, b64_decode, random_array};
use ksef_core::ids::{ReferenceKind, ReferenceNumber};
use ksef_wire::codes::{ExceptionCode, enrollment};
use ksef_wire::credentials::{
    CertificateEnrollmentDataResponse, CertificateEnrollmentStatusResponse, CertificateLimit, CertificateLimitsResponse,
    CertificateListItem, CertificateStatus, EnrollCertificateRequest, EnrollCertificateResponse, KsefCertificateType,
    QueryCertificatesRequest, QueryCertificatesResponse, RetrieveCertificatesListItem, RetrieveCertificatesRequest,
    RetrieveCertificatesResponse, RevokeCertificateRequest, SubjectIdentifier, SubjectIdentifierType,
};
use ksef_xades::algorithms::PublicKeyKind;
use ksef_xades::{Certificate, KeyUsage, oid, x509};

use crate::error::EmuError;
use crate::extract::{Caller, KsefJson, KsefPath, QueryPairs, reference};
use crate::routes::tokens::caller_subject;
use crate::state::AppState;
use crate::store::{CertificateRow, SubjectKey};

/// How long a KSeF certificate is valid.
const VALIDITY: Duration = Duration::days(2 * 365);

/// The enrollment and certificate limits of a subject (KSeF: 300 and 100 for a NIP, 12 and 6 otherwise),
/// unless TEST's `/testdata/limits/subject/certificate` changed them.
pub(crate) async fn limits_of(state: &AppState, subject: &SubjectKey) -> Result<(i64, i64), EmuError> {
    let defaults = if subject.0 == "Nip" { (300, 100) } else { (12, 6) };
    let Some(body) = state.db.test_limits("subject-certificate", &subject.1).await? else { return Ok(defaults) };
    let set: ksef_wire::testdata::SubjectLimits = serde_json::from_str(&body).map_err(anyhow::Error::from)?;
    Ok((
        set.enrollment.and_then(|e| e.max_enrollments).map_or(defaults.0, i64::from),
        set.certificate.and_then(|c| c.max_certificates).map_or(defaults.1, i64::from),
    ))
}

async fn subject(state: &AppState, caller: &Caller) -> Result<SubjectKey, EmuError> {
    caller_subject(state, caller).await?.ok_or_else(|| EmuError::validation(["Nie można ustalić podmiotu uwierzytelnionego.".to_owned()]))
}

/// The certificate the caller logged in with, when it logged in with one.
async fn login_certificate(state: &AppState, caller: &Caller) -> Result<Option<Certificate>, EmuError> {
    let op = state.db.auth_operation(&caller.auth_reference).await?;
    Ok(op.and_then(|o| o.certificate).and_then(|der| Certificate::from_der(&der).ok()))
}

/// `GET /v2/certificates/limits`.
pub(crate) async fn limits(State(state): State<AppState>, caller: Caller) -> Result<Json<CertificateLimitsResponse>, EmuError> {
    let subject = subject(&state, &caller).await?;
    let (max_enrollments, max_certificates) = limits_of(&state, &subject).await?;
    let (enrollments, active) = state.db.certificate_counts(&subject, state.now()).await?;
    let remaining = |limit: i64, used: i64| i32::try_from((limit - used).max(0)).unwrap_or(i32::MAX);
    Ok(Json(CertificateLimitsResponse {
        can_request: enrollments < max_enrollments && active < max_certificates,
        enrollment: CertificateLimit { remaining: remaining(max_enrollments, enrollments), limit: max_enrollments as i32 },
        certificate: CertificateLimit { remaining: remaining(max_certificates, active), limit: max_certificates as i32 },
    }))
}

/// The subject attributes a request must carry: those of the login certificate that KSeF copies.
fn enrollment_attributes(certificate: &Certificate) -> Vec<(String, String)> {
    const COPIED: [&str; 8] = [
        oid::COMMON_NAME,
        oid::COUNTRY,
        oid::GIVEN_NAME,
        oid::SURNAME,
        oid::SERIAL_NUMBER,
        oid::UNIQUE_IDENTIFIER,
        oid::ORGANIZATION,
        oid::ORGANIZATION_IDENTIFIER,
    ];
    let mut attributes: Vec<(String, String)> =
        certificate.subject().iter().filter(|a| COPIED.contains(&a.oid.as_str())).map(|a| (a.oid.clone(), a.value.clone())).collect();
    attributes.sort();
    attributes
}

/// `GET /v2/certificates/enrollments/data`: only after a certificate login (25001 otherwise).
pub(crate) async fn enrollment_data(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CertificateEnrollmentDataResponse>, EmuError> {
    let certificate = login_certificate(&state, &caller).await?.ok_or_else(|| EmuError::code(ExceptionCode::EnrollmentDataUnavailable, []))?;
    let value = |o: &str| certificate.subject_value(o).map(str::to_owned);
    Ok(Json(CertificateEnrollmentDataResponse {
        common_name: value(oid::COMMON_NAME).unwrap_or_default(),
        country_name: value(oid::COUNTRY).unwrap_or_else(|| "PL".to_owned()),
        given_name: value(oid::GIVEN_NAME),
        surname: value(oid::SURNAME),
        serial_number: value(oid::SERIAL_NUMBER),
        unique_identifier: value(oid::UNIQUE_IDENTIFIER),
        organization_name: value(oid::ORGANIZATION),
        organization_identifier: value(oid::ORGANIZATION_IDENTIFIER),
    }))
}

/// `POST /v2/certificates/enrollments` → 202: checks the request and issues the certificate at once.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<EnrollCertificateRequest>,
) -> Result<(StatusCode, Json<EnrollCertificateResponse>), EmuError> {
    let login = login_certificate(&state, &caller).await?.ok_or_else(|| EmuError::code(ExceptionCode::EnrollmentUnavailable, []))?;
    let name_ok = (5..=100).contains(&req.certificate_name.chars().count())
        && req.certificate_name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '));
    if !name_ok {
        return Err(EmuError::validation([
            "certificateName musi mieć od 5 do 100 znaków: litery, cyfry, spacje, '_' i '-'.".to_owned(),
        ]));
    }
    let csr = b64_decode(&req.csr).map_err(|_| EmuError::code(ExceptionCode::InvalidCsr, ["Pole csr nie jest poprawnym Base64.".to_owned()]))?;
    let request = x509::read_certificate_request(&csr).map_err(|e| match e {
        x509::X509Error::Algorithm => EmuError::code(ExceptionCode::InvalidCsrAlgorithm, []),
        other => EmuError::code(ExceptionCode::InvalidCsr, [other.to_string()]),
    })?;
    if !matches!(request.key_kind, PublicKeyKind::Rsa(2048) | PublicKeyKind::EcP256) {
        return Err(EmuError::code(ExceptionCode::InvalidKey, ["Dozwolone są klucze RSA 2048 i EC P-256.".to_owned()]));
    }
    let mut requested: Vec<(String, String)> = request.subject.iter().map(|a| (a.oid.clone(), a.value.clone())).collect();
    requested.sort();
    if requested != enrollment_attributes(&login) {
        return Err(EmuError::code(
            ExceptionCode::CsrSubjectMismatch,
            ["Podmiot wniosku musi zawierać dokładnie dane z /certificates/enrollments/data.".to_owned()],
        ));
    }
    let subject = subject(&state, &caller).await?;
    let (max_enrollments, max_certificates) = limits_of(&state, &subject).await?;
    let (enrollments, active) = state.db.certificate_counts(&subject, state.now()).await?;
    if enrollments >= max_enrollments {
        return Err(EmuError::code(ExceptionCode::EnrollmentLimit, []));
    }
    if active >= max_certificates {
        return Err(EmuError::code(ExceptionCode::CertificateLimit, []));
    }
    let now = state.now();
    let valid_from = req.valid_from.unwrap_or(now);
    let mut serial = random_array::<8>();
    serial[0] &= 0x7F;
    serial[0] |= 0x10;
    let usage = match req.certificate_type {
        KsefCertificateType::Authentication => KeyUsage { digital_signature: true, ..KeyUsage::default() },
        KsefCertificateType::Offline => KeyUsage { non_repudiation: true, ..KeyUsage::default() },
    };
    let issue = x509::Issue {
        subject: &request.subject_der,
        spki: &request.spki,
        serial: &serial,
        not_before: valid_from,
        not_after: valid_from + VALIDITY,
        key_usage: usage,
        ca: false,
    };
    let authority = &state.keys.authority;
    let der = x509::issue(&issue, Some(&authority.certificate), &authority.key).map_err(anyhow::Error::from)?;
    let issued = Certificate::from_der(&der).map_err(anyhow::Error::from)?;
    let row = CertificateRow {
        serial: issued.serial_hex(),
        identity: subject.clone(),
        name: req.certificate_name,
        certificate_type: req.certificate_type,
        common_name: issued.subject_value(oid::COMMON_NAME).unwrap_or_default().to_owned(),
        der,
        status: CertificateStatus::Active,
        valid_from,
        valid_to: valid_from + VALIDITY,
        requested_at: now,
        last_use: None,
    };
    let reference = ReferenceNumber::generate(ReferenceKind::Enrollment, now.date_naive());
    state.db.insert_enrollment(reference.as_str(), &subject, &enrollment::ISSUED.into(), Some(&row), now).await?;
    tracing::info!(serial = %row.serial, kind = %row.certificate_type, "KSeF certificate issued");
    Ok((StatusCode::ACCEPTED, Json(EnrollCertificateResponse { reference_number: reference.to_string(), timestamp: now })))
}

/// `GET /v2/certificates/enrollments/{referenceNumber}`.
pub(crate) async fn enrollment_status(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(enrollment_ref): KsefPath<String>,
) -> Result<Json<CertificateEnrollmentStatusResponse>, EmuError> {
    reference(&enrollment_ref)?;
    let subject = subject(&state, &caller).await?;
    let row = state
        .db
        .enrollment(&enrollment_ref)
        .await?
        .filter(|e| e.identity == subject)
        .ok_or_else(|| EmuError::code(ExceptionCode::EnrollmentNotFound, []))?;
    Ok(Json(CertificateEnrollmentStatusResponse {
        request_date: row.requested_at,
        status: row.status.to_wire(),
        certificate_serial_number: row.serial,
    }))
}

/// `POST /v2/certificates/retrieve`: the subject's certificates with these serials (others are skipped).
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<RetrieveCertificatesRequest>,
) -> Result<Json<RetrieveCertificatesResponse>, EmuError> {
    if !(1..=10).contains(&req.certificate_serial_numbers.len()) {
        return Err(EmuError::validation(["certificateSerialNumbers musi zawierać od 1 do 10 numerów.".to_owned()]));
    }
    let subject = subject(&state, &caller).await?;
    let mut certificates = Vec::new();
    for serial in &req.certificate_serial_numbers {
        if let Some(row) = state.db.certificate(&serial.to_ascii_uppercase()).await?.filter(|c| c.identity == subject) {
            certificates.push(RetrieveCertificatesListItem {
                certificate: b64(&row.der),
                certificate_name: row.name,
                certificate_serial_number: row.serial,
                certificate_type: row.certificate_type,
            });
        }
    }
    Ok(Json(RetrieveCertificatesResponse { certificates }))
}

/// `POST /v2/certificates/{serial}/revoke` → 204; the certificate no longer logs in (460).
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(serial): KsefPath<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, EmuError> {
    let request: RevokeCertificateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RevokeCertificateRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| EmuError::validation([format!("Nieprawidłowa treść JSON: {e}")]))?
    };
    let subject = subject(&state, &caller).await?;
    let serial = serial.to_ascii_uppercase();
    let row = state.db.certificate(&serial).await?.filter(|c| c.identity == subject).ok_or_else(|| EmuError::code(ExceptionCode::CertificateNotFound, []))?;
    let reason = request.revocation_reason.map_or("Unspecified", |r| r.as_str());
    if row.valid_to < state.now() || !state.db.revoke_certificate(&serial, reason).await? {
        return Err(EmuError::code(ExceptionCode::CertificateNotRevocable, []));
    }
    tracing::info!(serial = %serial, reason, "KSeF certificate revoked");
    Ok(StatusCode::NO_CONTENT)
}

fn status_of(row: &CertificateRow, now: chrono::DateTime<Utc>) -> CertificateStatus {
    match row.status {
        CertificateStatus::Active if row.valid_to < now => CertificateStatus::Expired,
        stored => stored,
    }
}

/// `POST /v2/certificates/query?pageSize&pageOffset`: the subject's certificates, newest request first.
pub(crate) async fn query(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(params): QueryPairs,
    body: axum::body::Bytes,
) -> Result<Json<QueryCertificatesResponse>, EmuError> {
    let filter: QueryCertificatesRequest = if body.iter().all(u8::is_ascii_whitespace) {
        QueryCertificatesRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| EmuError::validation([format!("Nieprawidłowa treść JSON: {e}")]))?
    };
    let size = params.page_size(10, 10..=50)?;
    let offset = params.page_offset()?;
    let subject = subject(&state, &caller).await?;
    let now = state.now();
    let matching: Vec<CertificateListItem> = state
        .db
        .subject_certificates(&subject)
        .await?
        .into_iter()
        .filter(|c| filter.certificate_serial_number.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(&c.serial)))
        .filter(|c| filter.name.as_deref().is_none_or(|n| c.name.to_lowercase().contains(&n.to_lowercase())))
        .filter(|c| filter.kind.is_none_or(|k| k == c.certificate_type))
        .filter(|c| filter.status.is_none_or(|s| s == status_of(c, now)))
        .filter(|c| filter.expires_after.is_none_or(|t| c.valid_to > t))
        .map(|c| CertificateListItem {
            status: status_of(&c, now),
            certificate_serial_number: c.serial,
            name: c.name,
            kind: c.certificate_type,
            common_name: c.common_name,
            subject_identifier: SubjectIdentifier {
                kind: SubjectIdentifierType::parse(&c.identity.0).unwrap_or(SubjectIdentifierType::Nip),
                value: c.identity.1,
            },
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            last_use_date: c.last_use,
            request_date: c.requested_at,
        })
        .collect();
    let start = usize::try_from(offset * size).unwrap_or(usize::MAX).min(matching.len());
    let end = (start + size as usize).min(matching.len());
    Ok(Json(QueryCertificatesResponse { has_more: end < matching.len(), certificates: matching[start..end].to_vec() }))
}
