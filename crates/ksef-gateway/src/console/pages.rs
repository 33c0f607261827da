//! The console's pages as HTML (maud escapes every value it is given, so an invoice's text is shown as text).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use ksef_fa::Severity;
use ksef_store::DeliveryState;
use maud::{DOCTYPE, Markup, html};

use super::text::{Lang, STATES, fix};
use super::{Checked, Signed};
use crate::errors::ErrorCode;
use crate::ops::admin::{AuditEntry, TenantSummary};
use crate::ops::console::{Dashboard, InvoiceDetail, InvoicePage, InvoiceRow, PAGE_ROWS};

/// Audit entries a page of the log shows; a full page links to the older ones.
pub(super) const AUDIT_PAGE: usize = 100;

/// The console's style sheet.
pub const CSS: &str = include_str!("assets/console.css");
/// The console's one script: dropping files on the validation page.
pub const JS: &str = include_str!("assets/console.js");

/// `text` percent-encoded for a URL's query or path.
pub fn url(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// An API key just issued, shown once on the tenants page.
#[derive(Debug)]
pub struct Shown {
    /// Whose.
    pub tenant_id: String,
    /// The key.
    pub api_key: String,
}

/// What the invoice list's form was filled with.
#[derive(Debug)]
pub struct ListForm<'a> {
    /// Search text.
    pub q: &'a str,
    /// State.
    pub state: &'a str,
    /// From (a day).
    pub from: &'a str,
    /// To (a day).
    pub to: &'a str,
}

/// What the received invoices' form was filled with.
#[derive(Debug)]
pub struct ReceivedForm<'a> {
    /// Seller's NIP.
    pub seller: &'a str,
    /// Issued from (a day).
    pub from: &'a str,
    /// Issued to (a day).
    pub to: &'a str,
}

/// Which page of the navigation is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Dashboard,
    Invoices,
    Validate,
    Received,
    Webhooks,
    Tenants,
    Audit,
    None,
}

fn layout(lang: Lang, signed: Option<&Signed>, tenant: Option<&TenantSummary>, section: Section, title: &str, body: Markup) -> Html<String> {
    let q = tenant.map(|t| format!("?tenant={}", url(&t.id))).unwrap_or_default();
    let item = |s: Section, href: String, label: &str| {
        html! { li { a href=(href) aria-current=[(s == section).then_some("page")] { (label) } } }
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ksef-gateway" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { (lang.t("Skip to content", "Przejdź do treści")) }
                header class="top" {
                    p class="brand" { "ksef-gateway " span { (lang.t("console", "konsola")) } }
                    @if let Some(signed) = signed {
                        nav aria-label=(lang.t("Main", "Główna")) {
                            ul {
                                (item(Section::Dashboard, format!("/console/dashboard{q}"), lang.t("Dashboard", "Pulpit")))
                                (item(Section::Invoices, format!("/console/invoices{q}"), lang.t("Invoices", "Faktury")))
                                (item(Section::Validate, format!("/console/validate{q}"), lang.t("Validate", "Walidacja")))
                                (item(Section::Received, format!("/console/received{q}"), lang.t("Received", "Otrzymane")))
                                (item(Section::Webhooks, format!("/console/webhooks{q}"), lang.t("Webhooks", "Webhooki")))
                                @if signed.viewer.is_operator() {
                                    (item(Section::Tenants, "/console/tenants".to_owned(), lang.t("Tenants", "Podmioty")))
                                    (item(Section::Audit, "/console/audit".to_owned(), lang.t("Audit log", "Dziennik zmian")))
                                }
                            }
                        }
                    }
                    div class="tools" {
                        a href=(format!("/console/language/{}", lang.other().code())) lang=(lang.other().code()) {
                            (lang.t("Polski", "English"))
                        }
                        @if let Some(signed) = signed {
                            span class="who" {
                                @if signed.viewer.is_operator() { (lang.t("Operator", "Operator")) } @else { (lang.t("Tenant", "Podmiot")) }
                            }
                            form method="post" action="/console/sign-out" class="inline" {
                                input type="hidden" name="csrf" value=(signed.viewer.csrf);
                                button type="submit" class="link" { (lang.t("Sign out", "Wyloguj")) }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    (body)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// The sign-in page, with a note (a wrong key, an ended sign-in).
pub fn sign_in(lang: Lang, note: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { (lang.t("Sign in", "Logowanie")) }
        @if let Some(note) = note { p class="alert" role="alert" { (note) } }
        form method="post" action="/console/sign-in" class="card narrow" {
            label for="key" { (lang.t("Operator key or a tenant's API key", "Klucz operatora lub klucz API podmiotu")) }
            input id="key" name="key" type="password" autocomplete="off" required maxlength="200";
            p class="hint" {
                (lang.t(
                    "`ksef-gateway serve` printed the operator key (kgo_…) when it first started; it is also in the data folder's operator-key.json. A tenant's API key (kgw_…) shows that tenant alone.",
                    "`ksef-gateway serve` wypisało klucz operatora (kgo_…) przy pierwszym uruchomieniu; jest też w pliku operator-key.json w katalogu danych. Klucz API podmiotu (kgw_…) pokazuje tylko ten podmiot."
                ))
            }
            button type="submit" { (lang.t("Sign in", "Zaloguj")) }
        }
    };
    (status, layout(lang, None, None, Section::None, lang.t("Sign in", "Logowanie"), body)).into_response()
}

/// An error page: the code, its name, what went wrong.
pub fn error(lang: Lang, signed: Option<&Signed>, status: StatusCode, code: ErrorCode, details: &str) -> Response {
    let title = if status == StatusCode::NOT_FOUND { lang.t("Not found", "Nie znaleziono") } else { lang.t("Could not do that", "Nie udało się") };
    let body = html! {
        h1 { (title) }
        div class="alert" role="alert" {
            p { strong { (code.code()) " " (code.name()) } ": " (code.description()) }
            p { (details) }
        }
        p { a href="/console/dashboard" { (lang.t("Back to the dashboard", "Wróć do pulpitu")) } }
    };
    (status, layout(lang, signed, None, Section::None, title, body)).into_response()
}

fn state_badge(lang: Lang, state: DeliveryState) -> Markup {
    html! { span class={ "badge " (state.as_str()) } { (lang.state(state)) } }
}

fn invoice_link(row: &InvoiceRow, tenant: &TenantSummary) -> String {
    format!("/console/invoices/{}?tenant={}", url(&row.view.id), url(&tenant.id))
}

/// The invoice's name in lists: its number, else our id.
fn label(row: &InvoiceRow) -> String {
    row.view.invoice_number.clone().unwrap_or_else(|| row.view.id.clone())
}

fn tenant_heading(lang: Lang, tenant: &TenantSummary) -> Markup {
    html! {
        p class="tenant" {
            (tenant.name) " · NIP " (tenant.nip)
            @if tenant.disabled.is_some() { " · " strong { (lang.t("disabled", "wyłączony")) } }
        }
    }
}

/// A tenant at a glance: failures first, then what waits, offline deadlines, counts, credential and KSeF.
pub fn dashboard(signed: &Signed, tenants: &[TenantSummary], board: &Dashboard) -> Response {
    let lang = signed.lang;
    let tenant = &board.tenant;
    let now = Utc::now();
    let body = html! {
        h1 { (lang.t("Dashboard", "Pulpit")) }
        (tenant_heading(lang, tenant))
        @if tenants.len() > 1 {
            form method="get" action="/console/dashboard" class="inline switch" {
                label for="tenant" { (lang.t("Tenant", "Podmiot")) }
                select id="tenant" name="tenant" {
                    @for t in tenants {
                        option value=(t.id) selected[t.id == tenant.id] { (t.name) " (" (t.nip) ")" }
                    }
                }
                button type="submit" { (lang.t("Show", "Pokaż")) }
            }
        }
        section class="facts" aria-label=(lang.t("Status", "Stan")) {
            div class="card" {
                h2 { "KSeF" }
                @if board.ksef_reachable {
                    p class="ok" { (lang.t("Reachable", "Dostępny")) }
                } @else {
                    p class="bad" { (lang.t("Unreachable: invoices wait in the outbox and go as soon as KSeF is back.", "Niedostępny: faktury czekają w kolejce i pójdą, gdy KSeF wróci.")) }
                }
            }
            div class="card" {
                h2 { (lang.t("Credential", "Poświadczenie")) }
                @match &tenant.credential {
                    Some(c) if c.expires_at.is_some() => {
                        @let expires = c.expires_at.expect("checked");
                        @let days = (expires - now).num_days();
                        p class=(if days < 7 { "bad" } else if days < 30 { "warn" } else { "ok" }) {
                            (lang.t("Certificate", "Certyfikat")) " "
                            // A shared certificate's subject names the office that shares it, not this tenant.
                            @if !c.shared || signed.viewer.is_operator() { (c.subject.clone().unwrap_or_default()) } ": "
                            (lang.t("expires", "wygasa")) " " (lang.time(expires)) " (" (days) " " (lang.t("days", "dni")) ")"
                        }
                    }
                    Some(c) if c.shared && !signed.viewer.is_operator() => { p { (lang.t("A certificate the operator shares among tenants", "Certyfikat współdzielony przez operatora")) } }
                    Some(c) => { p { (c.kind.as_str()) " " (c.name) } }
                    None => {
                        p class="warn" {
                            (lang.t("KSeF token. Tokens' legal basis ends on 2026-12-31: set a certificate before then.",
                                    "Token KSeF. Podstawa prawna tokenów wygasa 31.12.2026: ustaw certyfikat przed tym dniem."))
                        }
                    }
                }
            }
            div class="card" {
                h2 { (lang.t("Invoices", "Faktury")) }
                table {
                    thead { tr { th scope="col" { (lang.t("State", "Stan")) } th scope="col" class="num" { (lang.t("Today", "Dziś")) } th scope="col" class="num" { (lang.t("This month", "Ten miesiąc")) } } }
                    tbody {
                        @for state in STATES {
                            tr {
                                th scope="row" { (state_badge(lang, state)) }
                                td class="num" { (board.today.of(state)) }
                                td class="num" { (board.month.of(state)) }
                            }
                        }
                        tr class="total" { th scope="row" { (lang.t("All", "Razem")) } td class="num" { (board.today.total()) } td class="num" { (board.month.total()) } }
                    }
                }
            }
        }
        section aria-labelledby="failures" {
            h2 id="failures" { (lang.t("Failures", "Błędy")) }
            @if board.failures.is_empty() {
                p { (lang.t("No invoice was rejected.", "Żadna faktura nie została odrzucona.")) }
            } @else {
                ul class="failures" {
                    @for row in &board.failures {
                        li class="card failure" {
                            h3 { a href=(invoice_link(row, tenant)) { (label(row)) } " " (state_badge(lang, row.view.delivery.as_ref().map_or(DeliveryState::Rejected, |d| d.state))) }
                            p { strong { (row.view.status.code) } " " (row.view.status.description) }
                            @if !row.view.status.details.is_empty() {
                                ul { @for d in &row.view.status.details { li { (d) } } }
                            }
                            @if let Some(f) = fix(lang, DeliveryState::Rejected, row.view.status.code) {
                                p class="fix" { strong { (lang.t("What to do: ", "Co zrobić: ")) } (f) }
                            }
                            p class="meta" { (lang.t("Recorded", "Przyjęta przez bramkę")) " " (lang.time(row.created)) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="waiting" {
            h2 id="waiting" { (lang.t("Waiting for KSeF", "Czeka na KSeF")) }
            @if board.waiting.is_empty() {
                p { (lang.t("Nothing is waiting.", "Nic nie czeka.")) }
            } @else {
                (rows_table(lang, tenant, &board.waiting, true))
            }
        }
        section aria-labelledby="offline" {
            h2 id="offline" { (lang.t("Offline deadlines", "Terminy trybu offline")) }
            @if board.offline.is_empty() {
                p { (lang.t("No invoice issued offline is waiting.", "Nie czeka żadna faktura wystawiona offline.")) }
            } @else {
                table {
                    thead { tr { th scope="col" { (lang.t("Invoice", "Faktura")) } th scope="col" { (lang.t("Mode", "Tryb")) } th scope="col" { (lang.t("Must reach KSeF by", "Termin przesłania do KSeF")) } } }
                    tbody {
                        @for row in &board.offline {
                            @let d = row.view.delivery.as_ref();
                            tr {
                                td { a href=(invoice_link(row, tenant)) { (label(row)) } }
                                td { (d.and_then(|d| d.offline_mode.clone()).unwrap_or_default()) }
                                td { (d.and_then(|d| d.deadline).map(|t| lang.time(t)).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(lang, Some(signed), Some(tenant), Section::Dashboard, lang.t("Dashboard", "Pulpit"), body).into_response()
}

fn rows_table(lang: Lang, tenant: &TenantSummary, rows: &[InvoiceRow], why: bool) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th scope="col" { (lang.t("Recorded", "Przyjęta")) }
                    th scope="col" { (lang.t("Invoice", "Faktura")) }
                    th scope="col" { (lang.t("Buyer's NIP", "NIP nabywcy")) }
                    th scope="col" { (lang.t("KSeF number", "Numer KSeF")) }
                    th scope="col" { (lang.t("State", "Stan")) }
                    th scope="col" { @if why { (lang.t("Why", "Dlaczego")) } @else { (lang.t("KSeF status", "Status KSeF")) } }
                }
            }
            tbody {
                @for row in rows {
                    @let d = row.view.delivery.as_ref();
                    tr {
                        td { (lang.time(row.created)) }
                        td { a href=(invoice_link(row, tenant)) { (label(row)) } }
                        td { (row.buyer_nip.clone().unwrap_or_default()) }
                        td class="mono" { (row.view.ksef_number.clone().unwrap_or_default()) }
                        td { @if let Some(d) = d { (state_badge(lang, d.state)) } }
                        td {
                            @if why {
                                (d.and_then(|d| d.last_error.clone()).unwrap_or_else(|| lang.t("being sent", "w trakcie wysyłki").to_owned()))
                                @if let Some(next) = d.and_then(|d| d.next_attempt_at) { " · " (lang.t("next attempt", "następna próba")) " " (lang.time(next)) }
                            } @else if row.view.status.code > 0 {
                                (row.view.status.code) " " (row.view.status.description)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The invoice list: filters, a page of rows, and the way to the next.
pub fn invoices(signed: &Signed, tenant: &TenantSummary, form: &ListForm<'_>, page: &InvoicePage) -> Response {
    let lang = signed.lang;
    let first = (page.page - 1) * PAGE_ROWS + 1;
    let last = first + page.rows.len() as i64 - 1;
    let link = |p: i64| {
        format!(
            "/console/invoices?tenant={}&q={}&state={}&from={}&to={}&page={p}",
            url(&tenant.id),
            url(form.q),
            url(form.state),
            url(form.from),
            url(form.to)
        )
    };
    let body = html! {
        h1 { (lang.t("Invoices", "Faktury")) }
        (tenant_heading(lang, tenant))
        form method="get" action="/console/invoices" class="filters card" role="search" {
            input type="hidden" name="tenant" value=(tenant.id);
            div { label for="q" { (lang.t("Number, KSeF number, buyer's NIP or id", "Numer, numer KSeF, NIP nabywcy lub id")) } input id="q" name="q" type="search" value=(form.q) maxlength="100"; }
            div {
                label for="state" { (lang.t("State", "Stan")) }
                select id="state" name="state" {
                    option value="" { (lang.t("any", "dowolny")) }
                    @for s in STATES { option value=(s.as_str()) selected[form.state == s.as_str()] { (lang.state(s)) } }
                }
            }
            div { label for="from" { (lang.t("Recorded from", "Przyjęte od")) } input id="from" name="from" type="date" value=(form.from); }
            div { label for="to" { (lang.t("to", "do")) } input id="to" name="to" type="date" value=(form.to); }
            div { button type="submit" { (lang.t("Search", "Szukaj")) } }
        }
        @if page.rows.is_empty() {
            p { (lang.t("No invoice matches.", "Żadna faktura nie pasuje.")) }
        } @else {
            p class="meta" { (first) "–" (last) " " (lang.t("of", "z")) " " (page.total) }
            (rows_table(lang, tenant, &page.rows, false))
            nav class="pager" aria-label=(lang.t("Pages", "Strony")) {
                @if page.page > 1 { a href=(link(page.page - 1)) rel="prev" { "← " (lang.t("Newer", "Nowsze")) } }
                @if last < page.total { a href=(link(page.page + 1)) rel="next" { (lang.t("Older", "Starsze")) " →" } }
            }
        }
    };
    layout(lang, Some(signed), Some(tenant), Section::Invoices, lang.t("Invoices", "Faktury"), body).into_response()
}

/// One invoice: where it stands and why, its timeline, what to do, its preview and files.
pub fn invoice(signed: &Signed, tenant: &TenantSummary, detail: &InvoiceDetail) -> Response {
    let lang = signed.lang;
    let row = &detail.row;
    let v = &row.view;
    let d = v.delivery.as_ref();
    let state = d.map_or(DeliveryState::Sent, |d| d.state);
    let q = format!("?tenant={}", url(&tenant.id));
    let base = format!("/console/invoices/{}", url(&v.id));
    let title = format!("{} {}", lang.t("Invoice", "Faktura"), label(row));
    let body = html! {
        h1 { (title) " " (state_badge(lang, state)) }
        (tenant_heading(lang, tenant))
        div class="card status" {
            h2 { (lang.t("Status", "Status")) }
            p { strong { (v.status.code) } " " (v.status.description) }
            @if !v.status.details.is_empty() { ul class="details" { @for line in &v.status.details { li { (line) } } } }
            @if let Some(f) = fix(lang, state, v.status.code) { p class="fix" { strong { (lang.t("What to do: ", "Co zrobić: ")) } (f) } }
            @if state == DeliveryState::Queued {
                form method="post" action=(format!("{base}/retry{q}")) class="inline" {
                    input type="hidden" name="csrf" value=(signed.viewer.csrf);
                    button type="submit" { (lang.t("Retry now", "Ponów teraz")) }
                }
            }
        }
        dl class="card facts-list" {
            dt { (lang.t("Gateway id", "Id w bramce")) } dd class="mono" { (v.id) }
            dt { (lang.t("Invoice number", "Numer faktury")) } dd { (v.invoice_number.clone().unwrap_or_else(|| "—".to_owned())) }
            dt { (lang.t("KSeF number", "Numer KSeF")) } dd class="mono" { (v.ksef_number.clone().unwrap_or_else(|| "—".to_owned())) }
            dt { (lang.t("Buyer's NIP", "NIP nabywcy")) } dd { (row.buyer_nip.clone().unwrap_or_else(|| "—".to_owned())) }
            dt { (lang.t("Session", "Sesja")) } dd class="mono" { (row.session_id) }
            @if let Some(mode) = d.and_then(|d| d.offline_mode.clone()) {
                dt { (lang.t("Issued offline", "Wystawiona offline")) } dd { (mode) @if let Some(t) = d.and_then(|d| d.deadline) { ", " (lang.t("due in KSeF by", "termin w KSeF")) " " (lang.time(t)) } }
            }
        }
        section aria-labelledby="timeline" {
            h2 id="timeline" { (lang.t("Timeline", "Przebieg")) }
            ol class="timeline" {
                li { (lang.time(row.created)) " — " (lang.t("recorded by the gateway", "przyjęta przez bramkę")) }
                @if let Some(d) = d {
                    @if d.attempts > 0 { li { (d.attempts) " " (lang.t("attempt(s) to send", "prób(y) wysyłki")) @if let Some(e) = &d.last_error { "; " (lang.t("last failure", "ostatni błąd")) ": " (e) } } }
                    @if let Some(next) = d.next_attempt_at { li { (lang.time(next)) " — " (lang.t("next attempt", "następna próba")) } }
                    @if let Some(s) = &d.ksef_session { li { (lang.t("sent to KSeF, session", "wysłana do KSeF, sesja")) " " span class="mono" { (s) } } }
                }
                @match state {
                    DeliveryState::Accepted => li { (v.acquisition_date.map(|t| lang.time(t)).unwrap_or_default()) " — " (lang.t("accepted by KSeF", "przyjęta przez KSeF")) }
                    DeliveryState::Rejected => li { (lang.time(row.updated)) " — " (lang.t("rejected", "odrzucona")) }
                    DeliveryState::Duplicate => li { (lang.time(row.updated)) " — " (lang.t("found a duplicate", "uznana za duplikat")) }
                    _ => {}
                }
                @if detail.accepted() { li { (lang.t("UPO available", "UPO dostępne")) } }
            }
        }
        section aria-labelledby="files" {
            h2 id="files" { (lang.t("Preview and files", "Podgląd i pliki")) }
            @if detail.previewable {
                p class="actions" {
                    a href=(format!("{base}/preview{q}")) target="_blank" rel="noopener" { (lang.t("Open the preview", "Otwórz podgląd")) }
                    a href=(format!("{base}/pdf{q}")) { "PDF" }
                    a href=(format!("{base}/xml{q}")) { "XML" }
                    @if detail.accepted() { a href=(format!("{base}/upo{q}")) { "UPO" } }
                }
                iframe class="preview" src=(format!("{base}/preview{q}")) title=(lang.t("The invoice's visualization", "Wizualizacja faktury")) sandbox="" {}
            } @else {
                p { (lang.t("The gateway does not hold this invoice's content: it was encrypted with the caller's own key.", "Bramka nie ma treści tej faktury: zaszyfrowano ją własnym kluczem wysyłającego.")) }
            }
        }
    };
    layout(lang, Some(signed), Some(tenant), Section::Invoices, &title, body).into_response()
}

/// How many lines of a dropped file are shown around each finding, when the file is long.
const CONTEXT_LINES: usize = 3;
/// Files up to this many lines are shown whole.
const WHOLE_FILE_LINES: usize = 400;

fn source(index: usize, text: &str, findings: &[ksef_fa::Finding]) -> Markup {
    let marked: std::collections::BTreeSet<usize> = findings.iter().map(|f| f.line as usize).collect();
    let lines: Vec<&str> = text.lines().collect();
    let shown = |n: usize| lines.len() <= WHOLE_FILE_LINES || marked.iter().any(|m| m.abs_diff(n) <= CONTEXT_LINES);
    html! {
        pre class="source" tabindex="0" {
            @for (i, line) in lines.iter().enumerate() {
                @let n = i + 1;
                @if shown(n) {
                    @if !shown(n.saturating_sub(1)) && n > 1 { span class="gap" { "…\n" } }
                    span id=(format!("f{index}-L{n}")) class=(if marked.contains(&n) { "line mark" } else { "line" }) {
                        span class="no" aria-hidden="true" { (n) } (line.chars().take(500).collect::<String>()) "\n"
                    }
                }
            }
        }
    }
}

/// The validation page: a drop zone, and each file's findings with the source's lines marked.
pub fn validate(signed: &Signed, tenant: &TenantSummary, checked: &[Checked]) -> Response {
    let lang = signed.lang;
    let q = format!("?tenant={}", url(&tenant.id));
    let body = html! {
        h1 { (lang.t("Validate invoices", "Walidacja faktur")) }
        (tenant_heading(lang, tenant))
        form method="post" action=(format!("/console/validate{q}")) enctype="multipart/form-data" class="card drop" id="drop" {
            input type="hidden" name="csrf" value=(signed.viewer.csrf);
            label for="files" { (lang.t("FA(2) or FA(3) XML files (drop them here or choose; up to 20)", "Pliki XML FA(2) lub FA(3) (upuść je tutaj lub wybierz; do 20)")) }
            input id="files" name="files" type="file" accept=".xml,application/xml,text/xml" multiple required;
            button type="submit" { (lang.t("Check", "Sprawdź")) }
        }
        @for (index, file) in checked.iter().enumerate() {
            @let errors = file.findings.iter().filter(|f| f.severity == Severity::Error).count();
            @let warnings = file.findings.len() - errors;
            section class="card result" aria-labelledby=(format!("file-{index}")) {
                h2 id=(format!("file-{index}")) { (file.name) " "
                    @if file.valid() { span class="badge accepted" { (lang.t("valid", "poprawna")) } } @else { span class="badge rejected" { (lang.t("invalid", "błędna")) } }
                }
                @if let Some(failure) = &file.failure { p class="alert" role="alert" { (failure) } }
                @if file.text.is_none() { p class="alert" role="alert" { (lang.t("The file is not UTF-8 text.", "Plik nie jest tekstem UTF-8.")) } }
                p { (errors) " " (lang.t("error(s)", "błąd(ów)")) ", " (warnings) " " (lang.t("warning(s)", "ostrzeżenie(a)")) }
                @if !file.findings.is_empty() {
                    table class="findings" {
                        thead { tr { th scope="col" { (lang.t("Severity", "Waga")) } th scope="col" { (lang.t("Line", "Wiersz")) } th scope="col" { (lang.t("Path", "Ścieżka")) } th scope="col" { (lang.t("Problem", "Problem")) } } }
                        tbody {
                            @for f in &file.findings {
                                tr class=(if f.severity == Severity::Error { "error" } else { "warning" }) {
                                    td { @if f.severity == Severity::Error { (lang.t("error", "błąd")) } @else { (lang.t("warning", "ostrzeżenie")) } }
                                    td { a href=(format!("#f{index}-L{}", f.line)) { (f.line) } }
                                    td class="mono" { (f.path) }
                                    td { @if lang == Lang::Pl { (f.message_pl) } @else { (f.message_en) } " " span class="rule" { "(" (f.rule) ")" } }
                                }
                            }
                        }
                    }
                }
                @if let Some(text) = &file.text {
                    details open[!file.valid()] {
                        summary { (lang.t("Source", "Źródło")) }
                        (source(index, text, &file.findings))
                    }
                    @if file.valid() {
                        form method="post" action=(format!("/console/submit{q}")) class="inline" {
                            input type="hidden" name="csrf" value=(signed.viewer.csrf);
                            input type="hidden" name="xml" value=(ksef_core::crypto::b64url(text.as_bytes()));
                            button type="submit" { (lang.t("Send to KSeF", "Wyślij do KSeF")) }
                        }
                    }
                }
            }
        }
    };
    layout(lang, Some(signed), Some(tenant), Section::Validate, lang.t("Validate", "Walidacja"), body).into_response()
}

/// The operator's tenants: who they are, their credentials, and what can be done to them.
pub fn tenants(signed: &Signed, list: &[TenantSummary], shown: Option<&Shown>) -> Response {
    let lang = signed.lang;
    let now = Utc::now();
    let csrf = &signed.viewer.csrf;
    let body = html! {
        h1 { (lang.t("Tenants", "Podmioty")) }
        @if let Some(shown) = shown {
            div class="card notice" role="status" {
                p { (lang.t("The tenant's new API key, shown this once:", "Nowy klucz API podmiotu, pokazany tylko ten raz:")) }
                p { code class="key" { (shown.api_key) } }
                p class="meta" { (lang.t("Tenant", "Podmiot")) " " span class="mono" { (shown.tenant_id) } }
            }
        }
        table {
            thead {
                tr {
                    th scope="col" { (lang.t("Name", "Nazwa")) }
                    th scope="col" { "NIP" }
                    th scope="col" { (lang.t("Credential", "Poświadczenie")) }
                    th scope="col" { (lang.t("State", "Stan")) }
                    th scope="col" { (lang.t("Actions", "Akcje")) }
                }
            }
            tbody {
                @for t in list {
                    tr {
                        td { a href=(format!("/console/dashboard?tenant={}", url(&t.id))) { (t.name) } br; span class="mono meta" { (t.id) } }
                        td { (t.nip) }
                        td {
                            @match &t.credential {
                                Some(c) => {
                                    (c.kind.as_str()) " " (c.subject.clone().unwrap_or_default())
                                    @if let Some(expires) = c.expires_at { br; (lang.t("expires", "wygasa")) " " (lang.time(expires)) " (" ((expires - now).num_days()) " " (lang.t("days", "dni")) ")" }
                                }
                                None => { (lang.t("KSeF token", "token KSeF")) }
                            }
                        }
                        td { @if t.disabled.is_some() { span class="badge rejected" { (lang.t("disabled", "wyłączony")) } } @else { span class="badge accepted" { (lang.t("active", "aktywny")) } } }
                        td class="actions" {
                            form method="post" action=(format!("/console/tenants/{}/{}", url(&t.id), if t.disabled.is_some() { "enable" } else { "disable" })) class="inline" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { @if t.disabled.is_some() { (lang.t("Enable", "Włącz")) } @else { (lang.t("Disable", "Wyłącz")) } }
                            }
                            form method="post" action=(format!("/console/tenants/{}/rotate", url(&t.id))) class="inline" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { (lang.t("New API key", "Nowy klucz API")) }
                            }
                            details {
                                summary { (lang.t("Set certificate", "Ustaw certyfikat")) }
                                form method="post" action=(format!("/console/tenants/{}/certificate", url(&t.id))) enctype="multipart/form-data" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label for=(format!("cert-{}", t.id)) { (lang.t("Certificate (PEM or DER; none with PKCS#12)", "Certyfikat (PEM lub DER; brak przy PKCS#12)")) }
                                    input id=(format!("cert-{}", t.id)) name="certificate" type="file";
                                    label for=(format!("key-{}", t.id)) { (lang.t("Private key, or a PKCS#12 file", "Klucz prywatny lub plik PKCS#12")) }
                                    input id=(format!("key-{}", t.id)) name="key" type="file" required;
                                    label for=(format!("password-{}", t.id)) { (lang.t("Password (an encrypted key, PKCS#12)", "Hasło (klucz zaszyfrowany, PKCS#12)")) }
                                    input id=(format!("password-{}", t.id)) name="password" type="password" autocomplete="off";
                                    button type="submit" { (lang.t("Save", "Zapisz")) }
                                }
                            }
                            details {
                                summary { (lang.t("Set KSeF token", "Ustaw token KSeF")) }
                                form method="post" action=(format!("/console/tenants/{}/token", url(&t.id))) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label for=(format!("token-{}", t.id)) { (lang.t("KSeF token", "Token KSeF")) }
                                    input id=(format!("token-{}", t.id)) name="ksef_token" type="password" autocomplete="off" required;
                                    button type="submit" { (lang.t("Save", "Zapisz")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="add" class="card narrow" {
            h2 id="add" { (lang.t("Add a tenant", "Dodaj podmiot")) }
            form method="post" action="/console/tenants" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { (lang.t("Name", "Nazwa")) } input id="name" name="name" required maxlength="200";
                label for="nip" { "NIP" } input id="nip" name="nip" required maxlength="13" inputmode="numeric";
                label for="ksef_token" { (lang.t("KSeF token", "Token KSeF")) } input id="ksef_token" name="ksef_token" type="password" autocomplete="off" required;
                p class="hint" { (lang.t("A certificate can be set once the tenant is added (its row's “Set certificate”).", "Certyfikat można ustawić po dodaniu podmiotu („Ustaw certyfikat” w jego wierszu).")) }
                button type="submit" { (lang.t("Add", "Dodaj")) }
            }
        }
    };
    layout(lang, Some(signed), None, Section::Tenants, lang.t("Tenants", "Podmioty"), body).into_response()
}

/// The audit log, newest first.
pub fn audit(signed: &Signed, entries: &[AuditEntry]) -> Response {
    let lang = signed.lang;
    let body = html! {
        h1 { (lang.t("Audit log", "Dziennik zmian")) }
        table {
            thead { tr { th scope="col" { (lang.t("When", "Kiedy")) } th scope="col" { (lang.t("Who", "Kto")) } th scope="col" { (lang.t("What", "Co")) } th scope="col" { (lang.t("On", "Czego")) } th scope="col" { (lang.t("Detail", "Szczegóły")) } } }
            tbody {
                @for e in entries {
                    tr { td { (lang.time(e.at)) } td { (e.actor) } td class="mono" { (e.action) } td class="mono" { (e.target.clone().unwrap_or_default()) } td { (e.detail.clone().unwrap_or_default()) } }
                }
            }
        }
        @if let Some(last) = entries.last().filter(|_| entries.len() == AUDIT_PAGE) {
            p { a href=(format!("/console/audit?before={}", url(&last.id))) { (lang.t("Older", "Starsze")) " →" } }
        }
    };
    layout(lang, Some(signed), None, Section::Audit, lang.t("Audit log", "Dziennik zmian"), body).into_response()
}

/// Invoices others issued to the tenant, as the sync received them from KSeF.
pub fn received(signed: &Signed, tenant: &TenantSummary, form: &ReceivedForm<'_>, rows: &[ksef_store::ReceivedRecord], more: bool) -> Response {
    let lang = signed.lang;
    let q = format!("?tenant={}", url(&tenant.id));
    let body = html! {
        h1 { (lang.t("Received invoices", "Faktury otrzymane")) }
        (tenant_heading(lang, tenant))
        form method="get" action="/console/received" class="filters card" role="search" {
            input type="hidden" name="tenant" value=(tenant.id);
            div { label for="seller" { (lang.t("Seller's NIP", "NIP sprzedawcy")) } input id="seller" name="seller" value=(form.seller) maxlength="13" inputmode="numeric"; }
            div { label for="from" { (lang.t("Issued from", "Wystawione od")) } input id="from" name="from" type="date" value=(form.from); }
            div { label for="to" { (lang.t("to", "do")) } input id="to" name="to" type="date" value=(form.to); }
            div { button type="submit" { (lang.t("Search", "Szukaj")) } }
        }
        @if rows.is_empty() {
            p { (lang.t("No received invoice matches (the sync runs every few minutes).", "Żadna otrzymana faktura nie pasuje (synchronizacja działa co kilka minut).")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (lang.t("Issued", "Wystawiona")) } th scope="col" { (lang.t("Seller", "Sprzedawca")) }
                    th scope="col" { (lang.t("Number", "Numer")) } th scope="col" { (lang.t("KSeF number", "Numer KSeF")) } th scope="col" class="num" { (lang.t("Gross", "Brutto")) }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td { (r.issue_date) }
                            td { (r.seller_name.clone().unwrap_or_default()) br; span class="meta" { "NIP " (r.seller_nip) } }
                            td { a href=(format!("/console/received/{}/preview{q}", url(&r.ksef_number))) target="_blank" rel="noopener" { (r.invoice_number) } }
                            td class="mono" { (r.ksef_number) }
                            td class="num" { (r.gross_amount.clone().unwrap_or_default()) " " (r.currency.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
            @if more {
                @if let Some(last) = rows.last() {
                    nav class="pager" aria-label=(lang.t("Pages", "Strony")) {
                        a href=(format!("/console/received{q}&seller={}&from={}&to={}&after={}", url(form.seller), url(form.from), url(form.to), last.seq)) rel="next" { (lang.t("More", "Więcej")) " →" }
                    }
                }
            }
        }
    };
    layout(lang, Some(signed), Some(tenant), Section::Received, lang.t("Received invoices", "Faktury otrzymane"), body).into_response()
}

/// The tenant's webhooks, each with its latest deliveries and a way to send one again.
pub fn webhooks(signed: &Signed, tenant: &TenantSummary, hooks: &[(ksef_store::WebhookRecord, Vec<ksef_store::DeliveryRecord>)]) -> Response {
    let lang = signed.lang;
    let q = format!("?tenant={}", url(&tenant.id));
    let body = html! {
        h1 { (lang.t("Webhooks", "Webhooki")) }
        (tenant_heading(lang, tenant))
        @if hooks.is_empty() {
            p { (lang.t("No webhook. A tenant subscribes with POST /api/v2/webhooks.", "Brak webhooków. Podmiot subskrybuje przez POST /api/v2/webhooks.")) }
        }
        @for (hook, deliveries) in hooks {
            section class="card" aria-labelledby=(format!("hook-{}", hook.id)) {
                h2 id=(format!("hook-{}", hook.id)) class="mono" { (hook.url) }
                p {
                    @if hook.enabled { span class="badge accepted" { (lang.t("enabled", "włączony")) } } @else { span class="badge rejected" { (lang.t("disabled", "wyłączony")) } }
                    @if let Some(why) = &hook.disabled_why { " " (why) }
                    @if let Some(since) = hook.failing_since { " " span class="bad" { (lang.t("failing since", "błędy od")) " " (lang.time(crate::ops::from_micros(since))) } }
                }
                @if let Some(d) = &hook.description { p class="meta" { (d) } }
                @if deliveries.is_empty() {
                    p { (lang.t("No delivery yet.", "Jeszcze bez dostaw.")) }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { (lang.t("Event", "Zdarzenie")) } th scope="col" { (lang.t("State", "Stan")) } th scope="col" class="num" { (lang.t("Attempts", "Próby")) }
                            th scope="col" { (lang.t("Last answer", "Ostatnia odpowiedź")) } th scope="col" { (lang.t("Actions", "Akcje")) }
                        } }
                        tbody {
                            @for d in deliveries {
                                tr {
                                    td { span class="mono" { (d.event.kind.as_str()) } br; span class="meta" { (lang.time(crate::ops::from_micros(d.event.created_at))) } }
                                    td { (d.state.as_str()) }
                                    td class="num" { (d.attempts) }
                                    td { @if let Some(status) = d.last_status { "HTTP " (status) " " } (d.last_error.clone().unwrap_or_default()) }
                                    td {
                                        @if hook.enabled {
                                            form method="post" action=(format!("/console/webhooks/{}/deliveries/{}/redeliver{q}", url(&hook.id), url(&d.event.id))) class="inline" {
                                                input type="hidden" name="csrf" value=(signed.viewer.csrf);
                                                button type="submit" aria-label=(format!("{} {}", lang.t("Redeliver", "Wyślij ponownie"), d.event.id)) { (lang.t("Redeliver", "Wyślij ponownie")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(lang, Some(signed), Some(tenant), Section::Webhooks, lang.t("Webhooks", "Webhooki"), body).into_response()
}
