//! What the console's handlers take from a request, each failure already a page: the sign-in and its form
//! token, the tenant a page is about, queries, forms and uploads, the language and the caller's address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::pages;
use super::text::Lang;
use crate::api::AppState;
use crate::errors::ErrorCode;
use crate::ops::admin::TenantSummary;
use crate::ops::console::{self, Viewer};
use crate::ops::{OpError, Tenant};

/// The sign-in cookie (its token is random; only its hash is stored).
pub(super) const SESSION_COOKIE: &str = "kgw_console";
/// The language cookie.
pub(super) const LANG_COOKIE: &str = "kgw_lang";

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language a request's cookie or `Accept-Language` asks for.
pub(super) fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::pick(cookie(headers, LANG_COOKIE), headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// Bad input to a page, as the console's error page (1902; 1202 for a body over the limit).
pub(super) fn bad_input(headers: &HeaderMap, status: StatusCode, details: &str) -> Response {
    let (status, code) =
        if status == StatusCode::PAYLOAD_TOO_LARGE { (status, ErrorCode::InvoiceSize) } else { (StatusCode::BAD_REQUEST, ErrorCode::RequestInvalid) };
    pages::error(lang_of(headers), None, status, code, details)
}

/// A query string; a malformed one is answered with the console's error page, not axum's plain text.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(e) => Err(bad_input(&parts.headers, e.status(), &e.body_text())),
        }
    }
}

/// A form body; a malformed one is answered with the console's error page.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Form(value)),
            Err(e) => Err(bad_input(&headers, e.status(), &e.body_text())),
        }
    }
}

/// Files uploaded as `multipart/form-data`; anything else is answered with the console's error page.
pub struct Upload(Multipart);

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upload")
    }
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        Multipart::from_request(req, state).await.map(Upload).map_err(|e| bad_input(&headers, e.status(), &e.body_text()))
    }
}

/// The address a request came from, when the server knows it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// One field of an upload: its name, the file name the browser gave (at most 200 characters), its bytes.
pub(super) type Field = (String, String, bytes::Bytes);

impl Upload {
    /// Every non-empty field, of which at most `max_files` files (the body limit bounds their size); a broken
    /// upload, or one with more files, is answered with the console's error page.
    pub(super) async fn fields(mut self, max_files: usize) -> Result<Vec<Field>, Response> {
        let mut fields: Vec<Field> = Vec::new();
        loop {
            let field = match self.0.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => return Ok(fields),
                Err(e) => return Err(bad_input(&HeaderMap::new(), e.status(), &format!("the upload could not be read: {}", e.body_text()))),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().unwrap_or_default().chars().take(200).collect::<String>();
            let bytes = field.bytes().await.map_err(|e| bad_input(&HeaderMap::new(), e.status(), &e.body_text()))?;
            if !bytes.is_empty() {
                fields.push((name, file_name, bytes));
            }
            if fields.iter().filter(|(_, file, _)| !file.is_empty()).count() > max_files {
                return Err(bad_input(&HeaderMap::new(), StatusCode::BAD_REQUEST, &format!("at most {max_files} files at once")));
            }
        }
    }
}

/// The text of the field `name`, or nothing.
pub(super) fn text_field(fields: &[Field], name: &str) -> Option<String> {
    fields.iter().find(|(n, _, _)| n == name).map(|(_, _, b)| String::from_utf8_lossy(b).into_owned())
}

/// The language of the request.
#[derive(Debug, Clone, Copy)]
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Language(lang_of(&parts.headers)))
    }
}

/// Who is signed in, in which language; without a live sign-in, the request is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who.
    pub(super) viewer: Viewer,
    /// In which language.
    pub(super) lang: Lang,
    /// The cookie's token (to sign out with).
    pub(super) token: String,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default().to_owned();
        if token.is_empty() || token.len() > 100 {
            return Err(Redirect::to("/console/sign-in").into_response());
        }
        match console::viewer(&state.ops, &token).await {
            Ok(Some(viewer)) => Ok(Signed { viewer, lang, token }),
            Ok(None) => Err(Redirect::to("/console/sign-in?ended=1").into_response()),
            Err(err) => Err(failure(lang, None, err)),
        }
    }
}

impl Signed {
    /// Refuses a form without this sign-in's token (1907).
    pub(super) fn check(&self, csrf: &str) -> Result<(), Box<Response>> {
        // Compared as hashes, so the time taken says nothing about how much of the token was right.
        if ksef_core::crypto::sha256(csrf.as_bytes()) == ksef_core::crypto::sha256(self.viewer.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(Box::new(pages::error(self.lang, Some(self), StatusCode::FORBIDDEN, ErrorCode::CrossSite, "the form's token is missing or belongs to another sign-in; reload the page")))
        }
    }

    /// The operator's, or 404 (a tenant sees no such page).
    pub(super) fn operator_only(&self) -> Result<(), Box<Response>> {
        if self.viewer.is_operator() {
            Ok(())
        } else {
            Err(Box::new(pages::error(self.lang, Some(self), StatusCode::NOT_FOUND, ErrorCode::TenantUnknown, "no such page")))
        }
    }

    /// An operation's failure as a page.
    pub(super) fn failure(&self, err: OpError) -> Response {
        failure(self.lang, Some(self), err)
    }
}

/// The tenant a page is about (`?tenant=`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct TenantQuery {
    pub(super) tenant: Option<String>,
}

/// A sign-in and the tenant its page is about (`?tenant=`): a tenant only ever itself, any other id a tenant that
/// does not exist (404); the operator the one named, or the first.
#[derive(Debug)]
pub struct Scoped {
    /// The sign-in.
    pub signed: Signed,
    /// The tenant.
    pub tenant: TenantSummary,
}

impl Scoped {
    /// The tenant, as operations take it.
    pub(super) fn owner(&self) -> Tenant {
        console::as_tenant(&self.tenant)
    }
}

impl FromRequestParts<AppState> for Scoped {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed = Signed::from_request_parts(parts, state).await?;
        let Query(q) = Query::<TenantQuery>::from_request_parts(parts, state).await?;
        match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
            Ok(tenant) => Ok(Scoped { signed, tenant }),
            Err(err) => Err(signed.failure(err)),
        }
    }
}

/// An operation's failure as a page: the code, its status, its message (logged once, by the edge's middleware).
pub(super) fn failure(lang: Lang, signed: Option<&Signed>, err: OpError) -> Response {
    match err {
        OpError::Refused { code, status, details, .. } => {
            pages::error(lang, signed, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code, &details)
        }
        OpError::Invalid { code, findings } => {
            let first = findings.first().map(|f| f.message_en.clone()).unwrap_or_default();
            pages::error(lang, signed, StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST), code, &first)
        }
        OpError::Internal(e) => {
            tracing::error!(error = %e, "console: unexpected failure");
            pages::error(lang, signed, StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "unexpected failure; see the gateway's log")
        }
    }
}

