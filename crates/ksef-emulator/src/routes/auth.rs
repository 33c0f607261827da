//! Public keys and authentication: certificates, challenge, KSeF-token login, status, redeem, refresh,
//! and the emulator-only endpoint that issues KSeF tokens for test contexts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use ksef_core::crypto::{b64, b64_decode, sha256_base64};
use ksef_core::ids::{Challenge, Nip, ReferenceKind, ReferenceNumber, split_ksef_token_plaintext};
use ksef_wire::auth::{
    AuthenticationChallengeResponse, AuthenticationInitResponse, AuthenticationMethod, AuthenticationMethodCategory,
    AuthenticationMethodInfo, AuthenticationOperationStatusResponse, AuthenticationTokenRefreshResponse,
    AuthenticationTokensResponse, InitTokenAuthenticationRequest,
};
use ksef_wire::codes::{ExceptionCode, auth};
use ksef_wire::credentials::{AuthenticationListItem, AuthenticationListResponse};
use ksef_wire::{ContextIdentifier, ContextIdentifierType, PublicKeyCertificate, TokenInfo};

use crate::error::EmuError;
use crate::extract::{Caller, ClientIp, KsefJson, KsefPath, OperationCaller, QueryPairs, RefreshCaller, SessionCaller};
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
) -> Result<(StatusCode, Json<AuthenticationInitResponse>), EmuError> {
    let now = state.now();
    Challenge::parse(&req.challenge).map_err(|e| EmuError::validation([e.to_string()]))?;
    validate_context(&req.context_identifier)?;
    let key = &state.keys.token_encryption;
    if let Some(id) = req.public_key_id.as_deref().filter(|id| *id != key.public_key_id) {
        return Err(unknown_key(id));
    }
    let encrypted = b64_decode(&req.encrypted_token)
        .map_err(|_| EmuError::validation(["Pole encryptedToken nie jest poprawnym Base64.".to_owned()]))?;
    let timestamp_ms = use_challenge(&state, &req.challenge).await?;

    let verdict = check_token(&state, &req.context_identifier, &encrypted, timestamp_ms).await?;
    let reference = ReferenceNumber::generate(ReferenceKind::Authentication, now.date_naive());
    let (status, token_reference, permissions) = match verdict {
        Ok(_) if state.db.context_blocked(&req.context_identifier.value).await? => (
            StoredStatus::from(auth::BLOCKED).with_details(vec![crate::permissions::BLOCKED_DETAIL.to_owned()]),
            None,
            Vec::new(),
        ),
        Ok(token) => (StoredStatus::from(auth::SUCCEEDED), Some(token.reference_number), token.permissions),
        Err(detail) => (
            StoredStatus::from(auth::BAD_TOKEN)
                .with_details(vec![detail.to_owned()]),
            None,
            Vec::new(),
        ),
    };
    if let Some(token) = &token_reference {
        state.db.touch_token(token, now).await?;
    }
    let operation = NewAuthOperation {
        reference_number: reference.to_string(),
        context_type: req.context_identifier.kind.as_str().to_owned(),
        context_value: req.context_identifier.value.clone(),
        token_reference,
        permissions,
        status,
        started_at: now,
        identity: None,
        method: AuthenticationMethod::Token.as_str(),
        certificate: None,
    };
    start_operation(&state, operation, &req.context_identifier).await
}

/// Records an authentication operation and answers 202 with its operation token.
pub(crate) async fn start_operation(
    state: &AppState,
    operation: NewAuthOperation,
    context: &ContextIdentifier,
) -> Result<(StatusCode, Json<AuthenticationInitResponse>), EmuError> {
    state.db.insert_auth_operation(&operation).await?;
    let now = operation.started_at;
    let expires = now + Duration::minutes(OPERATION_TOKEN_MINUTES);
    let claims = Claims::new(TokenType::OperationToken, &operation.reference_number, context, &[], now, expires);
    let body = AuthenticationInitResponse {
        reference_number: operation.reference_number,
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

/// Uses up a challenge, giving its timestamp: 21111 if unknown, used, or older than ten minutes.
pub(crate) async fn use_challenge(state: &AppState, challenge: &str) -> Result<i64, EmuError> {
    let timestamp_ms = state.db.use_challenge(challenge).await?.ok_or_else(|| EmuError::code(ExceptionCode::InvalidChallenge, []))?;
    if state.now().timestamp_millis() - timestamp_ms > CHALLENGE_LIFETIME_MINUTES * 60_000 {
        return Err(EmuError::code(ExceptionCode::InvalidChallenge, ["Wyzwanie autoryzacyjne wygasło.".to_owned()]));
    }
    Ok(timestamp_ms)
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
    let (authentication_method, authentication_method_info) = method_of(&op);
    Ok(Json(AuthenticationOperationStatusResponse {
        start_date: op.started_at,
        authentication_method,
        authentication_method_info,
        status: op.status.to_wire(),
        is_token_redeemed: Some(op.redeemed),
        last_token_refresh_date: op.last_refresh_at,
        refresh_token_valid_until: op.refresh_valid_until,
    }))
}

/// How an operation authenticated, as KSeF reports it.
pub(crate) fn method_of(op: &crate::store::AuthOperation) -> (AuthenticationMethod, AuthenticationMethodInfo) {
    let method = AuthenticationMethod::parse(&op.method).unwrap_or(AuthenticationMethod::Token);
    let (category, code, name) = match method {
        AuthenticationMethod::Token => (AuthenticationMethodCategory::Token, "token.ksef", "Token KSeF"),
        AuthenticationMethod::QualifiedSeal => (AuthenticationMethodCategory::XadesSignature, "xades.qualified-seal", "Pieczęć kwalifikowana"),
        AuthenticationMethod::InternalCertificate => (AuthenticationMethodCategory::XadesSignature, "xades.ksef-certificate", "Certyfikat KSeF"),
        _ => (AuthenticationMethodCategory::XadesSignature, "xades.qualified-signature", "Podpis kwalifikowany"),
    };
    (method, AuthenticationMethodInfo { category, code: code.to_owned(), display_name: name.to_owned() })
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

/// `GET /v2/auth/sessions`: the caller's active authentication sessions in its context, newest first.
pub(crate) async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(params): QueryPairs,
    headers: axum::http::HeaderMap,
) -> Result<Json<AuthenticationListResponse>, EmuError> {
    let size = params.page_size(10, 10..=100)?;
    let offset = crate::routes::sessions::continuation(&headers, 'a')?;
    let current = state.db.auth_operation(&caller.auth_reference).await?.ok_or_else(|| EmuError::Unauthorized("unknown session".into()))?;
    let all = state.db.auth_sessions(&current, state.now()).await?;
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
    let end = (start + size as usize).min(all.len());
    let items = all[start..end]
        .iter()
        .map(|op| {
            let (authentication_method, authentication_method_info) = method_of(op);
            AuthenticationListItem {
                start_date: op.started_at,
                authentication_method,
                authentication_method_info,
                status: op.status.to_wire(),
                is_token_redeemed: Some(op.redeemed),
                last_token_refresh_date: op.last_refresh_at,
                refresh_token_valid_until: op.refresh_valid_until,
                reference_number: op.reference_number.clone(),
                is_current: Some(op.reference_number == current.reference_number),
            }
        })
        .collect();
    Ok(Json(AuthenticationListResponse {
        continuation_token: (end < all.len()).then(|| crate::routes::sessions::continuation_token('a', end as i64)),
        items,
    }))
}

fn revoked_status() -> StoredStatus {
    StoredStatus::from(auth::REVOKED).with_details(vec!["Uwierzytelnienie i powiązane refresh tokeny zostały unieważnione przez użytkownika".to_owned()])
}

/// `DELETE /v2/auth/sessions/current` → 204, with the access or the refresh token: the refresh token stops
/// working; access tokens already issued last until they expire.
pub(crate) async fn revoke_current_session(State(state): State<AppState>, caller: SessionCaller) -> Result<StatusCode, EmuError> {
    state.db.revoke_auth_operation(&caller.auth_reference, &revoked_status()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2/auth/sessions/{referenceNumber}` → 204: one of the caller's own sessions.
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(target): KsefPath<String>,
) -> Result<StatusCode, EmuError> {
    crate::extract::reference(&target)?;
    let current = state.db.auth_operation(&caller.auth_reference).await?.ok_or_else(|| EmuError::Unauthorized("unknown session".into()))?;
    let mine = state.db.auth_sessions(&current, state.now()).await?.iter().any(|op| op.reference_number == target);
    if !mine {
        return Err(EmuError::validation([format!("Sesja uwierzytelniania {target} nie należy do bieżącego podmiotu.")]));
    }
    state.db.revoke_auth_operation(&target, &revoked_status()).await?;
    Ok(StatusCode::NO_CONTENT)
}
