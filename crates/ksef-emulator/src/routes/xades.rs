//! `POST /v2/auth/xades-signature`: logging in with a signed `AuthTokenRequest`. The signature, the challenge
//! and the signer's identity are checked at once (400 with KSeF's codes); whether the certificate is valid and
//! trusted and the signer may act in the context ends up in the operation's status, as on TEST (where
//! self-signed certificates are accepted unless `verifyCertificateChain=true`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use ksef_core::ids::{ReferenceKind, ReferenceNumber};
use ksef_wire::auth::{AuthenticationInitResponse, AuthenticationMethod};
use ksef_wire::codes::{ExceptionCode, auth};
use ksef_wire::credentials::{CertificateStatus, KsefCertificateType};
use ksef_wire::ContextIdentifierType;
use ksef_xades::{Certificate, SubjectIdentifierType, VerifyError};
use serde::Deserialize;

use crate::error::EmuError;
use crate::extract::KsefQuery;
use crate::routes::auth::{start_operation, use_challenge};
use crate::state::AppState;
use crate::store::{NewAuthOperation, StoredStatus, SubjectKey};

/// The query of `POST /auth/xades-signature`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct XadesQuery {
    /// `true` demands a trusted chain (the emulator's own authority); self-signed certificates then fail (460).
    verify_certificate_chain: Option<String>,
}

fn refused(err: VerifyError) -> EmuError {
    let (code, details) = match err {
        VerifyError::Encoding => (ExceptionCode::InvalidEncoding, vec![]),
        VerifyError::Unreadable(why) => (ExceptionCode::UnreadableContent, vec![why]),
        VerifyError::NoSignature => (ExceptionCode::NoSignature, vec![]),
        VerifyError::TooManySignatures => (ExceptionCode::TooManySignatures, vec![]),
        VerifyError::Document(why) => (ExceptionCode::InvalidDocument, vec![why]),
        VerifyError::Schema(findings) => (ExceptionCode::SchemaViolation, findings),
        VerifyError::Signature(why) => (ExceptionCode::InvalidSignature, vec![why]),
        VerifyError::Certificate(why) => (ExceptionCode::InvalidCertificate, vec![why]),
    };
    EmuError::code(code, details)
}

/// `POST /v2/auth/xades-signature` → 202.
pub(crate) async fn xades_signature(
    State(state): State<AppState>,
    KsefQuery(query): KsefQuery<XadesQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<AuthenticationInitResponse>), EmuError> {
    let verify_chain = match query.verify_certificate_chain.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(EmuError::validation([format!("verifyCertificateChain '{other}' nie jest wartością logiczną.")])),
    };
    // Verification parses and canonicalizes: CPU work, kept off the async workers.
    let verified = tokio::task::spawn_blocking(move || ksef_xades::verify(&body)).await.map_err(anyhow::Error::from)?.map_err(refused)?;
    let request = verified.request;
    let certificate = verified.certificate;
    use_challenge(&state, &request.challenge).await?;

    // The emulator's own certificates carry the identity recorded when they were issued.
    let issued = if certificate.issued_by(&state.keys.authority.certificate) {
        state.db.certificate(&certificate.serial_hex()).await?
    } else {
        None
    };
    if issued.as_ref().is_some_and(|c| c.certificate_type == KsefCertificateType::Offline) {
        return Err(EmuError::code(
            ExceptionCode::InvalidCertificate,
            ["Certyfikat KSeF typu Offline nie służy do uwierzytelniania.".to_owned()],
        ));
    }
    let identity: SubjectKey = match request.subject_identifier_type {
        SubjectIdentifierType::CertificateFingerprint => ("Fingerprint".to_owned(), certificate.fingerprint()),
        SubjectIdentifierType::CertificateSubject => match (&issued, certificate.subject_identity()) {
            (Some(row), _) => row.identity.clone(),
            (None, Some(identity)) => (identity.kind().to_owned(), identity.value().to_owned()),
            (None, None) => {
                let detail = if certificate.names_a_person() && certificate.subject_value(ksef_xades::oid::ORGANIZATION_IDENTIFIER).is_some() {
                    "Certyfikat wskazuje osobę (givenName/surname), więc identyfikuje ją serialNumber (PNOPL-, TINPL-), którego brak; \
                     organizationIdentifier (VATPL-) identyfikuje tylko pieczęć, bez imienia i nazwiska."
                } else {
                    "Certyfikat nie zawiera identyfikatora NIP (VATPL-, TINPL-) ani PESEL (PNOPL-) w podmiocie."
                };
                return Err(EmuError::code(ExceptionCode::SignatureAuthenticationConflict, [detail.to_owned()]));
            }
        },
    };
    let context = request.context.clone();
    if matches!(context.kind, ContextIdentifierType::NipVatUe | ContextIdentifierType::PeppolId) && identity.0 != "Fingerprint" {
        return Err(EmuError::code(
            ExceptionCode::SubjectIdentifierForContext,
            [format!("W kontekście {} uwierzytelnia się odciskiem certyfikatu (certificateFingerprint).", context.kind.as_str())],
        ));
    }

    let now = state.now();
    let mut permissions = Vec::new();
    let status = match certificate_problem(&state, &certificate, issued.as_ref(), verify_chain, now) {
        Some(detail) => StoredStatus::from(auth::BAD_CERTIFICATE).with_details(vec![detail.to_owned()]),
        None if state.db.context_blocked(&context.value).await? => StoredStatus::from(auth::BLOCKED).with_details(vec![crate::permissions::BLOCKED_DETAIL.to_owned()]),
        None if deceased(&state, &identity).await? => StoredStatus::from(auth::DECEASED)
            .with_details(vec!["Próba wykorzystania metod autoryzacyjnych osoby zmarłej".to_owned()]),
        None => {
            permissions = crate::permissions::in_context(&state, &identity, &context).await?;
            if permissions.is_empty() {
                StoredStatus::from(auth::NO_PERMISSIONS).with_details(vec![auth::NO_PERMISSIONS_DETAIL.to_owned()])
            } else {
                StoredStatus::from(auth::SUCCEEDED)
            }
        }
    };
    if auth::SUCCEEDED.is(status.code)
        && let Some(row) = &issued
    {
        state.db.touch_certificate(&row.serial, now).await?;
    }
    let method = match (&issued, certificate.names_a_person()) {
        (Some(_), _) => AuthenticationMethod::InternalCertificate,
        (None, true) => AuthenticationMethod::QualifiedSignature,
        (None, false) => AuthenticationMethod::QualifiedSeal,
    };
    tracing::info!(identity = %format!("{} {}", identity.0, identity.1), context = %context.value, status = status.code, "XAdES login");
    let operation = NewAuthOperation {
        reference_number: ReferenceNumber::generate(ReferenceKind::Authentication, now.date_naive()).to_string(),
        context_type: context.kind.as_str().to_owned(),
        context_value: context.value.clone(),
        token_reference: None,
        permissions,
        status,
        started_at: now,
        identity: Some(identity),
        method: method.as_str(),
        certificate: Some(certificate.der().to_vec()),
    };
    start_operation(&state, operation, &context).await
}

/// Why the certificate fails (status 460's detail), if it does.
fn certificate_problem(
    state: &AppState,
    certificate: &Certificate,
    issued: Option<&crate::store::CertificateRow>,
    verify_chain: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<&'static str> {
    if let Some(row) = issued {
        return match row.status {
            CertificateStatus::Revoked => Some("Certyfikat odwołany"),
            CertificateStatus::Blocked => Some("Certyfikat zawieszony"),
            _ if !(row.valid_from <= now && now <= row.valid_to) => Some("Nieważny certyfikat"),
            _ => None,
        };
    }
    if !certificate.valid_at(now) {
        return Some("Nieważny certyfikat");
    }
    // On TEST a self-signed certificate stands in for a qualified one, unless the chain is to be verified.
    if verify_chain && !certificate.issued_by(&state.keys.authority.certificate) {
        return Some("Niezaufany łańcuch certyfikatów");
    }
    None
}

async fn deceased(state: &AppState, identity: &SubjectKey) -> Result<bool, sqlx::Error> {
    if identity.0 != "Pesel" {
        return Ok(false);
    }
    Ok(state.db.test_persons_by_pesel(&identity.1).await?.iter().any(|p| p.is_deceased))
}
