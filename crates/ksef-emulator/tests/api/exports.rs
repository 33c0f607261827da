//! Exports: packages of `{ksefNumber}.xml` and `_metadata.json`, split and encrypted part by part.

use std::io::Read as _;

use ksef_core::crypto::{AesKey, Iv, b64, decrypt_cbc, sha256_base64};
use serde_json::{Value, json};

use crate::helpers::{SELLER, TestEmulator, invoice, spawn, spawn_with};

struct Export {
    key: AesKey,
    iv: Iv,
    status: Value,
}

async fn export(emu: &TestEmulator, access: &str, extra: Value) -> Export {
    let (_, _, sym, sym_id) = emu.keys().await;
    let key = AesKey::generate();
    let iv = Iv::generate();
    let mut body = json!({
        "encryption": { "encryptedSymmetricKey": b64(&sym.wrap(key.as_bytes()).unwrap()), "initializationVector": b64(iv.as_bytes()), "publicKeyId": sym_id },
        "filters": { "subjectType": "Subject1", "dateRange": { "dateType": "PermanentStorage", "from": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339() } },
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = emu.post("/v2/invoices/exports", Some(access), Some(&body)).await;
    assert_eq!(r.status(), 201);
    let reference = r.json::<Value>().await.unwrap()["referenceNumber"].as_str().unwrap().to_owned();
    assert_eq!(&reference[9..11], "EH");
    for _ in 0..200 {
        let status: Value = emu.get(&format!("/v2/invoices/exports/{reference}"), Some(access)).await.json().await.unwrap();
        if status["status"]["code"] != 100 {
            return Export { key, iv, status };
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("export never finished");
}

/// Downloads every part with no token, checks each hash and size, decrypts each part on its own, joins them.
async fn package_bytes(emu: &TestEmulator, e: &Export) -> Vec<u8> {
    let mut archive = Vec::new();
    for part in e.status["package"]["parts"].as_array().unwrap() {
        assert_eq!(part["method"], "GET");
        let r = emu.http.get(part["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let announced = r.headers()["x-ms-meta-hash"].to_str().unwrap().to_owned();
        let encrypted = r.bytes().await.unwrap();
        assert_eq!(announced, sha256_base64(&encrypted));
        assert_eq!(part["encryptedPartHash"], announced.as_str());
        assert_eq!(part["encryptedPartSize"].as_u64().unwrap() as usize, encrypted.len());
        let plain = decrypt_cbc(&e.key, &e.iv, &encrypted).unwrap();
        assert_eq!(part["partHash"], sha256_base64(&plain));
        assert_eq!(part["partSize"].as_u64().unwrap() as usize, plain.len());
        archive.extend(plain);
    }
    archive
}

fn unzip(archive: Vec<u8>) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            (f.name().unwrap().to_string(), out)
        })
        .collect()
}

#[tokio::test]
async fn an_export_holds_every_invoice_and_full_metadata_in_separately_encrypted_parts() {
    let emu = spawn_with(|c| c.export_part_size = 1000).await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    let mut sent = Vec::new();
    for i in 0..4 {
        let xml = invoice(SELLER, &format!("FV/EXP/{i}"));
        let inv = emu.send(&access, &s, &xml).await;
        sent.push((emu.wait_invoice(&access, &s, &inv).await["ksefNumber"].as_str().unwrap().to_owned(), xml));
    }
    let e = export(&emu, &access, json!({})).await;
    assert_eq!(e.status["status"]["code"], 200, "{}", e.status);
    let package = &e.status["package"];
    assert_eq!((package["invoiceCount"].as_i64(), package["isTruncated"].as_bool()), (Some(4), Some(false)));
    assert_eq!(package["compressionType"], "Zip");
    assert!(package["parts"].as_array().unwrap().len() > 1, "1000-byte parts split the package");
    assert!(package["permanentStorageHwmDate"].is_string());
    let archive = package_bytes(&emu, &e).await;
    assert_eq!(package["size"].as_u64().unwrap() as usize, archive.len());
    let files = unzip(archive);
    for (ksef, xml) in &sent {
        assert_eq!(files[&format!("{ksef}.xml")], xml.as_bytes());
    }
    let metadata: Value = serde_json::from_slice(&files["_metadata.json"]).unwrap();
    assert_eq!(metadata["invoices"].as_array().unwrap().len(), 4);
    let parsed: ksef_wire::invoices::PackageMetadataFile = serde_json::from_slice(&files["_metadata.json"]).unwrap();
    assert_eq!(parsed.invoices[0].invoice_hash, sha256_base64(sent[0].1.as_bytes()));
}

#[tokio::test]
async fn an_export_past_the_invoice_cap_is_truncated_and_says_where_to_continue() {
    let emu = spawn_with(|c| c.export_invoice_limit = 2).await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    for i in 0..3 {
        emu.send(&access, &s, &invoice(SELLER, &format!("FV/T/{i}"))).await;
    }
    emu.close(&access, &s).await;
    emu.wait_session(&access, &s.reference).await;
    let e = export(&emu, &access, json!({ "onlyMetadata": true })).await;
    let package = &e.status["package"];
    assert_eq!((package["invoiceCount"].as_i64(), package["isTruncated"].as_bool()), (Some(2), Some(true)));
    let files = unzip(package_bytes(&emu, &e).await);
    assert_eq!(files.keys().collect::<Vec<_>>(), ["_metadata.json"], "onlyMetadata");
    let metadata: Value = serde_json::from_slice(&files["_metadata.json"]).unwrap();
    assert_eq!(package["lastPermanentStorageDate"], metadata["invoices"][1]["permanentStorageDate"]);
}

#[tokio::test]
async fn a_tar_gz_export_unpacks_and_a_bad_key_fails_the_export_with_415() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    emu.wait_invoice(&access, &s, &emu.send(&access, &s, &invoice(SELLER, "FV/TGZ")).await).await;
    let e = export(&emu, &access, json!({ "compressionType": "TarGz" })).await;
    assert_eq!(e.status["package"]["compressionType"], "TarGz");
    let archive = package_bytes(&emu, &e).await;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    let names: Vec<String> = tar.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"_metadata.json".to_owned()));

    let bad = export(&emu, &access, json!({ "encryption": { "encryptedSymmetricKey": b64(&[9u8; 256]), "initializationVector": b64(&[0u8; 16]) } })).await;
    assert_eq!(bad.status["status"]["code"], 415);
}

#[tokio::test]
async fn export_statuses_belong_to_their_context_and_expire() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let e = export(&emu, &access, json!({})).await;
    assert_eq!(e.status["package"]["invoiceCount"], 0, "an empty range still makes a package");
    let part_url = e.status["package"]["parts"][0]["url"].as_str().unwrap().to_owned();
    let reference = part_url.split('/').nth(5).unwrap().to_owned();
    let stranger = emu.login("7010002137").await;
    let (status, code, _) = TestEmulator::error_code(emu.get(&format!("/v2/invoices/exports/{reference}"), Some(&stranger)).await).await;
    assert_eq!((status, code), (400, 21175));
    emu.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(emu.http.get(&part_url).send().await.unwrap().status(), 403, "part URLs live one hour");
    emu.clock.advance(chrono::Duration::days(3));
    let access = emu.login(SELLER).await;
    let expired: Value = emu.get(&format!("/v2/invoices/exports/{reference}"), Some(&access)).await.json().await.unwrap();
    assert_eq!(expired["status"]["code"], 210, "the package has expired; its status has not");
    assert!(expired.get("package").is_none());
    emu.clock.advance(chrono::Duration::days(4));
    let access = emu.login(SELLER).await;
    assert_eq!(emu.get(&format!("/v2/invoices/exports/{reference}"), Some(&access)).await.status(), 410);
}

#[tokio::test]
async fn a_context_runs_at_most_ten_exports_at_once() {
    // With a processing delay, exports stay at status 100 and count as running.
    let emu = spawn_with(|c| c.processing_delay = std::time::Duration::from_secs(3600)).await;
    let access = emu.login(SELLER).await;
    let (_, _, sym, _) = emu.keys().await;
    let body = json!({
        "encryption": { "encryptedSymmetricKey": b64(&sym.wrap(&[1u8; 32]).unwrap()), "initializationVector": b64(&[0u8; 16]) },
        "filters": { "subjectType": "Subject1", "dateRange": { "dateType": "Invoicing", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z" } },
    });
    for i in 0..10 {
        assert_eq!(emu.post("/v2/invoices/exports", Some(&access), Some(&body)).await.status(), 201, "export {i}");
    }
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/invoices/exports", Some(&access), Some(&body)).await).await;
    assert_eq!((status, code), (400, 21182));
    let other = emu.login("7010002137").await;
    assert_eq!(emu.post("/v2/invoices/exports", Some(&other), Some(&body)).await.status(), 201, "the limit is per context");
}
