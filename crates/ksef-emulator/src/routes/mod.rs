//! The emulator's one route table: KSeF's `/v2` API, the pre-signed storage paths, the Latarnia's `/status` and
//! `/messages`, and `/emulator/v1`.

pub(crate) mod auth;
pub(crate) mod batch;
pub(crate) mod certificates;
pub(crate) mod faults;
pub(crate) mod invoices;
pub(crate) mod lighthouse;
pub(crate) mod limits;
pub(crate) mod permissions;
pub(crate) mod sessions;
pub(crate) mod storage;
pub(crate) mod testdata;
pub(crate) mod tokens;
pub(crate) mod xades;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{delete, get, post, put};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// Every route, with body limits, rate limiting, error rendering and tracing.
pub(crate) fn router(state: AppState) -> Router {
    let v2 = Router::new()
        .route("/security/public-key-certificates", get(auth::public_key_certificates))
        .route("/auth/challenge", post(auth::challenge))
        .route("/auth/ksef-token", post(auth::ksef_token))
        .route("/auth/xades-signature", post(xades::xades_signature))
        .route("/auth/token/redeem", post(auth::redeem))
        .route("/auth/token/refresh", post(auth::refresh))
        .route("/auth/{reference}", get(auth::status))
        .route("/auth/sessions", get(auth::sessions))
        .route("/auth/sessions/current", delete(auth::revoke_current_session))
        .route("/auth/sessions/{reference}", delete(auth::revoke_session))
        .route("/certificates/limits", get(certificates::limits))
        .route("/certificates/enrollments/data", get(certificates::enrollment_data))
        .route("/certificates/enrollments", post(certificates::enroll))
        .route("/certificates/enrollments/{reference}", get(certificates::enrollment_status))
        .route("/certificates/retrieve", post(certificates::retrieve))
        .route("/certificates/{serial}/revoke", post(certificates::revoke))
        .route("/certificates/query", post(certificates::query))
        .route("/permissions/persons/grants", post(permissions::grant_persons))
        .route("/permissions/entities/grants", post(permissions::grant_entities))
        .route("/permissions/indirect/grants", post(permissions::grant_indirect))
        .route("/permissions/common/grants/{id}", delete(permissions::revoke))
        .route("/permissions/operations/{reference}", get(permissions::operation_status))
        .route("/permissions/query/personal/grants", post(permissions::query_personal))
        .route("/permissions/query/persons/grants", post(permissions::query_persons))
        .route("/permissions/query/entities/grants", post(permissions::query_entities))
        .route("/permissions/attachments/status", get(permissions::attachment_status))
        .route("/testdata/subject", post(testdata::subject))
        .route("/testdata/subject/remove", post(testdata::remove_subject))
        .route("/testdata/person", post(testdata::person))
        .route("/testdata/person/remove", post(testdata::remove_person))
        .route("/testdata/permissions", post(testdata::permissions))
        .route("/testdata/permissions/revoke", post(testdata::revoke_permissions))
        .route("/testdata/attachment", post(testdata::attachment))
        .route("/testdata/attachment/revoke", post(testdata::revoke_attachment))
        .route("/testdata/context/block", post(testdata::block_context))
        .route("/testdata/context/unblock", post(testdata::unblock_context))
        .route("/testdata/limits/context/session", post(testdata::set_context_limits).delete(testdata::reset_context_limits))
        .route("/testdata/limits/subject/certificate", post(testdata::set_subject_limits).delete(testdata::reset_subject_limits))
        .route("/testdata/rate-limits", post(testdata::set_rate_limits).delete(testdata::reset_rate_limits))
        .route("/testdata/rate-limits/production", post(testdata::reset_rate_limits))
        .route("/testdata/certificates/{serial}", put(testdata::certificate_validity))
        .route("/limits/context", get(limits::context))
        .route("/limits/subject", get(limits::subject))
        .route("/rate-limits", get(limits::rate_limits))
        .route("/peppol/query", get(limits::peppol))
        .route("/tokens", post(tokens::generate).get(tokens::list))
        .route("/tokens/{reference}", get(tokens::status).delete(tokens::revoke))
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
        .route("/invoices/exports/{reference}", get(invoices::export_status))
        // KSeF answers 404 for what it does not have, whatever the method; never 405 from a look-alike.
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    let storage = Router::new()
        .route("/upo/{session}/{file}", get(storage::session_upo))
        .route("/invoice-upo/{session}/{file}", get(storage::invoice_upo))
        .route("/exports/{reference}/{part}", get(storage::export_part))
        .route("/batch/{session}/{ordinal}", put(batch::upload_part));
    let emulator = Router::new()
        .route("/tokens", post(tokens::issue_token_route))
        .route("/faults", post(faults::add).get(faults::list).delete(faults::clear))
        .route("/faults/{id}", delete(faults::remove))
        .route("/lighthouse", post(lighthouse::announce).delete(lighthouse::clear))
        .route("/lighthouse/{event}/end", post(lighthouse::end))
        .route("/health", get(|| async { "ok" }))
        .method_not_allowed_fallback(not_found);
    let max_body = state.config.max_json_body;
    let mut router = Router::new()
        .nest("/v2", v2)
        .nest("/storage", storage)
        // The Latarnia: on its own host at the Ministry, at the root here.
        .route("/status", get(lighthouse::status))
        .route("/messages", get(lighthouse::messages));
    if state.config.test_api {
        router = router.nest("/emulator/v1", emulator);
    }
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::rate_limit::enforce))
        // Fault rules (not part of KSeF), inside the error renderer so injected errors read like KSeF's, and
        // inside `private_access`, so a stranger is still refused first.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::faults::inject))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(crate::error::panic_response))
        .layer(axum::middleware::from_fn(crate::error::render_errors))
        .layer(DefaultBodyLimit::max(max_body))
        // A part upload that stops sending is dropped, not kept waiting for ever.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(crate::limits::BODY_IDLE_TIMEOUT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), private_access))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// With an access secret configured, refuses requests that do not carry it, before anything else runs. Pre-signed
/// `/storage` URLs are exempt: each is a capability of its own, handed to whoever uploads a batch's parts.
async fn private_access(State(state): State<AppState>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(secret) = state.config.access_secret.as_ref().filter(|_| !request.uri().path().starts_with("/storage/")) {
        let given = request.headers().get(crate::config::ACCESS_SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        // Compared as hashes, so the time taken says nothing about how much of the secret was right.
        if ksef_core::crypto::sha256(given) != ksef_core::crypto::sha256(secret.0.as_bytes()) {
            return (axum::http::StatusCode::FORBIDDEN, "this emulator serves only the gateway that started it\n").into_response();
        }
    }
    next.run(request).await
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

async fn not_found() -> crate::error::EmuError {
    crate::error::EmuError::NotFound
}
