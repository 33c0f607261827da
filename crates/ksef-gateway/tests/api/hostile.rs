//! Hostile input, as an attacker sends it: each test does the bad thing against a real gateway on port 0 and
//! checks what other callers see meanwhile (timings asserted loosely), not only the refusal.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use ksef_gateway::config::KsefSettings;

use crate::helpers::{NIP, OTHER_NIP, TestApp, database_url, invoice, settings, spawn_app, spawn_with, zip_of};

fn today() -> String {
    ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string()
}

/// `/healthz` answers every time within a second while `hostile` runs.
async fn healthz_stays_responsive<F: std::future::Future>(app: &TestApp, hostile: F) -> F::Output {
    let health = format!("http://{}/healthz", app.app.address());
    let mut hostile = std::pin::pin!(hostile);
    let mut slowest = Duration::ZERO;
    loop {
        let started = Instant::now();
        let answered = tokio::time::timeout(Duration::from_secs(1), app.http.get(&health).send()).await;
        assert!(answered.is_ok_and(|r| r.is_ok_and(|r| r.status() == 200)), "/healthz did not answer within 1 s");
        slowest = slowest.max(started.elapsed());
        tokio::select! {
            out = &mut hostile => {
                eprintln!("slowest /healthz while under attack: {slowest:?}");
                return out;
            }
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

#[tokio::test]
async fn health_answers_within_a_second_while_invoices_of_quadratic_shape_are_sent_and_validated() {
    let app = spawn_app().await;
    // Two tenants, each within its share of two document jobs at once.
    let other = app.add_tenant(OTHER_NIP).await;
    let tenants = [app.api_key.clone(), other];
    let mut sessions = Vec::new();
    for key in &tenants {
        sessions.push(app.open_session(key).await);
    }
    // 80,000 attributes on one element (13 s of parsing before), and namespace declarations repeated on 2,000
    // children.
    let attributes: String = (0..80_000).map(|i| format!(" a{i}=\"1\"")).collect();
    let wide = format!(r#"<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Naglowek{attributes}/></Faktura>"#);
    let declarations: String = (0..60).map(|i| format!(" xmlns:p{i}=\"urn:x\"")).collect();
    let child = format!("<c{declarations}/>");
    let scoped = format!(r#"<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">{}</Faktura>"#, child.repeat(2_000));
    let attack = async {
        let sends = (0..2).map(|t| app.send_plain(&tenants[t], &sessions[t], [&wide, &scoped][t].as_bytes()));
        let validates = (0..2).map(|t| {
            app.http.post(format!("{}/ksefInvoiceValidate", app.base)).bearer_auth(&tenants[t]).body([&scoped, &wide][t].clone()).send()
        });
        let (sends, validates) = tokio::join!(futures_util::future::join_all(sends), futures_util::future::join_all(validates));
        let mut answers = Vec::new();
        for r in sends.into_iter().chain(validates.into_iter().map(Result::unwrap)) {
            answers.push(TestApp::error(r).await);
        }
        answers
    };
    let started = Instant::now();
    let answers = healthz_stays_responsive(&app, attack).await;
    for (status, code, body) in answers {
        assert_eq!((status, code.as_str()), (400, "1203"), "{body}");
        let text = body.to_string();
        assert!(text.contains("attributes") || text.contains("namespace"), "the refusal names the bound: {text}");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "refused in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_pdf_past_the_line_limit_is_refused_with_1209_while_its_html_is_served() {
    let app = spawn_app().await;
    let xml = ksef_fa::example::invoice(NIP, OTHER_NIP, "FV/LONG", &today(), ksef_pdf::MAX_TABLE_ROWS + 100);
    let request = |format: &str| json!({ "invoiceData": ksef_core::crypto::b64(xml.as_bytes()), "outputFormat": format, "outputLanguage": "pl" });
    let started = Instant::now();
    let (status, code, body) = TestApp::error(app.post("/ksefInvoiceVisualize", &app.api_key, &request("pdf")).await).await;
    assert_eq!((status, code.as_str()), (400, "1209"), "{body}");
    assert!(body["details"].as_str().unwrap().contains(&ksef_pdf::MAX_TABLE_ROWS.to_string()), "{body}");
    assert!(started.elapsed() < Duration::from_secs(30), "refused before laying out, in {:?}", started.elapsed());
    let html = app.post("/ksefInvoiceVisualize", &app.api_key, &request("html")).await;
    assert_eq!(html.status(), 200);
}

#[tokio::test]
async fn text_the_pdf_font_cannot_draw_is_replaced_and_counted_never_a_500() {
    let app = spawn_app().await;
    let xml = ksef_fa::example::invoice(NIP, "1111111111", "FV/CJK", &today(), 1);
    let xml = xml.replacen("<Nazwa>Sprzedawca</Nazwa>", "<Nazwa>深圳市腾讯 🚀</Nazwa>", 1);
    let validated = app.http.post(format!("{}/ksefInvoiceValidate", app.base)).bearer_auth(&app.api_key).body(xml.clone()).send().await.unwrap();
    assert_eq!(validated.status(), 200, "a valid invoice: {}", validated.text().await.unwrap());
    let request = json!({ "invoiceData": ksef_core::crypto::b64(xml.as_bytes()), "outputFormat": "pdf", "outputLanguage": "pl_en" });
    let pdf = app.post("/ksefInvoiceVisualize", &app.api_key, &request).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.headers()["ksef-replaced-characters"], "6", "five ideographs and an emoji, each shown as U+FFFD");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
}

async fn raw_upload_that_stalls(app: &TestApp, key: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(app.app.address()).await.unwrap();
    let head = format!(
        "POST /api/v2/ksefSessionSendBatch?invoiceVersion=v3 HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/zip\r\nContent-Length: 1000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'P'; 1000]).await.unwrap();
    stream
}

#[tokio::test]
async fn stalled_uploads_of_one_tenant_neither_hold_up_another_tenants_batch_nor_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url().await;
    let mut settings = settings(dir.path(), db.clone(), KsefSettings::default());
    settings.limits.body_idle_timeout_secs = 2;
    let app = spawn_with(settings, dir, db).await;
    let other = app.add_tenant(OTHER_NIP).await;

    let mut stalled = vec![raw_upload_that_stalls(&app, &app.api_key).await, raw_upload_that_stalls(&app, &app.api_key).await];
    // Time for both to be authenticated and counted, on a busy machine too.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Past its share, the tenant is told at once.
    let third = app.send_zip(zip_of([("a.xml".to_owned(), invoice(NIP, "FV/3"))])).await;
    let (status, code, body) = TestApp::error(third).await;
    assert_eq!((status, code.as_str()), (429, "1905"), "{body}");

    // Another tenant's batch goes through while those two wait.
    let files = (1..=2).map(|i| (format!("b{i}.xml"), invoice(OTHER_NIP, &format!("FV/B/{i}"))));
    let started = Instant::now();
    let sent = app
        .http
        .post(format!("{}/ksefSessionSendBatch?invoiceVersion=v3", app.base))
        .bearer_auth(&other)
        .header("content-type", "application/zip")
        .body(zip_of(files))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());

    // The stalled uploads end once their body has been idle for the configured 2 s.
    for stream in &mut stalled {
        let mut answer = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer)).await;
        assert!(ended.is_ok(), "a stalled upload was kept open");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.is_empty() || text.starts_with("HTTP/1.1 4"), "{text}");
    }
    let again = app.send_zip(zip_of([("a.xml".to_owned(), invoice(NIP, "FV/4"))])).await;
    assert_eq!(again.status(), 200, "the tenant's share came back");
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), None, KsefSettings::default());
    settings.limits.header_read_timeout_secs = 1;
    let app = spawn_with(settings, dir, None).await;
    let mut stream = tokio::net::TcpStream::connect(app.app.address()).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ").await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection stayed open");
}

#[tokio::test]
async fn the_embedded_emulator_answers_only_its_own_gateway_and_serves_no_test_api() {
    let app = spawn_app().await;
    let server = app.app.emulator().unwrap();
    let url = format!("{}/v2/security/public-key-certificates", server.base_url());
    let stranger = app.http.get(&url).send().await.unwrap();
    assert_eq!(stranger.status(), 403, "a local process without the secret");
    let mut gateway = app.http.get(&url);
    for (name, value) in server.access_headers() {
        gateway = gateway.header(name, value);
    }
    assert_eq!(gateway.send().await.unwrap().status(), 200, "the gateway's own requests");
    let mut mint = app.http.post(format!("{}/emulator/v1/tokens", server.base_url())).json(&json!({ "nip": NIP }));
    for (name, value) in server.access_headers() {
        mint = mint.header(name, value);
    }
    assert_eq!(mint.send().await.unwrap().status(), 404, "no token minting unless `ksef.emulator_test_api` asks for it");
}

fn folder_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => folder_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_small_zip_that_unpacks_to_hundreds_of_megabytes_cannot_fill_the_disk() {
    let app = spawn_app().await;
    let before = folder_size(app.dir.path());
    // 100 files of 3,000,000 zero bytes: about 300 KB zipped, 300 MB unpacked, none of it XML.
    let zeros = zip_of((1..=100).map(|i| (format!("z{i:03}.xml"), vec![0u8; 3_000_000])));
    assert!(zeros.len() < 1_000_000);
    let sent: Value = app.send_zip(zeros).await.json().await.unwrap();
    assert!(sent["id"].is_string(), "{sent}");
    let info = app.wait_session(&app.api_key, sent["id"].as_str().unwrap()).await;
    assert_eq!(info["successfulInvoiceCount"], 0, "{info}");
    let listed: Value = app.get(&format!("/ksefSessionInvoices/{}", sent["id"].as_str().unwrap()), &app.api_key).await.json().await.unwrap();
    assert!(listed.to_string().contains("nie jest dokumentem XML"), "each file refused as not XML: {listed}");

    // 40 files that look like XML (a root element around 2.9 MB of spaces): 116 MB unpacked from ~120 KB.
    let blank = |i: usize| (format!("s{i:02}.xml"), [b"<a>".as_slice(), &vec![b' '; 2_900_000], b"</a>"].concat());
    let sent: Value = app.send_zip(zip_of((1..=40).map(blank))).await.json().await.unwrap();
    let info = app.wait_session(&app.api_key, sent["id"].as_str().unwrap()).await;
    assert!(info["status"]["code"].as_i64().unwrap() >= 400, "the package is refused as a whole: {info}");

    let grown = folder_size(app.dir.path()).saturating_sub(before);
    assert!(grown < 64 * 1024 * 1024, "the data folder grew by {grown} bytes");
}

#[tokio::test]
async fn large_answers_are_run_again_rather_than_kept_and_data_files_are_the_owners_alone() {
    let app = spawn_app().await;
    // 300 lines: a PDF well over what is kept for repeats.
    let xml = ksef_fa::example::invoice(NIP, OTHER_NIP, "FV/IDEM", &today(), 300).into_bytes();
    let request = json!({ "invoiceData": ksef_core::crypto::b64(&xml), "outputFormat": "pdf", "outputLanguage": "pl" });
    let visualize = || {
        app.http.post(format!("{}/ksefInvoiceVisualize", app.base)).bearer_auth(&app.api_key).header("Idempotency-Key", "pdf-1").json(&request).send()
    };
    let first = visualize().await.unwrap();
    assert_eq!(first.status(), 200, "{:?}", first.headers());
    let first = first.bytes().await.unwrap();
    let second = visualize().await.unwrap();
    assert!(second.headers().get("idempotent-replayed").is_none(), "a PDF is rendered again, not kept");
    assert_eq!(second.bytes().await.unwrap(), first, "the same PDF");
    let links = json!({ "nip": NIP, "issueDate": today(), "invoiceHash": ksef_core::crypto::sha256_base64(&xml) });
    let link = || app.http.post(format!("{}/ksefInvoiceLinks", app.base)).bearer_auth(&app.api_key).header("Idempotency-Key", "links-1").json(&links).send();
    assert_eq!(link().await.unwrap().status(), 200);
    assert_eq!(link().await.unwrap().headers()["idempotent-replayed"], "true", "a small answer is kept");

    #[cfg(unix)]
    if app.database_url.is_none() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: std::path::PathBuf| std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777;
        for file in ["gateway.sqlite", "emulator/emulator.sqlite"] {
            assert_eq!(mode(app.dir.path().join(file)), 0o600, "{file}");
        }
        assert_eq!(mode(app.dir.path().join("emulator")), 0o700);
    }
}

#[tokio::test]
async fn repeated_wrong_api_keys_from_one_address_are_refused_for_a_while() {
    let app = spawn_app().await;
    for i in 0..20 {
        let (status, code, _) = TestApp::error(app.get("/ksefPublicKey", &format!("kgw_wrong{i}")).await).await;
        assert_eq!((status, code.as_str()), (401, "1901"), "attempt {i}");
    }
    let refused = app.get("/ksefPublicKey", "kgw_wrong-again").await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let (status, code, body) = TestApp::error(refused).await;
    assert_eq!((status, code.as_str()), (429, "1905"), "{body}");
}

#[tokio::test]
async fn metrics_can_ask_for_a_token_or_be_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut with_token = settings(dir.path(), None, KsefSettings::default());
    with_token.metrics.bearer_token = Some("metrics-s3cret".to_owned());
    let app = spawn_with(with_token, dir, None).await;
    let url = format!("http://{}/metrics", app.app.address());
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(app.http.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    assert_eq!(app.http.get(&url).bearer_auth("metrics-s3cret").send().await.unwrap().status(), 200);

    let dir = tempfile::tempdir().unwrap();
    let mut off = settings(dir.path(), None, KsefSettings::default());
    off.metrics.enabled = false;
    let app = spawn_with(off, dir, None).await;
    assert_eq!(app.http.get(format!("http://{}/metrics", app.app.address())).send().await.unwrap().status(), 404);
}
