//! The operator's console at `/console`: server-rendered pages in Polish and English over the same operations as
//! the API. Sign-in with the operator key (every tenant) or a tenant's API key (that tenant alone) sets an
//! HttpOnly, SameSite=Strict cookie; every form that changes something carries the sign-in's token and must come
//! from the console's own origin. No script is needed; the one script only adds dropping files on a page.

mod pages;
mod text;

use axum::Router;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Multipart, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use ksef_store::{DeliveryState, InvoiceFilter};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use self::text::Lang;
use crate::api::AppState;
use crate::errors::ErrorCode;
use crate::ops::console::{self, Viewer};
use crate::ops::{OpError, admin, documents, inbox, micros, submit, webhooks as hooks};

/// The sign-in cookie (its token is random; only its hash is stored).
const SESSION_COOKIE: &str = "kgw_console";
/// The language cookie.
const LANG_COOKIE: &str = "kgw_lang";
/// Most files one drop validates.
const MAX_FILES: usize = 20;

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
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/language/{lang}", get(set_language))
        .route("/console/dashboard", get(dashboard))
        .route("/console/invoices", get(invoices))
        .route("/console/invoices/{id}", get(invoice))
        .route("/console/invoices/{id}/preview", get(preview))
        .route("/console/invoices/{id}/pdf", get(pdf))
        .route("/console/invoices/{id}/xml", get(xml))
        .route("/console/invoices/{id}/upo", get(upo))
        .route("/console/invoices/{id}/retry", post(retry))
        .route("/console/validate", get(validate_page).post(validate))
        .route("/console/submit", post(submit_invoice))
        .route("/console/received", get(received))
        .route("/console/received/{ksefNumber}/preview", get(received_preview))
        .route("/console/webhooks", get(webhooks))
        .route("/console/webhooks/{id}/deliveries/{event}/redeliver", post(redeliver))
        .route("/console/tenants", get(tenants).post(add_tenant))
        .route("/console/tenants/{id}/certificate", post(tenant_certificate))
        .route("/console/tenants/{id}/{action}", post(tenant_action))
        .route("/console/audit", get(audit))
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

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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
fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::pick(cookie(headers, LANG_COOKIE), headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// Bad input to a page, as the console's error page (1902; 1202 for a body over the limit).
fn bad_input(headers: &HeaderMap, status: StatusCode, details: &str) -> Response {
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
pub struct Peer(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// One field of an upload: its name, the file name the browser gave (at most 200 characters), its bytes.
type Field = (String, String, bytes::Bytes);

impl Upload {
    /// Every non-empty field, at most `max` of them (the body limit bounds their size); a broken or larger upload
    /// is answered with the console's error page.
    async fn fields(mut self, max: usize) -> Result<Vec<Field>, Response> {
        let mut fields = Vec::new();
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
            if fields.len() > max {
                return Err(bad_input(&HeaderMap::new(), StatusCode::BAD_REQUEST, &format!("at most {} files at once", max - 1)));
            }
        }
    }
}

/// The text of the field `name`, or nothing.
fn text_field(fields: &[Field], name: &str) -> Option<String> {
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
    viewer: Viewer,
    lang: Lang,
    token: String,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Language(lang) = Language::from_request_parts(parts, state).await.unwrap_or(Language(Lang::Pl));
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
    fn check(&self, csrf: &str) -> Result<(), Box<Response>> {
        // Compared as hashes, so the time taken says nothing about how much of the token was right.
        if ksef_core::crypto::sha256(csrf.as_bytes()) == ksef_core::crypto::sha256(self.viewer.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(Box::new(pages::error(self.lang, Some(self), StatusCode::FORBIDDEN, ErrorCode::CrossSite, "the form's token is missing or belongs to another sign-in; reload the page")))
        }
    }
}

/// An operation's failure as a page: the code, its status, its message (logged once, by the edge's middleware).
fn failure(lang: Lang, signed: Option<&Signed>, err: OpError) -> Response {
    match err {
        OpError::Refused { code, status, details, .. } => {
            pages::error(lang, signed, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code, &details).into_response()
        }
        OpError::Invalid { code, findings } => {
            let first = findings.first().map(|f| f.message_en.clone()).unwrap_or_default();
            pages::error(lang, signed, StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST), code, &first).into_response()
        }
        OpError::Internal(e) => {
            tracing::error!(error = %e, "console: unexpected failure");
            pages::error(lang, signed, StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "unexpected failure; see the gateway's log").into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct SignInQuery {
    ended: Option<String>,
}

async fn sign_in_page(Language(lang): Language, Query(q): Query<SignInQuery>) -> Response {
    let note = q.ended.is_some().then(|| lang.t("Your sign-in ended. Sign in again.", "Sesja wygasła. Zaloguj się ponownie.").to_owned());
    pages::sign_in(lang, note.as_deref(), StatusCode::OK).into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    key: String,
}

async fn sign_in(
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
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(State(state): State<AppState>, signed: Signed, Form(form): Form<CsrfForm>) -> Response {
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

async fn set_language(Path(lang): Path<String>, headers: HeaderMap) -> Response {
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

/// The tenant a page is about (`?tenant=`).
#[derive(Debug, Default, Deserialize)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn dashboard(State(state): State<AppState>, signed: Signed, Query(q): Query<TenantQuery>) -> Response {
    let tenant = match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
        Ok(tenant) => tenant,
        Err(OpError::Refused { code: ErrorCode::TenantUnknown, .. }) if signed.viewer.is_operator() && q.tenant.is_none() => {
            return Redirect::to("/console/tenants").into_response();
        }
        Err(err) => return failure(signed.lang, Some(&signed), err),
    };
    let tenants = if signed.viewer.is_operator() { admin::list_tenants(&state.ops).await.unwrap_or_default() } else { Vec::new() };
    match console::dashboard(&state.ops, tenant).await {
        Ok(board) => pages::dashboard(&signed, &tenants, &board).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// The invoice list's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    tenant: Option<String>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

impl ListQuery {
    /// The store's filter, or every problem with the form.
    fn filter(&self) -> Result<InvoiceFilter, Vec<String>> {
        let mut problems = Vec::new();
        let state = match self.state.trim() {
            "" => None,
            s => DeliveryState::parse(s).or_else(|| {
                problems.push(format!("state: unknown `{s}`"));
                None
            }),
        };
        let mut day = |name: &str, text: &str, next: bool| -> Option<i64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) => {
                    let d = if next { d.succ_opt().unwrap_or(d) } else { d };
                    let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
                    Some(micros(ksef_client::wire::datetime::warsaw_local_to_utc(midnight).unwrap_or_else(|| midnight.and_utc())))
                }
                Err(_) => {
                    problems.push(format!("{name}: not a date (YYYY-MM-DD)"));
                    None
                }
            }
        };
        let from = day("from", &self.from, false);
        let to = day("to", &self.to, true);
        let text = Some(self.q.trim().to_owned()).filter(|t| !t.is_empty());
        if problems.is_empty() { Ok(InvoiceFilter { text, state, from, to }) } else { Err(problems) }
    }
}

async fn invoices(State(state): State<AppState>, signed: Signed, Query(q): Query<ListQuery>) -> Response {
    let tenant = match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
        Ok(tenant) => tenant,
        Err(err) => return failure(signed.lang, Some(&signed), err),
    };
    let filter = match q.filter() {
        Ok(filter) => filter,
        Err(problems) => return failure(signed.lang, Some(&signed), OpError::refused(ErrorCode::RequestInvalid, problems.join("; "))),
    };
    match console::invoices(&state.ops, &console::as_tenant(&tenant), &filter, q.page.unwrap_or(1)).await {
        Ok(page) => pages::invoices(&signed, &tenant, &pages::ListForm { q: &q.q, state: &q.state, from: &q.from, to: &q.to }, &page).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn invoice(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, Query(q): Query<TenantQuery>) -> Response {
    let result = async {
        let tenant = console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?;
        let detail = console::invoice(&state.ops, &console::as_tenant(&tenant), &id).await?;
        Ok::<_, OpError>((tenant, detail))
    }
    .await;
    match result {
        Ok((tenant, detail)) => pages::invoice(&signed, &tenant, &detail).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// The invoice's XML, for a tenant the viewer may see.
async fn scoped_xml(state: &AppState, signed: &Signed, tenant: Option<&str>, id: &str) -> Result<(crate::ops::Tenant, Vec<u8>, Option<String>), OpError> {
    let tenant = console::as_tenant(&console::scope(&state.ops, &signed.viewer, tenant).await?);
    let detail = console::invoice(&state.ops, &tenant, id).await?;
    let xml = console::invoice_xml(&state.ops, &tenant, id).await?;
    Ok((tenant, xml, detail.row.view.ksef_number.filter(|_| detail.row.view.delivery.as_ref().is_some_and(|d| d.state == DeliveryState::Accepted))))
}

fn visual_language(lang: Lang) -> ksef_visualize::Language {
    match lang {
        Lang::Pl => ksef_visualize::Language::Pl,
        Lang::En => ksef_visualize::Language::En,
    }
}

async fn rendered(state: AppState, signed: Signed, id: String, tenant: Option<String>, format: documents::OutputFormat) -> Response {
    let result = async {
        let (tenant, xml, ksef_number) = scoped_xml(&state, &signed, tenant.as_deref(), &id).await?;
        documents::visualize(&state.ops, &tenant, None, false, ksef_number.as_deref(), xml, format, visual_language(signed.lang)).await
    }
    .await;
    match result {
        Ok(rendered) => {
            let (content_type, disposition) = match format {
                documents::OutputFormat::Html => ("text/html; charset=utf-8", "inline".to_owned()),
                documents::OutputFormat::Pdf => ("application/pdf", format!("attachment; filename=\"{}.pdf\"", safe_name(&id))),
            };
            ([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], rendered.bytes).into_response()
        }
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// An id fit for a file name.
fn safe_name(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect()
}

async fn preview(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, Query(q): Query<TenantQuery>) -> Response {
    rendered(state, signed, id, q.tenant, documents::OutputFormat::Html).await
}

async fn pdf(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, Query(q): Query<TenantQuery>) -> Response {
    rendered(state, signed, id, q.tenant, documents::OutputFormat::Pdf).await
}

async fn xml(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, Query(q): Query<TenantQuery>) -> Response {
    match scoped_xml(&state, &signed, q.tenant.as_deref(), &id).await {
        Ok((_, xml, _)) => (
            [(header::CONTENT_TYPE, "application/xml".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.xml\"", safe_name(&id)))],
            xml,
        )
            .into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn upo(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, Query(q): Query<TenantQuery>) -> Response {
    let result = async {
        let tenant = console::as_tenant(&console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?);
        submit::invoice_upo(&state.ops, &tenant, &id).await
    }
    .await;
    match result {
        Ok(upo) => (
            [(header::CONTENT_TYPE, "application/xml".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"UPO-{}.xml\"", safe_name(&id)))],
            upo,
        )
            .into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn retry(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, Query(q): Query<TenantQuery>, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    let result = async {
        let summary = console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?;
        console::retry_now(&state.ops, &signed.viewer.actor, &console::as_tenant(&summary), &id).await?;
        Ok::<_, OpError>(summary)
    }
    .await;
    match result {
        Ok(tenant) => Redirect::to(&format!("/console/invoices/{}?tenant={}", pages::url(&id), pages::url(&tenant.id))).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn validate_page(State(state): State<AppState>, signed: Signed, Query(q): Query<TenantQuery>) -> Response {
    match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
        Ok(tenant) => pages::validate(&signed, &tenant, &[]).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// One dropped file, checked.
#[derive(Debug)]
pub struct Checked {
    /// Its name, as the browser gave it.
    pub name: String,
    /// Its text, when it is UTF-8.
    pub text: Option<String>,
    /// Every finding: errors (it would be refused) and warnings.
    pub findings: Vec<ksef_fa::Finding>,
    /// A failure that is not a finding (too large, the CPU share taken).
    pub failure: Option<String>,
}

impl Checked {
    /// Whether KSeF would take it.
    pub fn valid(&self) -> bool {
        self.failure.is_none() && self.text.is_some() && !self.findings.iter().any(|f| f.severity == ksef_fa::Severity::Error)
    }
}

async fn validate(State(state): State<AppState>, signed: Signed, Query(q): Query<TenantQuery>, upload: Upload) -> Response {
    let tenant = match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
        Ok(tenant) => tenant,
        Err(err) => return failure(signed.lang, Some(&signed), err),
    };
    // The form token, then up to MAX_FILES files.
    let fields = match upload.fields(MAX_FILES + 1).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check(&text_field(&fields, "csrf").unwrap_or_default()) {
        return *refused;
    }
    let files: Vec<(String, bytes::Bytes)> =
        fields.into_iter().filter(|(name, _, _)| name == "files").map(|(_, file, bytes)| (if file.is_empty() { "invoice.xml".to_owned() } else { file }, bytes)).collect();
    let owner = console::as_tenant(&tenant);
    let mut checked = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let text = std::str::from_utf8(&bytes).ok().map(str::to_owned);
        // Larger files than KSeF takes are its size precheck's finding; the body limit bounds them all.
        let (findings, failure) = match documents::validate_for_ksef(&state.ops, &owner, bytes).await {
            Ok(validated) => (validated.warnings, None),
            Err(OpError::Invalid { findings, .. }) => (findings, None),
            Err(OpError::Refused { details, .. }) => (Vec::new(), Some(details)),
            Err(OpError::Internal(e)) => {
                tracing::error!(error = %e, "console: validation failed unexpectedly");
                (Vec::new(), Some("unexpected failure; see the gateway's log".to_owned()))
            }
        };
        checked.push(Checked { name, text, findings, failure });
    }
    pages::validate(&signed, &tenant, &checked).into_response()
}

#[derive(Debug, Deserialize)]
struct SubmitForm {
    #[serde(default)]
    csrf: String,
    /// The file's exact bytes, base64url: a form's text would have its line ends changed on the way.
    xml: String,
}

async fn submit_invoice(State(state): State<AppState>, signed: Signed, Query(q): Query<TenantQuery>, Form(form): Form<SubmitForm>) -> Response {
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    let result = async {
        let summary = console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?;
        let tenant = console::as_tenant(&summary);
        let xml = ksef_core::crypto::b64url_decode(form.xml.trim()).map_err(|_| OpError::refused(ErrorCode::B64Decode, "the form's invoice is not base64url"))?;
        let submitted =
            submit::submit(&state.ops, &tenant, submit::Submit { xml, offline: submit::OfflineRequest::Auto, hash_of_corrected: None }).await?;
        // Recorded already: a failure to note it in the audit log must not tell the operator it was not sent.
        if let Err(e) = admin::audit(&state.ops, &signed.viewer.actor, "console.submit", Some(&submitted.id), None).await {
            tracing::warn!(error = %e, invoice = %submitted.id, "console: the submit was not written to the audit log");
        }
        Ok::<_, OpError>((summary, submitted))
    }
    .await;
    match result {
        Ok((tenant, submitted)) => Redirect::to(&format!("/console/invoices/{}?tenant={}", pages::url(&submitted.id), pages::url(&tenant.id))).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// The operator's, or 404 (a tenant sees no such page).
fn operator_only(signed: &Signed) -> Result<(), Box<Response>> {
    if signed.viewer.is_operator() {
        Ok(())
    } else {
        Err(Box::new(pages::error(signed.lang, Some(signed), StatusCode::NOT_FOUND, ErrorCode::TenantUnknown, "no such page")))
    }
}

async fn tenants(State(state): State<AppState>, signed: Signed) -> Response {
    if let Err(refused) = operator_only(&signed) {
        return *refused;
    }
    match admin::list_tenants(&state.ops).await {
        Ok(list) => pages::tenants(&signed, &list, None).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

#[derive(Deserialize)]
struct AddTenantForm {
    #[serde(default)]
    csrf: String,
    name: String,
    nip: String,
    ksef_token: String,
}

async fn add_tenant(State(state): State<AppState>, signed: Signed, Form(form): Form<AddTenantForm>) -> Response {
    if let Err(refused) = operator_only(&signed).and_then(|()| signed.check(&form.csrf)) {
        return *refused;
    }
    let added = admin::add_tenant(&state.ops, &signed.viewer.actor, &form.name, &form.nip, admin::NewCredential::Token(&form.ksef_token)).await;
    match added {
        Ok(added) => {
            let list = admin::list_tenants(&state.ops).await.unwrap_or_default();
            let shown = pages::Shown { tenant_id: added.tenant.id.clone(), api_key: added.api_key.expose().to_owned() };
            pages::tenants(&signed, &list, Some(&shown)).into_response()
        }
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

#[derive(Deserialize)]
struct TenantActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ksef_token: String,
}

async fn tenant_action(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<TenantActionForm>,
) -> Response {
    if let Err(refused) = operator_only(&signed).and_then(|()| signed.check(&form.csrf)) {
        return *refused;
    }
    let actor = &signed.viewer.actor;
    let mut shown = None;
    let result = match action.as_str() {
        "disable" => admin::set_disabled(&state.ops, actor, &id, true).await.map(drop),
        "enable" => admin::set_disabled(&state.ops, actor, &id, false).await.map(drop),
        "rotate" => admin::rotate_api_key(&state.ops, actor, &id).await.map(|key| {
            shown = Some(pages::Shown { tenant_id: id.clone(), api_key: key.expose().to_owned() });
        }),
        "token" => admin::set_credential(&state.ops, actor, &id, admin::NewCredential::Token(&form.ksef_token)).await.map(drop),
        _ => Err(OpError::refused(ErrorCode::RequestInvalid, format!("unknown action `{action}`"))),
    };
    state.api_keys.forget_tenant(&id);
    match result {
        Ok(()) => {
            let list = admin::list_tenants(&state.ops).await.unwrap_or_default();
            pages::tenants(&signed, &list, shown.as_ref()).into_response()
        }
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

#[derive(Debug, Deserialize)]
struct AuditQueryForm {
    before: Option<String>,
}

async fn audit(State(state): State<AppState>, signed: Signed, Query(q): Query<AuditQueryForm>) -> Response {
    if let Err(refused) = operator_only(&signed) {
        return *refused;
    }
    match admin::audit_log(&state.ops, q.before.as_deref().filter(|b| b.len() <= 64), 100).await {
        Ok(entries) => pages::audit(&signed, &entries).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// Received invoices shown on one page.
const RECEIVED_PAGE: i64 = 50;
/// Deliveries shown per webhook.
const DELIVERIES_SHOWN: i64 = 20;

/// The received invoices' filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
struct ReceivedForm {
    tenant: Option<String>,
    #[serde(default)]
    seller: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    after: Option<i64>,
}

impl ReceivedForm {
    fn filter(&self) -> Result<ksef_store::ReceivedFilter, Vec<String>> {
        let mut problems = Vec::new();
        let seller = Some(self.seller.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(nip) = &seller
            && let Err(e) = ksef_core::ids::Nip::parse(nip)
        {
            problems.push(format!("seller NIP: {e}"));
        }
        let mut day = |name: &str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() {
                problems.push(format!("{name}: not a date (YYYY-MM-DD)"));
                return None;
            }
            Some(text.to_owned())
        };
        let issued_from = day("from", &self.from);
        let issued_to = day("to", &self.to);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(ksef_store::ReceivedFilter {
            after: self.after.unwrap_or(0).max(0),
            issued_from,
            issued_to,
            seller_nip: seller,
            min_gross_cents: None,
            max_gross_cents: None,
            limit: RECEIVED_PAGE,
        })
    }
}

async fn received(State(state): State<AppState>, signed: Signed, Query(q): Query<ReceivedForm>) -> Response {
    let tenant = match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
        Ok(tenant) => tenant,
        Err(err) => return failure(signed.lang, Some(&signed), err),
    };
    let filter = match q.filter() {
        Ok(filter) => filter,
        Err(problems) => return failure(signed.lang, Some(&signed), OpError::refused(ErrorCode::ReceivedQuery, problems.join("; "))),
    };
    match inbox::list(&state.ops, &console::as_tenant(&tenant), &filter).await {
        Ok(rows) => {
            let form = pages::ReceivedForm { seller: &q.seller, from: &q.from, to: &q.to };
            pages::received(&signed, &tenant, &form, &rows, rows.len() as i64 == RECEIVED_PAGE).into_response()
        }
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn received_preview(State(state): State<AppState>, signed: Signed, Path(ksef_number): Path<String>, Query(q): Query<TenantQuery>) -> Response {
    let result = async {
        let tenant = console::as_tenant(&console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?);
        let record = inbox::received(&state.ops, &tenant, &ksef_number).await?;
        let xml = record.xml.ok_or_else(|| OpError::conflict(ErrorCode::ReceivedUnknown, "the sync has not downloaded this invoice's XML yet"))?;
        let format = documents::OutputFormat::Html;
        documents::visualize(&state.ops, &tenant, None, false, Some(&record.ksef_number), xml, format, visual_language(signed.lang)).await
    }
    .await;
    match result {
        Ok(rendered) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], rendered.bytes).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn webhooks(State(state): State<AppState>, signed: Signed, Query(q): Query<TenantQuery>) -> Response {
    let result = async {
        let summary = console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?;
        let tenant = console::as_tenant(&summary);
        let mut shown = Vec::new();
        for hook in hooks::list(&state.ops, &tenant).await? {
            let deliveries = hooks::deliveries(&state.ops, &tenant, &hook.id, None, None, DELIVERIES_SHOWN).await?;
            shown.push((hook, deliveries));
        }
        Ok::<_, OpError>((summary, shown))
    }
    .await;
    match result {
        Ok((tenant, shown)) => pages::webhooks(&signed, &tenant, &shown).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

async fn redeliver(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, event)): Path<(String, String)>,
    Query(q): Query<TenantQuery>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    let result = async {
        let summary = console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await?;
        hooks::redeliver(&state.ops, &console::as_tenant(&summary), &id, &event).await?;
        admin::audit(&state.ops, &signed.viewer.actor, "webhook.redeliver", Some(&id), Some(format!("event {event}"))).await?;
        Ok::<_, OpError>(summary)
    }
    .await;
    match result {
        Ok(tenant) => Redirect::to(&format!("/console/webhooks?tenant={}", pages::url(&tenant.id))).into_response(),
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}

/// Sets a tenant's certificate and key from uploaded files (PEM or DER; a PKCS#12 file as the key, with its
/// password).
async fn tenant_certificate(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, upload: Upload) -> Response {
    if let Err(refused) = operator_only(&signed) {
        return *refused;
    }
    let fields = match upload.fields(5).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check(&text_field(&fields, "csrf").unwrap_or_default()) {
        return *refused;
    }
    let file = |name: &str| fields.iter().find(|(n, _, _)| n == name).map(|(_, _, b)| b.to_vec());
    let (certificate, key, password) = (file("certificate"), file("key"), text_field(&fields, "password"));
    let Some(key) = key else {
        return failure(signed.lang, Some(&signed), OpError::refused(ErrorCode::RequestInvalid, "choose the private key's file (or a PKCS#12 file)"));
    };
    let input = crate::ops::credentials::CertificateInput { certificate: certificate.as_deref(), key: &key, password: password.as_deref() };
    match admin::set_credential(&state.ops, &signed.viewer.actor, &id, admin::NewCredential::Certificate(input)).await {
        Ok(_) => {
            state.api_keys.forget_tenant(&id);
            let list = admin::list_tenants(&state.ops).await.unwrap_or_default();
            pages::tenants(&signed, &list, None)
        }
        Err(err) => failure(signed.lang, Some(&signed), err),
    }
}
