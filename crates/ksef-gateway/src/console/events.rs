//! The console's pages about what reaches a tenant from outside and what it is told: received invoices with their
//! previews, and webhooks with their deliveries and redelivery.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::extract::{Form, Query, Scoped};
use super::invoices::visual_language;
use super::pages;
use super::session::CsrfForm;
use crate::api::AppState;
use crate::errors::ErrorCode;
use crate::ops::{OpError, admin, documents, inbox, webhooks};

/// Received invoices shown on one page.
const RECEIVED_PAGE: i64 = 50;
/// Deliveries shown per webhook.
const DELIVERIES_SHOWN: i64 = 20;

/// The received invoices' filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ReceivedForm {
    #[serde(default)]
    seller: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    after: Option<i64>,
}

impl ReceivedForm {
    /// The store's filter, or every problem with the form.
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

pub(super) async fn received(State(state): State<AppState>, scoped: Scoped, Query(q): Query<ReceivedForm>) -> Response {
    let Scoped { signed, tenant } = &scoped;
    let filter = match q.filter() {
        Ok(filter) => filter,
        Err(problems) => return signed.failure(OpError::refused(ErrorCode::ReceivedQuery, problems.join("; "))),
    };
    match inbox::list(&state.ops, &scoped.owner(), &filter).await {
        Ok(rows) => {
            let form = pages::ReceivedForm { seller: &q.seller, from: &q.from, to: &q.to };
            pages::received(signed, tenant, &form, &rows, rows.len() as i64 == RECEIVED_PAGE)
        }
        Err(err) => signed.failure(err),
    }
}

pub(super) async fn received_preview(State(state): State<AppState>, scoped: Scoped, Path(ksef_number): Path<String>) -> Response {
    let owner = scoped.owner();
    let result = async {
        let record = inbox::received(&state.ops, &owner, &ksef_number).await?;
        let xml = record.xml.ok_or_else(|| OpError::conflict(ErrorCode::ReceivedUnknown, "the sync has not downloaded this invoice's XML yet"))?;
        let format = documents::OutputFormat::Html;
        documents::visualize(&state.ops, &owner, None, false, Some(&record.ksef_number), xml, format, visual_language(scoped.signed.lang)).await
    }
    .await;
    match result {
        Ok(rendered) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], rendered.bytes).into_response(),
        Err(err) => scoped.signed.failure(err),
    }
}

pub(super) async fn webhooks(State(state): State<AppState>, scoped: Scoped) -> Response {
    let owner = scoped.owner();
    let result = async {
        let mut shown = Vec::new();
        for hook in webhooks::list(&state.ops, &owner).await? {
            let deliveries = webhooks::deliveries(&state.ops, &owner, &hook.id, None, None, DELIVERIES_SHOWN).await?;
            shown.push((hook, deliveries));
        }
        Ok::<_, OpError>(shown)
    }
    .await;
    match result {
        Ok(shown) => pages::webhooks(&scoped.signed, &scoped.tenant, &shown),
        Err(err) => scoped.signed.failure(err),
    }
}

pub(super) async fn redeliver(
    State(state): State<AppState>,
    scoped: Scoped,
    Path((id, event)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Scoped { signed, tenant } = &scoped;
    if let Err(refused) = signed.check(&form.csrf) {
        return *refused;
    }
    let result = async {
        webhooks::redeliver(&state.ops, &scoped.owner(), &id, &event).await?;
        admin::audit(&state.ops, &signed.viewer.actor, "webhook.redeliver", Some(&id), Some(format!("event {event}"))).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/console/webhooks?tenant={}", pages::url(&tenant.id))).into_response(),
        Err(err) => signed.failure(err),
    }
}
