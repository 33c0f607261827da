//! Invoice documents: checking an FA(2)/FA(3) file as KSeF will (prechecks, the official schema, the rules it
//! enforces) and by the rules it does not (warnings), its canonical form, generating one from JSON, its
//! verification links and QR codes, and its visualization.

use ksef_fa::precheck::Precheck;
use ksef_fa::{Report, Severity};

use super::cpu::Job;
use super::{Context, OpError, Tenant};
use super::sessions::InvoiceVersion;
use crate::errors::ErrorCode;

/// Generates an FA(3) invoice from its JSON form (readable names; header, annotations, line numbers, line net
/// amounts and totals filled in when omitted): the XML and its warnings. 1208 lists what is wrong with the
/// request, 1203 what KSeF would refuse in the result.
pub fn generate(request: &serde_json::Value) -> Result<(String, Vec<ksef_fa::Finding>), OpError> {
    let now = chrono::Utc::now();
    let created = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let today = ksef_client::wire::datetime::to_warsaw(now).date_naive();
    let options = ksef_fa::rules::Options { nip_checksums: true, received: Some(today) };
    match ksef_fa::generate::generate(request, &created, &options) {
        Ok(generated) => Ok((generated.xml, generated.report.findings)),
        Err(ksef_fa::generate::GenerateError::Request(findings)) => Err(OpError::Invalid { code: ErrorCode::InvoiceInput, findings }),
        Err(ksef_fa::generate::GenerateError::Invalid(findings)) => Err(OpError::Invalid { code: ErrorCode::InvoiceFormat, findings }),
    }
}

/// [`generate`] for `tenant`, on the CPU pool.
pub async fn generate_for(ctx: &Context, tenant: &Tenant, request: serde_json::Value) -> Result<(String, Vec<ksef_fa::Finding>), OpError> {
    ctx.cpu.run(tenant, Job::Document, move || generate(&request)).await
}

/// A document that passed: its version, its Canonical XML 1.0 form, and any warnings.
#[derive(Debug, Clone)]
pub struct Validated {
    /// FA(2) or FA(3).
    pub version: InvoiceVersion,
    /// Canonical XML 1.0 (without comments), UTF-8.
    pub canonical: Vec<u8>,
    /// Warnings: rules beyond the schema that KSeF does not enforce.
    pub warnings: Vec<ksef_fa::Finding>,
}

/// Checks `bytes` as an invoice for `tenant`, on the CPU pool (see [`check`]).
pub async fn validate(ctx: &Context, tenant: &Tenant, bytes: bytes::Bytes) -> Result<Validated, OpError> {
    ctx.cpu.run(tenant, Job::Document, move || check(&bytes)).await
}

/// Checks `bytes` as an invoice about to be sent to the KSeF the gateway talks to: NIP checksums only where that
/// KSeF checks them (production; TEST and DEMO take test NIPs).
pub async fn validate_for_ksef(ctx: &Context, tenant: &Tenant, bytes: bytes::Bytes) -> Result<Validated, OpError> {
    let nip_checksums = ctx.qr_environment == ksef_core::Environment::Production;
    ctx.cpu.run(tenant, Job::Document, move || check_with(&bytes, nip_checksums)).await
}

/// Checks `bytes` as an invoice. NIP checksums are checked (as KSeF does in production) and `P_1` may not be
/// later than today in Poland.
pub fn check(bytes: &[u8]) -> Result<Validated, OpError> {
    check_with(bytes, true)
}

fn check_with(bytes: &[u8], nip_checksums: bool) -> Result<Validated, OpError> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let report = ksef_fa::check(bytes, &ksef_fa::rules::Options { nip_checksums, received: Some(today) });
    let Report { version, findings } = report;
    let first_error = findings.iter().find(|f| f.severity == Severity::Error);
    if let Some(first) = first_error {
        let code = if Precheck::Size.found(first) {
            ErrorCode::InvoiceSize
        } else if Precheck::Namespace.found(first) {
            ErrorCode::InvoiceVersion
        } else {
            ErrorCode::InvoiceFormat
        };
        return Err(OpError::Invalid { code, findings });
    }
    let version = match version {
        Some(ksef_fa::Version::Fa2) => InvoiceVersion::V2,
        Some(ksef_fa::Version::Fa3) => InvoiceVersion::V3,
        None => return Err(OpError::refused(ErrorCode::InvoiceVersion, "the document is neither FA(2) nor FA(3)")),
    };
    let text = std::str::from_utf8(bytes).map_err(anyhow::Error::from)?;
    let doc = ksef_core::xml::parse(text).map_err(anyhow::Error::from)?;
    Ok(Validated { version, canonical: ksef_fa::canonical(&doc).into_bytes(), warnings: findings })
}

/// A verification code as the API returns it: the link, its caption, and its QR code as a PNG.
#[derive(Debug, Clone)]
pub struct QrCode {
    /// The link.
    pub link: String,
    /// The caption under the code: the KSeF number, `OFFLINE` or `CERTYFIKAT`.
    pub caption: String,
    /// The QR code, PNG (5 px per module, 4-module quiet zone).
    pub png: Vec<u8>,
}

impl From<ksef_visualize::VerificationCode> for QrCode {
    fn from(code: ksef_visualize::VerificationCode) -> QrCode {
        let png = ksef_visualize::qr::matrix(&code.link).expect("verification links fit in a QR code").png(5);
        QrCode { link: code.link, caption: code.caption, png }
    }
}

/// KOD I of an invoice, and KOD II when it has no KSeF number (issued offline) and the tenant has an Offline
/// certificate. 1208 for a NIP, hash or KSeF number that is not one.
pub async fn links(
    ctx: &Context,
    tenant: &Tenant,
    nip: &str,
    issue_date: chrono::NaiveDate,
    invoice_hash: &str,
    ksef_number: Option<&str>,
) -> Result<(QrCode, Option<QrCode>), OpError> {
    let refused = |e: ksef_visualize::LinkError| OpError::refused(ErrorCode::InvoiceInput, e.to_string());
    let ksef_number = ksef_number.map(str::trim).filter(|n| !n.is_empty());
    let kod1 = ksef_visualize::links::kod1(ctx.qr_environment, nip, issue_date, invoice_hash, ksef_number).map_err(refused)?;
    let kod2 = match ksef_number {
        Some(_) => None,
        None => match super::tenants::offline_certificate(ctx, &tenant.id).await? {
            Some((certificate, context_type, context)) => Some(
                ksef_visualize::links::kod2(ctx.qr_environment, (context_type, &context), nip, invoice_hash, &certificate).map_err(refused)?,
            ),
            None => None,
        },
    };
    Ok((kod1.into(), kod2.map(QrCode::from)))
}

/// The output format of a visualization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A self-contained HTML document.
    Html,
    /// PDF.
    Pdf,
}

/// The largest invoice KSeF accepts (with attachments), and so the largest we visualize.
const MAX_INVOICE: usize = 3 * 1024 * 1024;

/// Renders the invoice `xml` in `language` as HTML or PDF (PDF/A-3b with the XML attached): KOD I always
/// (captioned with `ksef_number`, or `OFFLINE` when `offline` or no number is given), KOD II when `offline` and
/// the tenant has an Offline certificate. 1209 for an unknown template, 1203 for a document that is not an
/// FA(2)/FA(3) invoice, 1202 over 3 MB, 1208 for a KSeF number that is not one.
#[expect(clippy::too_many_arguments, reason = "the seed's request, field by field")]
pub async fn visualize(
    ctx: &Context,
    tenant: &Tenant,
    template: Option<&str>,
    offline: bool,
    ksef_number: Option<&str>,
    xml: Vec<u8>,
    format: OutputFormat,
    language: ksef_visualize::Language,
) -> Result<Rendered, OpError> {
    if let Some(name) = template.map(str::trim).filter(|t| !t.is_empty() && !matches!(*t, "default" | "ksef")) {
        return Err(OpError::refused(ErrorCode::InvoiceVisualize, format!("unknown template `{name}` (available: `default`)")));
    }
    if xml.len() > MAX_INVOICE {
        return Err(OpError::refused(ErrorCode::InvoiceSize, format!("the invoice is {} bytes; at most {MAX_INVOICE} are visualized", xml.len())));
    }
    let ksef_number = ksef_number.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let certificate = if offline { super::tenants::offline_certificate(ctx, &tenant.id).await? } else { None };
    let environment = ctx.qr_environment;
    let job = if format == OutputFormat::Pdf { Job::Pdf } else { Job::Document };
    ctx.cpu
        .run(tenant, job, move || {
            let options = ksef_visualize::view::Options {
                ksef_number: ksef_number.as_deref(),
                offline,
                environment: Some(environment),
                certificate: certificate.as_ref().map(|(c, t, v)| (c, *t, v.as_str())),
                without_codes: false,
            };
            let view = ksef_visualize::view::build(&xml, &options).map_err(|e| match e {
                ksef_visualize::view::ViewError::Invoice(message) => OpError::refused(ErrorCode::InvoiceFormat, message),
                ksef_visualize::view::ViewError::Link(link) => OpError::refused(ErrorCode::InvoiceInput, link.to_string()),
            })?;
            render(&view, format, language, &xml)
        })
        .await
}

/// A view laid out as HTML or PDF; a PDF over the layout's bounds is 1209.
fn render(view: &ksef_visualize::view::View, format: OutputFormat, language: ksef_visualize::Language, xml: &[u8]) -> Result<Rendered, OpError> {
    match format {
        OutputFormat::Html => Ok(Rendered { bytes: ksef_visualize::html::render(view, language).into_bytes(), replaced: 0 }),
        OutputFormat::Pdf => match ksef_pdf::render_pdf(view, language, xml) {
            Ok(pdf) => Ok(Rendered { bytes: pdf.bytes, replaced: pdf.replaced_characters }),
            Err(too_large @ ksef_pdf::PdfError::TooLarge { .. }) => Err(OpError::refused(ErrorCode::InvoiceVisualize, format!("{too_large}; the HTML visualization has no such limit"))),
            Err(e) => Err(OpError::Internal(e.into())),
        },
    }
}

/// The invoice `xml` as JSON with readable names (`ksef_fa::json`), on the CPU pool; 1203 if it is not an
/// FA(2)/FA(3) invoice.
pub async fn fields(ctx: &Context, tenant: &Tenant, xml: Vec<u8>) -> Result<serde_json::Value, OpError> {
    ctx.cpu
        .run(tenant, Job::Document, move || {
            let not_invoice = |why: String| OpError::refused(ErrorCode::InvoiceFormat, why);
            let text = std::str::from_utf8(&xml).map_err(|_| not_invoice("the invoice is not UTF-8".to_owned()))?;
            let doc = ksef_core::xml::parse(text).map_err(|e| not_invoice(format!("not well-formed XML: {e}")))?;
            let version = doc
                .root_element()
                .tag_name()
                .namespace()
                .and_then(ksef_fa::Version::from_namespace)
                .ok_or_else(|| not_invoice("not an FA(2) or FA(3) invoice (root namespace)".to_owned()))?;
            Ok(ksef_fa::json::to_json(version.validator().schema(), &doc))
        })
        .await
}

/// A visualization.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTML or PDF.
    pub bytes: Vec<u8>,
    /// Characters of the document that the PDF's fonts cannot draw, shown as U+FFFD instead.
    pub replaced: usize,
}

/// A UPO rendered for people (HTML, or PDF/A-3b with the UPO's XML attached), on the CPU pool.
pub async fn render_upo(
    ctx: &Context,
    tenant: &Tenant,
    xml: Vec<u8>,
    format: OutputFormat,
    language: ksef_visualize::Language,
) -> Result<Rendered, OpError> {
    let job = if format == OutputFormat::Pdf { Job::Pdf } else { Job::Document };
    ctx.cpu
        .run(tenant, job, move || {
            let view = ksef_visualize::view::upo(&xml).map_err(|e| OpError::Internal(anyhow::anyhow!("KSeF's UPO could not be read: {e}")))?;
            render(&view, format, language, &xml)
        })
        .await
}
