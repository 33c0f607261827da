//! Signing in and out of the console, and choosing its language.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::{Form, LANG_COOKIE, Language, Peer, Query, SESSION_COOKIE, Signed, cookie, failure};
use super::pages;
use crate::api::AppState;
use crate::errors::ErrorCode;
use crate::ops::OpError;
use crate::ops::console;

#[derive(Debug, Deserialize)]
pub(super) struct SignInQuery {
    ended: Option<String>,
}

pub(super) async fn sign_in_page(Language(lang): Language, Query(q): Query<SignInQuery>) -> Response {
    let note = q.ended.is_some().then(|| lang.t("Your sign-in ended. Sign in again.", "Sesja wygasła. Zaloguj się ponownie.").to_owned());
    pages::sign_in(lang, note.as_deref(), StatusCode::OK)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    key: String,
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    Language(lang): Language,
    Peer(address): Peer,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let Some(config) = state.console.clone() else { return StatusCode::NOT_FOUND.into_response() };
    // Wrong keys here count with wrong API and operator keys: guessing is slowed alike.
    if address.is_some_and(|a| state.api_keys.locked_out(a)) {
        return failure(lang, None, OpError::refused(ErrorCode::TooManyRequests, "too many wrong keys from this address; wait a minute"));
    }
    if form.key.len() > 200 {
        return pages::sign_in(lang, Some(lang.t("That is not a key.", "To nie jest klucz.")), StatusCode::UNAUTHORIZED);
    }
    match console::sign_in(&state.ops, &form.key, config.session).await {
        Ok((token, _)) => {
            // A sign-in replaces the one this browser had.
            if let Some(old) = cookie(&headers, SESSION_COOKIE).filter(|t| t.len() <= 100) {
                let _ = console::sign_out(&state.ops, old).await;
            }
            let secure = if config.secure() { "; Secure" } else { "" };
            let cookie = format!("{SESSION_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}", config.session.as_secs());
            ([(header::SET_COOKIE, cookie)], Redirect::to("/console/dashboard")).into_response()
        }
        Err(OpError::Refused { code: ErrorCode::ApiKey | ErrorCode::OperatorKey, .. }) => {
            if let Some(address) = address {
                state.api_keys.failed(address);
            }
            pages::sign_in(lang, Some(lang.t("Unknown, revoked or disabled key.", "Nieznany, unieważniony lub wyłączony klucz.")), StatusCode::UNAUTHORIZED)
        }
        Err(err) => failure(lang, None, err),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub(super) async fn sign_out(State(state): State<AppState>, signed: Signed, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    if let Err(err) = console::sign_out(&state.ops, &signed.token).await {
        return failure(signed.lang, Some(&signed), err);
    }
    let secure = if state.console.as_ref().is_some_and(|c| c.secure()) { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/console/sign-in")).into_response()
}

pub(super) async fn set_language(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let lang = if lang == "en" { "en" } else { "pl" };
    // Back to the page it was chosen on, if that page is the console's own.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|path| path.starts_with("/console/") && !path.contains("//") && !path.contains('\\'))
        .unwrap_or("/console/dashboard")
        .to_owned();
    let cookie = format!("{LANG_COOKIE}={lang}; Path=/console; SameSite=Strict; Max-Age=31536000");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

