//! Invoice documents: validation, generation, verification links and visualization.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

use super::dto::{
    FindingInfo, KsefInvoiceGenerateResponse, KsefInvoiceLinksRequest, KsefInvoiceLinksResponse, KsefInvoiceValidateResponse,
    KsefInvoiceVersion, KsefInvoiceVisualizeRequest, KsefQrCode, OutputFormat, OutputLanguage,
};
use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Authenticated, RequestBody};
use crate::errors::ErrorCode;
use crate::ops::documents;
use crate::ops::sessions::InvoiceVersion;

/// Checks an FA(2) or FA(3) invoice as KSeF will: its prechecks (UTF-8 without BOM, no processing instructions or
/// discouraged characters, 1 MB / 3 MB), the official schema, and the rules KSeF enforces (NIP checksums, an
/// issue date not in the future); rules it does not enforce come back as warnings. An invalid invoice is answered
/// with 1203 (1202 over the size limit, 1201 not an FA document), `details` naming the first error and
/// `findings` listing every one.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceValidate", tag = "Invoices",
    request_body(content = String, content_type = "text/xml", description = "The invoice XML (TextXmlContent)"),
    responses(
        (status = 200, body = KsefInvoiceValidateResponse),
        (status = 400, description = "1201, 1203: every finding in `findings`", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of document jobs is taken; retry after Retry-After", body = super::dto::Error),
        (status = 413, description = "1202", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn validate(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<KsefInvoiceValidateResponse>, ApiError> {
    let body = body.map_err(|e| ApiError::refused(ErrorCode::InvoiceSize, format!("the request body could not be read: {e}")))?;
    let validated = documents::validate(&state.ops, &tenant, body).await?;
    Ok(Json(KsefInvoiceValidateResponse {
        invoice_version: match validated.version {
            InvoiceVersion::V2 => KsefInvoiceVersion::V2,
            InvoiceVersion::V3 => KsefInvoiceVersion::V3,
        },
        valid: true,
        canonical_form: ksef_core::crypto::b64(&validated.canonical),
        findings: validated.warnings.iter().map(FindingInfo::from).collect(),
    }))
}

/// The request of `ksefInvoiceGenerate`: an FA(3) invoice as JSON with readable names (see docs/api.md).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(value_type = Object, example = json!({
    "seller": { "identification": { "nip": "5265877635", "name": "Sprzedawca Sp. z o.o." }, "address": { "countryCode": "PL", "line1": "ul. Przykładowa 1, 00-001 Warszawa" } },
    "buyer": { "identification": { "nip": "1111111111", "name": "Nabywca S.A." }, "address": { "countryCode": "PL", "line1": "ul. Testowa 2, 30-001 Kraków" }, "localGovernmentUnit": "2", "vatGroupMember": "2" },
    "invoice": { "currency": "PLN", "issueDate": "2026-11-25", "number": "FV/2026/11/1",
        "lines": [ { "name": "Usługa doradcza", "unit": "h", "quantity": "3", "unitNetPrice": "200.00", "rate": "23" } ] }
}))]
#[serde(transparent)]
pub struct KsefInvoiceGenerateRequest(pub serde_json::Value);

/// One request per FA(3) invoice kind, shipped in `examples/` (tests generate each): (kind, summary, JSON).
pub const GENERATE_EXAMPLES: &[(&str, &str, &str)] = &[
    ("VAT", "A plain VAT invoice, totals computed", include_str!("../../../../examples/generate-vat.json")),
    ("KOR", "A correction: rows before and after, the difference computed", include_str!("../../../../examples/generate-kor.json")),
    ("ZAL", "An advance invoice with the order", include_str!("../../../../examples/generate-zal.json")),
    ("KOR_ZAL", "A correction of an advance invoice", include_str!("../../../../examples/generate-kor_zal.json")),
    ("ROZ", "A settlement invoice after an advance", include_str!("../../../../examples/generate-roz.json")),
    ("UPR", "A simplified invoice (up to 450 PLN), totals computed", include_str!("../../../../examples/generate-upr.json")),
    ("KOR_ROZ", "A correction of a settlement invoice", include_str!("../../../../examples/generate-kor_roz.json")),
];

/// Puts [`GENERATE_EXAMPLES`] into the OpenAPI document as named examples of `ksefInvoiceGenerate`'s body.
pub(super) struct GenerateExamples;

impl utoipa::Modify for GenerateExamples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let Some(RefOr::T(body)) = openapi.paths.paths.get_mut("/api/v2/ksefInvoiceGenerate").and_then(|item| item.post.as_mut()).and_then(|op| op.request_body.as_mut())
        else {
            return;
        };
        let Some(RefOr::T(content)) = body.content.get_mut("application/json") else { return };
        for (kind, summary, text) in GENERATE_EXAMPLES {
            let value: serde_json::Value = serde_json::from_str(text).expect("the shipped examples are JSON (tested)");
            content.examples.insert((*kind).to_owned(), RefOr::T(utoipa::openapi::example::ExampleBuilder::new().summary(*summary).value(Some(value)).build()));
        }
    }
}

impl RequestBody for KsefInvoiceGenerateRequest {
    const MALFORMED: ErrorCode = ErrorCode::InvoiceInput;
}

/// Generates an FA(3) invoice from JSON with readable names (every FA(3) element has one; see docs/api.md). The
/// header, the annotations of a plain VAT invoice, line numbers, line net amounts and the totals per rate are
/// filled in when omitted; given totals are checked. The result passes `ksefInvoiceValidate`, or the request is
/// refused: 1208 listing what is wrong with it, 1203 listing what KSeF would refuse.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceGenerate", tag = "Invoices",
    request_body = KsefInvoiceGenerateRequest,
    responses(
        (status = 200, body = KsefInvoiceGenerateResponse),
        (status = 400, description = "1208 (the request: unknown fields, wrong kinds of values, totals that do not add up), 1203 (the result), every finding in `findings`", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of document jobs is taken; retry after Retry-After", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn generate(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(request): ApiJson<KsefInvoiceGenerateRequest>,
) -> Result<Json<KsefInvoiceGenerateResponse>, ApiError> {
    let (xml, warnings) = documents::generate_for(&state.ops, &tenant, request.0).await?;
    Ok(Json(KsefInvoiceGenerateResponse { invoice: xml, findings: warnings.iter().map(FindingInfo::from).collect() }))
}

impl RequestBody for KsefInvoiceLinksRequest {
    const MALFORMED: ErrorCode = ErrorCode::InvoiceInput;
}

impl RequestBody for KsefInvoiceVisualizeRequest {
    const MALFORMED: ErrorCode = ErrorCode::InvoiceInput;
}

impl From<documents::QrCode> for KsefQrCode {
    fn from(code: documents::QrCode) -> KsefQrCode {
        KsefQrCode { link: code.link, image: ksef_core::crypto::b64(&code.png), caption: code.caption }
    }
}

/// Verification links and QR codes of an invoice: KOD I (`https://qr…/invoice/{NIP}/{DD-MM-YYYY}/{hash}`,
/// captioned with the KSeF number, or `OFFLINE` without one), and for an invoice without a KSeF number KOD II,
/// signed with the tenant's Offline certificate when it has one (`ksef-gateway tenant set-offline-certificate`).
/// The QR host follows the KSeF environment the gateway talks to.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceLinks", tag = "Invoices",
    request_body = KsefInvoiceLinksRequest,
    responses(
        (status = 200, body = KsefInvoiceLinksResponse),
        (status = 400, description = "1208: a NIP, date, hash or KSeF number that is not one", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn links(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(request): ApiJson<KsefInvoiceLinksRequest>,
) -> Result<Json<KsefInvoiceLinksResponse>, ApiError> {
    let date = request.issue_date.trim();
    let issue_date = chrono::NaiveDate::parse_from_str(date.get(..10).unwrap_or(date), "%Y-%m-%d")
        .map_err(|_| ApiError::refused(ErrorCode::InvoiceInput, format!("`issueDate` {date:?} is not a date (YYYY-MM-DD)")))?;
    let (kod1, kod2) =
        documents::links(&state.ops, &tenant, &request.nip, issue_date, &request.invoice_hash, request.invoice_ksef_number.as_deref()).await?;
    Ok(Json(KsefInvoiceLinksResponse { invoice: kod1.into(), certificate: kod2.map(KsefQrCode::from) }))
}

/// Renders an invoice for people: the official section order and Polish wording, every element of the invoice,
/// in `pl`, `en` or `pl_en` (label pairs), amounts the Polish way (`20 000,00`), and KOD I with its QR code
/// (KOD II too for an offline invoice when the tenant has an Offline certificate). PDF is PDF/A-3b, tagged, fonts
/// embedded, with the invoice's XML attached; identical input gives identical bytes.
#[utoipa::path(post, path = "/api/v2/ksefInvoiceVisualize", tag = "Invoices",
    request_body = KsefInvoiceVisualizeRequest,
    responses(
        (status = 200, description = "The visualization: TextHtmlContent (text/html) or ApplicationPdfContent (application/pdf)", content_type = "text/html", body = String),
        (status = 400, description = "1209 (unknown template; a PDF over 2,000 table rows or 400,000 characters), 1203 (not an FA invoice), 1208 (bad KSeF number or base64)", body = super::dto::Error),
        (status = 429, description = "1905: the tenant's share of document jobs is taken; retry after Retry-After", body = super::dto::Error),
        (status = 413, description = "1202: over 3 MB", body = super::dto::Error),
    ),
    security(("api_key" = [])))]
pub async fn visualize(
    State(state): State<AppState>,
    Authenticated(tenant): Authenticated,
    ApiJson(request): ApiJson<KsefInvoiceVisualizeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let data = request.invoice_data.trim();
    let xml = if data.starts_with('<') { data.as_bytes().to_vec() } else { super::b64_field("invoiceData", data)? };
    let format = match request.output_format {
        OutputFormat::Html => documents::OutputFormat::Html,
        OutputFormat::Pdf => documents::OutputFormat::Pdf,
    };
    let language = match request.output_language {
        OutputLanguage::Pl => ksef_visualize::Language::Pl,
        OutputLanguage::En => ksef_visualize::Language::En,
        OutputLanguage::PlEn => ksef_visualize::Language::PlEn,
    };
    let rendered = documents::visualize(
        &state.ops,
        &tenant,
        request.template_name.as_deref(),
        request.offline,
        request.invoice_ksef_number.as_deref(),
        xml,
        format,
        language,
    )
    .await?;
    Ok(rendered_response(format, rendered))
}

/// A visualization as an answer; characters its fonts could not draw are counted in `Ksef-Replaced-Characters`.
pub(crate) fn rendered_response(format: documents::OutputFormat, rendered: documents::Rendered) -> axum::response::Response {
    let content_type = match format {
        documents::OutputFormat::Html => "text/html; charset=utf-8",
        documents::OutputFormat::Pdf => "application/pdf",
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], rendered.bytes).into_response();
    if rendered.replaced > 0 {
        response.headers_mut().insert(REPLACED_CHARACTERS, axum::http::HeaderValue::from(rendered.replaced));
    }
    response
}

/// Set on a PDF in which characters the embedded fonts cannot draw were shown as U+FFFD: how many.
pub const REPLACED_CHARACTERS: &str = "ksef-replaced-characters";
