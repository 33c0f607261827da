//! The seam where the emulator decides whether an invoice's content is acceptable, and reads the facts
//! it needs (seller, number, kind, parties, amounts) for duplicates, permissions, UPO and metadata.
//!
//! [`SchemaVerifier`] (the default) checks an invoice as KSeF does, with the official schema and the rules KSeF
//! enforces (`ksef-fa`). [`MinimalVerifier`] applies only KSeF's pre-checks (UTF-8, no BOM, well-formed, no DTD, no
//! processing instructions), checks the namespace and form code, and requires the identification fields; both
//! read the facts the same way.

use std::fmt;

use chrono::NaiveDate;
use ksef_core::ids::Nip;
use ksef_wire::FormCode;
use ksef_wire::invoices::{
    BuyerIdentifier, BuyerIdentifierType, InvoiceMetadataAuthorizedSubject, InvoiceMetadataThirdSubject,
    ThirdSubjectIdentifier, ThirdSubjectIdentifierType,
};

/// FA(3)'s XML namespace.
pub const FA3_NAMESPACE: &str = "http://crd.gov.pl/wzor/2025/06/25/13775/";
/// FA(2)'s XML namespace.
pub const FA2_NAMESPACE: &str = "http://crd.gov.pl/wzor/2023/06/29/12648/";

/// What the emulator needs to know about an accepted invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceFacts {
    /// Podmiot1's NIP.
    pub seller_nip: Nip,
    /// Podmiot1's name.
    pub seller_name: Option<String>,
    /// `P_2`.
    pub invoice_number: String,
    /// `RodzajFaktury` (VAT, KOR, ZAL, ...).
    pub invoice_kind: String,
    /// `P_1`.
    pub issue_date: NaiveDate,
    /// `KodWaluty`.
    pub currency: String,
    /// Sum of the `P_13_*` net totals.
    pub net_amount: f64,
    /// Sum of the `P_14_*` VAT totals.
    pub vat_amount: f64,
    /// `P_15`.
    pub gross_amount: f64,
    /// Podmiot2's identifier.
    pub buyer: BuyerIdentifier,
    /// Podmiot2's name.
    pub buyer_name: Option<String>,
    /// Every Podmiot3.
    pub third_subjects: Vec<InvoiceMetadataThirdSubject>,
    /// PodmiotUpowazniony.
    pub authorized_subject: Option<InvoiceMetadataAuthorizedSubject>,
    /// Whether a `Zalacznik` is present.
    pub has_attachment: bool,
    /// Whether `Adnotacje/P_17` marks self-invoicing.
    pub is_self_invoicing: bool,
}

/// Why content was refused, which decides the invoice status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Not a well-formed document of the declared schema: status 430.
    Schema,
    /// Schema-valid but semantically wrong: status 450.
    Semantic,
}

/// A refusal with the findings a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Which status to give.
    pub kind: RejectionKind,
    /// Findings, each a sentence.
    pub details: Vec<String>,
    /// `P_2`, when it could be read even so.
    pub invoice_number: Option<String>,
}

/// The verdict on an invoice's content.
#[derive(Debug, Clone, PartialEq)]
#[expect(clippy::large_enum_variant, reason = "a verdict is made and moved once per invoice")]
pub enum Verdict {
    /// Acceptable; here is what it says.
    Accepted(InvoiceFacts),
    /// Refused.
    Rejected(Rejection),
}

/// KSeF's checks with the official schema: the prechecks and the FA(2)/FA(3) XSD (status 430) and the rules
/// KSeF enforces (450), from `ksef-fa`; NIP checksums are not checked, as in KSeF's test environment, and the
/// issue date is checked when the invoice is processed. An acceptable invoice's facts are then read as
/// [`MinimalVerifier`] reads them. The emulator's default.
#[derive(Debug, Default, Clone, Copy)]
pub struct SchemaVerifier;

impl InvoiceVerifier for SchemaVerifier {
    fn verify(&self, form: &FormCode, xml: &[u8]) -> Verdict {
        let report = ksef_fa::check(xml, &ksef_fa::rules::Options { nip_checksums: false, received: None });
        let errors: Vec<&ksef_fa::Finding> = report.findings.iter().filter(|f| f.severity == ksef_fa::Severity::Error).collect();
        if errors.is_empty() {
            return MinimalVerifier.verify(form, xml);
        }
        let kind = if errors.iter().all(|f| f.kind == ksef_fa::Kind::Semantic) { RejectionKind::Semantic } else { RejectionKind::Schema };
        let details = errors.iter().take(20).map(|f| format!("{} (linia {}): {}", f.path, f.line, f.message_pl)).collect();
        Verdict::Rejected(Rejection { kind, details, invoice_number: invoice_number(xml) })
    }
}

/// `P_2` of a document that may be invalid, if it can be read at all.
fn invoice_number(xml: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(xml).ok()?;
    let doc = ksef_core::xml::parse(text).ok()?;
    let number = doc.descendants().find(|n| n.tag_name().name() == "P_2")?.text()?.trim();
    (!number.is_empty()).then(|| number.to_owned())
}

/// Decides whether invoice content is acceptable for a session's form.
pub trait InvoiceVerifier: Send + Sync + fmt::Debug + 'static {
    /// Judges `xml`, sent in a session opened for `form`.
    fn verify(&self, form: &FormCode, xml: &[u8]) -> Verdict;
}

/// KSeF's pre-checks and the identification fields, without a schema.
#[derive(Debug, Default, Clone, Copy)]
pub struct MinimalVerifier;

fn schema_error(detail: impl Into<String>, invoice_number: Option<String>) -> Verdict {
    Verdict::Rejected(Rejection { kind: RejectionKind::Schema, details: vec![detail.into()], invoice_number })
}

/// The namespace an FA form code's documents use.
pub fn namespace_for(form: &FormCode) -> Option<&'static str> {
    match (form.system_code.as_str(), form.schema_version.as_str(), form.value.as_str()) {
        ("FA (3)", "1-0E", "FA") => Some(FA3_NAMESPACE),
        ("FA (2)", "1-0E", "FA") => Some(FA2_NAMESPACE),
        _ => None,
    }
}

/// Reads an amount as FA writes them: an optional minus, up to 18 integer digits, an optional fraction.
/// Anything else (exponents, `NaN`, `inf`) is refused, so stored amounts are always finite.
fn amount(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let ok = (1..=18).contains(&int.len())
        && (1..=8).contains(&frac.len())
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    ok.then(|| text.parse::<f64>().ok()).flatten()
}

/// Checks KSeF applies before parsing: UTF-8 without BOM, a UTF-8 declaration if any.
fn precheck(xml: &[u8]) -> Result<&str, String> {
    if xml.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err("Dokument zawiera znacznik BOM; wymagane jest kodowanie UTF-8 bez BOM.".into());
    }
    let text = std::str::from_utf8(xml).map_err(|e| format!("Dokument nie jest poprawnie zakodowany w UTF-8 (bajt {}).", e.valid_up_to()))?;
    let declaration = text.strip_prefix("<?xml").and_then(|rest| rest.split_once("?>")).map(|(d, _)| d);
    if let Some(enc) = declaration.and_then(|d| d.split("encoding").nth(1)) {
        let quote = |c: &char| *c == '"' || *c == '\'';
        let value: String = enc.chars().skip_while(|c| !quote(c)).skip(1).take_while(|c| !quote(c)).collect();
        if !value.eq_ignore_ascii_case("utf-8") {
            return Err(format!("Deklarowane kodowanie '{value}' jest niedozwolone; wymagane jest UTF-8."));
        }
    }
    Ok(text)
}

struct Fa<'a, 'input> {
    ns: &'static str,
    root: roxmltree::Node<'a, 'input>,
}

impl<'a, 'input> Fa<'a, 'input> {
    fn child(&self, node: roxmltree::Node<'a, 'input>, name: &str) -> Option<roxmltree::Node<'a, 'input>> {
        node.children().find(|c| c.has_tag_name((self.ns, name)))
    }

    fn children(&self, node: roxmltree::Node<'a, 'input>, name: &'a str) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> + 'a {
        let ns = self.ns;
        node.children().filter(move |c| c.has_tag_name((ns, name)))
    }

    fn path(&self, path: &[&str]) -> Option<roxmltree::Node<'a, 'input>> {
        path.iter().try_fold(self.root, |node, name| self.child(node, name))
    }

    fn text_at(&self, node: roxmltree::Node<'a, 'input>, name: &str) -> Option<String> {
        self.child(node, name).and_then(|n| n.text()).map(|t| t.trim().to_owned())
    }

    fn text(&self, path: &[&str]) -> Option<String> {
        self.path(path).and_then(|n| n.text()).map(|t| t.trim().to_owned())
    }

    /// Sums `Fa`'s children whose names `matches` accepts; an element that is not an amount is an error.
    fn sum(&self, fa: roxmltree::Node<'a, 'input>, matches: impl Fn(&str) -> bool) -> Result<f64, String> {
        fa.children()
            .filter(|c| c.is_element() && c.tag_name().namespace() == Some(self.ns) && matches(c.tag_name().name()))
            .map(|c| {
                let text = c.text().unwrap_or_default().trim();
                amount(text).ok_or_else(|| format!("Fa/{} '{text}' nie jest poprawną kwotą.", c.tag_name().name()))
            })
            .sum()
    }

    fn buyer(&self) -> (BuyerIdentifier, Option<String>) {
        let Some(ids) = self.path(&["Podmiot2", "DaneIdentyfikacyjne"]) else {
            return (BuyerIdentifier { kind: BuyerIdentifierType::None, value: None }, None);
        };
        let name = self.text_at(ids, "Nazwa");
        let id = if let Some(nip) = self.text_at(ids, "NIP") {
            BuyerIdentifier { kind: BuyerIdentifierType::Nip, value: Some(nip) }
        } else if let (Some(code), Some(vat)) = (self.text_at(ids, "KodUE"), self.text_at(ids, "NrVatUE")) {
            BuyerIdentifier { kind: BuyerIdentifierType::VatUe, value: Some(format!("{code}{vat}")) }
        } else if let Some(other) = self.text_at(ids, "NrID") {
            BuyerIdentifier { kind: BuyerIdentifierType::Other, value: Some(other) }
        } else {
            BuyerIdentifier { kind: BuyerIdentifierType::None, value: None }
        };
        (id, name)
    }

    fn third_subjects(&self) -> Vec<InvoiceMetadataThirdSubject> {
        self.children(self.root, "Podmiot3")
            .map(|p3| {
                let ids = self.child(p3, "DaneIdentyfikacyjne");
                let get = |name: &str| ids.and_then(|i| self.text_at(i, name));
                let identifier = if let Some(nip) = get("NIP") {
                    ThirdSubjectIdentifier { kind: ThirdSubjectIdentifierType::Nip, value: Some(nip) }
                } else if let Some(internal) = get("IDWew") {
                    ThirdSubjectIdentifier { kind: ThirdSubjectIdentifierType::InternalId, value: Some(internal) }
                } else if let (Some(code), Some(vat)) = (get("KodUE"), get("NrVatUE")) {
                    ThirdSubjectIdentifier { kind: ThirdSubjectIdentifierType::VatUe, value: Some(format!("{code}{vat}")) }
                } else if let Some(other) = get("NrID") {
                    ThirdSubjectIdentifier { kind: ThirdSubjectIdentifierType::Other, value: Some(other) }
                } else {
                    ThirdSubjectIdentifier { kind: ThirdSubjectIdentifierType::None, value: None }
                };
                let role = self.text_at(p3, "Rola").and_then(|r| r.parse().ok()).unwrap_or(0);
                InvoiceMetadataThirdSubject { identifier, name: get("Nazwa"), role }
            })
            .collect()
    }

    fn authorized_subject(&self) -> Option<InvoiceMetadataAuthorizedSubject> {
        let pu = self.child(self.root, "PodmiotUpowazniony")?;
        let ids = self.child(pu, "DaneIdentyfikacyjne")?;
        Some(InvoiceMetadataAuthorizedSubject {
            nip: self.text_at(ids, "NIP")?,
            name: self.text_at(ids, "Nazwa"),
            role: self.text_at(pu, "RolaPU").and_then(|r| r.parse().ok()).unwrap_or(0),
        })
    }
}

impl InvoiceVerifier for MinimalVerifier {
    fn verify(&self, form: &FormCode, xml: &[u8]) -> Verdict {
        let text = match precheck(xml) {
            Ok(text) => text,
            Err(detail) => return schema_error(detail, None),
        };
        let doc = match ksef_core::xml::parse(text) {
            Ok(doc) => doc,
            Err(err) => return schema_error(format!("Dokument nie jest poprawnym XML: {err}."), None),
        };
        if doc.descendants().any(|n| n.is_pi()) {
            return schema_error("Dokument zawiera instrukcje przetwarzania, które są niedozwolone.", None);
        }
        let Some(ns) = namespace_for(form) else {
            return schema_error(format!("Kod formularza '{}' nie jest obsługiwany.", form.system_code), None);
        };
        let root = doc.root_element();
        if !root.has_tag_name((ns, "Faktura")) {
            return schema_error(
                format!(
                    "Element główny {{{}}}{} nie odpowiada schematowi {} ({ns}Faktura).",
                    root.tag_name().namespace().unwrap_or(""),
                    root.tag_name().name(),
                    form.system_code
                ),
                None,
            );
        }
        let fa = Fa { ns, root };
        let invoice_number = fa.text(&["Fa", "P_2"]);
        let declared = fa.path(&["Naglowek", "KodFormularza"]).and_then(|n| n.attribute("kodSystemowy"));
        if declared != Some(form.system_code.as_str()) {
            return schema_error(
                format!("Naglowek/KodFormularza/@kodSystemowy ({}) nie odpowiada sesji ({}).", declared.unwrap_or("brak"), form.system_code),
                invoice_number,
            );
        }
        let mut missing = Vec::new();
        let mut need = |path: &[&str]| {
            let value = fa.text(path);
            if value.as_deref().is_none_or(str::is_empty) {
                missing.push(format!("Brak wymaganego elementu {}.", path.join("/")));
            }
            value.unwrap_or_default()
        };
        let seller = need(&["Podmiot1", "DaneIdentyfikacyjne", "NIP"]);
        let p1 = need(&["Fa", "P_1"]);
        let p2 = need(&["Fa", "P_2"]);
        let kind = need(&["Fa", "RodzajFaktury"]);
        let currency = need(&["Fa", "KodWaluty"]);
        let p15 = need(&["Fa", "P_15"]);
        if !missing.is_empty() {
            return Verdict::Rejected(Rejection { kind: RejectionKind::Schema, details: missing, invoice_number });
        }
        let Ok(seller_nip) = Nip::parse(&seller) else {
            return schema_error(format!("Podmiot1/DaneIdentyfikacyjne/NIP '{seller}' nie jest poprawnym NIP."), invoice_number);
        };
        let Ok(issue_date) = NaiveDate::parse_from_str(&p1, "%Y-%m-%d") else {
            return schema_error(format!("Fa/P_1 '{p1}' nie jest poprawną datą."), invoice_number);
        };
        let Some(gross_amount) = amount(&p15) else {
            return schema_error(format!("Fa/P_15 '{p15}' nie jest poprawną kwotą."), invoice_number);
        };
        let fa_node = fa.path(&["Fa"]).expect("Fa checked above");
        let totals = fa
            .sum(fa_node, |n| n.starts_with("P_13_"))
            .and_then(|net| Ok((net, fa.sum(fa_node, |n| n.starts_with("P_14_") && !n.ends_with('W'))?)));
        let (net_amount, vat_amount) = match totals {
            Ok(t) => t,
            Err(detail) => return schema_error(detail, invoice_number),
        };
        let (buyer, buyer_name) = fa.buyer();
        Verdict::Accepted(InvoiceFacts {
            seller_name: fa.text(&["Podmiot1", "DaneIdentyfikacyjne", "Nazwa"]),
            seller_nip,
            invoice_number: p2,
            invoice_kind: kind,
            issue_date,
            currency,
            net_amount,
            vat_amount,
            gross_amount,
            buyer,
            buyer_name,
            third_subjects: fa.third_subjects(),
            authorized_subject: fa.authorized_subject(),
            has_attachment: fa.child(root, "Zalacznik").is_some(),
            is_self_invoicing: fa.text(&["Fa", "Adnotacje", "P_17"]).as_deref() == Some("1"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(seller: &str, extra_fa: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="{FA3_NAMESPACE}">
  <Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza><WariantFormularza>3</WariantFormularza></Naglowek>
  <Podmiot1><DaneIdentyfikacyjne><NIP>{seller}</NIP><Nazwa>Sprzedawca</Nazwa></DaneIdentyfikacyjne></Podmiot1>
  <Podmiot2><DaneIdentyfikacyjne><NIP>7010002137</NIP><Nazwa>Nabywca</Nazwa></DaneIdentyfikacyjne></Podmiot2>
  <Podmiot3><DaneIdentyfikacyjne><NIP>1111111111</NIP></DaneIdentyfikacyjne><Rola>4</Rola></Podmiot3>
  <Fa><KodWaluty>PLN</KodWaluty><P_1>2026-11-25</P_1><P_2>FV/1</P_2><P_13_1>100.00</P_13_1><P_14_1>23.00</P_14_1><P_15>123.00</P_15>{extra_fa}<RodzajFaktury>VAT</RodzajFaktury></Fa>
</Faktura>"#
        )
    }

    fn judge(xml: &str) -> Verdict {
        MinimalVerifier.verify(&FormCode::fa3(), xml.as_bytes())
    }

    #[test]
    fn a_minimal_fa3_invoice_is_accepted_with_its_facts() {
        let Verdict::Accepted(facts) = judge(&invoice("5265877635", "")) else { panic!("rejected") };
        assert_eq!(facts.seller_nip.as_str(), "5265877635");
        assert_eq!((facts.invoice_number.as_str(), facts.invoice_kind.as_str()), ("FV/1", "VAT"));
        assert_eq!((facts.net_amount, facts.vat_amount, facts.gross_amount), (100.0, 23.0, 123.0));
        assert_eq!(facts.buyer.value.as_deref(), Some("7010002137"));
        assert_eq!(facts.third_subjects[0].role, 4);
        assert!(!facts.has_attachment && !facts.is_self_invoicing);
    }

    #[test]
    fn refusals_name_the_problem_and_keep_the_invoice_number_when_readable() {
        let cases: [(String, &str); 6] = [
            (format!("\u{FEFF}{}", invoice("5265877635", "")), "BOM"),
            (invoice("5265877635", "").replace("</Faktura>", ""), "XML"),
            (invoice("5265877635", "").replace("<P_1>2026-11-25</P_1>", ""), "Fa/P_1"),
            (invoice("5265877635", "").replace("FA (3)\"", "FA (2)\""), "KodFormularza"),
            (invoice("0265877635", ""), "NIP"),
            (invoice("5265877635", "").replace("<Fa>", "<?pi x?><Fa>"), "instrukcje"),
        ];
        for (xml, needle) in cases {
            let Verdict::Rejected(r) = judge(&xml) else { panic!("accepted: {needle}") };
            assert_eq!(r.kind, RejectionKind::Schema);
            assert!(r.details.join(" ").contains(needle), "{needle}: {:?}", r.details);
        }
        let Verdict::Rejected(r) = judge(&invoice("0265877635", "")) else { panic!() };
        assert_eq!(r.invoice_number.as_deref(), Some("FV/1"));
    }

    #[test]
    fn amounts_that_are_not_plain_decimals_are_refused() {
        for bad in ["NaN", "inf", "1e309", "", "12,50", "1.", "--1", "1234567890123456789"] {
            let xml = invoice("5265877635", "").replace("<P_15>123.00</P_15>", &format!("<P_15>{bad}</P_15>"));
            assert!(matches!(judge(&xml), Verdict::Rejected(_)), "{bad:?} was accepted");
        }
        let xml = invoice("5265877635", "").replace("<P_13_1>100.00</P_13_1>", "<P_13_1>1e308</P_13_1>");
        assert!(matches!(judge(&xml), Verdict::Rejected(_)));
        assert_eq!(amount("-12.5"), Some(-12.5));
    }

    #[test]
    fn documents_with_a_dtd_are_refused_without_expanding_entities() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Faktura>&b;</Faktura>"#;
        let Verdict::Rejected(r) = judge(xml) else { panic!("accepted") };
        assert_eq!(r.kind, RejectionKind::Schema);
    }

    #[test]
    fn a_non_utf8_encoding_declaration_is_refused() {
        let xml = invoice("5265877635", "").replace("encoding=\"UTF-8\"", "encoding=\"windows-1250\"");
        let Verdict::Rejected(r) = judge(&xml) else { panic!("accepted") };
        assert!(r.details[0].contains("windows-1250"));
    }
}
