//! Every error code the online-flow operations answer, each provoked by the input that causes it.

use ksef_core::crypto::{b64, sha256_base64};
use serde_json::{Value, json};

use crate::helpers::{NIP, TestApp, invoice, spawn_app};

async fn expect(response: reqwest::Response, status: u16, code: &str) -> Value {
    let (got_status, got_code, body) = TestApp::error(response).await;
    assert_eq!((got_status, got_code.as_str()), (status, code), "{body}");
    assert!(body["name"].is_string() && body["description"].is_string() && body["details"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn requests_without_a_valid_api_key_are_1901() {
    let app = spawn_app().await;
    let no_key = app.http.get(format!("{}/ksefPublicKey", app.base)).send().await.unwrap();
    expect(no_key, 401, "1901").await;
    expect(app.get("/ksefPublicKey", "kgw_not-a-real-key").await, 401, "1901").await;
    expect(app.get("/ksefPublicKey", "sk_live_other_format").await, 401, "1901").await;
    // A rotated key stops working (after the verification cache, which a new process does not have).
    let tenant = ksef_gateway::ops::tenants::authenticate(app.app.ops(), &app.api_key).await.unwrap();
    let new_key = ksef_gateway::ops::tenants::rotate_key(app.app.ops(), &tenant.id).await.unwrap();
    assert_eq!(app.get("/ksefPublicKey", new_key.expose()).await.status(), 200);
    assert!(ksef_gateway::ops::tenants::authenticate(app.app.ops(), &app.api_key).await.is_err());
    let x_api_key = app.http.get(format!("{}/ksefPublicKey", app.base)).header("X-API-Key", new_key.expose()).send().await.unwrap();
    assert_eq!(x_api_key.status(), 200, "X-API-Key works too");
}

#[tokio::test]
async fn opening_a_session_refuses_bad_versions_keys_and_bodies() {
    let app = spawn_app().await;
    let key = &app.api_key;
    let cases = [
        (json!({ "invoiceVersion": "v9" }), 400, "1201"),
        (json!({ "invoiceVersion": "v3", "encryptionInfo": { "encryptedKey": b64(&[1; 256]), "initVector": b64(&[0; 12]) } }), 400, "1002"),
        (json!({ "invoiceVersion": "v3", "encryptionInfo": { "encryptedKey": b64(&[1; 100]), "initVector": b64(&[0; 16]) } }), 400, "1003"),
        (json!({ "invoiceVersion": "v3", "encryptionInfo": { "encryptedKey": "***", "initVector": b64(&[0; 16]) } }), 400, "1005"),
        (json!({ "invoiceVersion": "v3", "encryptionInfo": { "encryptedKey": b64(&[1; 256]), "initVector": "%%" } }), 400, "1005"),
        (json!({ "invoiceVersion": 3 }), 400, "1902"),
        (json!({}), 400, "1902"),
    ];
    for (body, status, code) in cases {
        expect(app.post("/ksefSessionOpenOnline", key, &body).await, status, code).await;
    }
    let broken = app.http.post(format!("{}/ksefSessionOpenOnline", app.base)).bearer_auth(key).body("{").send().await.unwrap();
    expect(broken, 400, "1902").await;
}

#[tokio::test]
async fn unknown_sessions_are_1109_and_their_upo_before_close_is_1111() {
    let app = spawn_app().await;
    let key = &app.api_key;
    for id in ["01a21296-6821-75ac-9410-33af07e5bbad", "not-a-session-id"] {
        for path in ["ksefSessionStatus", "ksefSessionInvoices", "ksefSessionClose", "ksefSessionUpo"] {
            expect(app.get(&format!("/{path}/{id}"), key).await, 404, "1109").await;
        }
        expect(app.send_plain(key, id, &invoice(NIP, "FV/1")).await, 404, "1109").await;
    }
    let session = app.open_session(key).await;
    let body = expect(app.get(&format!("/ksefSessionUpo/{session}"), key).await, 409, "1111").await;
    assert!(body["details"].as_str().unwrap().contains("close"));
}

#[tokio::test]
async fn sending_refuses_missing_malformed_oversized_and_mismatched_invoices() {
    let app = spawn_app().await;
    let key = &app.api_key;
    let session = app.open_session(key).await;
    let (caller_session, caller) = app.open_caller_session(key).await;
    let xml = invoice(NIP, "FV/E/1");
    let mut bad_hash = TestApp::encrypted_body(&caller_session, &caller, &xml);
    bad_hash["encrypted"]["invoiceHash"] = json!(b64(&[1; 16]));
    let mut bad_b64 = TestApp::encrypted_body(&caller_session, &caller, &xml);
    bad_b64["encrypted"]["encryptedInvoice"] = json!("@@@");
    let mut not_blocks = TestApp::encrypted_body(&caller_session, &caller, &xml);
    not_blocks["encrypted"]["encryptedInvoice"] = json!(b64(&[1; 17]));
    let cases = [
        (json!({ "sessionId": session }), 400, "1208", "neither variant"),
        (json!({ "sessionId": session, "plain": { "invoice": b64(&xml) }, "encrypted": bad_hash["encrypted"] }), 400, "1208", "both variants"),
        (json!({ "plain": { "invoice": b64(&xml) } }), 400, "1208", "no sessionId"),
        (bad_hash, 400, "1208", "invoiceHash of the wrong length"),
        (bad_b64, 400, "1005", "ciphertext not base64"),
        (not_blocks, 400, "1203", "ciphertext not whole blocks"),
        (json!({ "sessionId": session, "plain": { "invoice": b64(b"not xml") } }), 400, "1203", "plain not XML"),
        (json!({ "sessionId": session, "plain": { "invoice": b64(&[0xff, 0xfe]) } }), 400, "1203", "plain not UTF-8"),
        (json!({ "sessionId": session, "plain": { "invoice": "" } }), 400, "1208", "empty invoice"),
        (TestApp::encrypted_body(&session, &caller, &xml), 400, "1203", "encrypted into a gateway-key session"),
        (json!({ "sessionId": caller_session, "plain": { "invoice": b64(&xml) } }), 400, "1203", "plain into a caller-key session"),
        (json!({ "sessionId": session, "plain": { "invoice": b64(&vec![b' '; 3_000_001]) } }), 413, "1202", "over 3 MB"),
    ];
    for (body, status, code, why) in cases {
        let (got_status, got_code, resp) = TestApp::error(app.post("/ksefInvoiceSend", key, &body).await).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{why}: {resp}");
    }
    let huge = json!({ "sessionId": session, "plain": { "invoice": "A".repeat(7 * 1024 * 1024) } });
    expect(app.post("/ksefInvoiceSend", key, &huge).await, 413, "1202").await;
}

#[tokio::test]
async fn an_invoice_ksef_refuses_is_1204_with_ksefs_own_code_and_is_not_kept() {
    let app = spawn_app().await;
    let key = &app.api_key;
    let (session, caller) = app.open_caller_session(key).await;
    let xml = invoice(NIP, "FV/HASH");
    let mut body = TestApp::encrypted_body(&session, &caller, &xml);
    body["encrypted"]["invoiceHash"] = json!(sha256_base64(b"a different invoice"));
    let refusal = expect(app.post("/ksefInvoiceSend", key, &body).await, 422, "1204").await;
    assert_eq!(refusal["ksef"]["code"], 21403, "{refusal}");
    assert_eq!(refusal["ksef"]["httpStatus"], 400);
    let listed: Value = app.get(&format!("/ksefSessionInvoices/{session}"), key).await.json().await.unwrap();
    assert_eq!(listed["invoices"].as_array().unwrap().len(), 0, "a refused send leaves nothing behind");
    // Once closed, a session takes no more invoices.
    let closed = app.open_session(key).await;
    app.send(key, &closed, &invoice(NIP, "FV/ONE")).await;
    assert_eq!(app.get(&format!("/ksefSessionClose/{closed}"), key).await.status(), 200);
    expect(app.send_plain(key, &closed, &invoice(NIP, "FV/LATE")).await, 409, "1204").await;
    let again: Value = app.get(&format!("/ksefSessionClose/{closed}"), key).await.json().await.unwrap();
    assert_eq!(again["result"], true, "closing twice is fine");
}

#[tokio::test]
async fn unknown_invoices_and_ksef_numbers_are_1207() {
    let app = spawn_app().await;
    let key = &app.api_key;
    for id in ["01a21296-68e0-76b9-a1f7-a50122d7377e", "nope"] {
        expect(app.get(&format!("/ksefInvoiceStatus/{id}"), key).await, 404, "1207").await;
    }
    expect(app.get("/ksefInvoiceGet/5265877635-20250826-0100001AF629-AF", key).await, 404, "1207").await;
    expect(app.get("/ksefInvoiceGet/5265877635-20250826-0100001AF629-AE", key).await, 404, "1207").await;
}

#[tokio::test]
async fn a_failing_database_is_1108_or_1206_never_a_crash() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    // Warm the API-key cache, then take the database away.
    assert_eq!(app.get("/ksefPublicKey", &key).await.status(), 200);
    app.app.ops().store.close().await;
    expect(app.get(&format!("/ksefSessionStatus/{session}"), &key).await, 500, "1108").await;
    expect(app.get("/ksefInvoiceStatus/01a21296-68e0-76b9-a1f7-a50122d7377e", &key).await, 500, "1206").await;
    assert_eq!(app.http.get(format!("http://{}/healthz", app.app.address())).send().await.unwrap().status(), 503);
}

#[tokio::test]
async fn the_error_table_in_the_docs_lists_every_code() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md")).expect("docs/api.md");
    for code in ksef_gateway::errors::ErrorCode::ALL {
        let row = format!("| {} | `{}` |", code.code(), code.name());
        assert!(docs.contains(&row), "docs/api.md lacks the row for {code:?}: {row}");
        let status = format!("| {} | `{}` | {} |", code.code(), code.name(), code.http_status());
        assert!(docs.contains(&status), "docs/api.md gives another HTTP status for {code:?}");
    }
}

#[tokio::test]
async fn a_repeat_while_the_first_request_with_its_key_still_runs_is_1904() {
    let app = spawn_app().await;
    let tenant = ksef_gateway::ops::tenants::authenticate(app.app.ops(), &app.api_key).await.unwrap();
    let body = serde_json::to_vec(&json!({ "invoiceVersion": "v3" })).unwrap();
    // Claim the key as a first request would, and leave it running.
    let fingerprint = ksef_gateway::api::idempotency::fingerprint("/api/v2/ksefSessionOpenOnline", &body);
    let claimed = app.app.ops().store.begin_idempotent(&tenant.id, "busy", &fingerprint, chrono::Utc::now().timestamp_micros(), 0).await.unwrap();
    assert_eq!(claimed, ksef_store::IdempotencyStart::Run);
    let repeat = app
        .http
        .post(format!("{}/ksefSessionOpenOnline", app.base))
        .bearer_auth(&app.api_key)
        .header("Idempotency-Key", "busy")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    expect(repeat, 409, "1904").await;
    let too_long = app.http.post(format!("{}/ksefSessionOpenOnline", app.base)).bearer_auth(&app.api_key)
        .header("Idempotency-Key", "k".repeat(201)).json(&json!({ "invoiceVersion": "v3" })).send().await.unwrap();
    expect(too_long, 400, "1902").await;
}

#[tokio::test]
async fn an_unexpected_failure_is_1999_with_details_left_in_the_log() {
    let app = spawn_app().await;
    // A tenant whose KSeF token was sealed under another master key cannot be opened: an internal fault.
    let ops = app.app.ops();
    let sealed = ksef_gateway::secrets::MasterKey::generate().seal("broken", b"token");
    ops.store
        .insert_tenant(&ksef_store::NewTenant { id: "broken".into(), name: "Broken".into(), nip: NIP.into(), ksef_token_sealed: sealed, created_at: 0 })
        .await
        .unwrap();
    ops.store.insert_api_key("broken", &ksef_gateway::ops::tenants::api_key_hash("kgw_broken-tenant-key"), "kgw_brok", 0).await.unwrap();
    let body = expect(app.post("/ksefSessionOpenOnline", "kgw_broken-tenant-key", &json!({ "invoiceVersion": "v3" })).await, 500, "1999").await;
    assert!(!body["details"].as_str().unwrap().contains("master"), "internal detail stays in the log: {body}");
}
