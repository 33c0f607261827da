//! Verification of a received invoice's QR link, through the API (with KSeF asked) and the CLI (offline).

use std::time::Duration;

use ksef_core::crypto::b64;
use serde_json::{Value, json};

use crate::helpers::{NIP, OTHER_NIP, gateway_with_emulator_and, invoice, run_binary};

fn kod1(xml: &[u8]) -> String {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    ksef_visualize::links::kod1(ksef_core::Environment::Test, NIP, today, &ksef_visualize::links::invoice_hash(xml), None).unwrap().link
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["checks"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap().to_owned(), c["outcome"].as_str().unwrap().to_owned())).collect()
}

fn outcome(report: &Value, name: &str) -> String {
    outcomes(report).into_iter().find(|(n, _)| n == name).map(|(_, o)| o).unwrap_or_else(|| panic!("no {name}: {report}"))
}

#[tokio::test]
async fn a_buyer_verifies_a_received_invoices_link_against_its_xml_and_ksef_and_a_forged_one_fails() {
    let (app, emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), |s| s.inbox.every_secs = 1).await;
    let buyer = app.add_tenant_of(OTHER_NIP, &emulator).await;
    let xml = invoice(NIP, "FV/VERIFY/1");
    let r = app.post("/invoices", &app.api_key, &json!({ "invoice": b64(&xml) })).await;
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let done = app.wait_submitted(&app.api_key, &id, Duration::from_secs(60)).await;
    let number = done["invoice"]["ksefNumber"].as_str().unwrap().to_owned();
    let link = kod1(&xml);

    // With the XML given, and KSeF asked under the printed number.
    let report: Value = app.post("/verify", &buyer, &json!({ "link": link, "invoice": String::from_utf8(xml.clone()).unwrap(), "ksefNumber": number })).await.json().await.unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["kind"], "invoice");
    for name in ["link.host", "link.nip", "link.date", "link.hash", "ksefNumber.checksum", "invoice.hash", "invoice.seller", "invoice.date", "ksef.holds"] {
        assert_eq!(outcome(&report, name), "passed", "{name}: {report}");
    }

    // Without the XML: the invoice the gateway received is used once it is synced.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.get(&format!("/received/{number}"), &buyer).await.status() != 200 {
        assert!(std::time::Instant::now() < deadline, "the invoice was never synced");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report: Value = app.post("/verify", &buyer, &json!({ "link": link, "ksefNumber": number })).await.json().await.unwrap();
    assert_eq!(outcome(&report, "invoice.hash"), "passed", "{report}");

    // A link whose hash is another invoice's: the XML and KSeF both say no.
    let forged = kod1(&invoice(NIP, "FV/VERIFY/FORGED"));
    let report: Value = app.post("/verify", &buyer, &json!({ "link": forged, "ksefNumber": number })).await.json().await.unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!((outcome(&report, "invoice.hash"), outcome(&report, "ksef.holds")), ("failed".to_owned(), "failed".to_owned()), "{report}");

    // Not a link; no link; evidence that is not readable.
    let report: Value = app.post("/verify", &buyer, &json!({ "link": "https://example.com/x" })).await.json().await.unwrap();
    assert_eq!((report["valid"].as_bool(), outcome(&report, "link.host")), (Some(false), "failed".to_owned()));
    for body in [json!({ "link": "" }), json!({ "link": link, "invoice": "%%%" }), json!({ "invoice": "<x/>" }), json!({ "link": link, "image": "AAAA" })] {
        let r = app.post("/verify", &buyer, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "1503");
    }
}

#[tokio::test]
async fn the_verify_command_checks_a_link_offline_and_exits_non_zero_when_a_check_fails() {
    let xml = invoice(NIP, "FV/VERIFY/CLI");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.xml");
    std::fs::write(&file, &xml).unwrap();
    let link = kod1(&xml);
    let (code, out, err) = run_binary(&["verify", &link, "--invoice", file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("invoice.hash") && out.contains("the link is valid"), "{out}");
    let image = dir.path().join("code.png");
    std::fs::write(&image, ksef_visualize::qr::matrix(&link).unwrap().png(3)).unwrap();
    let (code, out, err) = run_binary(&["verify", "--image", image.to_str().unwrap(), "--invoice", file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("the link is valid"), "{out}");
    let (code, out, _) = run_binary(&["verify", &kod1(b"<other/>"), "--invoice", file.to_str().unwrap(), "--json"]).await;
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(outcome(&report, "invoice.hash"), "failed");
}
