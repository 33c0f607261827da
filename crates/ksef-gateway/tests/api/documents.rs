//! `ksefInvoiceValidate` and `ksef-gateway validate`: KSeF's prechecks, the official schema and the rules beyond it,
//! every finding reported, and the canonical form of a valid invoice.

use serde_json::Value;

use crate::helpers::{TestApp, run_binary, spawn_app};

const INVOICE: &str = include_str!("../../../../examples/invoice.xml");

impl TestApp {
    async fn validate(&self, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/ksefInvoiceValidate", self.base))
            .bearer_auth(&self.api_key)
            .header("content-type", "text/xml")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }
}

fn replace_value(text: &str, element: &str, value: &str) -> String {
    let open = format!("<{element}>");
    let start = text.find(&open).unwrap() + open.len();
    let end = start + text[start..].find('<').unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}

#[tokio::test]
async fn a_valid_invoice_is_answered_with_its_version_and_canonical_form() {
    let app = spawn_app().await;
    let r = app.validate(INVOICE).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["invoiceVersion"].as_str(), body["valid"].as_bool()), (Some("v3"), Some(true)), "{body}");
    let canonical = String::from_utf8(ksef_core::crypto::b64_decode(body["canonicalForm"].as_str().unwrap()).unwrap()).unwrap();
    assert!(canonical.starts_with("<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\""), "no XML declaration: {}", &canonical[..80]);
    assert!(canonical.ends_with("</Faktura>"));
}

#[tokio::test]
async fn an_invalid_invoice_gets_1203_naming_the_first_error_and_listing_every_finding() {
    let app = spawn_app().await;
    let broken = replace_value(&replace_value(INVOICE, "P_1", "2026-02-30"), "KodWaluty", "PLNX");
    let (status, code, body) = TestApp::error(app.validate(&broken).await).await;
    assert_eq!((status, code.as_str()), (400, "1203"), "{body}");
    assert!(body["details"].as_str().unwrap().starts_with("/Faktura/Fa/KodWaluty"), "{body}");
    let findings = body["findings"].as_array().unwrap();
    let paths: Vec<&str> = findings.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/Faktura/Fa/KodWaluty", "/Faktura/Fa/P_1"]);
    for f in findings {
        assert_eq!((f["kind"].as_str(), f["severity"].as_str()), (Some("schema"), Some("error")));
        assert!(!f["messagePl"].as_str().unwrap().is_empty() && !f["messageEn"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn rules_ksef_enforces_are_errors_and_the_others_warnings() {
    let app = spawn_app().await;
    let bad_nip = INVOICE.replacen("<NIP>1111111111</NIP>", "<NIP>1234567890</NIP>", 1);
    let (status, code, body) = TestApp::error(app.validate(&bad_nip).await).await;
    assert_eq!((status, code.as_str()), (400, "1203"));
    assert_eq!((body["findings"][0]["kind"].as_str(), body["findings"][0]["rule"].as_str()), (Some("semantic"), Some("nip-checksum")));

    let wrong_total = replace_value(INVOICE, "P_15", "99999.99");
    let r = app.validate(&wrong_total).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "totals" && f["severity"] == "warning"), "{body}");
}

#[tokio::test]
async fn what_is_not_an_invoice_is_refused_with_the_right_code() {
    let app = spawn_app().await;
    let (status, code, body) = TestApp::error(app.validate("<Faktura>").await).await;
    assert_eq!((status, code.as_str(), body["findings"][0]["rule"].as_str()), (400, "1203", Some("xml")));
    let (status, code, _) = TestApp::error(app.validate("<?xml version=\"1.0\"?><Invoice xmlns=\"urn:oasis:ubl\"/>").await).await;
    assert_eq!((status, code.as_str()), (400, "1201"));
    let with_pi = INVOICE.replacen("<Faktura", "<?xml-stylesheet href=\"a.xsl\"?><Faktura", 1);
    let (_, code, body) = TestApp::error(app.validate(&with_pi).await).await;
    assert_eq!((code.as_str(), body["findings"][0]["kind"].as_str()), ("1203", Some("precheck")));
}

#[tokio::test]
async fn the_validate_command_checks_files_offline_and_exits_1_when_one_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.xml");
    let bad = dir.path().join("bad.xml");
    std::fs::write(&good, INVOICE).unwrap();
    std::fs::write(&bad, replace_value(INVOICE, "RodzajFaktury", "FV")).unwrap();
    let (code, stdout, _) = run_binary(&["validate", "--json", good.to_str().unwrap(), bad.to_str().unwrap()]).await;
    assert_eq!(code, 1);
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((lines[0]["valid"].as_bool(), lines[0]["version"].as_str()), (Some(true), Some("FA(3)")));
    assert_eq!(lines[1]["valid"], false);
    assert_eq!((lines[1]["findings"][0]["kind"].as_str(), lines[1]["findings"][0]["rule"].as_str()), (Some("schema"), Some("xsd:enumeration")));
    let (code, _, _) = run_binary(&["validate", good.to_str().unwrap()]).await;
    assert_eq!(code, 0);
}
