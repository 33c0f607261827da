//! Checks a received invoice's verification links: KOD I's form, seller NIP, date and hash (against the invoice's
//! XML when given), the KSeF number's checksum, and KOD II's form and signature (against the Offline
//! certificate when given). A full report: every check, passed, failed or not possible with what was given.

use chrono::NaiveDate;
use ksef_core::Environment;
use ksef_core::crypto::{b64url, b64url_decode, sha256};
use ksef_core::ids::{KsefNumber, Nip};
use ksef_core::offline::pem_or_der;

/// Longest link read.
pub const MAX_LINK_CHARS: usize = 2_048;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It holds.
    Passed,
    /// It does not: the link or the invoice is not what it claims.
    Failed,
    /// It holds, with a reservation (e.g. a NIP whose checksum is wrong, as KSeF's test environment allows).
    Warning,
    /// It could not be made with what was given (no XML, no certificate).
    Skipped,
}

impl Outcome {
    /// As reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Warning => "warning",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked: `link.form`, `link.host`, `link.nip`, `link.date`, `link.hash`, `ksefNumber.checksum`,
    /// `invoice.hash`, `invoice.seller`, `invoice.date`, `certificate.serial`, `certificate.validity`,
    /// `certificate.signature` (and the gateway's `ksef.holds`).
    pub name: &'static str,
    /// How it came out.
    pub outcome: Outcome,
    /// Why, in a sentence.
    pub detail: String,
}

/// What a link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// KOD I: `https://{host}/invoice/{NIP}/{DD-MM-YYYY}/{hash}`.
    Invoice {
        /// The environment whose QR host it names, if any.
        environment: Option<Environment>,
        /// The seller's NIP.
        seller_nip: String,
        /// The issue date.
        issue_date: NaiveDate,
        /// SHA-256 of the invoice.
        hash: [u8; 32],
    },
    /// KOD II: `https://{host}/certificate/{context type}/{context id}/{NIP}/{serial}/{hash}/{signature}`.
    Certificate {
        /// The environment whose QR host it names, if any.
        environment: Option<Environment>,
        /// How the issuer logged in.
        context_type: String,
        /// The context's identifier.
        context_id: String,
        /// The seller's NIP.
        seller_nip: String,
        /// The Offline certificate's serial, uppercase hex.
        serial: String,
        /// SHA-256 of the invoice.
        hash: [u8; 32],
        /// The signature over `signed`.
        signature: Vec<u8>,
        /// What was signed: the link without `https://` and without its last segment.
        signed: String,
    },
}

/// What the verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The link as given (trimmed).
    pub text: Option<String>,
    /// The link, if it could be read.
    pub link: Option<Link>,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed, the link could be read, and for KOD II its signature was verified (a KOD II link whose
    /// signature could not be checked proves nothing of who issued the invoice).
    pub fn valid(&self) -> bool {
        let signed = match &self.link {
            Some(Link::Certificate { .. }) => self.checks.iter().any(|c| c.name == "certificate.signature" && c.outcome == Outcome::Passed),
            Some(Link::Invoice { .. }) => true,
            None => false,
        };
        signed && self.checks.iter().all(|c| c.outcome != Outcome::Failed)
    }

    fn add(&mut self, name: &'static str, outcome: Outcome, detail: impl Into<String>) {
        self.checks.push(Check { name, outcome, detail: detail.into() });
    }
}

/// What to verify a link against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The invoice's exact XML.
    pub invoice: Option<&'a [u8]>,
    /// The Offline certificate (DER or PEM), for KOD II.
    pub certificate: Option<&'a [u8]>,
    /// The KSeF number printed under KOD I.
    pub ksef_number: Option<&'a str>,
}

fn environment_of(host: &str) -> Option<Environment> {
    [Environment::Test, Environment::Demo, Environment::Production].into_iter().find(|e| e.qr_base().trim_start_matches("https://") == host)
}

fn hash_of(segment: &str) -> Option<[u8; 32]> {
    b64url_decode(segment).ok().and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}

/// Reads a link, reporting what is wrong with its form.
fn parse(text: &str, report: &mut Report) -> Option<Link> {
    let text = text.trim();
    if text.chars().count() > MAX_LINK_CHARS {
        report.add("link.form", Outcome::Failed, format!("the link is longer than {MAX_LINK_CHARS} characters"));
        return None;
    }
    let Some(rest) = text.strip_prefix("https://") else {
        report.add("link.form", Outcome::Failed, "a verification link starts with https://");
        return None;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let host = segments[0];
    let environment = environment_of(host);
    match environment {
        Some(env) => report.add("link.host", Outcome::Passed, format!("the Ministry's verification host for {env:?}")),
        None => report.add("link.host", Outcome::Failed, format!("{} is not one of the Ministry's verification hosts (qr.ksef.mf.gov.pl, qr-test…, qr-demo…)", crate::short(host))),
    }
    match segments.get(1).copied() {
        Some("invoice") if segments.len() == 5 => {
            let (nip, date, hash) = (segments[2], segments[3], segments[4]);
            let issue_date = NaiveDate::parse_from_str(date, "%d-%m-%Y").ok();
            let hash = hash_of(hash);
            report.add("link.form", Outcome::Passed, "KOD I: /invoice/{NIP}/{DD-MM-YYYY}/{SHA-256}");
            check_nip(nip, report);
            match issue_date {
                Some(d) => report.add("link.date", Outcome::Passed, format!("issued {d}")),
                None => report.add("link.date", Outcome::Failed, format!("`{}` is not a date DD-MM-YYYY", crate::short(date))),
            }
            match hash {
                Some(_) => report.add("link.hash", Outcome::Passed, "a SHA-256 in base64url"),
                None => report.add("link.hash", Outcome::Failed, "the last segment is not a SHA-256 in base64url (43 characters)"),
            }
            Some(Link::Invoice { environment, seller_nip: nip.to_owned(), issue_date: issue_date?, hash: hash? })
        }
        Some("certificate") if segments.len() == 8 => {
            let (context_type, context_id, nip, serial, hash, signature) = (segments[2], segments[3], segments[4], segments[5], segments[6], segments[7]);
            report.add("link.form", Outcome::Passed, "KOD II: /certificate/{context type}/{context}/{NIP}/{serial}/{SHA-256}/{signature}");
            if crate::links::ContextType::parse(context_type).is_none() {
                report.add("link.context", Outcome::Failed, format!("`{}` is none of Nip, InternalId, NipVatUe, PeppolId", crate::short(context_type)));
            }
            check_nip(nip, report);
            let serial_ok = !serial.is_empty() && serial.len() <= 64 && serial.bytes().all(|b| b.is_ascii_hexdigit());
            if !serial_ok {
                report.add("link.serial", Outcome::Failed, "the certificate's serial is not hexadecimal");
            }
            let hash = hash_of(hash);
            match hash {
                Some(_) => report.add("link.hash", Outcome::Passed, "a SHA-256 in base64url"),
                None => report.add("link.hash", Outcome::Failed, "the hash segment is not a SHA-256 in base64url"),
            }
            let signature = b64url_decode(signature).ok().filter(|s| !s.is_empty() && s.len() <= 1_024);
            if signature.is_none() {
                report.add("link.signature", Outcome::Failed, "the last segment is not a signature in base64url");
            }
            let signed = rest[..rest.rfind('/').unwrap_or(rest.len())].to_owned();
            Some(Link::Certificate {
                environment,
                context_type: context_type.to_owned(),
                context_id: context_id.to_owned(),
                seller_nip: nip.to_owned(),
                serial: serial.to_ascii_uppercase(),
                hash: hash?,
                signature: signature?,
                signed,
            })
        }
        _ => {
            report.add("link.form", Outcome::Failed, "neither KOD I (/invoice/{NIP}/{DD-MM-YYYY}/{hash}) nor KOD II (/certificate/…/{signature})");
            None
        }
    }
}

fn check_nip(nip: &str, report: &mut Report) {
    match Nip::parse(nip) {
        Ok(n) if n.has_valid_checksum() => report.add("link.nip", Outcome::Passed, format!("seller NIP {nip}")),
        Ok(_) => report.add("link.nip", Outcome::Warning, format!("seller NIP {nip} has a wrong checksum (KSeF's test environment allows that; production does not)")),
        Err(_) => report.add("link.nip", Outcome::Failed, format!("`{}` is not a NIP (10 digits)", crate::short(nip))),
    }
}

/// The seller's NIP (`Podmiot1/DaneIdentyfikacyjne/NIP`) and issue date (`Fa/P_1`) of an invoice.
fn invoice_fields(xml: &[u8]) -> Result<(Option<String>, Option<String>), String> {
    let text = std::str::from_utf8(xml).map_err(|_| "the invoice is not UTF-8".to_owned())?;
    let doc = ksef_core::xml::parse(text).map_err(|e| format!("the invoice is not well-formed XML: {e}"))?;
    fn child<'a, 'input>(node: roxmltree::Node<'a, 'input>, name: &str) -> Option<roxmltree::Node<'a, 'input>> {
        node.children().find(|c| c.is_element() && c.tag_name().name() == name)
    }
    let root = doc.root_element();
    let nip = child(root, "Podmiot1").and_then(|p| child(p, "DaneIdentyfikacyjne")).and_then(|d| child(d, "NIP")).and_then(|n| n.text()).map(|t| t.trim().to_owned());
    let date = child(root, "Fa").and_then(|f| child(f, "P_1")).and_then(|n| n.text()).map(|t| t.trim().to_owned());
    Ok((nip, date))
}

/// Verifies `link` against what `evidence` gives.
pub fn verify(link: &str, evidence: &Evidence<'_>) -> Report {
    let mut report = Report { text: Some(link.trim().chars().take(MAX_LINK_CHARS).collect()), link: None, checks: Vec::new() };
    let parsed = parse(link, &mut report);
    if let Some(number) = evidence.ksef_number.map(str::trim).filter(|n| !n.is_empty()) {
        match KsefNumber::parse(number) {
            Ok(_) => report.add("ksefNumber.checksum", Outcome::Passed, format!("{number}: form and CRC-8 right")),
            Err(e) => report.add("ksefNumber.checksum", Outcome::Failed, e.to_string()),
        }
    }
    let Some(link) = parsed else {
        return report;
    };
    let (link_nip, link_hash) = match &link {
        Link::Invoice { seller_nip, hash, .. } | Link::Certificate { seller_nip, hash, .. } => (seller_nip.clone(), *hash),
    };
    match evidence.invoice {
        None => report.add("invoice.hash", Outcome::Skipped, "no invoice XML given to compare with"),
        Some(xml) => {
            if sha256(xml) == link_hash {
                report.add("invoice.hash", Outcome::Passed, "the link's hash is the SHA-256 of the invoice's exact bytes");
            } else {
                report.add("invoice.hash", Outcome::Failed, format!("the invoice hashes to {}, the link says {}", b64url(&sha256(xml)), b64url(&link_hash)));
            }
            match invoice_fields(xml) {
                Err(e) => report.add("invoice.seller", Outcome::Failed, e),
                Ok((nip, date)) => {
                    match nip {
                        Some(n) if n == link_nip => report.add("invoice.seller", Outcome::Passed, format!("the invoice's seller is {n}")),
                        Some(n) => report.add("invoice.seller", Outcome::Failed, format!("the invoice's seller is {}, the link says {link_nip}", crate::short(&n))),
                        None => report.add("invoice.seller", Outcome::Failed, "the invoice names no seller NIP (Podmiot1/DaneIdentyfikacyjne/NIP)"),
                    }
                    if let Link::Invoice { issue_date, .. } = &link {
                        let linked = issue_date.to_string();
                        match date {
                            Some(d) if d == linked => report.add("invoice.date", Outcome::Passed, format!("issued {d}")),
                            Some(d) => report.add("invoice.date", Outcome::Failed, format!("the invoice was issued {}, the link says {linked}", crate::short(&d))),
                            None => report.add("invoice.date", Outcome::Failed, "the invoice has no issue date (Fa/P_1)"),
                        }
                    }
                }
            }
        }
    }
    if let Link::Certificate { serial, signature, signed, .. } = &link {
        let issued = evidence.invoice.and_then(|x| invoice_fields(x).ok()).and_then(|(_, date)| date).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        verify_signature(evidence.certificate, serial, signature, signed, issued, &mut report);
    }
    report.link = Some(link);
    report
}

/// A certificate's `notBefore`/`notAfter` (UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`) as a date.
fn certificate_date(text: &str) -> Option<NaiveDate> {
    let digits = text.trim_end_matches('Z');
    // Digits only, so every slice below falls on a character boundary.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match digits.len() {
        12 => {
            let yy: i32 = digits.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, digits.get(2..)?)
        }
        14 => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, rest.get(..2)?.parse().ok()?, rest.get(2..4)?.parse().ok()?)
}

fn verify_signature(certificate: Option<&[u8]>, serial: &str, signature: &[u8], signed: &str, issued: Option<NaiveDate>, report: &mut Report) {
    let Some(certificate) = certificate else {
        report.add("certificate.signature", Outcome::Skipped, "no Offline certificate given to verify the signature with");
        return;
    };
    let der = match pem_or_der(certificate, "CERTIFICATE") {
        Ok(der) => der,
        Err(e) => return report.add("certificate.signature", Outcome::Failed, format!("the certificate cannot be read: {e}")),
    };
    let fields = match ksef_core::der::certificate_fields(&der) {
        Ok(f) => f,
        Err(e) => return report.add("certificate.signature", Outcome::Failed, format!("the certificate cannot be read: {e}")),
    };
    let own_serial = crate::links::serial_hex(fields.serial);
    if own_serial == serial {
        report.add("certificate.serial", Outcome::Passed, format!("the certificate's serial is {serial}"));
    } else {
        report.add("certificate.serial", Outcome::Failed, format!("the link names certificate {serial}, the one given is {own_serial}"));
    }
    match (issued, certificate_date(fields.not_before), certificate_date(fields.not_after)) {
        (Some(day), Some(from), Some(to)) if (from..=to).contains(&day) => {
            report.add("certificate.validity", Outcome::Passed, format!("the certificate was valid on the issue date {day} ({from} to {to})"));
        }
        (Some(day), Some(from), Some(to)) => {
            report.add("certificate.validity", Outcome::Failed, format!("the invoice was issued {day}, outside the certificate's validity ({from} to {to})"));
        }
        (None, ..) => report.add("certificate.validity", Outcome::Skipped, "no invoice XML given: its issue date is unknown"),
        _ => report.add("certificate.validity", Outcome::Warning, "the certificate's validity could not be read"),
    }
    if ksef_core::offline::verify(fields.spki, signed.as_bytes(), signature) {
        // The certificate is the caller's evidence: that KSeF issued it is not checked here (KSeF publishes no
        // list of Offline certificates to check it against).
        report.add("certificate.signature", Outcome::Passed, "the link is signed with the key of the certificate given (that KSeF issued it is not checked)");
    } else {
        report.add("certificate.signature", Outcome::Failed, "the signature does not verify with the certificate's key: the link was changed or signed with another key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(report: &Report, name: &str) -> Outcome {
        report.checks.iter().find(|c| c.name == name).map_or_else(|| panic!("no check {name}: {report:?}"), |c| c.outcome)
    }

    const XML: &str = r#"<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Podmiot1><DaneIdentyfikacyjne><NIP>5265877635</NIP></DaneIdentyfikacyjne></Podmiot1><Fa><P_1>2026-02-01</P_1></Fa></Faktura>"#;

    #[test]
    fn a_kod1_link_of_the_invoice_passes_and_one_of_another_invoice_fails() {
        let code = crate::links::kod1(Environment::Test, "5265877635", NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(), &crate::links::invoice_hash(XML.as_bytes()), None).unwrap();
        let report = verify(&code.link, &Evidence { invoice: Some(XML.as_bytes()), ..Evidence::default() });
        assert!(report.valid(), "{report:?}");
        for name in ["link.host", "link.form", "link.nip", "link.date", "link.hash", "invoice.hash", "invoice.seller", "invoice.date"] {
            assert_eq!(outcome(&report, name), Outcome::Passed, "{name}");
        }
        let other = XML.replace("2026-02-01", "2026-02-02");
        let report = verify(&code.link, &Evidence { invoice: Some(other.as_bytes()), ..Evidence::default() });
        assert!(!report.valid());
        assert_eq!((outcome(&report, "invoice.hash"), outcome(&report, "invoice.date")), (Outcome::Failed, Outcome::Failed));
        let alone = verify(&code.link, &Evidence::default());
        assert!(alone.valid());
        assert_eq!(outcome(&alone, "invoice.hash"), Outcome::Skipped);
    }

    #[test]
    fn certificate_dates_are_read_and_anything_else_is_not() {
        assert_eq!(certificate_date("260201120000Z"), NaiveDate::from_ymd_opt(2026, 2, 1));
        assert_eq!(certificate_date("20260201120000Z"), NaiveDate::from_ymd_opt(2026, 2, 1));
        assert_eq!(certificate_date("1€01234567Z"), None);
        assert_eq!(certificate_date("2602"), None);
    }

    #[test]
    fn a_link_of_the_wrong_form_or_host_is_reported_with_every_problem() {
        let report = verify("http://qr-test.ksef.mf.gov.pl/invoice/1/2/3", &Evidence::default());
        assert_eq!(outcome(&report, "link.form"), Outcome::Failed);
        let report = verify("https://evil.example/invoice/12345/31-02-2026/abc", &Evidence { ksef_number: Some("nope"), ..Evidence::default() });
        assert!(!report.valid());
        for name in ["link.host", "link.nip", "link.date", "link.hash", "ksefNumber.checksum"] {
            assert_eq!(outcome(&report, name), Outcome::Failed, "{name}: {report:?}");
        }
        assert_eq!(outcome(&verify("https://qr.ksef.mf.gov.pl/elsewhere", &Evidence::default()), "link.form"), Outcome::Failed);
        assert!(!verify(&"x".repeat(5_000), &Evidence::default()).valid());
    }
}
