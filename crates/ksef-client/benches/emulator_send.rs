//! Accepted sends per second into the in-process emulator with 50 concurrent senders (rate limits off).
//!
//! Run with `cargo bench -p ksef-client --bench emulator_send`. `KSEF_BENCH_SECONDS` sets the sending time
//! (default 10), `KSEF_BENCH_SENDERS` the number of senders (default 50). Invoices are encrypted before the
//! clock starts, so the figure is the emulator's: HTTP, JSON, hash checks, AES decryption and a durable
//! SQLite commit per invoice. It also reports how long background processing (KSeF numbers) takes to catch up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ksef_client::wire::FormCode;
use ksef_client::{ContextClient, KsefClient, Credentials};
use ksef_emulator::{EmulatorConfig, EmulatorServer};

const NIP: &str = "5265877635";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn invoice(number: &str) -> Vec<u8> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string();
    ksef_fa::example::invoice(NIP, "1111111111", number, &today, 1).into_bytes()
}

#[tokio::main]
async fn main() {
    let seconds = env("KSEF_BENCH_SECONDS", 10);
    let senders = env("KSEF_BENCH_SENDERS", 50) as usize;
    let per_sender = (seconds as usize * 3000 / senders).max(50);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = EmulatorServer::bind("127.0.0.1:0".parse().expect("addr"), EmulatorConfig::new(dir.path())).await.expect("emulator");
    let token = server.emulator().issue_token(NIP, None).await.expect("token").token;
    let ctx = Arc::new(ContextClient::new(KsefClient::new(&server.base_url()).expect("client"), Credentials::nip(NIP, &token)));
    let access = ctx.access_token().await.expect("auth");

    let mut prepared = Vec::new();
    for s in 0..senders {
        let session = ctx.open_online_session(FormCode::fa3()).await.expect("session");
        let requests: Vec<_> =
            (0..per_sender).map(|i| session.key.encrypt_invoice(&invoice(&format!("BENCH/{s}/{i}")))).collect();
        prepared.push((session.reference_number, requests));
    }

    println!("emulator send benchmark: {senders} senders, {seconds} s, rate limits off");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (session, requests) in prepared {
        let client = ctx.client().clone();
        let access = access.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            for request in &requests {
                if Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                match client.send_invoice(&access, &session, request).await {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(err) => {
                        failures += 1;
                        eprintln!("send failed: {err}");
                    }
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
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or_default();
    let accepted = latencies.len();
    println!("accepted sends:   {accepted} in {elapsed:.1} s = {:.0} sends/s ({failures} failed)", accepted as f64 / elapsed);
    println!("latency:          p50 {:.1} ms, p99 {:.1} ms", pct(0.50).as_secs_f64() * 1e3, pct(0.99).as_secs_f64() * 1e3);

    // How long until every accepted invoice has its KSeF number.
    while !hwm_caught_up(&ctx, &access).await {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = started.elapsed().as_secs_f64();
    println!("all processed:    {accepted} KSeF numbers after {all:.1} s = {:.0} invoices/s end to end", accepted as f64 / all);
    server.shutdown().await.expect("shutdown");
}

/// True once no invoice is waiting for processing, i.e. the permanent-storage high-water mark reached now.
async fn hwm_caught_up(ctx: &ContextClient, access: &str) -> bool {
    let now = chrono::Utc::now();
    let filters = ksef_client::wire::invoices::InvoiceQueryFilters {
        subject_type: ksef_client::wire::invoices::InvoiceQuerySubjectType::Subject1,
        date_range: ksef_client::wire::invoices::InvoiceQueryDateRange {
            date_type: ksef_client::wire::invoices::InvoiceQueryDateType::PermanentStorage,
            from: now - chrono::Duration::hours(1),
            to: None,
            restrict_to_permanent_storage_hwm_date: None,
        },
        ksef_number: Some("5265877635-20250826-0100001AF629-AF".into()),
        invoice_number: None, amount: None, seller_nip: None, buyer_identifier: None,
        currency_codes: None, invoicing_mode: None, is_self_invoicing: None, form_type: None, invoice_types: None, has_attachment: None,
    };
    let page = ksef_client::MetadataPage { descending: false, offset: 0, size: 10 };
    let r = ctx.client().query_invoice_metadata(access, &filters, page).await.expect("query");
    r.permanent_storage_hwm_date.is_some_and(|hwm| hwm >= now)
}
