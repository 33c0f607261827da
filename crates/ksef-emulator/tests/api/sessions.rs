//! Online sessions: the happy path, every refusal, statuses, lists and UPOs.

use std::process::Command;

use ksef_core::crypto::{b64, encrypt_cbc, sha256_base64};
use serde_json::{Value, json};

use crate::helpers::{BUYER, SELLER, Session, TestEmulator, invoice, spawn, spawn_with};

#[tokio::test]
async fn an_online_session_goes_from_open_to_closed_to_processed_with_a_signed_upo() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    assert_eq!(&s.reference[9..11], "SO");
    let xml = invoice(SELLER, "FV/2026/1");
    let inv = emu.send(&access, &s, &xml).await;
    assert_eq!(&inv[9..11], "EE");

    let status = emu.wait_invoice(&access, &s, &inv).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let ksef = status["ksefNumber"].as_str().unwrap().to_owned();
    ksef_core::ids::KsefNumber::parse(&ksef).unwrap();
    assert!(ksef.starts_with(SELLER));
    assert_eq!(status["invoiceNumber"], "FV/2026/1");
    assert_eq!(status["ordinalNumber"], 1);
    assert_eq!(status["invoiceHash"], sha256_base64(xml.as_bytes()));
    assert_eq!(status["invoicingMode"], "Online");
    let acquired = ksef_wire::datetime::parse(status["acquisitionDate"].as_str().unwrap()).unwrap();
    let stored = ksef_wire::datetime::parse(status["permanentStorageDate"].as_str().unwrap()).unwrap();
    assert!(stored > acquired, "permanent storage comes after the KSeF number");
    assert!(status["upoDownloadUrl"].as_str().unwrap().starts_with("http://storage.ksef-emu.test:"));

    let open: Value = emu.get(&format!("/v2/sessions/{}", s.reference), Some(&access)).await.json().await.unwrap();
    assert_eq!(open["status"]["code"], 100);
    assert_eq!(open["successfulInvoiceCount"], 1);
    assert!(open.get("failedInvoiceCount").is_none(), "an open session without failures reports no failed count");
    assert!(open.get("upo").is_none());

    // The invoice's UPO is available while the session is still open.
    let upo = emu.get(&format!("/v2/sessions/{}/invoices/{inv}/upo", s.reference), Some(&access)).await;
    assert_eq!(upo.status(), 200);
    let upo_hash = upo.headers()["x-ms-meta-hash"].to_str().unwrap().to_owned();
    let upo_body = upo.bytes().await.unwrap();
    assert_eq!(upo_hash, sha256_base64(&upo_body));

    emu.close(&access, &s).await;
    let done = emu.wait_session(&access, &s.reference).await;
    assert_eq!(done["status"]["code"], 200, "{done}");
    assert_eq!((done["invoiceCount"].as_i64(), done["failedInvoiceCount"].as_i64()), (Some(1), Some(0)));
    let page = &done["upo"]["pages"][0];
    let upo_ref = page["referenceNumber"].as_str().unwrap();
    assert_eq!((upo_ref.len(), &upo_ref[9..11]), (36, "EU"));

    let by_ref = emu.get(&format!("/v2/sessions/{}/upo/{upo_ref}", s.reference), Some(&access)).await;
    assert_eq!(by_ref.headers()["content-type"], "application/xml");
    let by_ref = by_ref.bytes().await.unwrap();
    let presigned = emu.http.get(page["downloadUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(presigned.status(), 200, "the page URL works with no token");
    assert_eq!(presigned.headers()["x-ms-meta-hash"].to_str().unwrap(), sha256_base64(&by_ref));
    assert_eq!(presigned.bytes().await.unwrap(), by_ref);

    let text = std::str::from_utf8(&by_ref).unwrap();
    let doc = roxmltree::Document::parse(text).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name((ksef_emulator::UPO_NAMESPACE, "Potwierdzenie")));
    assert!(root.children().any(|n| n.has_tag_name(("http://www.w3.org/2000/09/xmldsig#", "Signature"))));
    assert!(text.contains(&ksef) && text.contains("<CalkowitaLiczbaDokumentow>1</CalkowitaLiczbaDokumentow>"));
    assert!(text.contains("<NazwaStrukturyLogicznej>Schemat_FA(3)_v1-0E.xsd</NazwaStrukturyLogicznej>"));
    verify_with_xmlsec(&emu, &by_ref);
    verify_with_xmlsec(&emu, &upo_body);
}

/// Checks the UPO signature with xmlsec1, an implementation we did not write.
fn verify_with_xmlsec(emu: &TestEmulator, xml: &[u8]) {
    if Command::new("xmlsec1").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "xmlsec1 is required under CI (apt-get install xmlsec1)");
        eprintln!("SKIP xmlsec1 check: xmlsec1 is not installed (apt-get install xmlsec1)");
        return;
    }
    let doc = emu.dir.path().join("upo-check.xml");
    std::fs::write(&doc, xml).unwrap();
    let cert = emu.dir.path().join("keys/upo-signing.cert.der");
    let pem = emu.dir.path().join("upo-signing.pem");
    let der = std::fs::read(cert).unwrap();
    let body = b64(&der).as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\n");
    std::fs::write(&pem, format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")).unwrap();
    let out = Command::new("xmlsec1").args(["--verify", "--pubkey-cert-pem"]).arg(&pem).arg(&doc).output().unwrap();
    assert!(out.status.success(), "xmlsec1 rejected the UPO signature: {}", String::from_utf8_lossy(&out.stderr));
    let tampered = String::from_utf8(xml.to_vec()).unwrap().replacen("<NipSprzedawcy>5", "<NipSprzedawcy>6", 1);
    std::fs::write(&doc, tampered).unwrap();
    let out = Command::new("xmlsec1").args(["--verify", "--pubkey-cert-pem"]).arg(&pem).arg(&doc).output().unwrap();
    assert!(!out.status.success(), "xmlsec1 accepted a tampered UPO");
}

#[tokio::test]
async fn hash_and_size_mismatches_are_refused_with_21403_and_21402() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    let xml = invoice(SELLER, "FV/1");
    let good = TestEmulator::send_body(&s, xml.as_bytes());
    let other_hash = sha256_base64(b"something else");
    let cases = [
        ("invoiceHash", json!(other_hash), 21403),
        ("encryptedInvoiceHash", json!(other_hash), 21403),
        ("invoiceSize", json!(xml.len() + 1), 21402),
        ("encryptedInvoiceSize", json!(good["encryptedInvoiceSize"].as_i64().unwrap() - 16), 21402),
        ("invoiceHash", json!("short"), 21405),
        ("encryptedInvoiceContent", json!("%%%not base64%%%"), 21405),
        ("invoiceSize", json!(0), 21405),
        ("invoiceSize", json!(3_000_001), 21405),
    ];
    for (field, value, expected) in cases {
        let mut body = good.clone();
        body[field] = value;
        let (status, code, resp) = TestEmulator::error_code(emu.send_raw(&access, &s, &body).await).await;
        assert_eq!((status, code), (400, expected), "{field}: {resp}");
    }
    let sent: Value = emu.get(&format!("/v2/sessions/{}/invoices?pageSize=10", s.reference), Some(&access)).await.json().await.unwrap();
    assert_eq!(sent["invoices"].as_array().unwrap().len(), 0, "refused sends leave nothing behind");
}

#[tokio::test]
async fn an_unknown_or_foreign_session_is_21173_for_sends_and_status_reads_and_a_closed_one_is_21180() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let stranger = emu.login(BUYER).await;
    let s = emu.open_session(&access).await;
    let body = TestEmulator::send_body(&s, invoice(SELLER, "FV/1").as_bytes());
    let unknown = Session { reference: "20260101-SO-0000000000-0000000000-00".into(), key: s.key.clone(), iv: s.iv };
    assert_eq!(TestEmulator::error_code(emu.send_raw(&access, &unknown, &body).await).await.1, 21173);
    assert_eq!(TestEmulator::error_code(emu.send_raw(&stranger, &s, &body).await).await.1, 21173, "another context's session");
    assert_eq!(TestEmulator::error_code(emu.get(&format!("/v2/sessions/{}", s.reference), Some(&stranger)).await).await.1, 21173);
    let bad_ref = Session { reference: "not-a-reference".into(), key: s.key.clone(), iv: s.iv };
    assert_eq!(TestEmulator::error_code(emu.send_raw(&access, &bad_ref, &body).await).await.1, 21405);

    let sent = emu.send(&access, &s, &invoice(SELLER, "FV/1")).await;
    // An invoice's status: the session's owner first (a stranger learns nothing of its invoices), then the invoice.
    assert_eq!(emu.get(&format!("/v2/sessions/{}/invoices/{sent}", s.reference), Some(&access)).await.status(), 200);
    let foreign = emu.get(&format!("/v2/sessions/{}/invoices/{sent}", s.reference), Some(&stranger)).await;
    assert_eq!(TestEmulator::error_code(foreign).await.1, 21173, "another context's invoice");
    let foreign_bad = emu.get(&format!("/v2/sessions/{}/invoices/not-a-reference", s.reference), Some(&stranger)).await;
    assert_eq!(TestEmulator::error_code(foreign_bad).await.1, 21173, "the session is checked before the invoice's reference");
    let missing = emu.get(&format!("/v2/sessions/{}/invoices/20260101-EE-0000000000-0000000000-00", s.reference), Some(&access)).await;
    let (status, code, resp) = TestEmulator::error_code(missing).await;
    assert_eq!((status, code), (400, 21405), "no such invoice in the session: {resp}");
    assert!(resp.to_string().contains("nie została znaleziona w sesji"), "{resp}");
    let unknown_session = emu.get(&format!("/v2/sessions/{}/invoices/{sent}", unknown.reference), Some(&access)).await;
    assert_eq!(TestEmulator::error_code(unknown_session).await.1, 21173);
    emu.close(&access, &s).await;
    let (status, code, resp) = TestEmulator::error_code(emu.send_raw(&access, &s, &body).await).await;
    assert_eq!((status, code), (400, 21180), "{resp}");
    let again = emu.post(&format!("/v2/sessions/online/{}/close", s.reference), Some(&access), None).await;
    assert_eq!(TestEmulator::error_code(again).await.1, 21180);
}

#[tokio::test]
async fn a_duplicate_invoice_gets_440_naming_the_original() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let first = emu.open_session(&access).await;
    let original = emu.send(&access, &first, &invoice(SELLER, "FV/DUP/1")).await;
    let original = emu.wait_invoice(&access, &first, &original).await;
    let second = emu.open_session(&access).await;
    let dup = emu.send(&access, &second, &invoice(SELLER, "FV/DUP/1")).await;
    let dup = emu.wait_invoice(&access, &second, &dup).await;
    assert_eq!(dup["status"]["code"], 440, "{dup}");
    assert_eq!(dup["status"]["extensions"]["originalKsefNumber"], original["ksefNumber"]);
    assert_eq!(dup["status"]["extensions"]["originalSessionReferenceNumber"], first.reference.as_str());
    assert_eq!(dup["invoiceNumber"], "FV/DUP/1");
    assert!(dup.get("ksefNumber").is_none());
    let failed: Value = emu.get(&format!("/v2/sessions/{}/invoices/failed", second.reference), Some(&access)).await.json().await.unwrap();
    assert_eq!(failed["invoices"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_content_gets_430_and_content_that_does_not_decrypt_gets_435() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    let broken = emu.send(&access, &s, "<Faktura><unclosed></Faktura>").await;
    let broken = emu.wait_invoice(&access, &s, &broken).await;
    assert_eq!(broken["status"]["code"], 430);
    assert!(broken["status"]["details"][0].as_str().unwrap().contains("XML"));

    let missing = emu.send(&access, &s, &invoice(SELLER, "FV/2").replace("<RodzajFaktury>VAT</RodzajFaktury>", "")).await;
    let missing = emu.wait_invoice(&access, &s, &missing).await;
    assert_eq!(missing["status"]["code"], 430);
    assert_eq!(missing["invoiceNumber"], "FV/2", "the number is reported even for a refused invoice");

    // Ciphertext whose padding does not check out under the session key: hashes and sizes match, decryption fails.
    let garbage = loop {
        let candidate = encrypt_cbc(&ksef_core::crypto::AesKey::generate(), &s.iv, invoice(SELLER, "FV/3").as_bytes());
        if ksef_core::crypto::decrypt_cbc(&s.key, &s.iv, &candidate).is_err() {
            break candidate;
        }
    };
    let body = json!({
        "invoiceHash": sha256_base64(b"x"), "invoiceSize": 1,
        "encryptedInvoiceHash": sha256_base64(&garbage), "encryptedInvoiceSize": garbage.len(),
        "encryptedInvoiceContent": b64(&garbage),
    });
    let r = emu.send_raw(&access, &s, &body).await;
    assert_eq!(r.status(), 202, "KSeF accepts what it cannot decrypt and fails it asynchronously");
    let inv = r.json::<Value>().await.unwrap()["referenceNumber"].as_str().unwrap().to_owned();
    assert_eq!(emu.wait_invoice(&access, &s, &inv).await["status"]["code"], 435);
}

#[tokio::test]
async fn an_invoice_of_another_seller_gets_410() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    let inv = emu.send(&access, &s, &invoice(BUYER, "FV/FOREIGN")).await;
    let v = emu.wait_invoice(&access, &s, &inv).await;
    assert_eq!(v["status"]["code"], 410, "{v}");
}

#[tokio::test]
async fn an_invoice_dated_before_today_is_marked_offline_and_one_from_the_future_gets_450() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    let today = ksef_wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let earlier = invoice(SELLER, "FV/OLD").replace(&format!("<P_1>{today}</P_1>"), "<P_1>2026-01-02</P_1>");
    let v = emu.wait_invoice(&access, &s, &emu.send(&access, &s, &earlier).await).await;
    assert_eq!((v["status"]["code"].as_i64(), v["invoicingMode"].as_str()), (Some(200), Some("Offline")));
    let later = invoice(SELLER, "FV/NEW").replace(&format!("<P_1>{today}</P_1>"), "<P_1>2099-01-01</P_1>");
    let v = emu.wait_invoice(&access, &s, &emu.send(&access, &s, &later).await).await;
    assert_eq!(v["status"]["code"], 450, "{v}");
}

#[tokio::test]
async fn an_fa2_session_takes_fa2_invoices_and_refuses_fa3_ones() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session_for(&access, "FA (2)").await;
    let fa2 = invoice(SELLER, "FV/FA2")
        .replace("http://crd.gov.pl/wzor/2025/06/25/13775/", "http://crd.gov.pl/wzor/2023/06/29/12648/")
        .replace("FA (3)", "FA (2)")
        .replace("<WariantFormularza>3", "<WariantFormularza>2");
    assert_eq!(emu.wait_invoice(&access, &s, &emu.send(&access, &s, &fa2).await).await["status"]["code"], 200);
    let v = emu.wait_invoice(&access, &s, &emu.send(&access, &s, &invoice(SELLER, "FV/FA3")).await).await;
    assert_eq!(v["status"]["code"], 430);
    let body = json!({ "formCode": { "systemCode": "PEF (3)", "schemaVersion": "2-1", "value": "PEF" },
        "encryption": { "encryptedSymmetricKey": "AAAA", "initializationVector": "AAAAAAAAAAAAAAAAAAAAAA==" } });
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/sessions/online", Some(&access), Some(&body)).await).await;
    assert_eq!((status, code), (400, 21405));
}

#[tokio::test]
async fn invoice_lists_page_with_continuation_tokens_and_refuse_forged_ones_with_21418() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    for i in 0..12 {
        emu.send(&access, &s, &invoice(SELLER, &format!("FV/PAGE/{i}"))).await;
    }
    let first = emu.get(&format!("/v2/sessions/{}/invoices?pageSize=10", s.reference), Some(&access)).await;
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["invoices"].as_array().unwrap().len(), 10);
    let token = first["continuationToken"].as_str().unwrap();
    let second = emu
        .http
        .get(emu.url(&format!("/v2/sessions/{}/invoices?pageSize=10", s.reference)))
        .bearer_auth(&access)
        .header("x-continuation-token", token)
        .send()
        .await
        .unwrap();
    let second: Value = second.json().await.unwrap();
    let ordinals: Vec<i64> = second["invoices"].as_array().unwrap().iter().map(|i| i["ordinalNumber"].as_i64().unwrap()).collect();
    assert_eq!(ordinals, [11, 12]);
    assert!(second.get("continuationToken").is_none());
    let forged = emu
        .http
        .get(emu.url(&format!("/v2/sessions/{}/invoices", s.reference)))
        .bearer_auth(&access)
        .header("x-continuation-token", "bm90LW91cnM")
        .send()
        .await
        .unwrap();
    assert_eq!(TestEmulator::error_code(forged).await.1, 21418);
    let small = emu.get(&format!("/v2/sessions/{}/invoices?pageSize=5", s.reference), Some(&access)).await;
    assert_eq!(TestEmulator::error_code(small).await.1, 21405);
}

#[tokio::test]
async fn a_session_closed_without_invoices_is_cancelled_with_440() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    emu.close(&access, &s).await;
    let v = emu.wait_session(&access, &s.reference).await;
    assert_eq!(v["status"]["code"], 440);
    assert_eq!(v["status"]["details"][0], "Nie przesłano faktur");
}

#[tokio::test]
async fn a_session_whose_invoices_all_failed_ends_with_445_and_no_upo() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    emu.send(&access, &s, "not xml").await;
    emu.close(&access, &s).await;
    let v = emu.wait_session(&access, &s.reference).await;
    assert_eq!(v["status"]["code"], 445);
    assert!(v.get("upo").is_none());
}

#[tokio::test]
async fn a_key_that_does_not_unwrap_opens_a_session_in_status_415_that_takes_no_invoices() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let body = json!({ "formCode": { "systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA" },
        "encryption": { "encryptedSymmetricKey": b64(&[7u8; 256]), "initializationVector": b64(&[0u8; 16]) } });
    let r = emu.post("/v2/sessions/online", Some(&access), Some(&body)).await;
    assert_eq!(r.status(), 201);
    let reference = r.json::<Value>().await.unwrap()["referenceNumber"].as_str().unwrap().to_owned();
    let v: Value = emu.get(&format!("/v2/sessions/{reference}"), Some(&access)).await.json().await.unwrap();
    assert_eq!(v["status"]["code"], 415);
    let bad_iv = json!({ "formCode": body["formCode"], "encryption": { "encryptedSymmetricKey": b64(&[7u8; 256]), "initializationVector": b64(&[0u8; 12]) } });
    assert_eq!(TestEmulator::error_code(emu.post("/v2/sessions/online", Some(&access), Some(&bad_iv)).await).await.1, 21405);
}

#[tokio::test]
async fn an_open_session_closes_itself_after_twelve_hours() {
    let emu = spawn().await;
    let access_long = emu.login(SELLER).await;
    let s = emu.open_session(&access_long).await;
    emu.send(&access_long, &s, &invoice(SELLER, "FV/LATE")).await;
    emu.clock.advance(chrono::Duration::hours(13));
    let access = emu.login(SELLER).await;
    let v = emu.wait_session(&access, &s.reference).await;
    assert_eq!(v["status"]["code"], 200, "{v}");
    assert_eq!(TestEmulator::error_code(emu.send_raw(&access, &s, &TestEmulator::send_body(&s, b"x")).await).await.1, 21180);
}

#[tokio::test]
async fn upo_pages_hold_at_most_the_page_size() {
    let emu = spawn_with(|c| c.upo_page_size = 2).await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    for i in 0..5 {
        emu.send(&access, &s, &invoice(SELLER, &format!("FV/UPO/{i}"))).await;
    }
    emu.close(&access, &s).await;
    let v = emu.wait_session(&access, &s.reference).await;
    let pages = v["upo"]["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    let last = emu.get(&format!("/v2/sessions/{}/upo/{}", s.reference, pages[2]["referenceNumber"].as_str().unwrap()), Some(&access)).await;
    let text = last.text().await.unwrap();
    assert!(text.contains("<Strona>3</Strona><LiczbaStron>3</LiczbaStron><ZakresDokumentowOd>5</ZakresDokumentowOd><ZakresDokumentowDo>5</ZakresDokumentowDo><CalkowitaLiczbaDokumentow>5</CalkowitaLiczbaDokumentow>"), "{text}");
}

#[tokio::test]
async fn upo_downloads_refuse_unknown_references_and_tampered_urls() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let s = emu.open_session(&access).await;
    let inv = emu.send(&access, &s, &invoice(SELLER, "FV/U")).await;
    let status = emu.wait_invoice(&access, &s, &inv).await;
    let r = emu.get(&format!("/v2/sessions/{}/upo/20260101-EU-0000000000-0000000000-00", s.reference), Some(&access)).await;
    assert_eq!(TestEmulator::error_code(r).await.1, 21178);
    let r = emu.get(&format!("/v2/sessions/{}/invoices/ksef/5265877635-20250826-0100001AF629-AF/upo", s.reference), Some(&access)).await;
    assert_eq!(TestEmulator::error_code(r).await.1, 21178);
    let url = status["upoDownloadUrl"].as_str().unwrap();
    assert_eq!(emu.http.get(url).send().await.unwrap().status(), 200);
    let tampered = url.replace(&inv, "20260101-EE-0000000000-0000000000-00");
    assert_eq!(emu.http.get(&tampered).send().await.unwrap().status(), 403);
    emu.clock.advance(chrono::Duration::hours(73));
    assert_eq!(emu.http.get(url).send().await.unwrap().status(), 403, "the URL expires");
}

#[tokio::test]
async fn sessions_are_listed_newest_first_for_their_own_context_only() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let a = emu.open_session(&access).await;
    let b = emu.open_session(&access).await;
    let other = emu.login(BUYER).await;
    emu.open_session(&other).await;
    let v: Value = emu.get("/v2/sessions?sessionType=Online&pageSize=10", Some(&access)).await.json().await.unwrap();
    let refs: Vec<&str> = v["sessions"].as_array().unwrap().iter().map(|s| s["referenceNumber"].as_str().unwrap()).collect();
    assert_eq!(refs, [b.reference.as_str(), a.reference.as_str()]);
    assert_eq!(TestEmulator::error_code(emu.get("/v2/sessions", Some(&access)).await).await.1, 21405, "sessionType is required");
}
