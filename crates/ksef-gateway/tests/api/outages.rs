//! When KSeF is down or refuses the tenant: the documented codes, nothing lost, and a retry that delivers.

use ksef_emulator::{EmulatorConfig, EmulatorServer};
use serde_json::Value;

use crate::helpers::{NIP, TestApp, gateway_with_emulator, gateway_with_emulator_and, invoice};

pub(crate) async fn emulator_at(addr: std::net::SocketAddr, dir: &std::path::Path) -> EmulatorServer {
    EmulatorServer::bind(addr, EmulatorConfig::new(dir)).await.expect("emulator starts")
}

async fn expect(response: reqwest::Response, status: u16, codes: &[&str]) -> Value {
    let (got_status, got_code, body) = TestApp::error(response).await;
    assert_eq!(got_status, status, "{body}");
    assert!(codes.contains(&got_code.as_str()), "expected one of {codes:?}: {body}");
    body
}

#[tokio::test]
async fn with_ksef_down_reads_say_so_while_sends_and_closes_are_accepted_and_delivered_once_ksef_is_back() {
    let (app, emulator, emulator_dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let delivered = app.send(&key, &session, &invoice(NIP, "FV/BEFORE")).await;
    let ksef_number = app.wait_invoice(&key, &delivered).await["ksefNumber"].as_str().unwrap().to_owned();
    let closed_before = app.open_session(&key).await;
    app.send(&key, &closed_before, &invoice(NIP, "FV/CLOSED")).await;
    app.close_and_wait_upo(&key, &closed_before).await;

    let addr = emulator.local_addr();
    emulator.shutdown().await.unwrap();

    expect(app.get(&format!("/ksefSessionStatus/{session}"), &key).await, 502, &["1105"]).await;
    expect(app.get("/ksefPublicKey", &key).await, 502, &["1004"]).await;
    expect(app.get(&format!("/ksefInvoiceGet/{ksef_number}"), &key).await, 502, &["1205"]).await;
    expect(app.post("/ksefSessionOpenOnline", &key, &serde_json::json!({ "invoiceVersion": "v3" })).await, 502, &["1103", "1004"]).await;
    // A send is recorded and answered: delivering it is the gateway's job from here on.
    let xml = invoice(NIP, "FV/DURING");
    let during = app.send(&key, &session, &xml).await;
    let queued: Value = app.get(&format!("/ksefInvoiceStatus/{during}"), &key).await.json().await.unwrap();
    let queued = &queued["invoices"][0];
    assert_eq!((queued["status"]["code"].as_i64(), queued["delivery"]["state"].as_str()), (Some(0), Some("queued")), "{queued}");
    assert!(queued["delivery"]["lastError"].as_str().unwrap().contains("reach KSeF"), "the reason is shown: {queued}");
    assert!(queued["delivery"]["nextAttemptAt"].is_string(), "{queued}");
    // Sending it again is answered with the same id, and queues nothing new.
    assert_eq!(app.send(&key, &session, &xml).await, during);
    // Closing is accepted too: KSeF closes it once the invoice is in.
    assert_eq!(app.get(&format!("/ksefSessionClose/{session}"), &key).await.status(), 200);
    expect(app.get(&format!("/ksefSessionUpo/{session}"), &key).await, 409, &["1111"]).await;
    // What KSeF already confirmed is still answered from the gateway's own records.
    let known: Value = app.get(&format!("/ksefInvoiceStatus/{delivered}"), &key).await.json().await.unwrap();
    assert_eq!(known["invoices"][0]["ksefNumber"], ksef_number.as_str());
    assert_eq!(app.get(&format!("/ksefSessionUpo/{closed_before}"), &key).await.status(), 200, "a UPO kept is served while KSeF is down");
    let listed: Value = app.get(&format!("/ksefSessionInvoices/{session}"), &key).await.json().await.unwrap();
    assert_eq!(listed["invoices"][1]["id"], during.as_str(), "the undelivered invoice is listed, not lost: {listed}");

    // KSeF is back: the gateway delivers the invoice, closes the session and fetches its UPO, unasked.
    let _emulator = emulator_at(addr, emulator_dir.path()).await;
    let verdict = app.wait_invoice(&key, &during).await;
    assert_eq!((verdict["status"]["code"].as_i64(), verdict["delivery"]["state"].as_str()), (Some(200), Some("accepted")), "{verdict}");
    assert!(verdict["delivery"]["attempts"].as_i64().unwrap() >= 2, "{verdict}");
    let upo = app.close_and_wait_upo(&key, &session).await;
    assert!(upo.contains(&ksef_number) && upo.contains(verdict["ksefNumber"].as_str().unwrap()), "both invoices are in the UPO");
}

#[tokio::test]
async fn a_tenant_whose_ksef_token_ksef_refuses_gets_1101() {
    let (app, _emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let added = ksef_gateway::ops::tenants::add(app.app.ops(), "Bad", "7010002137", "not-a-valid-token").await.unwrap();
    let body = expect(app.post("/ksefSessionOpenOnline", added.api_key.expose(), &serde_json::json!({ "invoiceVersion": "v3" })).await, 502, &["1101"]).await;
    assert!(body["details"].as_str().unwrap().contains("450"), "KSeF's authentication status is passed on: {body}");
}

#[tokio::test]
async fn a_tenant_with_its_bound_of_invoices_waiting_for_ksef_gets_1905_until_ksef_takes_them() {
    let (app, emulator, emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), |s| s.limits.max_undelivered_per_tenant = 3).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let addr = emulator.local_addr();
    emulator.shutdown().await.unwrap();
    let mut waiting = Vec::new();
    for n in 0..3 {
        waiting.push(app.send(&key, &session, &invoice(NIP, &format!("FV/BOUND/{n}"))).await);
    }
    // The outbox counts every three seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let r = app.send_plain(&key, &session, &invoice(NIP, "FV/BOUND/X")).await;
        if r.status() == 429 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "the fourth waiting invoice was taken: {}", r.status());
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let (_, code, body) = TestApp::error(refused).await;
    assert_eq!(code, "1905", "{body}");
    let _emulator = emulator_at(addr, emulator_dir.path()).await;
    for id in &waiting {
        assert_eq!(app.wait_invoice(&key, id).await["delivery"]["state"], "accepted");
    }
}
