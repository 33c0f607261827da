//! The operator's console at `/console`: server-rendered pages in Polish and English over the same operations as
//! the API. Sign-in with the operator key (every tenant) or a tenant's API key (that tenant alone) sets an
//! HttpOnly, SameSite=Strict cookie; every form that changes something carries the sign-in's token and must come
//! from the console's own origin. No script is needed; the one script only adds dropping files on a page.
//!
//! `extract.rs` turns requests into a sign-in and the tenant a page is about; `session.rs`, `invoices.rs`,
//! `events.rs` and `admin.rs` are the handlers; `pages.rs` the HTML, `text.rs` its two languages.

mod admin;
mod events;
mod extract;
mod invoices;
mod pages;
mod session;
mod text;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use self::text::Lang;
use self::extract::{Signed, lang_of};
use self::invoices::Checked;
use crate::api::AppState;
use crate::errors::ErrorCode;

/// How the console is served.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// How long a sign-in lasts.
    pub session: std::time::Duration,
    /// Where browsers reach the console (`https://gateway.example.com`), when it is behind a proxy that changes
    /// the `Host` header: forms must come from exactly this origin. `None`: from the host the request names.
    pub public_origin: Option<String>,
}

impl ConsoleConfig {
    /// Whether the console's cookie may travel over HTTPS only.
    fn secure(&self) -> bool {
        self.public_origin.as_deref().is_some_and(|o| o.starts_with("https://"))
    }
}

/// The console's routes, under `/console`; 404 everywhere when it is off.
pub fn routes(state: &AppState) -> Router<AppState> {
    if state.console.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/dashboard") }))
        .route("/console/", get(|| async { Redirect::to("/console/dashboard") }))
        .route("/console/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/language/{lang}", get(session::set_language))
        .route("/console/dashboard", get(invoices::dashboard))
        .route("/console/invoices", get(invoices::invoices))
        .route("/console/invoices/{id}", get(invoices::invoice))
        .route("/console/invoices/{id}/preview", get(invoices::preview))
        .route("/console/invoices/{id}/pdf", get(invoices::pdf))
        .route("/console/invoices/{id}/xml", get(invoices::xml))
        .route("/console/invoices/{id}/upo", get(invoices::upo))
        .route("/console/invoices/{id}/retry", post(invoices::retry))
        .route("/console/validate", get(invoices::validate_page).post(invoices::validate))
        .route("/console/submit", post(invoices::submit_invoice))
        .route("/console/received", get(events::received))
        .route("/console/received/{ksefNumber}/preview", get(events::received_preview))
        .route("/console/webhooks", get(events::webhooks))
        .route("/console/webhooks/{id}/deliveries/{event}/redeliver", post(events::redeliver))
        .route("/console/tenants", get(admin::tenants).post(admin::add_tenant))
        .route("/console/tenants/{id}/certificate", post(admin::tenant_certificate))
        .route("/console/tenants/{id}/{action}", post(admin::tenant_action))
        .route("/console/audit", get(admin::audit))
        .route("/console/assets/console.css", get(|| async { asset("text/css; charset=utf-8", pages::CSS) }))
        .route("/console/assets/console.js", get(|| async { asset("text/javascript; charset=utf-8", pages::JS) }))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// Refuses a state-changing request from another origin, and gives every page headers that keep it from being
/// framed by others, sniffed, cached, or running script it did not ship.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let public = state.console.as_ref().and_then(|c| c.public_origin.as_deref());
    if request.method() != Method::GET && request.method() != Method::HEAD && !same_origin(&request, public) {
        return pages::error(lang_of(request.headers()), None, StatusCode::FORBIDDEN, ErrorCode::CrossSite, "the request came from another site");
    }
    let preview = request.uri().path().ends_with("/preview");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if preview {
        // The visualization is a document of its own, shown in a frame of the invoice's page: no script at all.
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'; sandbox"
    } else {
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static(if preview { "SAMEORIGIN" } else { "DENY" }));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether a request came from the console's own pages: `Sec-Fetch-Site`, when the browser sends it, says
/// `same-origin`; `Origin`, when sent, is the configured public origin exactly, or else names the host the request
/// was sent to (`Host`, or the authority of an HTTP/2 request).
fn same_origin(request: &Request, public_origin: Option<&str>) -> bool {
    let headers = request.headers();
    if headers.get("sec-fetch-site").is_some_and(|site| site.as_bytes() != b"same-origin") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Browsers send Origin with every POST; a client that sends neither header is not a browser a page
        // could have driven.
        return true;
    };
    if let Some(public) = public_origin {
        return origin.trim_end_matches('/').eq_ignore_ascii_case(public.trim_end_matches('/'));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| request.uri().authority().map(|a| a.as_str()));
    let origin_host = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

