//! The outbox under load and under KSeF's failures: invoices submitted without sessions (`POST /api/v2/invoices`)
//! until every one has KSeF's verdict, three times: with KSeF healthy, with KSeF failing a share of requests in
//! every way the emulator can (errors, lost answers, 429 bursts, latency), and with KSeF unavailable while they are
//! submitted and back afterwards. Prints invoices/s delivered in each phase, the faulty phase as a ratio of the
//! healthy one, and how long the backlog took to drain once KSeF was back; then checks exactly-once (every invoice
//! accepted, no KSeF number twice).
//!
//! Run with `cargo bench -p ksef-gateway --bench outbox`. `KSEF_BENCH_INVOICES` sets the invoices per phase
//! (default 10,000), `KSEF_BENCH_TENANTS` the tenants submitting at once (default 8, four submitters each),
//! `KSEF_BENCH_DURABILITY` `full` (default) or `fast`, `KSEF_BENCH_BATCH_FROM` the queue length sent as a batch
//! (default the gateway's, 100; 0: never).
//! Everything runs in this process on SQLite, the embedded emulator without rate limits (KSeF's published
//! limits would make this a measurement of them, not of the gateway).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ksef_core::crypto::b64;
use ksef_emulator::{EndpointGroup, FaultKind, FaultRule};
use ksef_gateway::config::Settings;
use ksef_gateway::startup::Application;
use ksef_store::DeliveryState;
use serde_json::json;
use support::invoice;

mod support;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A NIP with a valid checksum, from a 9-digit stem.
fn nip(stem: u64) -> String {
    let digits: Vec<u64> = format!("{stem:09}").bytes().map(|b| u64::from(b - b'0')).collect();
    let check = [6, 5, 7, 2, 3, 4, 5, 6, 7].iter().zip(&digits).map(|(w, d)| w * d).sum::<u64>() % 11;
    if check == 10 { nip(stem + 1) } else { format!("{stem:09}{check}") }
}

/// The counts of invoices by delivery state.
async fn counts(app: &Application) -> std::collections::HashMap<DeliveryState, i64> {
    app.ops().store.invoice_counts().await.expect("counts").into_iter().collect()
}

async fn finished(app: &Application) -> i64 {
    let c = counts(app).await;
    [DeliveryState::Accepted, DeliveryState::Rejected, DeliveryState::Duplicate].iter().map(|s| c.get(s).copied().unwrap_or(0)).sum()
}

/// Submits `per_tenant` invoices for each tenant, four submitters per tenant, retrying 429s as Retry-After says.
async fn submit_all(base: &str, tenants: &[(String, String)], per_tenant: usize, phase: &str) -> Duration {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (key, nip) in tenants {
        for submitter in 0..4 {
            let (http, key, nip, base, phase) = (http.clone(), key.clone(), nip.clone(), base.to_owned(), phase.to_owned());
            tasks.push(tokio::spawn(async move {
                for n in (submitter..per_tenant).step_by(4) {
                    let body = json!({ "invoice": b64(&invoice(&nip, &format!("{phase}/{n}"))), "offline": "never" });
                    loop {
                        let r = http.post(format!("{base}/api/v2/invoices")).bearer_auth(&key).json(&body).send().await;
                        match r {
                            Ok(r) if r.status() == 202 => break,
                            Ok(r) if r.status() == 429 => tokio::time::sleep(Duration::from_millis(5)).await,
                            Ok(r) => panic!("submit answered {}: {}", r.status(), r.text().await.unwrap_or_default()),
                            Err(e) => panic!("submit failed: {e}"),
                        }
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("submitter");
    }
    started.elapsed()
}

/// When half, nine in ten, and all of a phase's invoices had their verdicts.
struct Drained {
    half: Instant,
    most: Instant,
    all: Instant,
}

/// Waits until `target` invoices have a verdict (`before` of them had one when the phase began).
async fn drained(app: &Application, before: i64, target: i64, limit: Duration) -> Drained {
    let deadline = Instant::now() + limit;
    let (mut half, mut most) = (None, None);
    loop {
        let done = finished(app).await - before;
        let phase = target - before;
        if half.is_none() && done * 2 >= phase {
            half = Some(Instant::now());
        }
        if most.is_none() && done * 10 >= phase * 9 {
            most = Some(Instant::now());
        }
        if done >= phase {
            let all = Instant::now();
            return Drained { half: half.unwrap_or(all), most: most.unwrap_or(all), all };
        }
        assert!(Instant::now() < deadline, "only {} of {target} invoices have a verdict after {limit:?}: {:?}", finished(app).await, counts(app).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() {
    let per_phase = env("KSEF_BENCH_INVOICES", 10_000) as usize;
    let tenant_count = env("KSEF_BENCH_TENANTS", 8) as usize;
    let per_tenant = per_phase.div_ceil(tenant_count);
    let per_phase = per_tenant * tenant_count;
    let dir = tempfile::tempdir().expect("temp dir");
    // The emulator limits nothing and the load is far beyond KSeF's published limits: no pacing.
    let mut settings = Settings { listen: "127.0.0.1:0".parse().expect("addr"), data_dir: dir.path().to_path_buf(), ..Settings::default() };
    settings.ksef.pacing = ksef_gateway::config::Pacing::Off;
    let fast = std::env::var("KSEF_BENCH_DURABILITY").is_ok_and(|v| v == "fast");
    settings.durability = if fast { ksef_gateway::config::DurabilitySetting::Fast } else { ksef_gateway::config::DurabilitySetting::Full };
    let batch_from = env("KSEF_BENCH_BATCH_FROM", ksef_gateway::ops::DEFAULT_BATCH_FROM as u64);
    settings.ksef.batch_from = Some(batch_from);
    let app = Application::build(settings).await.expect("gateway");
    let base = format!("http://{}", app.address());
    let emulator = app.emulator().expect("embedded emulator");
    let mut tenants = Vec::new();
    for t in 0..tenant_count {
        let nip = nip(526_587_700 + t as u64 * 7);
        let token = emulator.emulator().issue_token(&nip, None).await.expect("token").token;
        let added = ksef_gateway::ops::tenants::add(app.ops(), &format!("Bench {t}"), &nip, &token).await.expect("tenant");
        tenants.push((added.api_key.expose().to_owned(), nip));
    }
    println!(
        "outbox benchmark: {per_phase} invoices per phase, {tenant_count} tenants x 4 submitters, SQLite ({} durability), embedded emulator, batches from {batch_from}",
        if fast { "fast" } else { "full" }
    );
    let limit = Duration::from_secs(1800);

    // 1. KSeF healthy.
    let started = Instant::now();
    let submitting = submit_all(&base, &tenants, per_tenant, "OK").await;
    let done = drained(&app, 0, per_phase as i64, limit).await;
    let healthy = per_phase as f64 / (done.all - started).as_secs_f64();
    println!(
        "healthy:     submitted in {:>6.1} s ({:>5.0}/s); verdicts for 50% after {:>5.1} s, 90% {:>5.1} s, all {:>5.1} s = {healthy:>5.0} invoices/s",
        submitting.as_secs_f64(),
        per_phase as f64 / submitting.as_secs_f64(),
        (done.half - started).as_secs_f64(),
        (done.most - started).as_secs_f64(),
        (done.all - started).as_secs_f64()
    );

    println!("verdicts so far: {:?}", counts(&app).await);
    // 2. KSeF failing: a share of sends fail (500), are taken and then answered 500, or cut; 429 bursts; latency.
    let faults = emulator.faults();
    for rule in [
        FaultRule { endpoints: EndpointGroup::Send, share: 0.10, ..FaultRule::new(FaultKind::Error) },
        FaultRule { endpoints: EndpointGroup::Send, share: 0.05, ..FaultRule::new(FaultKind::AcceptedThenError) },
        FaultRule { endpoints: EndpointGroup::Send, share: 0.02, ..FaultRule::new(FaultKind::AcceptedThenDisconnect) },
        FaultRule { endpoints: EndpointGroup::All, share: 0.05, retry_after_secs: Some(1), ..FaultRule::new(FaultKind::RateLimit) },
        FaultRule { endpoints: EndpointGroup::SessionRead, share: 0.10, status: Some(502), ..FaultRule::new(FaultKind::Error) },
        FaultRule { endpoints: EndpointGroup::All, latency_ms: Some(20), ..FaultRule::new(FaultKind::Latency) },
    ] {
        faults.add(rule).expect("fault rule");
    }
    let started = Instant::now();
    let submitting = submit_all(&base, &tenants, per_tenant, "FAULTS").await;
    let done = drained(&app, per_phase as i64, 2 * per_phase as i64, limit).await;
    let faulty = per_phase as f64 / (done.all - started).as_secs_f64();
    let hits: u64 = faults.list().iter().map(|f| f.hits).sum();
    faults.clear();
    println!(
        "with faults: submitted in {:>6.1} s; verdicts for 50% after {:>5.1} s, 90% {:>5.1} s, all {:>5.1} s = {faulty:>5.0} invoices/s = {:.2} x healthy ({hits} faults injected)",
        submitting.as_secs_f64(),
        (done.half - started).as_secs_f64(),
        (done.most - started).as_secs_f64(),
        (done.all - started).as_secs_f64(),
        faulty / healthy
    );

    println!("verdicts so far: {:?}", counts(&app).await);
    // 3. KSeF unavailable while the invoices are submitted; then back.
    let outage = faults.add(FaultRule { endpoints: EndpointGroup::All, retry_after_secs: Some(1), ..FaultRule::new(FaultKind::Unavailable) }).expect("outage");
    let submitting = submit_all(&base, &tenants, per_tenant, "OUTAGE").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = counts(&app).await.get(&DeliveryState::Queued).copied().unwrap_or(0);
    faults.remove(&outage.id);
    let back = Instant::now();
    let done = drained(&app, 2 * per_phase as i64, 3 * per_phase as i64, limit).await;
    let drain = (done.all - back).as_secs_f64();
    println!(
        "outage:      submitted in {:>6.1} s while KSeF was down ({waiting} queued); backlog drained {drain:>6.1} s after KSeF came back = {:>5.0} invoices/s",
        submitting.as_secs_f64(),
        per_phase as f64 / drain
    );

    // Exactly once: every invoice accepted, and no KSeF number given twice.
    let c = counts(&app).await;
    let accepted = c.get(&DeliveryState::Accepted).copied().unwrap_or(0) + c.get(&DeliveryState::Duplicate).copied().unwrap_or(0);
    println!("verdicts: {c:?}");
    assert_eq!(accepted, 3 * per_phase as i64, "every invoice accepted once");
    let numbers = app.ops().store.ksef_numbers().await.expect("numbers");
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), numbers.len(), "no KSeF number for two invoices");
    println!("exactly once: {} invoices, {} distinct KSeF numbers", numbers.len(), distinct.len());
}
