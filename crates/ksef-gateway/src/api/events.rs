//! Events, webhooks and received invoices (ours): extract, call one operation, map the result.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ksef_store::{EventRecord, ReceivedFilter, WebhookDeliveryState};

use super::AppState;
use super::dto::events::{
    DeliveryQuery, Event, EventPage, EventQuery, ReceivedFormat, ReceivedInvoice, ReceivedPage, ReceivedQuery, SyncList, SyncRequest, SyncState, VerifyRequest, VerifyResponse,
    Webhook, WebhookDelivery, WebhookDeliveryPage, WebhookList, WebhookRequest, WebhookTestResponse,
};
use super::dto::SubmittedInvoiceResponse;
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use crate::errors::ErrorCode;
use crate::ops::events::{self, Subject};
use crate::ops::webhooks::WebhookInput;
use crate::ops::{self, OpError, documents, from_micros, inbox, webhooks};

impl RequestBody for WebhookRequest {
    const MALFORMED: ErrorCode = ErrorCode::WebhookInvalid;
}

impl RequestBody for SyncRequest {
    const MALFORMED: ErrorCode = ErrorCode::ReceivedQuery;
}

impl RequestBody for VerifyRequest {
    const MALFORMED: ErrorCode = ErrorCode::VerifyInput;
}

fn query<T>(params: Result<Query<T>, QueryRejection>, code: ErrorCode) -> Result<T, ApiError> {
    params.map(|Query(p)| p).map_err(|e| ApiError::refused(code, format!("query parameters: {e}")))
}

/// An event as webhooks (`with_xml`: a received invoice's XML included) and the events list show it.
pub async fn render_event(ctx: &ops::Context, event: &EventRecord, with_xml: bool) -> Result<Event, OpError> {
    let data = match events::subject(ctx, event).await? {
        Subject::Invoice { view, session_id } => {
            serde_json::to_value(SubmittedInvoiceResponse { invoice: (*view).into(), session_id }).map_err(anyhow::Error::from)?
        }
        Subject::Session { session_id, ksef_reference } => serde_json::json!({ "sessionId": session_id, "ksefReferenceNumber": ksef_reference }),
        Subject::Received(mut r) => {
            if !with_xml {
                r.xml = None;
            }
            serde_json::to_value(ReceivedInvoice::from_record(*r)).map_err(anyhow::Error::from)?
        }
        Subject::Detail(detail) => detail,
        Subject::Nothing => serde_json::Value::Null,
    };
    Ok(Event { id: event.id.clone(), kind: event.kind.as_str().to_owned(), timestamp: from_micros(event.created_at), cursor: event.seq.to_string(), data })
}

/// The tenant's events after a cursor (ours), oldest first; with `wait`, the answer waits up to that many seconds
/// for the next event (long polling). For those who cannot receive webhooks: the same events, the same `id`s
/// (a received invoice without its XML: `GET /api/v2/received/{ksefNumber}?format=xml`).
#[utoipa::path(get, path = "/api/v2/events", tag = "Events", params(EventQuery),
    responses((status = 200, body = EventPage), (status = 400, description = "1403", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    params: Result<Query<EventQuery>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let q = query(params, ErrorCode::EventQuery)?;
    let after = events::parse_cursor(q.after.as_deref())?;
    let kinds = events::parse_types(q.types.as_deref())?;
    let wait = std::time::Duration::from_secs(q.wait.unwrap_or(0).min(events::MAX_WAIT_SECS));
    let page = events::list(&state.ops, &tenant, after, kinds.as_deref(), q.limit.unwrap_or(events::DEFAULT_PAGE), wait).await?;
    let mut out = Vec::with_capacity(page.events.len());
    for e in &page.events {
        out.push(render_event(&state.ops, e, false).await?);
    }
    Ok(Json(EventPage { events: out, next: page.next.to_string() }))
}

fn input(req: WebhookRequest) -> WebhookInput {
    WebhookInput { url: req.url, events: req.events, description: req.description, secret: req.secret, enabled: req.enabled }
}

/// Subscribes a URL to the tenant's events (ours). The answer carries the signing secret, once (a repeat with the
/// same `Idempotency-Key` answers the webhook without it). Every problem
/// is reported at once (1402): not http(s), a private or loopback address (unless the operator allows them), the
/// gateway itself, an unknown event type, a secret not in the Standard Webhooks form or too short.
#[utoipa::path(post, path = "/api/v2/webhooks", tag = "Events", request_body = WebhookRequest,
    responses((status = 201, body = Webhook), (status = 400, description = "1402", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<Response, ApiError> {
    if req.enabled.is_some() {
        return Err(ApiError::refused(ErrorCode::WebhookInvalid, "`enabled` is only for changes; a new webhook is enabled"));
    }
    let made = webhooks::create(&state.ops, &tenant, input(req)).await?;
    let without_secret = Webhook::from_record(made.record);
    // A repeat with the same Idempotency-Key gets the webhook without its secret: the secret is never stored in clear.
    let kept = serde_json::to_vec(&without_secret).map_err(|e| ApiError(OpError::Internal(e.into())))?;
    let answer = Webhook { secret: made.secret, ..without_secret };
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    response.extensions_mut().insert(super::idempotency::KeepInstead(kept));
    Ok(response)
}

/// The tenant's webhooks (ours).
#[utoipa::path(get, path = "/api/v2/webhooks", tag = "Events", responses((status = 200, body = WebhookList)), security(("api_key" = [])))]
pub async fn list_webhooks(State(state): State<AppState>, Authenticated(tenant): Authenticated) -> Result<Json<WebhookList>, ApiError> {
    let list = webhooks::list(&state.ops, &tenant).await?;
    Ok(Json(WebhookList { webhooks: list.into_iter().map(Webhook::from_record).collect() }))
}

/// One webhook (ours).
#[utoipa::path(get, path = "/api/v2/webhooks/{webhookId}", tag = "Events", params(("webhookId" = String, Path)),
    responses((status = 200, body = Webhook), (status = 404, description = "1401", body = super::dto::Error)), security(("api_key" = [])))]
pub async fn get_webhook(State(state): State<AppState>, Authenticated(tenant): Authenticated, Path(id): Path<String>) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(Webhook::from_record(webhooks::get(&state.ops, &tenant, &id).await?)))
}

/// Changes a webhook (ours): URL, events, description, or `enabled` (enabling one the gateway disabled after a
/// failure run resumes it; use redeliver for what failed meanwhile).
#[utoipa::path(patch, path = "/api/v2/webhooks/{webhookId}", tag = "Events", params(("webhookId" = String, Path)), request_body = WebhookRequest,
    responses((status = 200, body = Webhook), (status = 400, description = "1402", body = super::dto::Error), (status = 404, description = "1401", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn update_webhook(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(Webhook::from_record(webhooks::update(&state.ops, &tenant, &id, input(req)).await?)))
}

/// Deletes a webhook and its delivery log (ours).
#[utoipa::path(delete, path = "/api/v2/webhooks/{webhookId}", tag = "Events", params(("webhookId" = String, Path)),
    responses((status = 204), (status = 404, description = "1401", body = super::dto::Error)), security(("api_key" = [])))]
pub async fn delete_webhook(State(state): State<AppState>, Authenticated(tenant): Authenticated, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state.ops, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Posts a `webhook.test` event to this webhook only (ours); its delivery shows in the log.
#[utoipa::path(post, path = "/api/v2/webhooks/{webhookId}/test", tag = "Events", params(("webhookId" = String, Path)),
    responses((status = 202, body = WebhookTestResponse), (status = 404, description = "1401", body = super::dto::Error), (status = 409, description = "1402: disabled", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn test_webhook(State(state): State<AppState>, Authenticated(tenant): Authenticated, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let event_id = webhooks::test(&state.ops, &tenant, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(WebhookTestResponse { event_id })))
}

/// A webhook's delivery log, newest first (ours).
#[utoipa::path(get, path = "/api/v2/webhooks/{webhookId}/deliveries", tag = "Events", params(("webhookId" = String, Path), DeliveryQuery),
    responses((status = 200, body = WebhookDeliveryPage), (status = 400, description = "1403", body = super::dto::Error), (status = 404, description = "1401", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(id): Path<String>,
    params: Result<Query<DeliveryQuery>, QueryRejection>,
) -> Result<Json<WebhookDeliveryPage>, ApiError> {
    let q = query(params, ErrorCode::EventQuery)?;
    let state_filter = match q.state.as_deref() {
        None => None,
        Some(s) => Some(WebhookDeliveryState::parse(s).ok_or_else(|| ApiError::refused(ErrorCode::EventQuery, "`state` must be pending, delivered or failed"))?),
    };
    let before = match q.before.as_deref() {
        None => None,
        Some(b) => Some(events::parse_cursor(Some(b))?),
    };
    let limit = q.limit.unwrap_or(events::DEFAULT_PAGE);
    if !(1..=events::MAX_PAGE).contains(&limit) {
        return Err(ApiError::refused(ErrorCode::EventQuery, format!("`limit` must be 1 to {}", events::MAX_PAGE)));
    }
    let page = webhooks::deliveries(&state.ops, &tenant, &id, state_filter, before, limit).await?;
    let next = (page.len() as i64 == limit).then(|| page.last().map(|d| d.event.seq.to_string())).flatten();
    Ok(Json(WebhookDeliveryPage { deliveries: page.into_iter().map(|d| WebhookDelivery::from_record(d, None)).collect(), next }))
}

/// One delivery with every attempt (ours).
#[utoipa::path(get, path = "/api/v2/webhooks/{webhookId}/deliveries/{eventId}", tag = "Events", params(("webhookId" = String, Path), ("eventId" = String, Path)),
    responses((status = 200, body = WebhookDelivery), (status = 404, description = "1401", body = super::dto::Error)), security(("api_key" = [])))]
pub async fn get_delivery(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Json<WebhookDelivery>, ApiError> {
    let (delivery, attempts) = webhooks::delivery(&state.ops, &tenant, &id, &event_id).await?;
    Ok(Json(WebhookDelivery::from_record(delivery, Some(attempts))))
}

/// Posts an event to the webhook again, with the same `webhook-id` (ours), whatever became of it before.
#[utoipa::path(post, path = "/api/v2/webhooks/{webhookId}/deliveries/{eventId}/redeliver", tag = "Events", params(("webhookId" = String, Path), ("eventId" = String, Path)),
    responses((status = 202), (status = 404, description = "1401", body = super::dto::Error), (status = 409, description = "1402: disabled", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn redeliver(State(state): State<AppState>, Authenticated(tenant): Authenticated, Path((id, event_id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    webhooks::redeliver(&state.ops, &tenant, &id, &event_id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Reads an amount filter into hundredths.
fn cents(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::refused(ErrorCode::ReceivedQuery, format!("`{name}` is not an amount: {}", super::error::loggable(text)));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 15 {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    Ok(Some(whole * 100 + fraction))
}

fn day(name: &str, text: Option<&str>) -> Result<Option<String>, ApiError> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| d.to_string())
                .map_err(|_| ApiError::refused(ErrorCode::ReceivedQuery, format!("`{name}` is not a date (YYYY-MM-DD): {}", super::error::loggable(t))))
        })
        .transpose()
}

/// Invoices others issued to the tenant, synced from KSeF (ours), in the order they arrived, filtered.
#[utoipa::path(get, path = "/api/v2/received", tag = "Received invoices", params(ReceivedQuery),
    responses((status = 200, body = ReceivedPage), (status = 400, description = "1502", body = super::dto::Error)), security(("api_key" = [])))]
pub async fn list_received(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    params: Result<Query<ReceivedQuery>, QueryRejection>,
) -> Result<Json<ReceivedPage>, ApiError> {
    let q = query(params, ErrorCode::ReceivedQuery)?;
    let after = events::parse_cursor(q.after.as_deref()).map_err(|_| ApiError::refused(ErrorCode::ReceivedQuery, "`after` is not a cursor this API gave"))?;
    if let Some(nip) = q.seller_nip.as_deref() {
        ksef_core::ids::Nip::parse(nip).map_err(|e| ApiError::refused(ErrorCode::ReceivedQuery, format!("`sellerNip`: {e}")))?;
    }
    let filter = ReceivedFilter {
        after,
        issued_from: day("issuedFrom", q.issued_from.as_deref())?,
        issued_to: day("issuedTo", q.issued_to.as_deref())?,
        seller_nip: q.seller_nip,
        min_gross_cents: cents("minGross", q.min_gross.as_deref())?,
        max_gross_cents: cents("maxGross", q.max_gross.as_deref())?,
        limit: q.limit.unwrap_or(100),
    };
    let page = inbox::list(&state.ops, &tenant, &filter).await?;
    let next = page.last().map_or(after, |r| r.seq).to_string();
    Ok(Json(ReceivedPage { invoices: page.into_iter().map(ReceivedInvoice::from_record).collect(), next }))
}

/// One received invoice (ours): `format=json` (default: metadata and XML), `xml` (exactly as KSeF holds it),
/// `fields` (the invoice as JSON with readable names), `html` or `pdf`.
#[utoipa::path(get, path = "/api/v2/received/{ksefNumber}", tag = "Received invoices", params(("ksefNumber" = String, Path), ReceivedFormat),
    responses((status = 200, body = ReceivedInvoice), (status = 400, description = "1502", body = super::dto::Error), (status = 404, description = "1501", body = super::dto::Error)),
    security(("api_key" = [])))]
pub async fn get_received(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    Path(ksef_number): Path<String>,
    params: Result<Query<ReceivedFormat>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(params, ErrorCode::ReceivedQuery)?;
    let language = match q.language.as_deref().unwrap_or("pl") {
        "pl" => ksef_visualize::Language::Pl,
        "en" => ksef_visualize::Language::En,
        "pl-en" => ksef_visualize::Language::PlEn,
        _ => return Err(ApiError::refused(ErrorCode::ReceivedQuery, "`language` must be pl, en or pl-en")),
    };
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "xml" | "fields" | "html" | "pdf") {
        return Err(ApiError::refused(ErrorCode::ReceivedQuery, "`format` must be json, xml, fields, html or pdf"));
    }
    let record = inbox::received(&state.ops, &tenant, &ksef_number).await?;
    let xml = record.xml.clone().unwrap_or_default();
    Ok(match format {
        "xml" => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        "fields" => {
            let fields = documents::fields(&state.ops, &tenant, xml).await?;
            Json(fields).into_response()
        }
        "html" | "pdf" => {
            let output = if format == "pdf" { documents::OutputFormat::Pdf } else { documents::OutputFormat::Html };
            let number = record.ksef_number.clone();
            let rendered = documents::visualize(&state.ops, &tenant, None, false, Some(&number), xml, output, language).await?;
            super::documents::rendered_response(output, rendered)
        }
        _ => Json(ReceivedInvoice::from_record(record)).into_response(),
    })
}

/// Where the tenant's syncs of received invoices stand (ours).
#[utoipa::path(get, path = "/api/v2/received/sync", tag = "Received invoices", responses((status = 200, body = SyncList)), security(("api_key" = [])))]
pub async fn get_sync(State(state): State<AppState>, Authenticated(tenant): Authenticated) -> Result<Json<SyncList>, ApiError> {
    Ok(Json(SyncList { syncs: inbox::syncs(&state.ops, &tenant).await?.into_iter().map(SyncState::from_record).collect() }))
}

/// Switches the tenant's sync of one subject type on or off, optionally from a date (ours). `subject2` (the
/// tenant as buyer) runs for every tenant unless switched off.
#[utoipa::path(put, path = "/api/v2/received/sync", tag = "Received invoices", request_body = SyncRequest,
    responses((status = 200, body = SyncList), (status = 400, description = "1502", body = super::dto::Error)), security(("api_key" = [])))]
pub async fn put_sync(State(state): State<AppState>, Authenticated(tenant): Authenticated, ApiJson(req): ApiJson<SyncRequest>) -> Result<Json<SyncList>, ApiError> {
    let from = match req.from.as_deref() {
        None => None,
        Some(t) => Some(
            crate::ops::queries::parse_bound(t, crate::ops::queries::Bound::From)
                .map_err(|_| ApiError::refused(ErrorCode::ReceivedQuery, "`from` is neither a date (YYYY-MM-DD) nor an ISO 8601 date-time"))?,
        ),
    };
    let syncs = inbox::set_sync(&state.ops, &tenant, &req.subject_type, req.enabled, from).await?;
    state.ops.wake_inbox();
    Ok(Json(SyncList { syncs: syncs.into_iter().map(SyncState::from_record).collect() }))
}

/// Reads evidence given as text (XML, PEM) or as base64 of its bytes.
fn evidence(name: &str, value: Option<String>) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let trimmed = value.trim();
    if trimmed.starts_with('<') || trimmed.starts_with("-----BEGIN") {
        return Ok(Some(value.into_bytes()));
    }
    ksef_core::crypto::b64_decode(trimmed)
        .map(Some)
        .map_err(|_| ApiError::refused(ErrorCode::VerifyInput, format!("`{name}` is neither XML or PEM text nor base64")))
}

/// Verifies a received invoice's QR link (ours): KOD I's form, seller NIP, date and hash against the invoice's XML
/// (given, or received by the gateway), the KSeF number's checksum, KOD II's signature against the Offline
/// certificate, and, with `askKsef`, whether KSeF holds the invoice under that number. Always a full report:
/// `valid` is false when any check failed; checks that need what was not given are `skipped`.
#[utoipa::path(post, path = "/api/v2/verify", tag = "Received invoices", request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, description = "1503", body = super::dto::Error)), security(("api_key" = [])))]
pub async fn verify(State(state): State<AppState>, Authenticated(tenant): Authenticated, ApiJson(req): ApiJson<VerifyRequest>) -> Result<Json<VerifyResponse>, ApiError> {
    let request = crate::ops::verify::VerifyRequest {
        link: req.link,
        invoice: evidence("invoice", req.invoice)?,
        certificate: evidence("certificate", req.certificate)?,
        ksef_number: req.ksef_number,
        ask_ksef: req.ask_ksef.unwrap_or(true),
    };
    let report = crate::ops::verify::verify(&state.ops, &tenant, request).await?;
    let link = report_link(&report).unwrap_or_default();
    Ok(Json(VerifyResponse::from_report(&link, &report)))
}

/// The link a report is about, as given.
fn report_link(report: &ksef_visualize::verify::Report) -> Option<String> {
    report.text.clone()
}
