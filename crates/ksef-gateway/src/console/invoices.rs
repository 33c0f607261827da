//! The console's pages about a tenant's own invoices: its dashboard, the list, one invoice with its preview and
//! files, retrying a waiting one, and XML files checked and sent.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use ksef_store::{DeliveryState, InvoiceFilter};
use serde::Deserialize;

use super::extract::{Form, Query, Scoped, Signed, TenantQuery, Upload, failure, text_field};
use super::pages;
use super::session::CsrfForm;
use super::text::Lang;
use crate::api::AppState;
use crate::errors::ErrorCode;
use crate::ops::submit::start_of_day_in_poland;
use crate::ops::{OpError, admin, console, documents, submit};

/// Most files one drop validates.
const MAX_FILES: usize = 20;

pub(super) async fn dashboard(State(state): State<AppState>, signed: Signed, Query(q): Query<TenantQuery>) -> Response {
    let tenant = match console::scope(&state.ops, &signed.viewer, q.tenant.as_deref()).await {
        Ok(tenant) => tenant,
        // The operator of a gateway with no tenant yet is shown where to add one.
        Err(OpError::Refused { code: ErrorCode::TenantUnknown, .. }) if signed.viewer.is_operator() && q.tenant.is_none() => {
            return Redirect::to("/console/tenants").into_response();
        }
        Err(err) => return signed.failure(err),
    };
    let tenants = if signed.viewer.is_operator() { admin::list_tenants(&state.ops).await.unwrap_or_default() } else { Vec::new() };
    match console::dashboard(&state.ops, tenant).await {
        Ok(board) => pages::dashboard(&signed, &tenants, &board),
        Err(err) => signed.failure(err),
    }
}

/// The invoice list's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
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
                Ok(d) => Some(start_of_day_in_poland(if next { d.succ_opt().unwrap_or(d) } else { d })),
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

pub(super) async fn invoices(State(state): State<AppState>, scoped: Scoped, Query(q): Query<ListQuery>) -> Response {
    let Scoped { signed, tenant } = &scoped;
    let filter = match q.filter() {
        Ok(filter) => filter,
        Err(problems) => return signed.failure(OpError::refused(ErrorCode::RequestInvalid, problems.join("; "))),
    };
    match console::invoices(&state.ops, &scoped.owner(), &filter, q.page.unwrap_or(1)).await {
        Ok(page) => pages::invoices(signed, tenant, &pages::ListForm { q: &q.q, state: &q.state, from: &q.from, to: &q.to }, &page),
        Err(err) => signed.failure(err),
    }
}

pub(super) async fn invoice(State(state): State<AppState>, scoped: Scoped, Path(id): Path<String>) -> Response {
    match console::invoice(&state.ops, &scoped.owner(), &id).await {
        Ok(detail) => pages::invoice(&scoped.signed, &scoped.tenant, &detail),
        Err(err) => scoped.signed.failure(err),
    }
}

pub(super) fn visual_language(lang: Lang) -> ksef_visualize::Language {
    match lang {
        Lang::Pl => ksef_visualize::Language::Pl,
        Lang::En => ksef_visualize::Language::En,
    }
}

async fn rendered(state: AppState, scoped: Scoped, id: String, format: documents::OutputFormat) -> Response {
    let owner = scoped.owner();
    let result = async {
        let (xml, ksef_number) = console::invoice_xml(&state.ops, &owner, &id).await?;
        documents::visualize(&state.ops, &owner, None, false, ksef_number.as_deref(), xml, format, visual_language(scoped.signed.lang)).await
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
        Err(err) => scoped.signed.failure(err),
    }
}

/// An id fit for a file name.
fn safe_name(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect()
}

/// An XML file to download.
fn xml_file(name: String, bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/xml".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.xml\""))], bytes)
        .into_response()
}

pub(super) async fn preview(State(state): State<AppState>, scoped: Scoped, Path(id): Path<String>) -> Response {
    rendered(state, scoped, id, documents::OutputFormat::Html).await
}

pub(super) async fn pdf(State(state): State<AppState>, scoped: Scoped, Path(id): Path<String>) -> Response {
    rendered(state, scoped, id, documents::OutputFormat::Pdf).await
}

pub(super) async fn xml(State(state): State<AppState>, scoped: Scoped, Path(id): Path<String>) -> Response {
    match console::invoice_xml(&state.ops, &scoped.owner(), &id).await {
        Ok((xml, _)) => xml_file(safe_name(&id), xml),
        Err(err) => scoped.signed.failure(err),
    }
}

pub(super) async fn upo(State(state): State<AppState>, scoped: Scoped, Path(id): Path<String>) -> Response {
    match submit::invoice_upo(&state.ops, &scoped.owner(), &id).await {
        Ok(upo) => xml_file(format!("UPO-{}", safe_name(&id)), upo),
        Err(err) => scoped.signed.failure(err),
    }
}

pub(super) async fn retry(State(state): State<AppState>, scoped: Scoped, Path(id): Path<String>, Form(form): Form<CsrfForm>) -> Response {
    let Scoped { signed, tenant } = &scoped;
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    match console::retry_now(&state.ops, &signed.viewer.actor, &scoped.owner(), &id).await {
        Ok(()) => Redirect::to(&format!("/console/invoices/{}?tenant={}", pages::url(&id), pages::url(&tenant.id))).into_response(),
        Err(err) => signed.failure(err),
    }
}

pub(super) async fn validate_page(scoped: Scoped) -> Response {
    pages::validate(&scoped.signed, &scoped.tenant, &[])
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

pub(super) async fn validate(State(state): State<AppState>, scoped: Scoped, upload: Upload) -> Response {
    let signed = &scoped.signed;
    let fields = match upload.fields(MAX_FILES).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check(&text_field(&fields, "csrf").unwrap_or_default()) {
        return *refused;
    }
    let owner = scoped.owner();
    let mut checked = Vec::new();
    for (_, file, bytes) in fields.into_iter().filter(|(name, _, _)| name == "files") {
        let name = if file.is_empty() { "invoice.xml".to_owned() } else { file };
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
    pages::validate(signed, &scoped.tenant, &checked)
}

#[derive(Debug, Deserialize)]
pub(super) struct SubmitForm {
    #[serde(default)]
    csrf: String,
    /// The file's exact bytes, base64url: a form's text would have its line ends changed on the way.
    xml: String,
}

pub(super) async fn submit_invoice(State(state): State<AppState>, scoped: Scoped, Form(form): Form<SubmitForm>) -> Response {
    let Scoped { signed, tenant } = &scoped;
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    let result = async {
        let xml = ksef_core::crypto::b64url_decode(form.xml.trim()).map_err(|_| OpError::refused(ErrorCode::B64Decode, "the form's invoice is not base64url"))?;
        let submit = submit::Submit { xml, offline: submit::OfflineRequest::Auto, hash_of_corrected: None };
        let submitted = submit::submit(&state.ops, &scoped.owner(), submit).await?;
        // Recorded already: a failure to note it in the audit log must not tell the operator it was not sent.
        if let Err(e) = admin::audit(&state.ops, &signed.viewer.actor, "console.submit", Some(&submitted.id), None).await {
            tracing::warn!(error = %e, invoice = %submitted.id, "console: the submit was not written to the audit log");
        }
        Ok::<_, OpError>(submitted)
    }
    .await;
    match result {
        Ok(submitted) => Redirect::to(&format!("/console/invoices/{}?tenant={}", pages::url(&submitted.id), pages::url(&tenant.id))).into_response(),
        Err(err) => failure(signed.lang, Some(signed), err),
    }
}
