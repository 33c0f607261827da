//! The seed's process "Sending invoices in an interactive session to KSeF and downloading UPO", steps 1–11,
//! in both encryption modes; repeats that must not send twice; and a restart that must lose nothing.

use serde_json::{Value, json};

use crate::helpers::{NIP, TestApp, invoice, spawn_app, spawn_with};

async fn step_4_session_is_active(app: &TestApp, session: &str) {
    let status: Value = app.get(&format!("/ksefSessionStatus/{session}"), &app.api_key).await.json().await.unwrap();
    assert_eq!(status["sessionInfo"]["status"]["code"], 100, "{status}");
    assert_eq!(status["sessionInfo"]["batch"], false);
}

#[tokio::test]
async fn the_seed_process_runs_end_to_end_with_a_key_the_gateway_holds() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    // Steps 2-3: open the session and keep its id.
    let session = app.open_session(&key).await;
    step_4_session_is_active(&app, &session).await;
    // Steps 5-6: send every invoice, keep every id.
    let xmls: Vec<Vec<u8>> = (1..=3).map(|i| invoice(NIP, &format!("FV/GW/{i}"))).collect();
    let mut ids = Vec::new();
    for xml in &xmls {
        ids.push(app.send(&key, &session, xml).await);
    }
    // Steps 7-8: each invoice reaches 200 with a KSeF number and an acquisition date.
    let mut ksef_numbers = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let info = app.wait_invoice(&key, id).await;
        assert_eq!(info["status"]["code"], 200, "{info}");
        assert_eq!(info["ordinal"], (i + 1).to_string());
        assert_eq!(info["invoiceNumber"], format!("FV/GW/{}", i + 1));
        assert!(info["acquisitionDate"].is_string() && info["permanentStorageDate"].is_string());
        ksef_numbers.push(info["ksefNumber"].as_str().unwrap().to_owned());
    }
    let listed: Value = app.get(&format!("/ksefSessionInvoices/{session}"), &key).await.json().await.unwrap();
    let listed_ids: Vec<&str> = listed["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(listed_ids, ids.iter().map(String::as_str).collect::<Vec<_>>());
    // Steps 9-11: close, then the UPO names every invoice.
    let upo = app.close_and_wait_upo(&key, &session).await;
    for n in &ksef_numbers {
        assert!(upo.contains(n), "UPO lacks {n}");
    }
    let final_status: Value = app.get(&format!("/ksefSessionStatus/{session}"), &key).await.json().await.unwrap();
    assert_eq!(final_status["sessionInfo"]["status"]["code"], 200);
    assert_eq!(final_status["sessionInfo"]["successfulInvoiceCount"], 3);
    // The single-invoice process: download by KSeF number, byte for byte.
    let got = app.get(&format!("/ksefInvoiceGet/{}", ksef_numbers[0]), &key).await;
    assert_eq!(got.status(), 200);
    assert!(got.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    assert_eq!(got.bytes().await.unwrap(), xmls[0]);
}

#[tokio::test]
async fn the_seed_process_runs_end_to_end_with_the_callers_own_key() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let (session, caller) = app.open_caller_session(&key).await;
    step_4_session_is_active(&app, &session).await;
    let xml = invoice(NIP, "FV/CALLER/1");
    let r = app.post("/ksefInvoiceSend", &key, &TestApp::encrypted_body(&session, &caller, &xml)).await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let info = app.wait_invoice(&key, &id).await;
    assert_eq!(info["status"]["code"], 200, "{info}");
    let upo = app.close_and_wait_upo(&key, &session).await;
    assert!(upo.contains(info["ksefNumber"].as_str().unwrap()));
    let got = app.get(&format!("/ksefInvoiceGet/{}", info["ksefNumber"].as_str().unwrap()), &key).await;
    assert_eq!(got.bytes().await.unwrap(), xml);
}

#[tokio::test]
async fn the_same_invoice_sent_twice_gets_the_first_id_and_reaches_ksef_once() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let xml = invoice(NIP, "FV/TWICE");
    let first = app.send(&key, &session, &xml).await;
    let second = app.send(&key, &session, &xml).await;
    assert_eq!(first, second);
    app.wait_invoice(&key, &first).await;
    let status: Value = app.get(&format!("/ksefSessionStatus/{session}"), &key).await.json().await.unwrap();
    assert_eq!(status["sessionInfo"]["invoiceCount"], 1, "KSeF received it once");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_request() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let open = |body: Value, idem: &'static str| {
        let (app, key) = (&app, &key);
        async move {
            app.http
                .post(format!("{}/ksefSessionOpenOnline", app.base))
                .bearer_auth(key)
                .header("Idempotency-Key", idem)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = open(json!({ "invoiceVersion": "v3" }), "open-1").await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = open(json!({ "invoiceVersion": "v3" }), "open-1").await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"], "one session, not two");
    let other = open(json!({ "invoiceVersion": "v2" }), "open-1").await;
    let (status, code, _) = TestApp::error(other).await;
    assert_eq!((status, code.as_str()), (422, "1903"));
}

#[tokio::test]
async fn a_restart_loses_no_session_invoice_or_key() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let id = app.send(&key, &session, &invoice(NIP, "FV/RESTART")).await;
    let before = app.wait_invoice(&key, &id).await;
    let TestApp { app: running, dir, database_url, .. } = app;
    running.shutdown().await.unwrap();

    let settings = crate::helpers::settings(dir.path(), database_url.clone(), Default::default());
    let app = spawn_with(settings, dir, database_url).await;
    assert_eq!(app.api_key, key, "the demo tenant is the same");
    let after = app.wait_invoice(&key, &id).await;
    assert_eq!(after, before);
    let upo = app.close_and_wait_upo(&key, &session).await;
    assert!(upo.contains(before["ksefNumber"].as_str().unwrap()));
}
