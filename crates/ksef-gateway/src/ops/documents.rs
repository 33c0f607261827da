//! Invoice documents: checking an FA(2)/FA(3) file as KSeF will (prechecks, the official schema, the rules it
//! enforces) and by the rules it does not (warnings), and its canonical form.

use ksef_fa::{Kind, Report, Severity};

use super::OpError;
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

/// Checks `bytes` as an invoice. NIP checksums are checked (as KSeF does in production) and `P_1` may not be
/// later than today in Poland.
pub fn validate(bytes: &[u8]) -> Result<Validated, OpError> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let report = ksef_fa::check(bytes, &ksef_fa::rules::Options { nip_checksums: true, received: Some(today) });
    let Report { version, findings } = report;
    let first_error = findings.iter().find(|f| f.severity == Severity::Error);
    if let Some(first) = first_error {
        let code = if first.kind == Kind::Precheck && first.rule == "size" { ErrorCode::InvoiceSize } else { ErrorCode::InvoiceFormat };
        let code = if first.kind == Kind::Precheck && first.rule == "namespace" { ErrorCode::InvoiceVersion } else { code };
        return Err(OpError::Invalid { code, findings });
    }
    let version = match version {
        Some(ksef_fa::Version::Fa2) => InvoiceVersion::V2,
        Some(ksef_fa::Version::Fa3) => InvoiceVersion::V3,
        None => return Err(OpError::refused(ErrorCode::InvoiceVersion, "the document is neither FA(2) nor FA(3)")),
    };
    let text = std::str::from_utf8(bytes).map_err(anyhow::Error::from)?;
    let doc = roxmltree::Document::parse_with_options(text, roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() })
        .map_err(anyhow::Error::from)?;
    Ok(Validated { version, canonical: ksef_fa::canonical(&doc).into_bytes(), warnings: findings })
}
