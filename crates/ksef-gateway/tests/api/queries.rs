//! Searching and downloading invoices (the seed's third process): sales and cost searches end to end, the
//! caller's own package key, KSeF's truncation followed to the end, empty and invalid ranges, another
//! tenant's search, and expired packages.

use std::collections::BTreeSet;
use std::sync::Arc;

use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode, decrypt_cbc, sha256_base64};
use ksef_emulator::ShiftedClock;
use serde_json::{Value, json};

use crate::helpers::{NIP, OTHER_NIP, TestApp, gateway_with_emulator, invoice, minutes_ago, spawn_app, unzip};

const THIRD_NIP: &str = "1111111111";

/// Sends `count` invoices from the demo tenant (seller `NIP`, buyer `OTHER_NIP`); returns KSeF number → XML.
async fn send_invoices(app: &TestApp, prefix: &str, count: usize) -> std::collections::BTreeMap<String, Vec<u8>> {
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let mut sent = Vec::new();
    for i in 0..count {
        let xml = invoice(NIP, &format!("{prefix}/{i}"));
        sent.push((app.send(&key, &session, &xml).await, xml));
    }
    let mut by_number = std::collections::BTreeMap::new();
    for (id, xml) in sent {
        let info = app.wait_invoice(&key, &id).await;
        assert_eq!(info["status"]["code"], 200, "{info}");
        by_number.insert(info["ksefNumber"].as_str().unwrap().to_owned(), xml);
    }
    by_number
}

/// The KSeF numbers a package's `_metadata.json` lists.
fn listed(files: &std::collections::BTreeMap<String, Vec<u8>>) -> BTreeSet<String> {
    let metadata: Value = serde_json::from_slice(&files["_metadata.json"]).expect("_metadata.json");
    metadata["invoices"].as_array().unwrap().iter().map(|m| m["ksefNumber"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_sales_search_finds_the_tenants_invoices_and_serves_them_as_one_plain_zip() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let sent = send_invoices(&app, "FV/SALE", 3).await;

    // Dates without offset are Warsaw time; a bare date as `to` means the end of that day.
    let query = app.start_query(&key, "subject1", &minutes_ago(10), Some(&(chrono::Utc::now() + chrono::Duration::days(1)).date_naive().to_string())).await;
    let status = app.wait_query(&key, &query).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(status["numberOfInvoices"], 3);
    assert_eq!(status["isTruncated"], false);
    assert_eq!(status["partNumbers"], json!(["1"]));
    assert!(status["permanentStorageHwmDate"].is_string(), "{status}");

    let r = app.get(&format!("/ksefInvoiceQueryResult/{query}/1"), &key).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let zip = r.bytes().await.unwrap();
    assert_eq!(zip.len() as i64, status["packageSize"].as_i64().unwrap(), "packageSize is the ZIP's size");
    let files = unzip(&zip);
    assert_eq!(listed(&files), sent.keys().cloned().collect::<BTreeSet<_>>());
    for (number, xml) in &sent {
        assert_eq!(&files[&format!("{number}.xml")], xml, "the invoice comes back byte for byte");
    }
}

#[tokio::test]
async fn a_cost_search_gives_the_buyer_its_purchase_invoices_and_a_third_party_can_fetch_its_own() {
    let app = spawn_app().await;
    let buyer = app.add_tenant(OTHER_NIP).await;
    let third = app.add_tenant(THIRD_NIP).await;
    let sent = send_invoices(&app, "FV/COST", 2).await;
    // One more invoice naming a third party (Podmiot3).
    let session = app.open_session(&app.api_key).await;
    let with_third = String::from_utf8(invoice(NIP, "FV/THIRD"))
        .unwrap()
        .replace("</Podmiot2>", &format!("</Podmiot2><Podmiot3><DaneIdentyfikacyjne><NIP>{THIRD_NIP}</NIP><Nazwa>Trzeci</Nazwa></DaneIdentyfikacyjne><Rola>4</Rola></Podmiot3>"))
        .into_bytes();
    let id = app.send(&app.api_key, &session, &with_third).await;
    let third_number = app.wait_invoice(&app.api_key, &id).await["ksefNumber"].as_str().unwrap().to_owned();

    let query = app.start_query(&buyer, "subject2", &minutes_ago(10), None).await;
    assert_eq!(app.wait_query(&buyer, &query).await["numberOfInvoices"], 3);
    let files = app.query_zip(&buyer, &query).await;
    let mut expected: BTreeSet<String> = sent.keys().cloned().collect();
    expected.insert(third_number.clone());
    assert_eq!(listed(&files), expected, "the buyer finds every invoice it received");
    // The seller's sales search is not the buyer's business: as subject1 the buyer has issued nothing.
    let own_sales = app.start_query(&buyer, "subject1", &minutes_ago(10), None).await;
    assert_eq!(app.wait_query(&buyer, &own_sales).await["numberOfInvoices"], 0);

    let as_third = app.start_query(&third, "subject3", &minutes_ago(10), None).await;
    assert_eq!(listed(&{
        app.wait_query(&third, &as_third).await;
        app.query_zip(&third, &as_third).await
    }), BTreeSet::from([third_number.clone()]));
    let r = app.get(&format!("/ksefInvoiceGet/{third_number}"), &third).await;
    assert_eq!(r.status(), 200, "a third party may download an invoice that names it");
    assert_eq!(r.bytes().await.unwrap(), with_third);
}

#[tokio::test]
async fn with_the_callers_key_each_part_comes_encrypted_and_decrypts_to_the_package() {
    // Small parts, so the package has several.
    let (app, _emulator, _dir) = gateway_with_emulator(|c| c.export_part_size = 700, Arc::default()).await;
    let key = app.api_key.clone();
    let sent = send_invoices(&app, "FV/ENC", 4).await;

    let pk: Value = app.get("/ksefPublicKey", &key).await.json().await.unwrap();
    let public = RsaPublicKey::from_spki_der(&b64_decode(pk["publicKey"].as_str().unwrap()).unwrap()).unwrap();
    let (aes, iv) = (AesKey::generate(), Iv::generate());
    let body = json!({ "subjectType": "subject1", "range": { "from": minutes_ago(10) },
        "encryptionInfo": { "encryptedKey": b64(&public.wrap(aes.as_bytes()).unwrap()), "initVector": b64(iv.as_bytes()) } });
    let r = app.post("/ksefInvoiceQueryStart", &key, &body).await;
    assert_eq!(r.status(), 200);
    let query = r.json::<Value>().await.unwrap()["queryId"].as_str().unwrap().to_owned();
    let status = app.wait_query(&key, &query).await;
    let parts: Vec<String> = serde_json::from_value(status["partNumbers"].clone()).unwrap();
    assert!(parts.len() > 1, "several parts: {status}");

    let mut package = Vec::new();
    let mut delivered = 0;
    for part in &parts {
        let r = app.get(&format!("/ksefInvoiceQueryResult/{query}/{part}"), &key).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        let hash = r.headers()["x-ms-meta-hash"].to_str().unwrap().to_owned();
        let encrypted = r.bytes().await.unwrap();
        assert_eq!(sha256_base64(&encrypted), hash, "the part matches the hash the gateway announced");
        delivered += encrypted.len() as i64;
        package.extend(decrypt_cbc(&aes, &iv, &encrypted).expect("each part decrypts on its own with the caller's key"));
    }
    assert_eq!(delivered, status["packageSize"].as_i64().unwrap(), "packageSize counts the encrypted bytes delivered");
    assert_eq!(listed(&unzip(&package)), sent.keys().cloned().collect::<BTreeSet<_>>());

    let (status, code, _) = TestApp::error(app.get(&format!("/ksefInvoiceQueryResult/{query}/99"), &key).await).await;
    assert_eq!((status, code.as_str()), (404, "1304"), "a part that does not exist");
}

#[tokio::test]
async fn a_truncated_search_continues_from_next_from_until_every_invoice_is_found_once() {
    let (app, _emulator, _dir) = gateway_with_emulator(|c| c.export_invoice_limit = 2, Arc::default()).await;
    let key = app.api_key.clone();
    let sent = send_invoices(&app, "FV/MANY", 5).await;

    let mut from = minutes_ago(10);
    let mut found = BTreeSet::new();
    let mut searches = 0;
    loop {
        searches += 1;
        assert!(searches <= 10, "the windows move forward");
        let query = app.start_query(&key, "subject1", &from, None).await;
        let status = app.wait_query(&key, &query).await;
        let files = app.query_zip(&key, &query).await;
        let numbers = listed(&files);
        assert_eq!(numbers.len() as i64, status["numberOfInvoices"].as_i64().unwrap());
        found.extend(numbers);
        if status["isTruncated"] == false {
            break;
        }
        assert_eq!(status["numberOfInvoices"], 2, "cut at the limit: {status}");
        from = status["nextFrom"].as_str().expect("a truncated result says where to go on").to_owned();
    }
    assert!(searches >= 3, "5 invoices at 2 per package need at least 3 searches, took {searches}");
    assert_eq!(found, sent.keys().cloned().collect::<BTreeSet<_>>(), "nothing missed, and a set has no doubles");
}

#[tokio::test]
async fn an_empty_range_is_a_search_with_no_invoices() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    send_invoices(&app, "FV/LATER", 1).await;
    let query = app.start_query(&key, "subject1", "2026-01-01", Some("2026-01-31")).await;
    let status = app.wait_query(&key, &query).await;
    assert_eq!((status["status"]["code"].as_i64(), status["numberOfInvoices"].as_i64()), (Some(200), Some(0)), "{status}");
    let files = app.query_zip(&key, &query).await;
    assert!(listed(&files).is_empty());
    assert_eq!(files.len(), 1, "only _metadata.json");
}

#[tokio::test]
async fn invalid_ranges_and_criteria_are_refused_with_1301() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let cases = [
        (json!({ "subjectType": "subject1", "range": { "from": "2026-03-01", "to": "2026-02-01" } }), "from after to"),
        (json!({ "subjectType": "subject1", "range": { "from": "2026-01-01", "to": "2026-06-01" } }), "more than three months"),
        (json!({ "subjectType": "subject1", "range": { "from": "2025-01-01" } }), "more than three months up to now"),
        (json!({ "subjectType": "subject1", "range": { "from": tomorrow } }), "from in the future"),
        (json!({ "subjectType": "subject1", "range": { "from": "yesterday" } }), "not a date"),
        (json!({ "subjectType": "subject1", "range": { "from": "2026-02-30" } }), "no such day"),
        (json!({ "subjectType": "seller", "range": { "from": "2026-11-01" } }), "unknown subject type"),
        (json!({ "subjectType": "subject1" }), "no range"),
        (json!({ "range": { "from": "2026-11-01" } }), "no subject type"),
    ];
    for (body, why) in cases {
        let (status, code, error) = TestApp::error(app.post("/ksefInvoiceQueryStart", &key, &body).await).await;
        assert_eq!((status, code.as_str()), (400, "1301"), "{why}: {error}");
        assert!(!error["details"].as_str().unwrap().is_empty(), "{why}: the details say what is wrong");
    }
    let bad_iv = json!({ "subjectType": "subject1", "range": { "from": minutes_ago(5) },
        "encryptionInfo": { "encryptedKey": b64(&[0u8; 256]), "initVector": b64(&[0u8; 8]) } });
    let (status, code, _) = TestApp::error(app.post("/ksefInvoiceQueryStart", &key, &bad_iv).await).await;
    assert_eq!((status, code.as_str()), (400, "1002"));
}

#[tokio::test]
async fn another_tenants_search_does_not_exist_for_a_tenant() {
    let app = spawn_app().await;
    let owner = app.api_key.clone();
    let stranger = app.add_tenant(OTHER_NIP).await;
    send_invoices(&app, "FV/MINE", 1).await;
    let query = app.start_query(&owner, "subject1", &minutes_ago(10), None).await;
    app.wait_query(&owner, &query).await;

    let (status, code, _) = TestApp::error(app.get(&format!("/ksefInvoiceQueryStatus/{query}"), &stranger).await).await;
    assert_eq!((status, code.as_str()), (404, "1303"));
    let (status, code, _) = TestApp::error(app.get(&format!("/ksefInvoiceQueryResult/{query}/1"), &stranger).await).await;
    assert_eq!((status, code.as_str()), (404, "1304"));
    for unknown in ["not-a-uuid", "0190f1a2-0000-7000-8000-000000000000"] {
        let (status, code, _) = TestApp::error(app.get(&format!("/ksefInvoiceQueryStatus/{unknown}"), &owner).await).await;
        assert_eq!((status, code.as_str()), (404, "1303"), "{unknown}");
    }
    assert_eq!(app.get(&format!("/ksefInvoiceQueryResult/{query}/1"), &owner).await.status(), 200, "the owner still can");
}

#[tokio::test]
async fn an_expired_package_is_gone_with_1304_and_its_status_says_210() {
    let clock = Arc::new(ShiftedClock::default());
    let (app, _emulator, _dir) = gateway_with_emulator(|_| {}, clock.clone()).await;
    let key = app.api_key.clone();
    send_invoices(&app, "FV/OLD", 1).await;
    let query = app.start_query(&key, "subject1", &minutes_ago(10), None).await;
    assert_eq!(app.wait_query(&key, &query).await["status"]["code"], 200);

    clock.advance(chrono::TimeDelta::days(3) + chrono::TimeDelta::minutes(1));
    let status: Value = app.get(&format!("/ksefInvoiceQueryStatus/{query}"), &key).await.json().await.unwrap();
    assert_eq!(status["status"]["code"], 210, "{status}");
    assert_eq!(status["partNumbers"], json!([]));
    let (status, code, error) = TestApp::error(app.get(&format!("/ksefInvoiceQueryResult/{query}/1"), &key).await).await;
    assert_eq!((status, code.as_str()), (410, "1304"), "{error}");
}
