//! Memory of PDF visualization in the real `ksef-gateway` binary: its resident set before, at the peak of, and
//! after rounds of renders of the largest invoice a PDF takes (`ksef_pdf::MAX_TABLE_ROWS` lines), so we can see
//! the memory come back to the system once the renders are done.
//!
//! Run with `cargo bench -p ksef-gateway --bench render_memory`. `KSEF_BENCH_ROUNDS` sets the rounds (default
//! 3), each two renders at once from two tenants' worth of share (the demo tenant's share is two jobs).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The resident set of process `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0.0);
    kib / 1024.0
}

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    if !std::path::Path::new("/proc/self/status").exists() {
        println!("render_memory: needs /proc (Linux); skipped");
        return;
    }
    let rounds: usize = std::env::var("KSEF_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env_remove("KSEF_GATEWAY_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the ksef-gateway binary starts");
    let gateway = Gateway(child);
    let pid = gateway.0.id();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let demo = dir.path().join("demo-tenant.json");
    for _ in 0..600 {
        if demo.exists() && http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let key = serde_json::from_slice::<Value>(&std::fs::read(&demo).expect("demo tenant"))
        .expect("demo tenant JSON")["apiKey"]
        .as_str()
        .expect("an API key")
        .to_owned();

    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string();
    // Just under the bound: the VAT summary is a table too.
    let lines = ksef_pdf::MAX_TABLE_ROWS - 10;
    let xml = ksef_fa::example::invoice("5265877635", "1111111111", "FV/MEM", &today, lines);
    let body = json!({ "invoiceData": ksef_core::crypto::b64(xml.as_bytes()), "outputFormat": "pdf", "outputLanguage": "pl" });
    let render = || async {
        let started = Instant::now();
        let r = http.post(format!("{base}/api/v2/ksefInvoiceVisualize")).bearer_auth(&key).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        (r.bytes().await.unwrap().len(), started.elapsed())
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mib(pid);
    // Warm up (fonts, the template), so the baseline holds what every later render needs anyway.
    let (pdf_bytes, _) = render().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = rss_mib(pid);

    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_mib(pid) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..rounds {
        let (a, b) = tokio::join!(render(), render());
        slowest = slowest.max(a.1).max(b.1);
    }
    let elapsed = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let right_after = rss_mib(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after_10 = rss_mib(pid);
    // Idle blocking threads end after 10 s; what their heaps held goes with them.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let settled = rss_mib(pid);
    // A small invoice next: does what stayed belong to the last large render, or to the process?
    let small = ksef_fa::example::invoice("5265877635", "1111111111", "FV/SMALL", &today, 1);
    let small = json!({ "invoiceData": ksef_core::crypto::b64(small.as_bytes()), "outputFormat": "pdf", "outputLanguage": "pl" });
    let r = http.post(format!("{base}/api/v2/ksefInvoiceVisualize")).bearer_auth(&key).json(&small).send().await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_small = rss_mib(pid);
    let peak = peak.load(Ordering::Relaxed) as f64;
    println!("render_memory: {lines} lines, PDF {} KiB, {} renders (2 at a time) in {:.1} s, slowest {:.2} s", pdf_bytes / 1024, 2 * rounds, elapsed.as_secs_f64(), slowest.as_secs_f64());
    println!("render_memory: RSS idle before any render {idle:.0} MiB, after one render {baseline:.0} MiB, peak {peak:.0} MiB, right after {right_after:.0} MiB, 10 s later {after_10:.0} MiB, 30 s later {settled:.0} MiB");
    println!("render_memory: after one small invoice's PDF next: {after_small:.0} MiB");
    println!("render_memory: 30 s after the last render the process holds {:.0} MiB more than before the first (settled/idle = {:.2}; peak/idle = {:.2})", settled - idle, settled / idle, peak / idle);
}
