//! `ksefInvoiceSend` through the gateway against the same send straight to the emulator with our client, with
//! 200 concurrent senders: sends per second, latency at p50/p99, the process's CPU time and context switches per
//! send of both, and the gateway's added latency.
//!
//! Run with `cargo bench -p ksef-gateway --bench gateway_send`. `KSEF_BENCH_SECONDS` sets each phase's length
//! (default 10), `KSEF_BENCH_SENDERS` the senders (default 200), `KSEF_BENCH_RATE` the offered load of the
//! paced phases (default 300 sends/s), `KSEF_BENCH_DURABILITY=fast` commits without syncing (default: full),
//! `KSEF_BENCH_DATABASE=postgres` keeps the gateway's records in a new database on `TEST_DATABASE_URL`'s server
//! (default: SQLite in a temporary folder; the embedded emulator keeps its own SQLite either way).
//!
//! Two measurements per path: flat out (each sender sends as fast as answers come back: throughput, and a
//! latency that is mostly queueing, 200 / throughput), and paced (all senders together offer a fixed rate well
//! below saturation: the latency of a send itself, from which the gateway's added latency is read). Everything runs in this process:
//! the load generator, the gateway and its embedded emulator share the machine's cores, as they would on a
//! small server. Invoices are encrypted under the caller's key before the clock starts, so both phases send
//! the same bytes and the gateway forwards ciphertext it cannot read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ksef_client::wire::FormCode;
use ksef_client::{ContextClient, KsefClient, Credentials};
use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode, encrypt_cbc, sha256_base64};
use ksef_gateway::config::Settings;
use ksef_gateway::startup::Application;
use serde_json::{Value, json};
use support::invoice;

mod support;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}


struct Phase {
    sends: usize,
    failures: u64,
    seconds: f64,
    /// The whole process's CPU time over the phase (every thread: load, gateway, emulator), where it can be read.
    cpu_seconds: Option<f64>,
    /// Context switches of the process's threads over the phase, where they can be read: the hand-offs between
    /// threads (tokio's workers, a thread per SQLite connection) that cost more CPU than the work handed off.
    switches: Option<u64>,
    latencies: Vec<Duration>,
}

/// Context switches so far of this process's threads alive now (Linux; a thread ended since is not counted).
fn context_switches() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        total += status
            .lines()
            .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    (total > 0).then_some(total)
}

/// This process's CPU time so far (user and system, every thread), from `/proc/self/stat` (Linux; ticks of 10 ms).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) closed by its last ')': utime and stime are 14 and 15.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

impl Phase {
    fn pct(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(i).copied().unwrap_or_default()
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<10} {:>6} sends in {:.1} s = {:>5.0} sends/s ({} failed); p50 {:>6.2} ms, p99 {:>7.2} ms; CPU {} ms and {} context switches per send",
            self.sends,
            self.seconds,
            self.sends as f64 / self.seconds,
            self.failures,
            self.pct(0.5).as_secs_f64() * 1e3,
            self.pct(0.99).as_secs_f64() * 1e3,
            self.cpu_seconds.map_or("?".to_owned(), |c| format!("{:.2}", c * 1e3 / self.sends.max(1) as f64)),
            self.switches.map_or("?".to_owned(), |n| format!("{:.0}", n as f64 / self.sends.max(1) as f64)),
        );
    }
}

/// Runs one task per sender, each sending its prepared requests with `send` until the deadline; with `interval`,
/// each sender starts a send at most once per interval (staggered), otherwise back to back.
async fn run_phase<T, F, Fut>(prepared: Vec<Vec<T>>, seconds: u64, interval: Option<Duration>, send: F) -> Phase
where
    T: Send + Sync + 'static,
    F: Fn(usize, Arc<T>) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let switches_before = context_switches();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    let n = prepared.len().max(1) as u32;
    for (sender, requests) in prepared.into_iter().enumerate() {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut ticks = interval.map(|i| {
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + i * sender as u32 / n, i);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            for request in requests.into_iter().map(Arc::new) {
                if let Some(t) = ticks.as_mut() {
                    t.tick().await;
                }
                if Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                if send(sender, request).await {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await.expect("sender");
        latencies.extend(l);
        failures += f;
    }
    latencies.sort();
    let cpu_seconds = cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let switches = context_switches().zip(switches_before).map(|(after, before)| after.saturating_sub(before));
    Phase { sends: latencies.len(), failures, seconds: started.elapsed().as_secs_f64(), cpu_seconds, switches, latencies }
}

#[tokio::main]
async fn main() {
    let seconds = env("KSEF_BENCH_SECONDS", 10);
    let senders = env("KSEF_BENCH_SENDERS", 200) as usize;
    let rate = env("KSEF_BENCH_RATE", 300).max(1);
    let interval = Duration::from_secs_f64(senders as f64 / rate as f64);
    let per_sender = (seconds as usize * 5000 / senders).max(40);
    let dir = tempfile::tempdir().expect("temp dir");
    // The emulator limits nothing and the load is far beyond KSeF's published limits: no pacing.
    let mut settings = Settings { listen: "127.0.0.1:0".parse().expect("addr"), data_dir: dir.path().to_path_buf(), ..Settings::default() };
    settings.ksef.pacing = ksef_gateway::config::Pacing::Off;
    // `KSEF_BENCH_DURABILITY=fast`: commits not synced (what a power cut could cost), to see the sync's share.
    let fast = std::env::var("KSEF_BENCH_DURABILITY").is_ok_and(|d| d == "fast");
    if fast {
        settings.durability = ksef_gateway::config::DurabilitySetting::Fast;
    }
    let postgres = std::env::var("KSEF_BENCH_DATABASE").is_ok_and(|d| d == "postgres");
    if postgres {
        let url = ksef_store::testing::fresh_postgres_url().await.expect("KSEF_BENCH_DATABASE=postgres needs TEST_DATABASE_URL");
        settings.database_url = Some(url.expose().to_owned());
    }
    let app = Application::build(settings).await.expect("gateway");
    let api_key = app.demo_tenant().expect("demo tenant").api_key.clone();
    let nip = app.demo_tenant().expect("demo tenant").nip.clone();
    let emulator = app.emulator().expect("embedded emulator");
    let durability = if fast { "fast" } else { "full" };
    let engine = if postgres { "PostgreSQL" } else { "SQLite" };
    println!("gateway send benchmark: {senders} senders, {seconds} s per phase, {engine} (durability {durability}), one process");

    // Straight to the emulator with our client.
    let token = emulator.emulator().issue_token(&nip, None).await.expect("token").token;
    // The embedded emulator answers only requests carrying its access secret, as the gateway's do.
    let options = ksef_client::ClientOptions { headers: emulator.access_headers(), ..ksef_client::ClientOptions::default() };
    let ctx = Arc::new(ContextClient::new(KsefClient::with_options(&emulator.base_url(), options).expect("client"), Credentials::nip(&nip, &token)));
    let access = ctx.access_token().await.expect("auth");
    let mut direct = Vec::new();
    for s in 0..senders {
        let session = ctx.open_online_session(FormCode::fa3()).await.expect("session");
        let requests = (0..per_sender)
            .map(|i| (session.reference_number.clone(), session.key.encrypt_invoice(&invoice(&nip, &format!("D/{s}/{i}")))))
            .collect();
        direct.push(requests);
    }
    let client = ctx.client().clone();
    let send_direct = move |_, req: Arc<(String, ksef_client::wire::sessions::SendInvoiceRequest)>| {
        let (client, access) = (client.clone(), access.clone());
        async move { client.send_invoice(&access, &req.0, &req.1).await.is_ok() }
    };
    let (direct_paced, direct): (Vec<_>, Vec<_>) = direct.into_iter().map(|mut r: Vec<_>| {
        let rest = r.split_off(r.len() / 2);
        (r, rest)
    }).unzip();
    let direct_paced = run_phase(direct_paced, seconds, Some(interval), send_direct.clone()).await;
    let direct_phase = run_phase(direct, seconds, None, send_direct).await;

    // Through the gateway, each sender in its own session under its own key.
    let http = reqwest::Client::new();
    let base = format!("http://{}/api/v2", app.address());
    let pk: Value = http.get(format!("{base}/ksefPublicKey")).bearer_auth(&api_key).send().await.expect("pk").json().await.expect("json");
    let public = RsaPublicKey::from_spki_der(&b64_decode(pk["publicKey"].as_str().expect("key")).expect("b64")).expect("spki");
    let mut through = Vec::new();
    for s in 0..senders {
        let (key, iv) = (AesKey::generate(), Iv::generate());
        let body = json!({ "invoiceVersion": "v3", "encryptionInfo": { "encryptedKey": b64(&public.wrap(key.as_bytes()).expect("wrap")), "initVector": b64(iv.as_bytes()) } });
        let opened: Value = http.post(format!("{base}/ksefSessionOpenOnline")).bearer_auth(&api_key).json(&body).send().await.expect("open").json().await.expect("json");
        let session = opened["id"].as_str().expect("session id").to_owned();
        let requests = (0..per_sender)
            .map(|i| {
                let xml = invoice(&nip, &format!("G/{s}/{i}"));
                let body = json!({ "sessionId": session, "encrypted": {
                    "encryptedInvoice": b64(&encrypt_cbc(&key, &iv, &xml)), "invoiceHash": sha256_base64(&xml), "invoiceSize": xml.len() } });
                serde_json::to_vec(&body).expect("json")
            })
            .collect();
        through.push(requests);
    }
    let url = format!("{base}/ksefInvoiceSend");
    let send_gateway = move |_, body: Arc<Vec<u8>>| {
        let (http, url, api_key) = (http.clone(), url.clone(), api_key.clone());
        async move {
            let r = http.post(&url).bearer_auth(&api_key).header("content-type", "application/json").body(body.as_ref().clone()).send().await;
            r.is_ok_and(|r| r.status().is_success())
        }
    };
    let (gateway_paced, through): (Vec<_>, Vec<_>) = through.into_iter().map(|mut r: Vec<_>| {
        let rest = r.split_off(r.len() / 2);
        (r, rest)
    }).unzip();
    let gateway_paced = run_phase(gateway_paced, seconds, Some(interval), send_gateway.clone()).await;
    let gateway_phase = run_phase(through, seconds, None, send_gateway).await;

    println!("flat out:");
    direct_phase.print("  direct");
    gateway_phase.print("  gateway");
    println!("paced at {rate} sends/s:");
    direct_paced.print("  direct");
    gateway_paced.print("  gateway");
    let added = |p: f64| (gateway_paced.pct(p).as_secs_f64() - direct_paced.pct(p).as_secs_f64()) * 1e3;
    println!("added by the gateway at {rate} sends/s: p50 {:+.2} ms, p99 {:+.2} ms", added(0.5), added(0.99));
    app.shutdown().await.expect("shutdown");
}
