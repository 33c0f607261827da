//! Batch sessions through the gateway: a package the caller encrypted (parts uploaded straight to KSeF's
//! URLs), and a plain ZIP the gateway packages itself; the session operations for both; refusals.

use std::io::Cursor;
use std::time::Duration;

use ksef_client::{BatchPackager, PackagedBatch};
use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode};
use serde_json::{Value, json};

use crate::helpers::{NIP, TestApp, invoice, spawn_app, zip_of};

fn invoices(n: usize, prefix: &str) -> Vec<(String, Vec<u8>)> {
    (1..=n).map(|i| (format!("{prefix}-{i:02}.xml"), invoice(NIP, &format!("{prefix}/{i}")))).collect()
}

/// A package encrypted under a fresh caller key; the key wrapped with `ksefPublicKey`.
async fn caller_package(app: &TestApp, files: &[(String, Vec<u8>)], part_size: u64, dir: &std::path::Path) -> (PackagedBatch, Value) {
    let pk: Value = app.get("/ksefPublicKey", &app.api_key).await.json().await.unwrap();
    let public = RsaPublicKey::from_spki_der(&b64_decode(pk["publicKey"].as_str().unwrap()).unwrap()).unwrap();
    let (key, iv) = (AesKey::generate(), Iv::generate());
    let input = files.iter().map(|(n, c)| Ok((n.clone(), Cursor::new(c.clone()))));
    let package = BatchPackager::with_part_size(part_size).package(input, &key, &iv, dir).unwrap();
    let encryption = json!({ "encryptedKey": b64(&public.wrap(key.as_bytes()).unwrap()), "initVector": b64(iv.as_bytes()) });
    (package, encryption)
}

fn open_body(package: &PackagedBatch, encryption: &Value) -> Value {
    json!({
        "invoiceVersion": "v3",
        "encryptionInfo": encryption,
        "offline": false,
        "batchInfo": {
            "batchSize": package.file.file_size,
            "batchHash": package.file.file_hash,
            "batchParts": package.parts.iter().map(|p| json!({ "ordinal": p.ordinal_number, "partSize": p.size, "partHash": p.hash })).collect::<Vec<_>>(),
        },
    })
}

impl TestApp {
    pub(crate) async fn wait_session(&self, key: &str, session: &str) -> Value {
        for _ in 0..400 {
            let v: Value = self.get(&format!("/ksefSessionStatus/{session}"), key).await.json().await.unwrap();
            if v["sessionInfo"]["status"]["code"].as_i64().unwrap_or(0) >= 200 {
                return v["sessionInfo"].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("session {session} never finished");
    }

    pub(crate) async fn send_zip(&self, zip: Vec<u8>) -> reqwest::Response {
        self.http
            .post(format!("{}/ksefSessionSendBatch?invoiceVersion=v3", self.base))
            .bearer_auth(&self.api_key)
            .header("content-type", "application/zip")
            .body(zip)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_batch_opened_through_the_gateway_takes_parts_straight_to_ksef_and_reports_each_file() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let files = invoices(12, "GB");
    let (package, encryption) = caller_package(&app, &files, 2_000, dir.path()).await;
    assert!(package.parts.len() > 2);
    let r = app.post("/ksefSessionOpenBatch", &app.api_key, &open_body(&package, &encryption)).await;
    let status = r.status();
    let opened: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{opened}");
    let session = opened["id"].as_str().unwrap();
    let uploads = opened["partUploadInfo"].as_array().unwrap();
    assert_eq!(uploads.len(), package.parts.len());

    // The caller uploads each part itself, with the headers given and no credentials.
    for upload in uploads {
        let part = &package.parts[upload["ordinal"].as_i64().unwrap() as usize - 1];
        assert_eq!(upload["method"], "PUT");
        let mut request = app.http.put(upload["url"].as_str().unwrap()).body(std::fs::read(&part.path).unwrap());
        for h in upload["headers"].as_array().unwrap() {
            request = request.header(h["name"].as_str().unwrap(), h["value"].as_str().unwrap());
        }
        assert_eq!(request.send().await.unwrap().status(), 201);
    }
    let closed: Value = app.get(&format!("/ksefSessionClose/{session}"), &app.api_key).await.json().await.unwrap();
    assert_eq!(closed["result"], true);
    let info = app.wait_session(&app.api_key, session).await;
    assert_eq!(info["batch"], true);
    assert_eq!(info["status"]["code"], 200, "{info}");
    assert_eq!(info["successfulInvoiceCount"], 12);

    let listed: Value = app.get(&format!("/ksefSessionInvoices/{session}"), &app.api_key).await.json().await.unwrap();
    let listed = listed["invoices"].as_array().unwrap();
    assert_eq!(listed.len(), 12);
    for (inv, (name, _)) in listed.iter().zip(&files) {
        assert_eq!(inv["invoiceFileName"], name.as_str());
        assert_eq!(inv["status"]["code"], 200);
        assert!(inv["ksefNumber"].as_str().unwrap().starts_with(NIP));
    }
    let upo = app.get(&format!("/ksefSessionUpo/{session}"), &app.api_key).await;
    assert_eq!(upo.status(), 200);
    let upo = upo.text().await.unwrap();
    assert!(listed.iter().all(|i| upo.contains(i["ksefNumber"].as_str().unwrap())));
}

#[tokio::test]
async fn a_plain_zip_is_packaged_encrypted_and_sent_by_the_gateway_and_one_bad_file_does_not_stop_the_rest() {
    let app = spawn_app().await;
    let mut files = invoices(5, "GZ");
    files.insert(2, ("broken.xml".to_owned(), b"<Faktura>".to_vec()));
    let r = app.send_zip(zip_of(files)).await;
    let status = r.status();
    let sent: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["invoiceCount"], 6);
    let session = sent["id"].as_str().unwrap();
    let info = app.wait_session(&app.api_key, session).await;
    assert_eq!((info["status"]["code"].as_i64(), info["successfulInvoiceCount"].as_i64(), info["failedInvoiceCount"].as_i64()), (Some(200), Some(5), Some(1)), "{info}");
    let listed: Value = app.get(&format!("/ksefSessionInvoices/{session}"), &app.api_key).await.json().await.unwrap();
    let broken = listed["invoices"].as_array().unwrap().iter().find(|i| i["invoiceFileName"] == "broken.xml").unwrap();
    assert_eq!(broken["status"]["code"], 430);
    // The session was closed by the gateway; closing again is harmless.
    let closed: Value = app.get(&format!("/ksefSessionClose/{session}"), &app.api_key).await.json().await.unwrap();
    assert_eq!(closed["result"], true);
}

#[tokio::test]
async fn a_zip_that_cannot_be_a_package_is_refused_with_1203_naming_every_problem() {
    let app = spawn_app().await;
    let mut files = invoices(1, "BAD");
    files.push(("readme.txt".to_owned(), b"hi".to_vec()));
    files.push(("nested/".to_owned(), Vec::new()));
    files.push(("nested/a.xml".to_owned(), invoice(NIP, "N/1")));
    let (status, code, body) = TestApp::error(app.send_zip(zip_of(files)).await).await;
    assert_eq!((status, code.as_str()), (400, "1203"), "{body}");
    let details = body["details"].as_str().unwrap();
    for name in ["readme.txt", "nested/", "nested/a.xml"] {
        assert!(details.contains(name), "{name} in {details}");
    }
    let (status, code, _) = TestApp::error(app.send_zip(b"not a zip".to_vec()).await).await;
    assert_eq!((status, code.as_str()), (400, "1203"));
    let (status, code, _) = TestApp::error(app.send_zip(zip_of(Vec::new())).await).await;
    assert_eq!((status, code.as_str()), (400, "1203"));
}

#[tokio::test]
async fn a_declaration_breaking_the_limits_is_refused_with_1208_listing_every_problem() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (package, encryption) = caller_package(&app, &invoices(1, "L"), 100_000, dir.path()).await;
    let mut body = open_body(&package, &encryption);
    body["batchInfo"]["batchSize"] = json!(6_000_000_000_i64);
    body["batchInfo"]["batchParts"] = json!((1..=51).map(|n| json!({ "ordinal": n, "partSize": 1001, "partHash": "x" })).collect::<Vec<_>>());
    let (status, code, body) = TestApp::error(app.post("/ksefSessionOpenBatch", &app.api_key, &body).await).await;
    assert_eq!((status, code.as_str()), (400, "1208"), "{body}");
    let details = body["details"].as_str().unwrap();
    for expected in ["batchSize", "51 parts", "partSize 1001", "partHash"] {
        assert!(details.contains(expected), "{expected} in {details}");
    }
    // Nothing was opened in KSeF, and the same declaration within the limits opens.
    let r = app.post("/ksefSessionOpenBatch", &app.api_key, &open_body(&package, &encryption)).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn closing_a_batch_with_a_part_missing_is_refused_with_the_ksef_code_and_another_tenant_cannot_touch_it() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (package, encryption) = caller_package(&app, &invoices(6, "MP"), 1_500, dir.path()).await;
    let opened: Value = app.post("/ksefSessionOpenBatch", &app.api_key, &open_body(&package, &encryption)).await.json().await.unwrap();
    let session = opened["id"].as_str().unwrap();
    let (status, code, body) = TestApp::error(app.get(&format!("/ksefSessionClose/{session}"), &app.api_key).await).await;
    assert_eq!((status, code.as_str()), (422, "1106"), "{body}");
    assert_eq!(body["ksef"]["code"], 21205, "{body}");

    let other = app.add_tenant(crate::helpers::OTHER_NIP).await;
    for path in ["ksefSessionStatus", "ksefSessionInvoices", "ksefSessionClose", "ksefSessionUpo"] {
        let (status, code, _) = TestApp::error(app.get(&format!("/{path}/{session}"), &other).await).await;
        assert_eq!((status, code.as_str()), (404, "1109"), "{path}");
    }
}

#[tokio::test]
async fn an_invoice_sent_on_its_own_into_a_batch_session_is_refused_with_409() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (package, encryption) = caller_package(&app, &invoices(1, "ONE"), 100_000, dir.path()).await;
    let opened: Value = app.post("/ksefSessionOpenBatch", &app.api_key, &open_body(&package, &encryption)).await.json().await.unwrap();
    let session = opened["id"].as_str().unwrap();
    let (status, code, body) = TestApp::error(app.send_plain(&app.api_key, session, &invoice(NIP, "ONE/2")).await).await;
    assert_eq!((status, code.as_str()), (409, "1204"), "{body}");
    assert!(body["details"].as_str().unwrap().contains("batch session"), "{body}");
}
