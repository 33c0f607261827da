//! The one route table: every operation of our API on one screen, then the operational endpoints.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{self, AppState, admin, batch, documents, events, invoices, queries, sessions, submit};

/// Builds the router: requests end after `request_timeout` (batch packages excepted), bodies that pause for
/// `body_idle_timeout` are dropped.
pub fn router(state: AppState, request_timeout: Duration, body_idle_timeout: Duration) -> Router {
    let api = Router::new()
        .route("/ksefPublicKey", get(invoices::public_key))
        .route("/ksefSessionOpenOnline", post(sessions::open_online))
        .route("/ksefSessionOpenBatch", post(batch::open_batch))
        .route("/ksefSessionStatus/{sessionId}", get(sessions::status))
        .route("/ksefInvoiceSend", post(invoices::send))
        .route("/ksefInvoiceStatus/{invoiceId}", get(invoices::status))
        .route("/ksefSessionInvoices/{sessionId}", get(sessions::invoices))
        .route("/ksefSessionClose/{sessionId}", get(sessions::close))
        .route("/ksefSessionUpo/{sessionId}", get(sessions::upo))
        .route("/ksefInvoiceGet/{invoiceKsefNumber}", get(invoices::get))
        .route("/ksefInvoiceQueryStart", post(queries::start))
        .route("/ksefInvoiceQueryStatus/{queryId}", get(queries::status))
        .route("/ksefInvoiceQueryResult/{queryId}/{queryPartNumber}", get(queries::result))
        .route("/ksefInvoiceValidate", post(documents::validate))
        .route("/ksefInvoiceGenerate", post(documents::generate))
        .route("/ksefInvoiceLinks", post(documents::links))
        .route("/ksefInvoiceVisualize", post(documents::visualize))
        .route("/invoices", post(submit::submit))
        .route("/invoices/{invoiceId}", get(submit::invoice))
        .route("/invoices/{invoiceId}/upo", get(submit::invoice_upo))
        .route("/events", get(events::list_events))
        .route("/webhooks", post(events::create_webhook).get(events::list_webhooks))
        .route("/webhooks/{webhookId}", get(events::get_webhook).patch(events::update_webhook).delete(events::delete_webhook))
        .route("/webhooks/{webhookId}/test", post(events::test_webhook))
        .route("/webhooks/{webhookId}/deliveries", get(events::list_deliveries))
        .route("/webhooks/{webhookId}/deliveries/{eventId}", get(events::get_delivery))
        .route("/webhooks/{webhookId}/deliveries/{eventId}/redeliver", post(events::redeliver))
        .route("/received", get(events::list_received))
        .route("/received/sync", get(events::get_sync).put(events::put_sync))
        .route("/received/{ksefNumber}", get(events::get_received))
        .route("/verify", post(events::verify))
        .route_layer(middleware::from_fn_with_state(state.clone(), api::idempotency::idempotent));
    // The operator's: outside the idempotency layer, whose records are a tenant's and would keep new API keys.
    let admin = Router::new()
        .route("/admin/tenants", get(admin::list_tenants).post(admin::add_tenant))
        .route("/admin/tenants/{tenantId}", get(admin::get_tenant))
        .route("/admin/tenants/{tenantId}/disable", post(admin::disable_tenant))
        .route("/admin/tenants/{tenantId}/enable", post(admin::enable_tenant))
        .route("/admin/tenants/{tenantId}/apiKey", post(admin::rotate_api_key))
        .route("/admin/tenants/{tenantId}/credential", axum::routing::put(admin::set_credential))
        .route("/admin/audit", get(admin::audit));
    let bounded = Router::new()
        .nest("/api/v2", api.merge(admin))
        .merge(SwaggerUi::new("/api/v2/docs").url("/api/v2/openapi.json", api::ApiDoc::openapi()))
        .merge(crate::console::routes(&state))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout));
    // A batch package streams up to 5 GB to disk and on to KSeF: it has its own size limit and no timeout.
    let packages = Router::new().route("/api/v2/ksefSessionSendBatch", post(batch::send_batch)).layer(DefaultBodyLimit::disable());
    let request_id = HeaderName::from_static("x-request-id");
    bounded
        .merge(packages)
        // A body that stops arriving ends its request (uploads included, which have no overall timeout).
        .layer(RequestBodyTimeoutLayer::new(body_idle_timeout))
        .layer(middleware::from_fn(record_metrics))
        .layer(middleware::from_fn(api::error::log_errors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            let path = api::error::loggable(req.uri().path());
            tracing::info_span!("request", http.method = %req.method(), http.path = %path, request.id = %api::error::loggable(id))
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Liveness and the database's readiness.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.ops.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus text exposition: 404 when off, 401 without the configured token.
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are off\n").into_response();
    };
    if let Some(token) = &state.metrics_token {
        let given = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        // Compared as hashes, so the time taken says nothing about how much of the token was right.
        if given.map(|g| ksef_core::crypto::sha256(g.as_bytes())) != Some(ksef_core::crypto::sha256(token.as_bytes())) {
            return (StatusCode::UNAUTHORIZED, "metrics need Authorization: Bearer <metrics.bearer_token>\n").into_response();
        }
    }
    handle.render().into_response()
}

/// Counts requests and their durations by route and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [("route", route), ("method", method), ("status", response.status().as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}
