//! Batch packages: packaging throughput against `openssl enc -aes-256-cbc` over the same bytes, peak memory
//! while packaging and uploading a 2 GB package, and 10,000 invoices end to end into the in-process emulator.
//!
//! Run with `cargo bench -p ksef-client --bench batch`. `KSEF_BENCH_PACKAGE_MB` sets the size of the large
//! package (default 2000; MB = 10^6 bytes). Peak memory is the process's high-water mark (`VmHWM`) and is
//! measured first, before anything else has grown the process. Packages are written to a temporary directory.

use std::io::Cursor;
use std::process::Command;
use std::time::{Duration, Instant};

use ksef_client::wire::FormCode;
use ksef_client::{BatchPackager, ContextClient, KsefClient, SymmetricKey, Credentials};
use ksef_core::crypto::{AesKey, Iv};
use ksef_emulator::{EmulatorConfig, EmulatorServer};

const NIP: &str = "5265877635";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A valid FA(3) invoice of about `size` bytes: its lines make up the bulk.
fn invoice(number: &str, size: usize) -> Vec<u8> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string();
    let lines = size.saturating_sub(1_300) / 170;
    ksef_fa::example::invoice(NIP, "1111111111", number, &today, lines.max(1)).into_bytes()
}

/// The process's peak resident memory so far, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Seconds `openssl enc -aes-256-cbc` takes to encrypt `path` (best of three), if openssl is installed.
fn openssl_enc_seconds(path: &std::path::Path) -> Option<f64> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let status = Command::new("openssl")
            .args(["enc", "-aes-256-cbc", "-K", &"11".repeat(32), "-iv", &"22".repeat(16), "-in"])
            .arg(path)
            .args(["-out", "/dev/null"])
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    Some(best)
}

async fn emulator(dir: &std::path::Path) -> (EmulatorServer, ContextClient) {
    let server = EmulatorServer::bind("127.0.0.1:0".parse().expect("addr"), EmulatorConfig::new(dir)).await.expect("emulator");
    let token = server.emulator().issue_token(NIP, None).await.expect("token").token;
    let ctx = ContextClient::new(KsefClient::new(&server.base_url()).expect("client"), Credentials::nip(NIP, &token))
        .with_polling(ksef_client::Polling { interval: Duration::from_millis(50), timeout: Duration::from_secs(1800) });
    (server, ctx)
}

#[tokio::main]
async fn main() {
    let work = tempfile::tempdir().expect("temp dir");

    // 1. Peak memory: a large package generated invoice by invoice, packaged to disk and uploaded.
    let package_mb = env("KSEF_BENCH_PACKAGE_MB", 2000);
    let count = 10_000usize;
    let each = (package_mb as usize * 1_000_000 / count).min(2_900_000);
    let (server, ctx) = emulator(&work.path().join("emulator-rss")).await;
    let key = SymmetricKey::generate(&ctx.keys().await.expect("keys")).expect("key");
    let started = Instant::now();
    let files = (0..count).map(|i| Ok((format!("big-{i:05}.xml"), Cursor::new(invoice(&format!("RSS/{i}"), each)))));
    let parts_dir = work.path().join("rss-parts");
    let package = tokio::task::block_in_place(|| {
        BatchPackager::default().compressed(false).package(files, &key.key, &key.iv, &parts_dir).expect("package")
    });
    let packaged = started.elapsed().as_secs_f64();
    let session = ctx.open_batch_session(FormCode::fa3(), &package, &key, false).await.expect("open");
    let upload_started = Instant::now();
    session.upload(ctx.client(), &package.parts, 4, |_| {}).await.expect("upload");
    let uploaded = upload_started.elapsed().as_secs_f64();
    let mb = package.file.file_size as f64 / 1e6;
    println!("large package: {count} invoices, {mb:.0} MB stored in {} parts", package.parts.len());
    println!("  packaged in {packaged:.1} s ({:.0} MB/s), uploaded to the emulator in {uploaded:.1} s ({:.0} MB/s, 4 at a time)", mb / packaged, mb / uploaded);
    println!("  peak RSS while packaging and uploading: {:.0} MiB (goal < 200)", peak_rss_mib());
    drop(session);
    server.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(&parts_dir).ok();
    std::fs::remove_dir_all(work.path().join("emulator-rss")).ok();

    // 2. Packaging throughput against openssl over the same bytes: 10,000 invoices of ~20 kB in memory.
    let invoices: Vec<(String, Vec<u8>)> = (0..count).map(|i| (format!("fv-{i:05}.xml"), invoice(&format!("T/{i}"), 20_000))).collect();
    let input_bytes: usize = invoices.iter().map(|(_, c)| c.len()).sum();
    let concatenated = work.path().join("invoices.bin");
    std::fs::write(&concatenated, invoices.iter().flat_map(|(_, c)| c.iter().copied()).collect::<Vec<u8>>()).expect("write");
    let reference = openssl_enc_seconds(&concatenated);
    let (key, iv) = (AesKey::generate(), Iv::generate());
    println!(
        "packaging {count} invoices, {:.0} MB of XML (zip + split into 100 MB parts + encrypt on one thread, both hashes and the writes on another):",
        input_bytes as f64 / 1e6
    );
    for (label, compress) in [("stored   ", false), ("deflate 1", true)] {
        let mut best = f64::MAX;
        let mut size = 0;
        for round in 0..3 {
            let dir = work.path().join(format!("pkg-{compress}-{round}"));
            let files = invoices.iter().map(|(n, c)| Ok((n.clone(), Cursor::new(c.as_slice()))));
            let started = Instant::now();
            let package = BatchPackager::default().compressed(compress).package(files, &key, &iv, &dir).expect("package");
            best = best.min(started.elapsed().as_secs_f64());
            size = package.file.file_size;
            std::fs::remove_dir_all(&dir).ok();
        }
        let ours = input_bytes as f64 / 1e6 / best;
        match reference {
            Some(openssl) => {
                let theirs = input_bytes as f64 / 1e6 / openssl;
                println!("  {label}: {ours:6.0} MB/s of invoices (package {:.0} MB); openssl enc -aes-256-cbc {theirs:.0} MB/s; ratio {:.2}", size as f64 / 1e6, ours / theirs);
            }
            None => println!("  {label}: {ours:6.0} MB/s of invoices (package {:.0} MB); openssl not installed", size as f64 / 1e6),
        }
    }

    // 3. End to end: 10,000 invoices packaged, uploaded, processed, and their KSeF numbers listed.
    let (server, ctx) = emulator(&work.path().join("emulator-e2e")).await;
    let started = Instant::now();
    let key = SymmetricKey::generate(&ctx.keys().await.expect("keys")).expect("key");
    let small: Vec<(String, Vec<u8>)> = (0..count).map(|i| (format!("e2e-{i:05}.xml"), invoice(&format!("E2E/{i}"), 1_500))).collect();
    let files = small.iter().map(|(n, c)| Ok((n.clone(), Cursor::new(c.as_slice()))));
    let package = BatchPackager::default().package(files, &key.key, &key.iv, &work.path().join("e2e-parts")).expect("package");
    let session = ctx.open_batch_session(FormCode::fa3(), &package, &key, false).await.expect("open");
    session.upload(ctx.client(), &package.parts, 4, |_| {}).await.expect("upload");
    session.close(&ctx).await.expect("close");
    let status = session.wait_until_processed(&ctx).await.expect("processed");
    let listed = session.invoices(&ctx).await.expect("invoices");
    let numbered = listed.iter().filter(|i| i.ksef_number.is_some()).count();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "end to end: {count} invoices packaged, uploaded, processed (status {}) and listed in {elapsed:.1} s = {:.0} invoices/s; {numbered} KSeF numbers",
        status.status.code,
        count as f64 / elapsed
    );
    server.shutdown().await.expect("shutdown");
}
