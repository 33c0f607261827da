//! Public keys and authentication: certificates, challenge, KSeF-token login, status, redeem, refresh,
//! and the emulator-only endpoint that issues KSeF tokens for test contexts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Duration;
use ksef_core::crypto::{b64, b64_decode, random_array, sha256_base64};
use ksef_core::ids::{Challenge, Nip, ReferenceKind, ReferenceNumber, split_ksef_token_plaintext};
use ksef_wire::auth::{
    AuthenticationChallengeResponse, AuthenticationInitResponse, AuthenticationMethod, AuthenticationMethodCategory,
    AuthenticationMethodInfo, AuthenticationOperationStatusResponse, AuthenticationTokenRefreshResponse,
    AuthenticationTokensResponse, InitTokenAuthenticationRequest,
};
use ksef_wire::codes::{ExceptionCode, auth};
use ksef_wire::{ContextIdentifier, ContextIdentifierType, PublicKeyCertificate, TokenInfo, TokenPermission};
use serde::{Deserialize, Serialize};

use crate::error::EmuError;
use crate::extract::{ClientIp, KsefJson, KsefPath, OperationCaller, RefreshCaller};
use crate::jwt::{Claims, TokenType};
use crate::keys::PublishedKey;
use crate::state::AppState;
use crate::store::{NewAuthOperation, StoredStatus};

/// How long a challenge may be answered.
const CHALLENGE_LIFETIME_MINUTES: i64 = 10;
/// How long the operation token lives (KSeF's sample: 45 minutes).
const OPERATION_TOKEN_MINUTES: i64 = 45;
/// How long an authentication operation's status is kept.
const AUTH_RETENTION_DAYS: i64 = 7;

fn certificate(key: &PublishedKey) -> PublicKeyCertificate {
    PublicKeyCertificate {
        certificate: b64(&key.cert_der),
        certificate_id: key.certificate_id.clone(),
        public_key_id: key.public_key_id.clone(),
        valid_from: key.valid_from,
        valid_to: key.valid_to,
        usage: key.usage.into_iter().collect(),
    }
}

/// `GET /v2/security/public-key-certificates`: one certificate per usage.
pub(crate) async fn public_key_certificates(State(state): State<AppState>) -> Json<Vec<PublicKeyCertificate>> {
    Json(vec![certificate(&state.keys.token_encryption), certificate(&state.keys.symmetric_key_encryption)])
}

/// `POST /v2/auth/challenge`.
pub(crate) async fn challenge(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
) -> Result<Json<AuthenticationChallengeResponse>, EmuError> {
    let now = state.now();
    let timestamp_ms = now.timestamp_millis();
    let timestamp = chrono::DateTime::from_timestamp_millis(timestamp_ms).expect("now is in range");
    let challenge = Challenge::generate(now.date_naive());
    state.db.insert_challenge(challenge.as_str(), timestamp_ms, &ip).await?;
    Ok(Json(AuthenticationChallengeResponse { challenge: challenge.to_string(), timestamp, timestamp_ms, client_ip: ip }))
}

fn validate_context(context: &ContextIdentifier) -> Result<(), EmuError> {
    let ok = match context.kind {
        ContextIdentifierType::Nip => Nip::parse(&context.value).is_ok(),
        ContextIdentifierType::InternalId => context
            .value
            .split_once('-')
            .is_some_and(|(nip, suffix)| Nip::parse(nip).is_ok() && suffix.len() == 5 && suffix.bytes().all(|b| b.is_ascii_digit())),
        ContextIdentifierType::NipVatUe => context.value.split_once('-').is_some_and(|(nip, _)| Nip::parse(nip).is_ok()),
        ContextIdentifierType::PeppolId => {
            let b = context.value.as_bytes();
            b.len() == 9 && b[0] == b'P' && b[1..3].iter().all(u8::is_ascii_uppercase) && b[3..].iter().all(u8::is_ascii_digit)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(EmuError::validation([format!(
            "Wartość '{}' nie jest poprawnym identyfikatorem typu {}.",
            context.value,
            context.kind.as_str()
        )]))
    }
}

fn unknown_key(id: &str) -> EmuError {
    EmuError::code(ExceptionCode::UnknownPublicKey, [format!("Klucz o identyfikatorze {id} nie jest wspierany.")])
}

/// `POST /v2/auth/ksef-token`: checks the challenge at once; the token's verdict goes into the status.
pub(crate) async fn ksef_token(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<InitTokenAuthenticationRequest>,
) -> Result<impl IntoResponse, EmuError> {
    let now = state.now();
    Challenge::parse(&req.challenge).map_err(|e| EmuError::validation([e.to_string()]))?;
    validate_context(&req.context_identifier)?;
    let key = &state.keys.token_encryption;
    if let Some(id) = req.public_key_id.as_deref().filter(|id| *id != key.public_key_id) {
        return Err(unknown_key(id));
    }
    let encrypted = b64_decode(&req.encrypted_token)
        .map_err(|_| EmuError::validation(["Pole encryptedToken nie jest poprawnym Base64.".to_owned()]))?;
    let timestamp_ms = state.db.use_challenge(&req.challenge).await?.ok_or_else(|| EmuError::code(ExceptionCode::InvalidChallenge, []))?;
    if now.timestamp_millis() - timestamp_ms > CHALLENGE_LIFETIME_MINUTES * 60_000 {
        return Err(EmuError::code(ExceptionCode::InvalidChallenge, ["Wyzwanie autoryzacyjne wygasło.".to_owned()]));
    }

    let verdict = check_token(&state, &req.context_identifier, &encrypted, timestamp_ms).await?;
    let reference = ReferenceNumber::generate(ReferenceKind::Authentication, now.date_naive());
    let (status, token_reference, permissions) = match verdict {
        Ok(token) => (StoredStatus::from(auth::SUCCEEDED), Some(token.reference_number), token.permissions),
        Err(detail) => (
            StoredStatus::from(auth::BAD_TOKEN)
                .with_details(vec![detail.to_owned()]),
            None,
            Vec::new(),
        ),
    };
    state
        .db
        .insert_auth_operation(&NewAuthOperation {
            reference_number: reference.to_string(),
            context_type: req.context_identifier.kind.as_str().to_owned(),
            context_value: req.context_identifier.value.clone(),
            token_reference,
            permissions,
            status,
            started_at: now,
        })
        .await?;
    let expires = now + Duration::minutes(OPERATION_TOKEN_MINUTES);
    let claims = Claims::new(TokenType::OperationToken, reference.as_str(), &req.context_identifier, &[], now, expires);
    let body = AuthenticationInitResponse {
        reference_number: reference.to_string(),
        authentication_token: TokenInfo { token: crate::jwt::issue(&state.keys.secret, &claims), valid_until: expires },
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// Decrypts and checks a KSeF token; the error is the status detail KSeF would give.
async fn check_token(
    state: &AppState,
    context: &ContextIdentifier,
    encrypted: &[u8],
    challenge_ms: i64,
) -> Result<Result<crate::store::TokenRecord, &'static str>, EmuError> {
    let Ok(plain) = state.keys.token_encryption.private.unwrap(encrypted) else {
        return Ok(Err("Nieprawidłowy token: nie można go odszyfrować."));
    };
    let Some((token, ts)) = std::str::from_utf8(&plain).ok().and_then(split_ksef_token_plaintext) else {
        return Ok(Err("Nieprawidłowy token: oczekiwano postaci 'token|timestampMs'."));
    };
    if ts != challenge_ms {
        return Ok(Err("Nieprawidłowy czas tokena: znacznik czasu nie odpowiada wyzwaniu."));
    }
    let Some(record) = state.db.token_by_hash(&sha256_base64(token.trim().as_bytes())).await? else {
        return Ok(Err("Nieprawidłowy token."));
    };
    if !record.active {
        return Ok(Err("Token unieważniony."));
    }
    if record.context_type != context.kind.as_str() || record.context_value != context.value {
        return Ok(Err("Token nie jest powiązany ze wskazanym kontekstem."));
    }
    Ok(Ok(record))
}

async fn operation_for(state: &AppState, caller: &OperationCaller, reference: &str) -> Result<crate::store::AuthOperation, EmuError> {
    crate::extract::reference(reference)?;
    if caller.auth_reference != reference {
        return Err(EmuError::Forbidden {
            reason_code: "insufficient-resource-access",
            detail: "Token nie dotyczy tej operacji uwierzytelniania.".to_owned(),
            security: None,
        });
    }
    let op = state.db.auth_operation(reference).await?.ok_or_else(|| {
        EmuError::code(ExceptionCode::Unauthenticated, [format!("Operacja uwierzytelniania o numerze referencyjnym {reference} nie została znaleziona.")])
    })?;
    if state.now() - op.started_at > Duration::days(AUTH_RETENTION_DAYS) {
        return Err(EmuError::Gone("Operacja wygasła i nie jest już dostępna.".to_owned()));
    }
    Ok(op)
}

/// `GET /v2/auth/{referenceNumber}` with the operation token.
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: OperationCaller,
    KsefPath(reference): KsefPath<String>,
) -> Result<Json<AuthenticationOperationStatusResponse>, EmuError> {
    let op = operation_for(&state, &caller, &reference).await?;
    Ok(Json(AuthenticationOperationStatusResponse {
        start_date: op.started_at,
        authentication_method: AuthenticationMethod::Token,
        authentication_method_info: AuthenticationMethodInfo {
            category: AuthenticationMethodCategory::Token,
            code: "token".to_owned(),
            display_name: "Token KSeF".to_owned(),
        },
        status: op.status.to_wire(),
        is_token_redeemed: Some(op.redeemed),
        last_token_refresh_date: op.last_refresh_at,
        refresh_token_valid_until: op.refresh_valid_until,
    }))
}

async fn token_still_active(state: &AppState, op: &crate::store::AuthOperation) -> Result<(), EmuError> {
    let Some(token_ref) = op.token_reference.as_deref() else { return Ok(()) };
    match state.db.token_by_reference(token_ref).await? {
        Some(t) if t.active => Ok(()),
        _ => Err(EmuError::code(ExceptionCode::Unauthorized, ["Token KSeF został unieważniony.".to_owned()])),
    }
}

fn access_token(state: &AppState, op: &crate::store::AuthOperation) -> Result<TokenInfo, EmuError> {
    let now = state.now();
    let expires = now + Duration::from_std(state.config.access_token_ttl).map_err(anyhow::Error::from)?;
    let claims = Claims::new(TokenType::ContextToken, &op.reference_number, &context_of(op)?, &op.permissions, now, expires);
    Ok(TokenInfo { token: crate::jwt::issue(&state.keys.secret, &claims), valid_until: expires })
}

fn context_of(op: &crate::store::AuthOperation) -> Result<ContextIdentifier, EmuError> {
    let kind = ContextIdentifierType::parse(&op.context_type)
        .ok_or_else(|| EmuError::Internal(anyhow::anyhow!("stored context type {} is unknown", op.context_type)))?;
    Ok(ContextIdentifier { kind, value: op.context_value.clone() })
}

/// `POST /v2/auth/token/redeem` with the operation token: once only.
pub(crate) async fn redeem(
    State(state): State<AppState>,
    caller: OperationCaller,
) -> Result<Json<AuthenticationTokensResponse>, EmuError> {
    let reference = caller.auth_reference.clone();
    let op = operation_for(&state, &caller, &reference).await?;
    if !auth::SUCCEEDED.is(op.status.code) {
        return Err(EmuError::code(
            ExceptionCode::Unauthorized,
            [format!("Status uwierzytelniania ({}) nie pozwala na pobranie tokenów.", op.status.code)],
        ));
    }
    token_still_active(&state, &op).await?;
    let now = state.now();
    let refresh_until = now + Duration::from_std(state.config.refresh_token_ttl).map_err(anyhow::Error::from)?;
    if !state.db.redeem(&reference, refresh_until).await? {
        return Err(EmuError::code(ExceptionCode::Unauthorized, [format!("Tokeny dla operacji uwierzytelniania {reference} zostały już pobrane.")]));
    }
    let refresh_claims = Claims::new(TokenType::RefreshToken, &reference, &context_of(&op)?, &op.permissions, now, refresh_until);
    Ok(Json(AuthenticationTokensResponse {
        access_token: access_token(&state, &op)?,
        refresh_token: TokenInfo { token: crate::jwt::issue(&state.keys.secret, &refresh_claims), valid_until: refresh_until },
    }))
}

/// `POST /v2/auth/token/refresh` with the refresh token.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    caller: RefreshCaller,
) -> Result<Json<AuthenticationTokenRefreshResponse>, EmuError> {
    let reference = caller.auth_reference;
    let op = state.db.auth_operation(&reference).await?.ok_or_else(|| {
        EmuError::code(ExceptionCode::Unauthenticated, [format!("Operacja uwierzytelniania o numerze referencyjnym {reference} nie została znaleziona.")])
    })?;
    if !auth::SUCCEEDED.is(op.status.code) || !op.redeemed {
        return Err(EmuError::code(
            ExceptionCode::Unauthorized,
            [format!("Status uwierzytelniania ({}) nie pozwala na odświeżenie tokenu dostępowego.", op.status.code)],
        ));
    }
    token_still_active(&state, &op).await?;
    state.db.record_refresh(&reference, state.now()).await?;
    Ok(Json(AuthenticationTokenRefreshResponse { access_token: access_token(&state, &op)? }))
}

/// `POST /emulator/v1/tokens` body (emulator only; not part of KSeF).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssueTokenRequest {
    nip: String,
    #[serde(default)]
    permissions: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
}

/// `POST /emulator/v1/tokens` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssueTokenResponse {
    token: String,
    reference_number: String,
    context_identifier: ContextIdentifier,
    permissions: Vec<String>,
}

/// A KSeF token as the emulator issues it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token, to be used with `/v2/auth/ksef-token`; shown once, stored only as a hash.
    pub token: String,
    /// The token's reference number (`…-EC-…`).
    pub reference_number: String,
    /// The permissions it carries.
    pub permissions: Vec<String>,
}

/// Issues a KSeF token for the NIP context `nip` (every permission unless `permissions` narrows it).
pub(crate) async fn issue_token(
    state: &AppState,
    nip: &str,
    permissions: Option<Vec<String>>,
    description: Option<String>,
) -> Result<IssuedToken, EmuError> {
    let nip = Nip::parse(nip).map_err(|e| EmuError::validation([e.to_string()]))?;
    let permissions = match permissions {
        None => TokenPermission::ALL.iter().map(|p| p.as_str().to_owned()).collect(),
        Some(list) => {
            if let Some(bad) = list.iter().find(|p| TokenPermission::parse(p).is_none()) {
                return Err(EmuError::validation([format!("Nieznane uprawnienie '{bad}'.")]));
            }
            list
        }
    };
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::Token, now.date_naive());
    let secret: String = random_array::<32>().iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("{reference}|nip-{nip}|{secret}");
    let description = description.unwrap_or_else(|| "Token wydany przez emulator KSeF".to_owned());
    state
        .db
        .insert_token(reference.as_str(), &sha256_base64(token.as_bytes()), ("Nip", nip.as_str()), &permissions, &description, now)
        .await?;
    Ok(IssuedToken { token, reference_number: reference.to_string(), permissions })
}

/// `POST /emulator/v1/tokens`: a KSeF token for any test NIP, without a qualified certificate.
pub(crate) async fn issue_token_route(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<IssueTokenRequest>,
) -> Result<impl IntoResponse, EmuError> {
    let issued = issue_token(&state, &req.nip, req.permissions, req.description).await?;
    let body = IssueTokenResponse {
        token: issued.token,
        reference_number: issued.reference_number,
        context_identifier: ContextIdentifier { kind: ContextIdentifierType::Nip, value: req.nip },
        permissions: issued.permissions,
    };
    Ok(Json(body))
}
