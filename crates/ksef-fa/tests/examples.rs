//! The JSON examples shipped in `examples/`, one per FA(3) invoice kind: each generates a valid invoice of its
//! kind, with the totals it gives kept and the ones it omits computed from its lines.

use ksef_fa::generate::{GenerateError, generate};
use ksef_fa::rules::Options;
use serde_json::Value;

const EXAMPLES: &[(&str, &str)] = &[
    ("VAT", include_str!("../../../examples/generate-vat.json")),
    ("KOR", include_str!("../../../examples/generate-kor.json")),
    ("ZAL", include_str!("../../../examples/generate-zal.json")),
    ("KOR_ZAL", include_str!("../../../examples/generate-kor_zal.json")),
    ("ROZ", include_str!("../../../examples/generate-roz.json")),
    ("UPR", include_str!("../../../examples/generate-upr.json")),
    ("KOR_ROZ", include_str!("../../../examples/generate-kor_roz.json")),
];

fn generated(kind: &str) -> String {
    let (_, text) = EXAMPLES.iter().find(|(k, _)| *k == kind).unwrap();
    let request: Value = serde_json::from_str(text).unwrap();
    match generate(&request, "2026-11-25T10:00:00Z", &Options::default()) {
        Ok(generated) => {
            assert!(generated.report.findings.is_empty(), "{kind}: {:?}", generated.report.findings);
            generated.xml
        }
        Err(GenerateError::Request(f) | GenerateError::Invalid(f)) => panic!("{kind}: {f:#?}"),
    }
}

#[test]
fn every_invoice_kind_has_an_example_that_generates_a_valid_invoice_of_that_kind() {
    for (kind, _) in EXAMPLES {
        let xml = generated(kind);
        assert!(xml.contains(&format!("<RodzajFaktury>{kind}</RodzajFaktury>")), "{kind}");
        let report = ksef_fa::check(xml.as_bytes(), &Options::default());
        assert!(report.valid(), "{kind}: {:?}", report.findings);
    }
}

#[test]
fn a_correction_without_totals_gets_the_difference_of_its_rows_after_and_before() {
    let xml = generated("KOR");
    for expected in ["<P_13_1>-300.00</P_13_1>", "<P_14_1>-69.00</P_14_1>", "<P_15>-369.00</P_15>", "<StanPrzed>1</StanPrzed>"] {
        assert!(xml.contains(expected), "{expected} in {xml}");
    }
}

#[test]
fn a_simplified_invoice_without_totals_gets_them_from_its_lines() {
    let xml = generated("UPR");
    for expected in ["<P_13_1>150.00</P_13_1>", "<P_14_1>34.50</P_14_1>", "<P_15>184.50</P_15>"] {
        assert!(xml.contains(expected), "{expected} in {xml}");
    }
}

#[test]
fn advance_and_settlement_invoices_keep_the_totals_they_give_and_must_give_them() {
    assert!(generated("ZAL").contains("<P_15>12300.00</P_15>"));
    assert!(generated("KOR_ROZ").contains("<P_15>-984.00</P_15>"));
    let (_, text) = EXAMPLES.iter().find(|(k, _)| *k == "ROZ").unwrap();
    let mut request: Value = serde_json::from_str(text).unwrap();
    for key in ["net23", "vat23", "total"] {
        request["invoice"].as_object_mut().unwrap().remove(key);
    }
    match generate(&request, "2026-11-25T10:00:00Z", &Options::default()) {
        Err(GenerateError::Request(findings)) => assert_eq!(findings[0].path, "invoice.total", "{findings:?}"),
        other => panic!("{other:?}"),
    }
}
