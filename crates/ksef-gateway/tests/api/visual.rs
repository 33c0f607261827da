//! `ksefInvoiceLinks`, `ksefInvoiceVisualize` and their commands: KOD I for every invoice, KOD II signed with the
//! tenant's Offline certificate (which only that tenant's links use), and invoices rendered as HTML.

use std::path::Path;

use serde_json::{Value, json};

use crate::helpers::{TestApp, run_binary, spawn_app};

/// An EC P-256 Offline certificate and key made by OpenSSL, as PEM files in `dir`: (certificate, key).
pub(crate) fn openssl_certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("offline.crt"), dir.join("offline.key"));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Offline 5265877635"])
        .args(["-set_serial", "0x01F20A5D352AE590", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (cert, key)
}

fn example() -> String {
    ksef_fa::example::invoice("5265877635", "1111111111", "FV/2026/11/42", "2026-11-25", 2)
}

impl TestApp {
    pub(crate) async fn tenant_id(&self, key: &str) -> String {
        ksef_gateway::ops::tenants::authenticate(self.app.ops(), key).await.unwrap().id
    }

    pub(crate) async fn set_offline_certificate(&self, key: &str) {
        let (cert, private) = openssl_certificate(self.dir.path());
        let tenant = self.tenant_id(key).await;
        let context = (ksef_visualize::links::ContextType::Nip, "5265877635");
        let serial = ksef_gateway::ops::tenants::set_offline_certificate(self.app.ops(), &tenant, &std::fs::read(cert).unwrap(), &std::fs::read(private).unwrap(), context)
            .await
            .unwrap();
        assert_eq!(serial, "01F20A5D352AE590");
    }

    async fn links(&self, key: &str, body: &Value) -> reqwest::Response {
        self.post("/ksefInvoiceLinks", key, body).await
    }

    async fn visualize(&self, key: &str, body: &Value) -> reqwest::Response {
        self.post("/ksefInvoiceVisualize", key, body).await
    }
}

fn links_request(ksef_number: Option<&str>) -> Value {
    let hash = ksef_core::crypto::sha256_base64(example().as_bytes());
    let mut body = json!({ "nip": "5265877635", "issueDate": "2026-11-25", "invoiceHash": hash });
    if let Some(number) = ksef_number {
        body["invoiceKsefNumber"] = json!(number);
    }
    body
}

#[tokio::test]
async fn links_give_kod1_with_its_qr_code_and_caption() {
    let app = spawn_app().await;
    let r = app.links(&app.api_key, &links_request(Some("5265877635-20250826-0100001AF629-AF"))).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let hash = ksef_core::crypto::sha256_base64url(example().as_bytes());
    // The embedded emulator stands for KSeF's TEST environment.
    assert_eq!(body["invoice"]["link"], format!("https://qr-test.ksef.mf.gov.pl/invoice/5265877635/25-11-2026/{hash}"));
    assert_eq!(body["invoice"]["caption"], "5265877635-20250826-0100001AF629-AF");
    let png = ksef_core::crypto::b64_decode(body["invoice"]["image"].as_str().unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(body.get("certificate").is_none(), "an invoice in KSeF has no KOD II");

    let offline: Value = app.links(&app.api_key, &links_request(None)).await.json().await.unwrap();
    assert_eq!(offline["invoice"]["caption"], "OFFLINE");
    assert!(offline.get("certificate").is_none(), "no Offline certificate, no KOD II");
}

#[tokio::test]
async fn an_offline_invoice_gets_kod2_signed_with_its_tenants_certificate_only() {
    let app = spawn_app().await;
    app.set_offline_certificate(&app.api_key).await;
    let body: Value = app.links(&app.api_key, &links_request(None)).await.json().await.unwrap();
    let link = body["certificate"]["link"].as_str().unwrap();
    assert_eq!(body["certificate"]["caption"], "CERTYFIKAT");
    let (signed, signature) = link.trim_start_matches("https://").rsplit_once('/').unwrap();
    let hash = ksef_core::crypto::sha256_base64url(example().as_bytes());
    assert_eq!(signed, format!("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/{hash}"));
    let cert_pem = std::fs::read(app.dir.path().join("offline.crt")).unwrap();
    let cert_der = ksef_core::offline::pem_or_der(&cert_pem, "CERTIFICATE").unwrap();
    let spki = ksef_core::der::certificate_fields(&cert_der).unwrap().spki.to_vec();
    assert!(ksef_core::offline::verify(&spki, signed.as_bytes(), &ksef_core::crypto::b64url_decode(signature).unwrap()));

    let other = app.add_tenant("1111111111").await;
    let theirs: Value = app.links(&other, &links_request(None)).await.json().await.unwrap();
    assert!(theirs.get("certificate").is_none(), "another tenant cannot sign with this certificate");
}

#[tokio::test]
async fn links_with_a_bad_nip_hash_date_or_ksef_number_get_1208() {
    let app = spawn_app().await;
    for (field, value) in [("nip", "12345"), ("invoiceHash", "not-a-hash"), ("issueDate", "25.11.2026"), ("invoiceKsefNumber", "5265877635-20250826-0100001AF629-AE")] {
        let mut body = links_request(None);
        body[field] = json!(value);
        let (status, code, body) = TestApp::error(app.links(&app.api_key, &body).await).await;
        assert_eq!((status, code.as_str()), (400, "1208"), "{field}: {body}");
    }
}

#[tokio::test]
async fn an_invoice_is_visualized_as_html_in_the_language_asked_for() {
    let app = spawn_app().await;
    let xml = example();
    let request = json!({
        "invoiceData": ksef_core::crypto::b64(xml.as_bytes()),
        "invoiceKsefNumber": "5265877635-20250826-0100001AF629-AF",
        "outputFormat": "html",
        "outputLanguage": "pl_en",
    });
    let r = app.visualize(&app.api_key, &request).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    for expected in ["FV/2026/11/42", "Sprzedawca <span class=\"en\" lang=\"en\">/ Seller</span>", "5265877635-20250826-0100001AF629-AF", "<svg", "https://qr-test.ksef.mf.gov.pl/invoice/5265877635/25-11-2026/"] {
        assert!(page.contains(expected), "{expected}");
    }
    // The XML text itself is accepted too.
    let mut raw = request.clone();
    raw["invoiceData"] = json!(xml);
    raw["outputLanguage"] = json!("en");
    let page = app.visualize(&app.api_key, &raw).await.text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">") && page.contains("Seller"));
}

#[tokio::test]
async fn an_invoice_is_visualized_as_a_pdf_carrying_its_xml() {
    let app = spawn_app().await;
    let xml = example();
    let request = json!({ "invoiceData": ksef_core::crypto::b64(xml.as_bytes()), "outputFormat": "pdf", "outputLanguage": "pl_en" });
    let r = app.visualize(&app.api_key, &request).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert_eq!(&pdf[..5], b"%PDF-");
    assert!(pdf.windows(11).any(|w| w == b"faktura.xml"), "the invoice XML is attached");
    let again = app.visualize(&app.api_key, &request).await.bytes().await.unwrap();
    assert_eq!(pdf, again, "identical requests give identical PDFs");
}

#[tokio::test]
async fn an_offline_invoice_is_visualized_with_both_codes() {
    let app = spawn_app().await;
    app.set_offline_certificate(&app.api_key).await;
    let request = json!({ "invoiceData": ksef_core::crypto::b64(example().as_bytes()), "offline": true, "outputFormat": "html", "outputLanguage": "pl" });
    let page = app.visualize(&app.api_key, &request).await.text().await.unwrap();
    assert!(page.contains(">OFFLINE<") && page.contains(">CERTYFIKAT<"), "both captions");
    assert!(page.contains("https://qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/"));
}

#[tokio::test]
async fn visualize_refuses_unknown_templates_and_documents_that_are_not_invoices() {
    let app = spawn_app().await;
    let good = json!({ "invoiceData": ksef_core::crypto::b64(example().as_bytes()), "outputFormat": "html", "outputLanguage": "pl" });
    let cases = [
        ("templateName", json!("fancy"), 400, "1209"),
        ("invoiceData", json!(ksef_core::crypto::b64(b"<a/>")), 400, "1203"),
        ("invoiceData", json!("%%%"), 400, "1005"),
        ("outputLanguage", json!("de"), 400, "1208"),
    ];
    for (field, value, status, code) in cases {
        let mut body = good.clone();
        body[field] = value;
        let (got_status, got_code, body) = TestApp::error(app.visualize(&app.api_key, &body).await).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{field}: {body}");
    }
}

#[tokio::test]
async fn the_visualize_and_links_commands_work_offline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.xml");
    std::fs::write(&file, example()).unwrap();
    let out = dir.path().join("invoice.html");
    let (code, _, stderr) = run_binary(&["visualize", file.to_str().unwrap(), "--lang", "pl_en", "--env", "test", "-o", out.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.contains("FV/2026/11/42") && page.contains(">OFFLINE<"));
    let pdf = dir.path().join("invoice.pdf");
    let (code, _, stderr) = run_binary(&["visualize", file.to_str().unwrap(), "--format", "pdf", "--lang", "en", "-o", pdf.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(&std::fs::read(&pdf).unwrap()[..5], b"%PDF-");

    let (cert, key) = openssl_certificate(dir.path());
    let (code, stdout, stderr) =
        run_binary(&["links", "--file", file.to_str().unwrap(), "--certificate", cert.to_str().unwrap(), "--key", key.to_str().unwrap(), "--png-dir", dir.path().to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    let hash = ksef_core::crypto::sha256_base64url(example().as_bytes());
    assert!(stdout.contains(&format!("kod1: https://qr.ksef.mf.gov.pl/invoice/5265877635/25-11-2026/{hash}")), "{stdout}");
    assert!(stdout.contains("kod2: https://qr.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/"), "{stdout}");
    assert!(dir.path().join("kod1.png").exists() && dir.path().join("kod2.png").exists());

    // A tenant's certificate is recorded from the command line, its key checked against it.
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run_binary(&["tenant", "add", "--nip", "5265877635", "--ksef-token", "token", "--data-dir", data.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    let tenant = stdout.split_whitespace().nth(1).unwrap().to_owned();
    let args = ["tenant", "set-offline-certificate", "--tenant", &tenant, "--certificate", cert.to_str().unwrap(), "--key", key.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    let (code, stdout, stderr) = run_binary(&args).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("01F20A5D352AE590"), "{stdout}");
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let (other_cert, _) = openssl_certificate(&other_dir);
    let mismatched = ["tenant", "set-offline-certificate", "--tenant", &tenant, "--certificate", other_cert.to_str().unwrap(), "--key", key.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    let (code, _, stderr) = run_binary(&mismatched).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("does not belong"), "{stderr}");
}

#[tokio::test]
async fn a_sessions_upo_is_rendered_as_html_or_pdf_on_request() {
    let app = spawn_app().await;
    let session = app.open_session(&app.api_key).await;
    let invoice = app.send(&app.api_key, &session, example().as_bytes()).await;
    let ksef_number = app.wait_invoice(&app.api_key, &invoice).await["ksefNumber"].as_str().unwrap().to_owned();
    let xml = app.close_and_wait_upo(&app.api_key, &session).await;
    assert!(xml.contains(&ksef_number));

    let html = app.get(&format!("/ksefSessionUpo/{session}?format=html&lang=pl_en"), &app.api_key).await;
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = html.text().await.unwrap();
    for expected in ["Urzędowe poświadczenie odbioru dokumentu elektronicznego KSeF", ksef_number.as_str(), "FV/2026/11/42", "Numer referencyjny sesji"] {
        assert!(page.contains(expected), "{expected}");
    }
    let pdf = app.http.get(format!("{}/ksefSessionUpo/{session}", app.base)).bearer_auth(&app.api_key).header("accept", "application/pdf").send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(&pdf.bytes().await.unwrap()[..5], b"%PDF-");
    let (status, code, _) = TestApp::error(app.get(&format!("/ksefSessionUpo/{session}?format=doc"), &app.api_key).await).await;
    assert_eq!((status, code.as_str()), (400, "1208"));
}
