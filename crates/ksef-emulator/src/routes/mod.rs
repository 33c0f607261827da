//! The emulator's one route table: KSeF's `/v2` API, the pre-signed storage paths, and `/emulator/v1`.

pub(crate) mod auth;
pub(crate) mod batch;
pub(crate) mod invoices;
pub(crate) mod sessions;
pub(crate) mod storage;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post, put};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// Every route, with body limits, rate limiting, error rendering and tracing.
pub(crate) fn router(state: AppState) -> Router {
    let v2 = Router::new()
        .route("/security/public-key-certificates", get(auth::public_key_certificates))
        .route("/auth/challenge", post(auth::challenge))
        .route("/auth/ksef-token", post(auth::ksef_token))
        .route("/auth/token/redeem", post(auth::redeem))
        .route("/auth/token/refresh", post(auth::refresh))
        .route("/auth/{reference}", get(auth::status))
        .route("/sessions", get(sessions::list_sessions))
        .route("/sessions/online", post(sessions::open_online))
        .route("/sessions/online/{reference}/invoices", post(sessions::send_invoice))
        .route("/sessions/online/{reference}/close", post(sessions::close_online))
        .route("/sessions/batch", post(batch::open_batch))
        .route("/sessions/batch/{reference}/close", post(batch::close_batch))
        .route("/sessions/{reference}", get(sessions::session_status))
        .route("/sessions/{reference}/invoices", get(sessions::session_invoices))
        .route("/sessions/{reference}/invoices/failed", get(sessions::failed_invoices))
        .route("/sessions/{reference}/invoices/{invoice}", get(sessions::session_invoice))
        .route("/sessions/{reference}/invoices/{invoice}/upo", get(sessions::invoice_upo_by_reference))
        .route("/sessions/{reference}/invoices/ksef/{ksef_number}/upo", get(sessions::invoice_upo_by_ksef_number))
        .route("/sessions/{reference}/upo/{upo}", get(sessions::session_upo))
        .route("/invoices/ksef/{ksef_number}", get(invoices::download))
        .route("/invoices/query/metadata", post(invoices::query_metadata))
        .route("/invoices/exports", post(invoices::start_export))
        .route("/invoices/exports/{reference}", get(invoices::export_status));
    let storage = Router::new()
        .route("/upo/{session}/{file}", get(storage::session_upo))
        .route("/invoice-upo/{session}/{file}", get(storage::invoice_upo))
        .route("/exports/{reference}/{part}", get(storage::export_part))
        .route("/batch/{session}/{ordinal}", put(batch::upload_part));
    let emulator = Router::new().route("/tokens", post(auth::issue_token_route)).route("/health", get(|| async { "ok" }));
    let max_body = state.config.max_json_body;
    Router::new()
        .nest("/v2", v2)
        .nest("/storage", storage)
        .nest("/emulator/v1", emulator)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::rate_limit::enforce))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(crate::error::panic_response))
        .layer(axum::middleware::from_fn(crate::error::render_errors))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// An XML body with `x-ms-meta-hash`, as KSeF serves UPOs and invoices.
pub(crate) fn xml_with_hash(content: Vec<u8>, hash: String) -> Response {
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/xml"));
    if let Ok(v) = header::HeaderValue::from_str(&hash) {
        headers.insert("x-ms-meta-hash", v);
    }
    response
}
