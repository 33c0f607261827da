//! Verification of a received invoice's QR links (KOD I, KOD II): the checks of `ksef_visualize::verify`, with
//! the invoice the gateway has received when none is given, and, where the gateway can reach KSeF, whether KSeF
//! holds that invoice under its KSeF number.

use ksef_visualize::verify::{Check, Evidence, Link, Outcome, Report};

use super::{Context, OpError, Tenant, tenant_ksef};
use crate::errors::ErrorCode;

/// Largest invoice or certificate accepted as evidence.
pub const MAX_EVIDENCE_BYTES: usize = 3 * 1024 * 1024;

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// The link a QR code carries.
    pub link: String,
    /// The invoice's XML, if at hand.
    pub invoice: Option<Vec<u8>>,
    /// The Offline certificate (DER or PEM), for KOD II.
    pub certificate: Option<Vec<u8>>,
    /// The KSeF number printed under KOD I.
    pub ksef_number: Option<String>,
    /// Ask KSeF whether it holds the invoice (needs the KSeF number).
    pub ask_ksef: bool,
}

/// Verifies a link for `tenant`: every check, and KSeF's own word when asked and possible. (Images of paper
/// invoices are read only by the offline CLI: a QR decoder's work on a crafted image cannot be bounded yet, and
/// the API takes no input whose work is unbounded.)
pub async fn verify(ctx: &Context, tenant: &Tenant, request: VerifyRequest) -> Result<Report, OpError> {
    if request.invoice.as_ref().is_some_and(|x| x.len() > MAX_EVIDENCE_BYTES) || request.certificate.as_ref().is_some_and(|c| c.len() > MAX_EVIDENCE_BYTES) {
        return Err(OpError::refused(ErrorCode::VerifyInput, format!("an invoice or certificate over {MAX_EVIDENCE_BYTES} bytes")));
    }
    let link = request.link.trim();
    if link.is_empty() {
        return Err(OpError::refused(ErrorCode::VerifyInput, "`link` is required"));
    }
    verify_link(ctx, tenant, &request, link).await
}

/// Verifies one link.
async fn verify_link(ctx: &Context, tenant: &Tenant, request: &VerifyRequest, link: &str) -> Result<Report, OpError> {
    let number = request.ksef_number.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    // The invoice as the gateway received it, when the caller has none at hand.
    let mut invoice = request.invoice.clone();
    if invoice.is_none()
        && let Some(number) = &number
        && let Ok(Some(received)) = ctx.store.received_invoice(&tenant.id, number).await
    {
        invoice = received.xml;
    }
    let evidence = Evidence { invoice: invoice.as_deref(), certificate: request.certificate.as_deref(), ksef_number: number.as_deref() };
    let mut report = ksef_visualize::verify::verify(link, &evidence);
    if !request.ask_ksef {
        return Ok(report);
    }
    let hash = match &report.link {
        Some(Link::Invoice { hash, .. } | Link::Certificate { hash, .. }) => *hash,
        None => return Ok(report),
    };
    let check = match &number {
        None => Check { name: "ksef.holds", outcome: Outcome::Skipped, detail: "no KSeF number given: KSeF finds invoices by number".to_owned() },
        Some(number) if ksef_core::ids::KsefNumber::parse(number).is_err() => {
            Check { name: "ksef.holds", outcome: Outcome::Skipped, detail: "not a KSeF number: KSeF was not asked".to_owned() }
        }
        Some(number) => match tenant_ksef(ctx, tenant).await?.invoice(number).await {
            Ok(found) if ksef_core::crypto::sha256(&found.bytes) == hash => {
                Check { name: "ksef.holds", outcome: Outcome::Passed, detail: format!("KSeF holds {number}, and it is this invoice") }
            }
            Ok(_) => Check { name: "ksef.holds", outcome: Outcome::Failed, detail: format!("KSeF holds {number}, but it is another invoice than the link's") },
            Err(e) if e.has_code(ksef_client::wire::codes::ExceptionCode::InvoiceNotFound) => Check {
                name: "ksef.holds",
                outcome: Outcome::Failed,
                detail: format!("KSeF has no invoice {number} that this tenant may see"),
            },
            Err(e) => Check { name: "ksef.holds", outcome: Outcome::Skipped, detail: format!("KSeF could not be asked: {}", crate::telemetry::loggable(&e.to_string())) },
        },
    };
    report.checks.push(check);
    Ok(report)
}
