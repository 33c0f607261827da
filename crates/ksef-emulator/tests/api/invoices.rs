//! Downloading invoices and querying their metadata by the caller's role on them.

use serde_json::{Value, json};

use crate::helpers::{BUYER, SELLER, THIRD, TestEmulator, invoice, invoice_with, spawn};

const PODMIOT3: &str = "<Podmiot3><DaneIdentyfikacyjne><NIP>1111111111</NIP><Nazwa>Odbiorca</Nazwa></DaneIdentyfikacyjne><Rola>2</Rola></Podmiot3>";

async fn accepted(emu: &TestEmulator, access: &str, xml: &str) -> String {
    let s = emu.open_session(access).await;
    let inv = emu.send(access, &s, xml).await;
    let v = emu.wait_invoice(access, &s, &inv).await;
    assert_eq!(v["status"]["code"], 200, "{v}");
    v["ksefNumber"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_invoice_downloads_byte_identical_for_its_seller_buyer_and_third_party_only() {
    let emu = spawn().await;
    let seller = emu.login(SELLER).await;
    let xml = invoice_with(SELLER, "FV/DL/1", BUYER, PODMIOT3);
    let ksef = accepted(&emu, &seller, &xml).await;
    for nip in [SELLER, BUYER, THIRD] {
        let access = emu.login(nip).await;
        let r = emu.get(&format!("/v2/invoices/ksef/{ksef}"), Some(&access)).await;
        assert_eq!(r.status(), 200, "{nip}");
        assert_eq!(r.headers()["content-type"], "application/xml");
        assert_eq!(r.headers()["x-ms-meta-hash"].to_str().unwrap(), ksef_core::crypto::sha256_base64(xml.as_bytes()));
        assert_eq!(r.bytes().await.unwrap(), xml.as_bytes());
    }
    let stranger = emu.login("9999999999").await;
    let (status, code, _) = TestEmulator::error_code(emu.get(&format!("/v2/invoices/ksef/{ksef}"), Some(&stranger)).await).await;
    assert_eq!((status, code), (400, 21164));
    let (_, code, _) = TestEmulator::error_code(emu.get("/v2/invoices/ksef/5265877635-20250826-0100001AF629-AE", Some(&seller)).await).await;
    assert_eq!(code, 21405, "a KSeF number with a bad checksum is a validation error");
}

fn filters(subject: &str) -> Value {
    json!({
        "subjectType": subject,
        "dateRange": { "dateType": "PermanentStorage", "from": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(), "to": null, "restrictToPermanentStorageHwmDate": null },
        "ksefNumber": null, "invoiceNumber": null, "amount": null, "sellerNip": null, "buyerIdentifier": null,
        "currencyCodes": null, "invoicingMode": null, "isSelfInvoicing": null, "formType": null, "invoiceTypes": null, "hasAttachment": null,
    })
}

#[tokio::test]
async fn metadata_queries_find_invoices_by_the_callers_role() {
    let emu = spawn().await;
    let seller = emu.login(SELLER).await;
    let ksef = accepted(&emu, &seller, &invoice_with(SELLER, "FV/Q/1", BUYER, PODMIOT3)).await;
    accepted(&emu, &seller, &invoice(SELLER, "FV/Q/2")).await;
    let cases = [(SELLER, "Subject1", 2), (BUYER, "Subject2", 2), (THIRD, "Subject3", 1), (SELLER, "Subject2", 0), (THIRD, "SubjectAuthorized", 0)];
    for (nip, subject, expected) in cases {
        let access = emu.login(nip).await;
        let r = emu.post("/v2/invoices/query/metadata?pageSize=10", Some(&access), Some(&filters(subject))).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["invoices"].as_array().unwrap().len(), expected, "{nip} as {subject}: {v}");
        assert_eq!((v["hasMore"].as_bool(), v["isTruncated"].as_bool()), (Some(false), Some(false)));
        assert!(v["permanentStorageHwmDate"].is_string());
    }
    let mut one = filters("Subject1");
    one["ksefNumber"] = json!(ksef);
    let v: Value = emu.post("/v2/invoices/query/metadata", Some(&seller), Some(&one)).await.json().await.unwrap();
    let m = &v["invoices"][0];
    assert_eq!(v["invoices"].as_array().unwrap().len(), 1);
    for field in ["ksefNumber", "invoiceNumber", "issueDate", "invoicingDate", "acquisitionDate", "permanentStorageDate", "seller",
        "buyer", "netAmount", "grossAmount", "vatAmount", "currency", "invoicingMode", "invoiceType", "formCode", "isSelfInvoicing",
        "hasAttachment", "invoiceHash"] {
        assert!(m.get(field).is_some(), "metadata lacks {field}: {m}");
    }
    assert_eq!((m["grossAmount"].as_f64(), m["invoiceType"].as_str()), (Some(123.0), Some("Vat")));
    assert_eq!(m["thirdSubjects"][0]["role"], 2);
    assert_eq!(m["buyer"]["identifier"], json!({ "type": "Nip", "value": BUYER }));
}

#[tokio::test]
async fn metadata_queries_page_and_sort() {
    let emu = spawn().await;
    let seller = emu.login(SELLER).await;
    let s = emu.open_session(&seller).await;
    for i in 0..12 {
        emu.send(&seller, &s, &invoice(SELLER, &format!("FV/P/{i:02}"))).await;
    }
    emu.close(&seller, &s).await;
    emu.wait_session(&seller, &s.reference).await;
    let page = |index: u32, order: &str| {
        let path = format!("/v2/invoices/query/metadata?pageSize=10&pageOffset={index}&sortOrder={order}");
        let (emu, seller) = (&emu, &seller);
        async move { emu.post(&path, Some(seller), Some(&filters("Subject1"))).await.json::<Value>().await.unwrap() }
    };
    let first = page(0, "Asc").await;
    assert_eq!((first["invoices"].as_array().unwrap().len(), first["hasMore"].as_bool()), (10, Some(true)));
    let second = page(1, "Asc").await;
    assert_eq!((second["invoices"].as_array().unwrap().len(), second["hasMore"].as_bool()), (2, Some(false)));
    let desc = page(0, "Desc").await;
    assert_eq!(desc["invoices"][0]["ksefNumber"], second["invoices"][1]["ksefNumber"]);
    let beyond = page(5, "Asc").await;
    assert_eq!((beyond["invoices"].as_array().unwrap().len(), beyond["hasMore"].as_bool()), (0, Some(false)));
    let huge = emu.post("/v2/invoices/query/metadata?pageSize=10&pageOffset=9223372036854775807", Some(&seller), Some(&filters("Subject1"))).await;
    assert_eq!(TestEmulator::error_code(huge).await.1, 21405, "an absurd page index is a validation error, not an overflow");
}

#[tokio::test]
async fn metadata_query_ranges_are_checked() {
    let emu = spawn().await;
    let seller = emu.login(SELLER).await;
    let mut long = filters("Subject1");
    long["dateRange"]["from"] = json!("2026-01-01T00:00:00Z");
    long["dateRange"]["to"] = json!("2026-06-01T00:00:00Z");
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/invoices/query/metadata", Some(&seller), Some(&long)).await).await;
    assert_eq!((status, code), (400, 21405), "more than three months");
    let mut future = filters("Subject1");
    future["dateRange"]["from"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    future["dateRange"]["restrictToPermanentStorageHwmDate"] = json!(true);
    let (_, code, _) = TestEmulator::error_code(emu.post("/v2/invoices/query/metadata", Some(&seller), Some(&future)).await).await;
    assert_eq!(code, 21183, "from after the high-water mark");
    let mut warsaw = filters("Subject1");
    warsaw["dateRange"]["from"] = json!("2026-11-25T10:00:00");
    assert_eq!(emu.post("/v2/invoices/query/metadata", Some(&seller), Some(&warsaw)).await.status(), 200, "no offset means Warsaw time");
}
