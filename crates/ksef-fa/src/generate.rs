//! FA(3) invoices from JSON with readable names ([`crate::json`]): the header, the annotations a plain VAT
//! invoice needs, line numbers, line net amounts and the totals per rate are filled in when omitted; totals that
//! are given are checked. The result is checked as KSeF will check it ([`crate::check`]).
//!
//! Rounding: a line's net amount is quantity × unit net price − discount, rounded half away from zero to the
//! grosz; per rate, the net total is the sum of the lines' net amounts, and the VAT is that total × the rate,
//! rounded the same way (VAT computed on the total, art. 106e(11)); `total` (P_15) is the sum of both.

use serde_json::{Map, Value, json};

use crate::amount::Amount;
use crate::rules::Options;
use crate::validate::{Finding, Kind, Severity};
use crate::{Report, Version, check};

/// A generated invoice: its XML and what checking it found (warnings only).
#[derive(Debug, Clone)]
pub struct Generated {
    /// The FA(3) document, UTF-8.
    pub xml: String,
    /// Warnings (a generated invoice has no errors).
    pub report: Report,
}

/// Why no invoice was generated.
#[derive(Debug, Clone)]
pub enum GenerateError {
    /// The request itself is wrong (fields with no place, values of the wrong kind, given totals that do not add
    /// up): every finding.
    Request(Vec<Finding>),
    /// The request makes a document KSeF would refuse: every finding.
    Invalid(Vec<Finding>),
}

/// Rates, the totals they feed (net, VAT) and the VAT percentage.
const RATES: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("23", "net23", Some("vat23"), Some("23")),
    ("22", "net23", Some("vat23"), Some("22")),
    ("8", "net8", Some("vat8"), Some("8")),
    ("7", "net8", Some("vat8"), Some("7")),
    ("5", "net5", Some("vat5"), Some("5")),
    ("4", "netTaxi", Some("vatTaxi"), Some("4")),
    ("3", "netTaxi", Some("vatTaxi"), Some("3")),
    ("0 KR", "net0Domestic", None, None),
    ("0 WDT", "net0IntraEu", None, None),
    ("0 EX", "net0Export", None, None),
    ("zw", "netExempt", None, None),
    ("np I", "netOutsidePoland", None, None),
    ("np II", "netEuServices", None, None),
    ("oo", "netReverseCharge", None, None),
];

fn request_finding(path: &str, pl: String, en: String) -> Finding {
    Finding { kind: Kind::Request, severity: Severity::Error, rule: "request".to_owned(), path: path.to_owned(), line: 0, message_pl: pl, message_en: en }
}

fn amount_of(value: Option<&Value>) -> Option<Amount> {
    match value? {
        Value::String(s) => Amount::parse(s.trim()),
        Value::Number(n) => Amount::parse(&n.to_string()),
        _ => None,
    }
}

/// Generates an FA(3) invoice from `request`, created at `created` (an `xsd:dateTime`), checked with `options`.
pub fn generate(request: &Value, created: &str, options: &Options) -> Result<Generated, GenerateError> {
    let Some(object) = request.as_object() else {
        return Err(GenerateError::Request(vec![request_finding(
            "",
            "Żądanie musi być obiektem JSON.".to_owned(),
            "The request must be a JSON object.".to_owned(),
        )]));
    };
    let mut root = object.clone();
    let header = root.entry("header").or_insert_with(|| json!({}));
    if let Some(header) = header.as_object_mut() {
        header.entry("formCode").or_insert_with(|| json!({ "value": "FA" }));
        header.entry("formVariant").or_insert_with(|| json!("3"));
        header.entry("createdAt").or_insert_with(|| json!(created));
        header.entry("system").or_insert_with(|| json!("ksef-gateway"));
    }
    let mut findings = Vec::new();
    let totals_given = fill_invoice(&mut root, &mut findings);
    if !findings.is_empty() {
        return Err(GenerateError::Request(findings));
    }
    let schema = Version::Fa3.validator().schema();
    let xml = crate::json::from_json(schema, &Value::Object(root)).map_err(|errors| {
        GenerateError::Request(
            errors
                .into_iter()
                .map(|e| request_finding(&e.path, format!("{}: {}", e.path, pl_of(&e.message)), format!("{}: {}", e.path, e.message)))
                .collect(),
        )
    })?;
    let report = check(xml.as_bytes(), options);
    if !report.valid() {
        return Err(GenerateError::Invalid(report.findings));
    }
    // Totals the request gave must add up; computed ones always do.
    if totals_given {
        let wrong: Vec<Finding> = report.findings.iter().filter(|f| matches!(f.rule.as_str(), "totals" | "rate-totals")).cloned().collect();
        if !wrong.is_empty() {
            let wrong = wrong.into_iter().map(|f| Finding { kind: Kind::Request, severity: Severity::Error, ..f }).collect();
            return Err(GenerateError::Request(wrong));
        }
    }
    Ok(Generated { xml, report })
}

fn pl_of(message: &str) -> &'static str {
    match message {
        "no such field here" => "takiego pola tu nie ma",
        "expected an object" => "oczekiwano obiektu",
        _ => "oczekiwano tekstu, liczby lub wartości logicznej",
    }
}

/// Fills in annotations, line numbers, line net amounts and totals; true if the request gave totals itself.
fn fill_invoice(root: &mut Map<String, Value>, findings: &mut Vec<Finding>) -> bool {
    let Some(invoice) = root.get_mut("invoice").and_then(Value::as_object_mut) else {
        findings.push(request_finding(
            "invoice",
            "Brak danych faktury (invoice).".to_owned(),
            "The invoice's data (invoice) is missing.".to_owned(),
        ));
        return false;
    };
    invoice.entry("annotations").or_insert_with(|| {
        json!({
            "cashAccounting": "2", "selfBilling": "2", "reverseCharge": "2", "splitPayment": "2",
            "exemption": { "notExempt": "1" }, "newMeansOfTransport": { "notSupplied": "1" },
            "triangular": "2", "margin": { "notApplicable": "1" },
        })
    });
    let kind = invoice.get("kind").and_then(Value::as_str).unwrap_or("VAT").to_owned();
    invoice.entry("kind").or_insert_with(|| json!("VAT"));
    let totals_given = has_totals(invoice);
    let lines: &mut Vec<Value> = match invoice.get_mut("lines") {
        Some(Value::Array(lines)) => lines,
        _ if totals_given => return true,
        _ => {
            findings.push(request_finding(
                "invoice",
                "Podaj pozycje faktury (lines) albo jej kwoty (net…, vat…, total).".to_owned(),
                "Give the invoice's lines or its totals (net…, vat…, total).".to_owned(),
            ));
            return false;
        }
    };
    let mut groups: Vec<(&str, Option<&str>, Option<&str>, Amount)> = Vec::new();
    for (i, line) in lines.iter_mut().enumerate() {
        let Some(line) = line.as_object_mut() else { continue };
        line.entry("number").or_insert_with(|| json!((i + 1).to_string()));
        if !line.contains_key("netAmount")
            && let (Some(quantity), Some(price)) = (amount_of(line.get("quantity")), amount_of(line.get("unitNetPrice")))
        {
            let discount = amount_of(line.get("discount")).unwrap_or(Amount::ZERO);
            if let Some(net) = quantity.times(price).map(|v| (v - discount).round2()) {
                line.insert("netAmount".to_owned(), json!(net.to_string()));
            }
        }
        let before = line.get("before").is_some();
        let (Some(rate), Some(mut net)) = (line.get("rate").and_then(Value::as_str), amount_of(line.get("netAmount"))) else { continue };
        // A correction's totals are the difference: rows as they were (`before`) count negatively.
        if before {
            if kind != "KOR" {
                continue;
            }
            net = Amount::ZERO - net;
        }
        if let Some((_, net_key, vat_key, percent)) = RATES.iter().find(|(r, ..)| *r == rate) {
            match groups.iter_mut().find(|(k, _, p, _)| k == net_key && p == percent) {
                Some(group) => group.3 = group.3 + net,
                None => groups.push((net_key, *vat_key, *percent, net)),
            }
        }
    }
    if totals_given {
        return true;
    }
    if !matches!(kind.as_str(), "VAT" | "UPR" | "KOR") {
        // Advances and settlements are about money received, which the lines do not show.
        findings.push(request_finding(
            "invoice.total",
            format!("Faktura {kind} musi podawać kwoty (net…, vat…, total): wynikają z otrzymanej zapłaty, nie z pozycji."),
            format!("A {kind} invoice must give its totals (net…, vat…, total): they follow from the payment received, not from the lines."),
        ));
        return false;
    }
    let mut total = Amount::ZERO;
    let mut fields: Vec<(&str, Amount)> = Vec::new();
    for (net_key, vat_key, percent, net) in groups {
        add(&mut fields, net_key, net);
        total = total + net;
        if let (Some(vat_key), Some(percent)) = (vat_key, percent) {
            let rate = Amount::parse(&format!("0.{percent:0>2}")).expect("a rate below 100%");
            let vat = net.times(rate).unwrap_or(Amount::ZERO).round2();
            add(&mut fields, vat_key, vat);
            total = total + vat;
        }
    }
    for (key, value) in fields {
        invoice.insert(key.to_owned(), json!(value.round2().to_string()));
    }
    invoice.insert("total".to_owned(), json!(total.round2().to_string()));
    false
}

fn add(fields: &mut Vec<(&'static str, Amount)>, key: &'static str, value: Amount) {
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(field) => field.1 = field.1 + value,
        None => fields.push((key, value)),
    }
}

fn has_totals(invoice: &Map<String, Value>) -> bool {
    invoice.keys().any(|k| k == "total" || k.starts_with("net") || k.starts_with("vat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({
            "seller": { "identification": { "nip": "5265877635", "name": "Sprzedawca" }, "address": { "countryCode": "PL", "line1": "ul. A 1" } },
            "buyer": { "identification": { "nip": "1111111111", "name": "Nabywca" }, "address": { "countryCode": "PL", "line1": "ul. B 2" },
                       "localGovernmentUnit": "2", "vatGroupMember": "2" },
            "invoice": {
                "currency": "PLN", "issueDate": "2026-11-25", "number": "FV/GEN/1",
                "lines": [
                    { "name": "Usługa", "unit": "h", "quantity": "3", "unitNetPrice": "33.33", "rate": "23" },
                    { "name": "Książka", "unit": "szt.", "quantity": 1, "unitNetPrice": "40.00", "rate": "5" }
                ]
            }
        })
    }

    #[test]
    fn a_request_without_totals_gets_them_computed_and_the_invoice_is_valid() {
        let generated = generate(&request(), "2026-11-25T10:00:00Z", &Options::default()).unwrap();
        assert!(generated.report.findings.is_empty(), "{:?}", generated.report.findings);
        let xml = &generated.xml;
        for expected in ["<P_11>99.99</P_11>", "<P_13_1>99.99</P_13_1>", "<P_14_1>23.00</P_14_1>", "<P_13_3>40.00</P_13_3>", "<P_14_3>2.00</P_14_3>", "<P_15>164.99</P_15>", "<NrWierszaFa>2</NrWierszaFa>", "<P_19N>1</P_19N>"] {
            assert!(xml.contains(expected), "{expected} in {xml}");
        }
    }

    #[test]
    fn given_totals_that_do_not_add_up_and_unknown_fields_are_refused_with_every_problem() {
        let mut wrong = request();
        wrong["invoice"]["total"] = json!("1000.00");
        wrong["invoice"]["net23"] = json!("99.99");
        wrong["invoice"]["vat23"] = json!("23.00");
        match generate(&wrong, "2026-11-25T10:00:00Z", &Options::default()) {
            Err(GenerateError::Request(findings)) => assert!(findings.iter().any(|f| f.rule == "totals"), "{findings:?}"),
            other => panic!("{other:?}"),
        }
        let mut typo = request();
        typo["invoice"]["lines"][0]["prise"] = json!("1");
        typo["sellr"] = json!({});
        match generate(&typo, "2026-11-25T10:00:00Z", &Options::default()) {
            Err(GenerateError::Request(findings)) => {
                let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
                assert!(paths.contains(&"invoice.lines[0].prise") && paths.contains(&"sellr"), "{paths:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_the_schema_refuses_is_answered_with_the_schemas_findings() {
        let mut bad = request();
        bad["invoice"]["lines"][0]["rate"] = json!("23%");
        match generate(&bad, "2026-11-25T10:00:00Z", &Options::default()) {
            Err(GenerateError::Invalid(findings)) => assert_eq!(findings[0].rule, "xsd:enumeration"),
            other => panic!("{other:?}"),
        }
    }
}
