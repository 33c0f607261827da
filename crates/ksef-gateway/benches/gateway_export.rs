//! Exporting 10,000 invoices end to end: straight from the emulator with our client (the reference), through
//! the gateway's search API (start, status, one streamed ZIP), and with `ksef-gateway export` writing files.
//! Prints seconds, MB/s of the ZIP, and peak memory (VmHWM) of this process and of the export process.
//!
//! Run with `cargo bench -p ksef-gateway --bench gateway_export`; `KSEF_BENCH_INVOICES` sets the count
//! (default 10,000, KSeF's package limit). Everything runs on this machine: the emulator builds each package
//! (ZIP, encrypt) the same way for all three paths, so the time KSeF takes to build it is shown apart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use ksef_client::wire::FormCode;
use ksef_client::wire::invoices::{InvoiceExportRequest, InvoiceQueryDateRange, InvoiceQueryDateType, InvoiceQueryFilters, InvoiceQuerySubjectType};
use ksef_client::{ContextClient, KsefClient, SymmetricKey, Credentials};
use ksef_gateway::config::Settings;
use ksef_gateway::startup::Application;
use serde_json::{Value, json};
use support::invoice;

mod support;

/// Peak resident memory of process `pid` so far, in MiB.
fn peak_rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Measured {
    build: Duration,
    total: Duration,
    bytes: u64,
}

impl Measured {
    fn print(&self, name: &str, invoices: usize) {
        let download = self.total - self.build;
        println!(
            "{name:<9} {:>6.2} s total ({:.2} s KSeF builds the package, {:.2} s download), {:>6.1} MB ZIP, {:>6.1} MB/s overall, {:>6.1} MB/s download, {:>6.0} invoices/s",
            self.total.as_secs_f64(),
            self.build.as_secs_f64(),
            download.as_secs_f64(),
            self.bytes as f64 / 1e6,
            self.bytes as f64 / 1e6 / self.total.as_secs_f64(),
            self.bytes as f64 / 1e6 / download.as_secs_f64(),
            invoices as f64 / self.total.as_secs_f64()
        );
    }
}

fn filters(from: chrono::DateTime<chrono::Utc>) -> InvoiceQueryFilters {
    InvoiceQueryFilters::new(
        InvoiceQuerySubjectType::Subject1,
        InvoiceQueryDateRange {
            date_type: InvoiceQueryDateType::PermanentStorage,
            from,
            to: None,
            restrict_to_permanent_storage_hwm_date: Some(true),
        },
    )
}

async fn direct(ctx: &ContextClient, from: chrono::DateTime<chrono::Utc>) -> Measured {
    let started = Instant::now();
    let key = SymmetricKey::generate(&ctx.keys().await.expect("keys")).expect("key");
    let request = InvoiceExportRequest { encryption: key.encryption.clone(), only_metadata: None, filters: filters(from), compression_type: None };
    let access = ctx.access_token().await.expect("access");
    let export = ctx.client().start_export(&access, &request).await.expect("export");
    let package = loop {
        let s = ctx.client().export_status(&access, &export.reference_number).await.expect("status");
        if s.status.code == 200 {
            break s.package.expect("package");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let build = started.elapsed();
    let mut stream = ksef_client::decrypted_package(ctx.client().clone(), package.parts, key.key, key.iv).await.expect("package");
    let mut bytes = 0;
    while let Some(chunk) = stream.next().await {
        bytes += chunk.expect("chunk").len() as u64;
    }
    Measured { build, total: started.elapsed(), bytes }
}

async fn through_gateway(http: &reqwest::Client, base: &str, api_key: &str, from: &str) -> Measured {
    let started = Instant::now();
    let r: Value = http
        .post(format!("{base}/ksefInvoiceQueryStart"))
        .bearer_auth(api_key)
        .json(&json!({ "subjectType": "subject1", "range": { "from": from } }))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let query = r["queryId"].as_str().expect("queryId").to_owned();
    loop {
        let s: Value = http.get(format!("{base}/ksefInvoiceQueryStatus/{query}")).bearer_auth(api_key).send().await.expect("status").json().await.expect("json");
        if s["status"]["code"] == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let build = started.elapsed();
    let response = http.get(format!("{base}/ksefInvoiceQueryResult/{query}/1")).bearer_auth(api_key).send().await.expect("result");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut bytes = 0;
    while let Some(chunk) = body.next().await {
        bytes += chunk.expect("chunk").len() as u64;
    }
    Measured { build, total: started.elapsed(), bytes }
}

#[tokio::main]
async fn main() {
    let invoices: usize = std::env::var("KSEF_BENCH_INVOICES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    // The emulator limits nothing and the load is far beyond KSeF's published limits: no pacing.
    let mut settings = Settings { listen: "127.0.0.1:0".parse().expect("addr"), data_dir: dir.path().to_path_buf(), ..Settings::default() };
    settings.ksef.pacing = ksef_gateway::config::Pacing::Off;
    let app = Application::build(settings).await.expect("gateway");
    let demo = app.demo_tenant().expect("demo tenant");
    let (api_key, nip) = (demo.api_key.clone(), demo.nip.clone());
    let emulator = app.emulator().expect("embedded emulator");
    let token = emulator.emulator().issue_token(&nip, None).await.expect("token").token;
    // The embedded emulator answers only requests carrying its access secret, as the gateway's do.
    let options = ksef_client::ClientOptions { headers: emulator.access_headers(), ..ksef_client::ClientOptions::default() };
    let ctx = Arc::new(ContextClient::new(KsefClient::with_options(&emulator.base_url(), options).expect("client"), Credentials::nip(&nip, &token)));

    let from = chrono::Utc::now() - chrono::Duration::minutes(1);
    let filled = Instant::now();
    let mut sessions = Vec::new();
    for chunk in (0..invoices).collect::<Vec<_>>().chunks(5_000) {
        let session = Arc::new(ctx.open_online_session(FormCode::fa3()).await.expect("session"));
        futures_util::stream::iter(chunk.to_vec())
            .map(|i| {
                let (ctx, session, nip) = (ctx.clone(), session.clone(), nip.clone());
                async move { session.send(&ctx, &invoice(&nip, &format!("FV/BENCH/{i}"))).await.expect("send") }
            })
            .buffer_unordered(50)
            .collect::<Vec<_>>()
            .await;
        sessions.push((session, chunk.len()));
    }
    for (session, sent) in &sessions {
        loop {
            let access = ctx.access_token().await.expect("access");
            let s = ctx.client().session_status(&access, &session.reference_number).await.expect("status");
            if s.successful_invoice_count.unwrap_or(0) as usize == *sent {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!("{invoices} invoices stored in KSeF (the embedded emulator) in {:.1} s", filled.elapsed().as_secs_f64());
    let before = peak_rss_mib("self");

    let reference = direct(&ctx, from).await;
    reference.print("direct", invoices);
    let http = reqwest::Client::new();
    let base = format!("http://{}/api/v2", app.address());
    let gateway = through_gateway(&http, &base, &api_key, &from.to_rfc3339()).await;
    gateway.print("gateway", invoices);
    println!(
        "gateway / direct: {:.2}x the time overall, {:.2}x for the download alone",
        gateway.total.as_secs_f64() / reference.total.as_secs_f64(),
        (gateway.total - gateway.build).as_secs_f64() / (reference.total - reference.build).as_secs_f64()
    );
    println!("peak RSS of the gateway process (gateway + emulator + load): {before:.0} MiB before the exports, {:.0} MiB after", peak_rss_mib("self"));

    let out = tempfile::tempdir().expect("out dir");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
        .args(["export", "--gateway", &format!("http://{}", app.address()), "--api-key", &api_key, "--from", &from.to_rfc3339()])
        .args(["--subject", "sales", "--out", out.path().to_str().expect("utf-8 path")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("export runs");
    let pid = child.id().expect("pid").to_string();
    let mut peak: f64 = 0.0;
    let status = loop {
        peak = peak.max(peak_rss_mib(&pid));
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let elapsed = started.elapsed();
    assert!(status.success(), "export failed");
    let files = std::fs::read_dir(out.path()).expect("out").filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".xml"))).count();
    assert_eq!(files, invoices, "every invoice written");
    println!(
        "cli       {:>6.2} s for {files} invoices written as .xml + .json ({:.0} invoices/s, {:.1} MB/s of ZIP); peak RSS of the export process {peak:.0} MiB",
        elapsed.as_secs_f64(),
        files as f64 / elapsed.as_secs_f64(),
        gateway.bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    app.shutdown().await.expect("clean shutdown");
}
