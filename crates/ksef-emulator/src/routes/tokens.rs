//! KSeF tokens: generating one in the current context (`POST /v2/tokens`), listing, reading and revoking them,
//! and the emulator-only `POST /emulator/v1/tokens`, which mints one for any test NIP.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ksef_core::crypto::{random_array, sha256_base64};
use ksef_core::ids::{Nip, ReferenceKind, ReferenceNumber};
use ksef_wire::codes::ExceptionCode;
use ksef_wire::credentials::{
    AuthenticationTokenStatus, GenerateTokenRequest, GenerateTokenResponse, QueryTokensResponse, SubjectIdentifier,
    SubjectIdentifierType, TokenStatusResponse,
};
use ksef_wire::{ContextIdentifier, ContextIdentifierType, TokenPermission};
use serde::{Deserialize, Serialize};

use crate::error::EmuError;
use crate::extract::{Caller, KsefJson, KsefPath, QueryPairs, reference};
use crate::routes::sessions::{continuation, continuation_token};
use crate::state::AppState;
use crate::store::{NewToken, SubjectKey, TokenRecord};

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

/// Makes and records a token for `context`.
async fn mint(
    state: &AppState,
    context: &ContextIdentifier,
    permissions: Vec<String>,
    description: &str,
    author: Option<SubjectKey>,
) -> Result<IssuedToken, EmuError> {
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::Token, now.date_naive());
    let secret: String = random_array::<32>().iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("{reference}|{}-{}|{secret}", context.kind.as_str().to_ascii_lowercase(), context.value);
    state
        .db
        .insert_token(&NewToken {
            reference_number: reference.as_str(),
            token_hash: &sha256_base64(token.as_bytes()),
            context: (context.kind.as_str(), &context.value),
            permissions: &permissions,
            description,
            author,
            now,
        })
        .await?;
    Ok(IssuedToken { token, reference_number: reference.to_string(), permissions })
}

/// Issues a KSeF token for the NIP context `nip` (every permission a context's owner holds, unless
/// `permissions` narrows it: `EnforcementOperations` belongs to enforcement authorities only, so only on request).
pub(crate) async fn issue_token(
    state: &AppState,
    nip: &str,
    permissions: Option<Vec<String>>,
    description: Option<String>,
) -> Result<IssuedToken, EmuError> {
    let nip = Nip::parse(nip).map_err(|e| EmuError::validation([e.to_string()]))?;
    let permissions = match permissions {
        None => TokenPermission::ALL
            .iter()
            .filter(|p| **p != TokenPermission::EnforcementOperations)
            .map(|p| p.as_str().to_owned())
            .collect(),
        Some(list) => {
            let mut parsed = Vec::new();
            for p in &list {
                parsed.push(TokenPermission::parse(p).ok_or_else(|| EmuError::validation([format!("Nieznane uprawnienie '{p}'.")]))?.as_str().to_owned());
            }
            parsed
        }
    };
    let context = ContextIdentifier { kind: ContextIdentifierType::Nip, value: nip.to_string() };
    let description = description.unwrap_or_else(|| "Token wydany przez emulator KSeF".to_owned());
    mint(state, &context, permissions, &description, Some(("Nip".to_owned(), nip.to_string()))).await
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

/// `POST /emulator/v1/tokens`: a KSeF token for any test NIP, without a certificate.
pub(crate) async fn issue_token_route(
    State(state): State<AppState>,
    KsefJson(req): KsefJson<IssueTokenRequest>,
) -> Result<Json<IssueTokenResponse>, EmuError> {
    let issued = issue_token(&state, &req.nip, req.permissions, req.description).await?;
    Ok(Json(IssueTokenResponse {
        token: issued.token,
        reference_number: issued.reference_number,
        context_identifier: ContextIdentifier { kind: ContextIdentifierType::Nip, value: req.nip },
        permissions: issued.permissions,
    }))
}

/// Who made a token or holds the caller's session: the certificate's subject, or the token the caller used.
pub(crate) async fn caller_subject(state: &AppState, caller: &Caller) -> Result<Option<SubjectKey>, EmuError> {
    let Some(op) = state.db.auth_operation(&caller.auth_reference).await? else { return Ok(None) };
    if op.identity.is_some() {
        return Ok(op.identity);
    }
    Ok(match op.token_reference {
        Some(token) => state.db.token_by_reference(&token).await?.and_then(|t| t.author),
        None => None,
    })
}

/// `POST /v2/tokens` → 202.
pub(crate) async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<GenerateTokenRequest>,
) -> Result<(StatusCode, Json<GenerateTokenResponse>), EmuError> {
    if !matches!(caller.context.kind, ContextIdentifierType::Nip | ContextIdentifierType::InternalId) {
        return Err(EmuError::code(
            ExceptionCode::TokenContextType,
            [format!("Bieżący kontekst: {}; dozwolone: Nip, InternalId.", caller.context.kind.as_str())],
        ));
    }
    let length = req.description.chars().count();
    if !(5..=256).contains(&length) || req.permissions.is_empty() {
        return Err(EmuError::validation(["Opis musi mieć od 5 do 256 znaków, a lista uprawnień nie może być pusta.".to_owned()]));
    }
    let missing: Vec<String> =
        req.permissions.iter().filter(|p| !caller.permissions.iter().any(|have| have == p.as_str())).map(|p| p.as_str().to_owned()).collect();
    if !missing.is_empty() {
        return Err(EmuError::code(ExceptionCode::TokenPermissionsNotHeld, missing));
    }
    let mut permissions: Vec<String> = req.permissions.iter().map(|p| p.as_str().to_owned()).collect();
    permissions.sort();
    permissions.dedup();
    let author = caller_subject(&state, &caller).await?;
    let issued = mint(&state, &caller.context, permissions, &req.description, author).await?;
    Ok((StatusCode::ACCEPTED, Json(GenerateTokenResponse { reference_number: issued.reference_number, token: issued.token })))
}

fn wire(token: TokenRecord) -> TokenStatusResponse {
    let author = token.author.map_or(
        SubjectIdentifier { kind: SubjectIdentifierType::Nip, value: token.context_value.chars().take(10).collect() },
        |(kind, value)| SubjectIdentifier { kind: SubjectIdentifierType::parse(&kind).unwrap_or(SubjectIdentifierType::Nip), value },
    );
    TokenStatusResponse {
        reference_number: token.reference_number,
        author_identifier: author,
        context_identifier: ContextIdentifier {
            kind: ContextIdentifierType::parse(&token.context_type).unwrap_or(ContextIdentifierType::Nip),
            value: token.context_value,
        },
        description: token.description,
        requested_permissions: token.permissions.iter().filter_map(|p| TokenPermission::parse(p)).collect(),
        date_created: token.created_at,
        last_use_date: token.last_use,
        status: if token.active { AuthenticationTokenStatus::Active } else { AuthenticationTokenStatus::Revoked },
        status_details: None,
    }
}

/// `GET /v2/tokens`: the context's tokens, filtered by `status` (repeated), `description`, `authorIdentifier`
/// and `authorIdentifierType`, newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(query): QueryPairs,
    headers: HeaderMap,
) -> Result<Json<QueryTokensResponse>, EmuError> {
    let statuses = query
        .all("status")
        .map(|s| AuthenticationTokenStatus::parse(s).ok_or_else(|| EmuError::validation([format!("Nieznany status tokenu '{s}'.")])))
        .collect::<Result<Vec<_>, _>>()?;
    let contains = |value: &str, needle: Option<&str>| needle.is_none_or(|n| value.to_lowercase().contains(&n.to_lowercase()));
    let page_size = query.page_size(10, 10..=100)?;
    let offset = continuation(&headers, 't')?;
    let description = query.first("description");
    let author = query.first("authorIdentifier");
    let author_type = query.first("authorIdentifierType").map(|t| t.to_ascii_lowercase());
    let tokens: Vec<TokenStatusResponse> = state
        .db
        .context_tokens(&caller.context.value)
        .await?
        .into_iter()
        .map(wire)
        .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
        .filter(|t| contains(&t.description, description))
        .filter(|t| contains(&t.author_identifier.value, author))
        .filter(|t| author_type.as_deref().is_none_or(|k| t.author_identifier.kind.as_str().eq_ignore_ascii_case(k)))
        .collect();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(tokens.len());
    let end = (start + page_size as usize).min(tokens.len());
    Ok(Json(QueryTokensResponse {
        continuation_token: (end < tokens.len()).then(|| continuation_token('t', end as i64)),
        tokens: tokens[start..end].to_vec(),
    }))
}

async fn owned(state: &AppState, caller: &Caller, token: &str) -> Result<TokenRecord, EmuError> {
    reference(token)?;
    state
        .db
        .token_by_reference(token)
        .await?
        .filter(|t| t.context_value == caller.context.value)
        .ok_or_else(|| EmuError::validation([format!("Token o numerze referencyjnym {token} nie istnieje w bieżącym kontekście.")]))
}

/// `GET /v2/tokens/{referenceNumber}`.
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(token): KsefPath<String>,
) -> Result<Json<TokenStatusResponse>, EmuError> {
    Ok(Json(wire(owned(&state, &caller, &token).await?)))
}

/// `DELETE /v2/tokens/{referenceNumber}` → 204; logging in with it then fails (450), and sessions opened with it
/// can no longer be refreshed.
pub(crate) async fn revoke(State(state): State<AppState>, caller: Caller, KsefPath(token): KsefPath<String>) -> Result<StatusCode, EmuError> {
    owned(&state, &caller, &token).await?;
    state.db.revoke_token(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}
