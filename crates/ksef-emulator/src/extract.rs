//! Extractors that turn malformed input into KSeF's own errors: JSON bodies, paths and queries (21405),
//! bearer tokens (401), and the caller's address.

use std::net::SocketAddr;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use ksef_core::ids::ReferenceNumber;
use ksef_wire::{ContextIdentifier, ContextIdentifierType, TokenPermission};
use serde::de::DeserializeOwned;

use crate::error::EmuError;
use crate::jwt::{Claims, TokenType};
use crate::state::AppState;

/// A JSON body; anything unreadable is 21405 with the parser's message.
#[derive(Debug)]
pub(crate) struct KsefJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for KsefJson<T> {
    type Rejection = EmuError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| EmuError::validation([format!("Nie można odczytać treści żądania: {}", e.body_text())]))?;
        serde_json::from_slice(&bytes)
            .map(KsefJson)
            .map_err(|e| EmuError::validation([format!("Nieprawidłowa treść JSON: {e}")]))
    }
}

/// Path parameters; malformed ones are 21405.
#[derive(Debug)]
pub(crate) struct KsefPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for KsefPath<T> {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| KsefPath(v))
            .map_err(|e: PathRejection| EmuError::validation([e.body_text()]))
    }
}

/// Query parameters; malformed ones are 21405.
#[derive(Debug)]
pub(crate) struct KsefQuery<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for KsefQuery<T> {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| KsefQuery(v))
            .map_err(|e: QueryRejection| EmuError::validation([e.body_text()]))
    }
}

/// Every query parameter, repeated keys kept (`?status=Active&status=Pending`), as KSeF's clients send lists.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryPairs(pub(crate) Pairs);

/// Query parameters in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// Every value of `name` (matched in any case, as ASP.NET binds parameters).
    pub(crate) fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_owned();
        self.0.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`.
    pub(crate) fn first(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }

    /// `pageSize` within `range`, `default` when absent; 21405 otherwise.
    pub(crate) fn page_size(&self, default: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, EmuError> {
        let Some(text) = self.first("pageSize") else { return Ok(default) };
        text.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            EmuError::validation([format!("pageSize musi być z zakresu {}-{}, podano {text}.", range.start(), range.end())])
        })
    }

    /// `pageOffset` (0 when absent); 21405 when negative or not a number.
    pub(crate) fn page_offset(&self) -> Result<i64, EmuError> {
        let Some(text) = self.first("pageOffset") else { return Ok(0) };
        text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| EmuError::validation([format!("pageOffset '{text}' nie jest liczbą nieujemną.")]))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(QueryPairs(Pairs(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())))
    }
}

/// Parses a reference number from a path, or 21405 naming it.
pub(crate) fn reference(text: &str) -> Result<ReferenceNumber, EmuError> {
    ReferenceNumber::parse(text).map_err(|e| EmuError::validation([e.to_string()]))
}

/// The caller's IP address: the peer address, or the first `X-Forwarded-For` entry when configured to trust it.
#[derive(Debug, Clone)]
pub(crate) struct ClientIp(pub(crate) String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state)))
    }
}

pub(crate) fn client_ip(parts: &Parts, state: &AppState) -> String {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .filter(|_| state.config.trust_forwarded_for)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    forwarded
        .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip().to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn bearer_claims(parts: &Parts, state: &AppState, expected: TokenType) -> Result<Claims, EmuError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| EmuError::Unauthorized("no Authorization header".into()))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| EmuError::Unauthorized("not a bearer token".into()))?;
    let claims = crate::jwt::verify(&state.keys.secret, token.trim(), state.clock.now())
        .map_err(|why| EmuError::Unauthorized(why.into()))?;
    if claims.typ != expected {
        return Err(EmuError::Unauthorized(format!("{:?} used where {expected:?} is required", claims.typ)));
    }
    Ok(claims)
}

fn context_of(claims: &Claims) -> Result<ContextIdentifier, EmuError> {
    let kind = ContextIdentifierType::parse(&claims.cit).ok_or_else(|| EmuError::Unauthorized("bad context".into()))?;
    Ok(ContextIdentifier { kind, value: claims.civ.clone() })
}

/// A caller holding a valid access token.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) auth_reference: String,
    pub(crate) context: ContextIdentifier,
    pub(crate) permissions: Vec<String>,
}

impl Caller {
    /// 403 unless the caller has at least one of `any`.
    pub(crate) fn require_any(&self, any: &[TokenPermission]) -> Result<(), EmuError> {
        if any.iter().any(|p| self.permissions.iter().any(|have| have == p.as_str())) {
            return Ok(());
        }
        let required: Vec<&str> = any.iter().map(|p| p.as_str()).collect();
        Err(EmuError::missing_permissions(&required, &self.permissions))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = bearer_claims(parts, state, TokenType::ContextToken)?;
        Ok(Caller { context: context_of(&claims)?, auth_reference: claims.arn, permissions: claims.per })
    }
}

/// A caller holding the operation token of an authentication.
#[derive(Debug, Clone)]
pub(crate) struct OperationCaller {
    pub(crate) auth_reference: String,
}

impl FromRequestParts<AppState> for OperationCaller {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = bearer_claims(parts, state, TokenType::OperationToken)?;
        Ok(OperationCaller { auth_reference: claims.arn })
    }
}

/// A caller holding a refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshCaller {
    pub(crate) auth_reference: String,
}

impl FromRequestParts<AppState> for RefreshCaller {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = bearer_claims(parts, state, TokenType::RefreshToken)?;
        Ok(RefreshCaller { auth_reference: claims.arn })
    }
}

/// A caller holding an access token or a refresh token (ending an authentication session takes either).
#[derive(Debug, Clone)]
pub(crate) struct SessionCaller {
    pub(crate) auth_reference: String,
}

impl FromRequestParts<AppState> for SessionCaller {
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = bearer_claims(parts, state, TokenType::ContextToken).or_else(|_| bearer_claims(parts, state, TokenType::RefreshToken))?;
        Ok(SessionCaller { auth_reference: claims.arn })
    }
}

/// The context in a token, without checking anything but its signature (for rate-limit keys).
pub(crate) fn unverified_context(parts: &Parts, state: &AppState) -> Option<String> {
    [TokenType::ContextToken, TokenType::OperationToken, TokenType::RefreshToken]
        .into_iter()
        .find_map(|t| bearer_claims(parts, state, t).ok())
        .map(|c| c.civ)
}
