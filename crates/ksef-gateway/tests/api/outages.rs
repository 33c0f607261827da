//! When KSeF is down or refuses the tenant: the documented codes, nothing lost, and a retry that delivers.

use ksef_emulator::{EmulatorConfig, EmulatorServer};
use serde_json::Value;

use crate::helpers::{NIP, TestApp, gateway_with_emulator, invoice};

async fn emulator_at(addr: std::net::SocketAddr, dir: &std::path::Path) -> EmulatorServer {
    EmulatorServer::bind(addr, EmulatorConfig::new(dir)).await.expect("emulator starts")
}

async fn expect(response: reqwest::Response, status: u16, codes: &[&str]) -> Value {
    let (got_status, got_code, body) = TestApp::error(response).await;
    assert_eq!(got_status, status, "{body}");
    assert!(codes.contains(&got_code.as_str()), "expected one of {codes:?}: {body}");
    body
}

#[tokio::test]
async fn with_ksef_down_every_operation_says_so_and_a_failed_send_is_delivered_by_sending_again() {
    let (app, emulator, emulator_dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let delivered = app.send(&key, &session, &invoice(NIP, "FV/BEFORE")).await;
    let ksef_number = app.wait_invoice(&key, &delivered).await["ksefNumber"].as_str().unwrap().to_owned();
    let closed_before = app.open_session(&key).await;
    app.send(&key, &closed_before, &invoice(NIP, "FV/CLOSED")).await;
    assert_eq!(app.get(&format!("/ksefSessionClose/{closed_before}"), &key).await.status(), 200);

    let addr = emulator.local_addr();
    emulator.shutdown().await.unwrap();

    expect(app.get(&format!("/ksefSessionStatus/{session}"), &key).await, 502, &["1105"]).await;
    expect(app.get("/ksefPublicKey", &key).await, 502, &["1004"]).await;
    expect(app.get(&format!("/ksefInvoiceGet/{ksef_number}"), &key).await, 502, &["1205"]).await;
    expect(app.post("/ksefSessionOpenOnline", &key, &serde_json::json!({ "invoiceVersion": "v3" })).await, 502, &["1103", "1004"]).await;
    let xml = invoice(NIP, "FV/DURING");
    let failed = expect(app.send_plain(&key, &session, &xml).await, 502, &["1204"]).await;
    assert_eq!(failed["ksef"]["httpStatus"], 0, "KSeF was unreachable: {failed}");
    expect(app.get(&format!("/ksefSessionClose/{session}"), &key).await, 502, &["1106"]).await;
    expect(app.get(&format!("/ksefSessionUpo/{closed_before}"), &key).await, 502, &["1107"]).await;
    // What KSeF already confirmed is still answered from the gateway's own records.
    let known: Value = app.get(&format!("/ksefInvoiceStatus/{delivered}"), &key).await.json().await.unwrap();
    assert_eq!(known["invoices"][0]["ksefNumber"], ksef_number.as_str());
    let listed: Value = app.get(&format!("/ksefSessionInvoices/{session}"), &key).await.json().await.unwrap();
    let pending = &listed["invoices"][1];
    assert_eq!(pending["status"]["code"], 0, "the undelivered invoice is listed, not lost: {listed}");

    // KSeF is back: sending the same invoice again delivers it under the same id.
    let _emulator = emulator_at(addr, emulator_dir.path()).await;
    let retried = app.send(&key, &session, &xml).await;
    assert_eq!(retried, pending["id"].as_str().unwrap());
    assert_eq!(app.wait_invoice(&key, &retried).await["status"]["code"], 200);
    let upo = app.close_and_wait_upo(&key, &session).await;
    assert!(upo.contains(&ksef_number));
}

#[tokio::test]
async fn a_tenant_whose_ksef_token_ksef_refuses_gets_1101() {
    let (app, _emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let added = ksef_gateway::ops::tenants::add(app.app.ops(), "Bad", "7010002137", "not-a-valid-token").await.unwrap();
    let body = expect(app.post("/ksefSessionOpenOnline", added.api_key.expose(), &serde_json::json!({ "invoiceVersion": "v3" })).await, 502, &["1101"]).await;
    assert!(body["details"].as_str().unwrap().contains("450"), "KSeF's authentication status is passed on: {body}");
}
