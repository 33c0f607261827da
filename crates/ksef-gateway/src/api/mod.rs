//! The HTTP edge: extract and parse, call one operation, map the result. The route table is in `router.rs`.

pub mod admin;
pub mod batch;
pub mod documents;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod invoices;
pub mod queries;
pub mod sessions;
pub mod submit;

use std::sync::Arc;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use self::documents::GenerateExamples;
use self::error::ApiError;
use crate::errors::ErrorCode;
use crate::ops;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// What operations need.
    pub ops: ops::Context,
    /// Verified API keys.
    pub api_keys: Arc<extract::ApiKeyCache>,
    /// Largest request body.
    pub max_body: usize,
    /// Renders `/metrics`; `None` when it is off.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The bearer token `/metrics` asks for, if any.
    pub metrics_token: Option<Arc<str>>,
    /// How the operator's console is served; `None`: it is off.
    pub console: Option<Arc<crate::console::ConsoleConfig>>,
}

/// Decodes a base64 request field, or refuses with 1005 naming it.
pub(crate) fn b64_field(name: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    ksef_core::crypto::b64_decode(value.trim()).map_err(|_| ApiError::refused(ErrorCode::B64Decode, format!("`{name}` is not valid base64")))
}

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("kgw_…").description(Some("The tenant's API key")).build()),
        );
        components.add_security_scheme(
            "operator_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("kgo_…").description(Some("The operator key (admin API)")).build(),
            ),
        );
    }
}

/// Our OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ksef-gateway REST API",
        description = "The ksef24 REST API 2.1 over KSeF 2.0. Errors: every non-2xx answer is an `Error` whose `code` is listed in docs/api.md.",
        version = "2.1.0"
    ),
    paths(
        invoices::public_key,
        sessions::open_online,
        batch::open_batch,
        batch::send_batch,
        sessions::status,
        invoices::send,
        invoices::status,
        sessions::invoices,
        sessions::close,
        sessions::upo,
        invoices::get,
        queries::start,
        queries::status,
        queries::result,
        documents::validate,
        documents::generate,
        documents::links,
        documents::visualize,
        submit::submit,
        submit::invoice,
        submit::invoice_upo,
        events::list_events,
        events::create_webhook,
        events::list_webhooks,
        events::get_webhook,
        events::update_webhook,
        events::delete_webhook,
        events::test_webhook,
        events::list_deliveries,
        events::get_delivery,
        events::redeliver,
        events::list_received,
        events::get_received,
        events::get_sync,
        events::put_sync,
        events::verify,
        admin::list_tenants,
        admin::add_tenant,
        admin::get_tenant,
        admin::disable_tenant,
        admin::enable_tenant,
        admin::rotate_api_key,
        admin::set_credential,
        admin::audit,
    ),
    components(schemas(dto::Error, dto::KsefErrorInfo, dto::KsefInvoiceVersion, dto::SubjectType)),
    modifiers(&ApiKeyAuth, &GenerateExamples),
    tags(
        (name = "Encryption", description = "KSeF's public key"),
        (name = "Sessions", description = "Interactive (online) and batch sessions"),
        (name = "Invoices", description = "Sending and retrieving invoices"),
        (name = "Search", description = "Searching and downloading invoices (sales, costs, third party)"),
        (name = "Events", description = "What happened to the tenant's invoices: webhooks (Standard Webhooks) and a cursor-paged list"),
        (name = "Received invoices", description = "Invoices others issue to the tenant, synced from KSeF"),
        (name = "Admin", description = "The operator's: tenants, their credentials and API keys, and the audit log (operator key `kgo_…`)"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;
