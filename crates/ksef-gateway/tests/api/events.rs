//! Events: webhooks signed as Standard Webhooks (checked with its reference verifier), delivered at least once
//! through a receiver's outage, received invoices synced from KSeF (more than its 10,000 per package), the events
//! list, and what a webhook may not be.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use ksef_core::crypto::b64;
use serde_json::{Value, json};

use crate::helpers::{NIP, OTHER_NIP, TestApp, fill_emulator, gateway_with_emulator_and, invoice};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Got {
    headers: HeaderMap,
    body: Bytes,
    at: DateTime<Utc>,
    /// Whether the receiver answered 2xx.
    taken: bool,
}

/// A webhook receiver on port 0 that keeps what it gets, answering `status` (204 by default).
#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<Got>>,
    status: AtomicU16,
    hang: AtomicBool,
}

impl Receiver {
    async fn start() -> (Arc<Receiver>, String) {
        let receiver = Arc::new(Receiver { status: AtomicU16::new(204), ..Receiver::default() });
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    /// The events taken (2xx), by `webhook-id`, each with how many times it was taken.
    fn taken(&self) -> BTreeMap<String, (usize, Value, DateTime<Utc>)> {
        let mut out: BTreeMap<String, (usize, Value, DateTime<Utc>)> = BTreeMap::new();
        for g in self.got.lock().unwrap().iter().filter(|g| g.taken) {
            let id = g.headers["webhook-id"].to_str().unwrap().to_owned();
            let entry = out.entry(id).or_insert((0, serde_json::from_slice(&g.body).unwrap(), g.at));
            entry.0 += 1;
        }
        out
    }

    fn of_type(&self, kind: &str) -> Vec<Value> {
        self.taken().into_values().map(|(_, v, _)| v).filter(|v| v["type"] == kind).collect()
    }
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if r.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let status = StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap();
    r.got.lock().unwrap().push(Got { headers, body, at: Utc::now(), taken: status.is_success() });
    status
}

/// Polls `check` every 100 ms until it gives a value, for at most `limit`.
async fn eventually<T>(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < until, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Subscribes `url` for the tenant of `key`; returns (id, secret).
async fn subscribe(app: &TestApp, key: &str, url: &str, events: &[&str]) -> (String, String) {
    let r = app.post("/webhooks", key, &json!({ "url": url, "events": events })).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    (body["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

/// Checks every request the receiver took with the Standard Webhooks reference verifier.
fn verify_all(receiver: &Receiver, secret: &str) {
    let verifier = standardwebhooks::Webhook::new(secret).unwrap();
    for g in receiver.got.lock().unwrap().iter() {
        verifier.verify(&g.body, &g.headers).unwrap_or_else(|e| panic!("a request does not verify: {e:?}"));
        // And a body changed in transit does not.
        let mut forged = g.body.to_vec();
        forged.push(b' ');
        assert!(verifier.verify(&forged, &g.headers).is_err(), "a changed body must not verify");
    }
}

fn fast_events(s: &mut ksef_gateway::config::Settings) {
    s.webhooks.allow_private_addresses = true;
    s.webhooks.max_backoff_secs = 1;
    s.inbox.every_secs = 1;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test]
async fn a_sale_between_two_tenants_reaches_the_sellers_webhook_as_accepted_and_the_buyers_as_received_once_each() {
    let (app, emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), fast_events).await;
    let seller = app.api_key.clone();
    let token = emulator.emulator().issue_token(OTHER_NIP, None).await.unwrap().token;
    let buyer = ksef_gateway::ops::tenants::add(app.app.ops(), "Buyer", OTHER_NIP, &token).await.unwrap().api_key.expose().to_owned();

    let (seller_hook, seller_url) = Receiver::start().await;
    let (buyer_hook, buyer_url) = Receiver::start().await;
    let (_, seller_secret) = subscribe(&app, &seller, &seller_url, &["invoice.accepted", "invoice.rejected"]).await;
    let (buyer_webhook, buyer_secret) = subscribe(&app, &buyer, &buyer_url, &["invoice.received"]).await;
    // The buyer's receiver is down at first.
    buyer_hook.status.store(503, Ordering::SeqCst);

    let xml = invoice(NIP, "FV/EVENTS/1");
    let r = app.post("/invoices", &seller, &json!({ "invoice": b64(&xml) })).await;
    assert_eq!(r.status(), 202);
    let invoice_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // The seller hears "accepted", with the KSeF number.
    let accepted = eventually(Duration::from_secs(60), "the seller's accepted event", async || seller_hook.of_type("invoice.accepted").into_iter().next()).await;
    assert_eq!(accepted["data"]["invoice"]["id"], invoice_id.as_str());
    let ksef_number = accepted["data"]["invoice"]["ksefNumber"].as_str().expect("a KSeF number").to_owned();
    assert_eq!(accepted["data"]["invoice"]["delivery"]["state"], "accepted");

    // The buyer's receiver fails a few times; the delivery log says so.
    eventually(Duration::from_secs(60), "failed attempts in the buyer's log", async || {
        let log: Value = app.get(&format!("/webhooks/{buyer_webhook}/deliveries"), &buyer).await.json().await.unwrap();
        let d = &log["deliveries"][0];
        (d["attempts"].as_i64().unwrap_or(0) >= 2 && d["lastStatus"] == 503).then_some(())
    })
    .await;
    assert!(buyer_hook.taken().is_empty());
    buyer_hook.status.store(204, Ordering::SeqCst);

    let received = eventually(Duration::from_secs(60), "the buyer's received event", async || buyer_hook.of_type("invoice.received").into_iter().next()).await;
    assert_eq!(received["data"]["ksefNumber"], ksef_number.as_str());
    assert_eq!(received["data"]["xml"].as_str().unwrap().as_bytes(), &xml[..], "the exact XML");
    assert_eq!(received["data"]["sellerNip"], NIP);

    // Each signature verifies with the reference algorithm; each event was taken once.
    verify_all(&seller_hook, &seller_secret);
    verify_all(&buyer_hook, &buyer_secret);
    assert!(seller_hook.taken().values().all(|(n, _, _)| *n == 1));
    assert!(buyer_hook.taken().values().all(|(n, _, _)| *n == 1));
    // Nothing of one tenant's reached the other's receiver.
    assert!(seller_hook.of_type("invoice.received").is_empty());
    assert!(buyer_hook.of_type("invoice.accepted").is_empty());

    // The buyer finds it in its received invoices, in every form.
    let list: Value = app.get("/received", &buyer).await.json().await.unwrap();
    assert_eq!(list["invoices"].as_array().unwrap().len(), 1, "{list}");
    let got = app.get(&format!("/received/{ksef_number}?format=xml"), &buyer).await.bytes().await.unwrap();
    assert_eq!(&got[..], &xml[..]);
    let fields: Value = app.get(&format!("/received/{ksef_number}?format=fields"), &buyer).await.json().await.unwrap();
    assert!(fields.to_string().contains("FV/EVENTS/1"), "{fields}");
    let html = app.get(&format!("/received/{ksef_number}?format=html"), &buyer).await;
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("FV/EVENTS/1"));
    // The seller does not see the buyer's received invoice.
    assert_eq!(app.get(&format!("/received/{ksef_number}"), &seller).await.status(), 404);

    // Accept-to-webhook latency on the emulator, over 40 more invoices (printed for the note; not asserted).
    let mut ids = BTreeSet::new();
    for i in 0..40 {
        let r = app.post("/invoices", &seller, &json!({ "invoice": b64(&invoice(NIP, &format!("FV/LAT/{i}"))) })).await;
        ids.insert(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let (latencies, posting) = eventually(Duration::from_secs(120), "40 accepted events", async || {
        let taken = seller_hook.taken();
        let ours: Vec<_> = taken.values().filter(|(_, v, _)| ids.contains(v["data"]["invoice"]["id"].as_str().unwrap_or(""))).collect();
        let ms = |pairs: Vec<(DateTime<Utc>, DateTime<Utc>)>| {
            let mut ms: Vec<f64> = pairs.iter().map(|(from, to)| (*to - *from).num_microseconds().unwrap() as f64 / 1000.0).collect();
            ms.sort_by(f64::total_cmp);
            ms
        };
        let date = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
        (ours.len() == ids.len()).then(|| {
            (
                ms(ours.iter().map(|(_, v, at)| (date(&v["data"]["invoice"]["acquisitionDate"]), *at)).collect()),
                ms(ours.iter().map(|(_, v, at)| (date(&v["timestamp"]), *at)).collect()),
            )
        })
    })
    .await;
    eprintln!(
        "over {} invoices: KSeF's acceptance to the webhook's arrival p50 {:.0} ms, p99 {:.0} ms; the gateway's event to its arrival p50 {:.0} ms, p99 {:.0} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&posting, 0.5),
        percentile(&posting, 0.99)
    );

    // More than KSeF's 10,000 per package arrive for the buyer: every one is synced once, and told once.
    if std::env::var("SKIP_BULK").is_ok() {
        return;
    }
    let started = Instant::now();
    fill_emulator(&emulator, "FV/BULK", 10_001).await;
    let filled = started.elapsed();
    // 1 + 40 + 10,001.
    let all = eventually(Duration::from_secs(600), "10,042 received invoices", async || {
        let mut numbers = Vec::new();
        let mut after = String::new();
        loop {
            let page: Value = app.get(&format!("/received?limit=1000&after={after}"), &buyer).await.json().await.unwrap();
            let invoices = page["invoices"].as_array().unwrap();
            if invoices.is_empty() {
                break;
            }
            numbers.extend(invoices.iter().map(|i| i["ksefNumber"].as_str().unwrap().to_owned()));
            after = page["next"].as_str().unwrap().to_owned();
        }
        (numbers.len() >= 10_042).then_some(numbers)
    })
    .await;
    let synced = started.elapsed();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (10_042, 10_042), "none missed, none doubled");
    let told = eventually(Duration::from_secs(600), "10,042 received events at the buyer's receiver", async || {
        let taken = buyer_hook.taken();
        (taken.len() >= 10_042).then_some(taken)
    })
    .await;
    assert_eq!(told.len(), 10_042);
    eprintln!("10,001 invoices into KSeF in {filled:.1?}; all in the buyer's received list at {synced:.1?}; every webhook taken at {:.1?}", started.elapsed());
    assert!(told.values().all(|(n, v, _)| *n == 1 && v["type"] == "invoice.received"), "each event taken once");
    let told_numbers: BTreeSet<&str> = told.values().map(|(_, v, _)| v["data"]["ksefNumber"].as_str().unwrap()).collect();
    assert_eq!(told_numbers.len(), 10_042);
}

#[tokio::test]
async fn the_events_list_pages_by_cursor_and_waits_for_the_next_event() {
    let (app, _emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), fast_events).await;
    let key = app.api_key.clone();
    for i in 0..3 {
        let r = app.post("/invoices", &key, &json!({ "invoice": b64(&invoice(NIP, &format!("FV/LIST/{i}"))) })).await;
        assert_eq!(r.status(), 202);
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    eventually(Duration::from_secs(60), "three accepted events", async || {
        let page: Value = app.get(&format!("/events?types=invoice.accepted&limit=2&after={after}"), &key).await.json().await.unwrap();
        for e in page["events"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_owned());
        }
        after = page["next"].as_str().unwrap().to_owned();
        (seen.len() >= 3).then_some(())
    })
    .await;
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 3, "no event twice across pages");

    // Nothing new: a long poll waits, then answers the same cursor; an event arriving meanwhile ends the wait.
    let started = Instant::now();
    let page: Value = app.get(&format!("/events?types=invoice.accepted&after={after}&wait=1"), &key).await.json().await.unwrap();
    assert!(page["events"].as_array().unwrap().is_empty());
    assert_eq!(page["next"], after.as_str());
    assert!(started.elapsed() >= Duration::from_millis(900));

    for (query, code) in [("after=abc", "1403"), ("types=invoice.eaten", "1403"), ("limit=0", "1403"), ("limit=100000", "1403")] {
        let r = app.get(&format!("/events?{query}"), &key).await;
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], code);
    }
}

#[tokio::test]
async fn a_webhook_that_is_not_http_points_inside_or_at_the_gateway_or_has_a_weak_secret_is_refused_with_every_problem() {
    // Private addresses not allowed (the default).
    let (app, _emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), |_| {}).await;
    let key = app.api_key.clone();
    for (body, expect) in [
        (json!({ "url": "ftp://example.com/x" }), "http or https"),
        (json!({ "url": "http://127.0.0.1:9/hook" }), "private, loopback"),
        (json!({ "url": "http://169.254.169.254/latest/meta-data" }), "private, loopback"),
        (json!({ "url": "http://[::1]:8080/" }), "private, loopback"),
        (json!({ "url": "http://10.0.0.8/" }), "private, loopback"),
        (json!({ "url": "http://user:pw@example.com/" }), "user name"),
        (json!({ "url": "not a url" }), "not a URL"),
        (json!({ "events": ["invoice.accepted"] }), "`url` is required"),
        (json!({ "url": "ftp://x", "events": ["invoice.eaten"], "secret": "whsec_c2hvcnQ=" }), "invoice.eaten"),
    ] {
        let r = app.post("/webhooks", &key, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "1402");
        assert!(e["details"].as_str().unwrap().contains(expect), "{body}: {e}");
    }
    // Every problem at once.
    let r = app.post("/webhooks", &key, &json!({ "url": "ftp://x", "events": ["invoice.eaten"], "secret": "whsec_c2hvcnQ=" })).await;
    let details = r.json::<Value>().await.unwrap()["details"].as_str().unwrap().to_owned();
    assert!(details.contains("http or https") && details.contains("invoice.eaten") && details.contains("5 bytes"), "{details}");

    // Even where private addresses are allowed, the gateway itself is not a receiver.
    // (And a creation repeated with its Idempotency-Key answers the webhook without its secret, which is kept only sealed.)
    let (app, _emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), fast_events).await;
    let own = format!("http://127.0.0.1:{}/api/v2/invoices", app.app.port());
    let r = app.post("/webhooks", &app.api_key, &json!({ "url": own })).await;
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["details"].as_str().unwrap().contains("the gateway itself"));
    let own = format!("http://localhost:{}/", app.app.port());
    assert_eq!(app.post("/webhooks", &app.api_key, &json!({ "url": own })).await.status(), 400);
}

#[tokio::test]
async fn a_receiver_that_hangs_redirects_or_fails_is_retried_then_disabled_and_a_redelivery_carries_the_same_id() {
    let (app, _emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), |s| {
        fast_events(s);
        s.webhooks.timeout_secs = 1;
        s.webhooks.disable_after_secs = 4;
    })
    .await;
    let key = app.api_key.clone();
    let (hook, url) = Receiver::start().await;
    let (id, secret) = subscribe(&app, &key, &url, &["*"]).await;

    // A receiver that hangs: the attempt ends at the timeout and is logged.
    hook.hang.store(true, Ordering::SeqCst);
    let r = app.post(&format!("/webhooks/{id}/test"), &key, &json!({})).await;
    assert_eq!(r.status(), 202);
    let event = r.json::<Value>().await.unwrap()["eventId"].as_str().unwrap().to_owned();
    let logged = eventually(Duration::from_secs(30), "a timed-out attempt", async || {
        let d: Value = app.get(&format!("/webhooks/{id}/deliveries/{event}"), &key).await.json().await.unwrap();
        let first = d["attemptLog"][0].clone();
        first["error"].is_string().then_some(first)
    })
    .await;
    assert!(logged["error"].as_str().unwrap().contains("no answer in time"), "{logged}");
    assert!(logged["durationMs"].as_i64().unwrap() < 5_000);

    // A redirect is not followed; a 500 is retried; past the failure run's bound the webhook is disabled.
    hook.hang.store(false, Ordering::SeqCst);
    hook.status.store(302, Ordering::SeqCst);
    eventually(Duration::from_secs(30), "a refused redirect", async || {
        let d: Value = app.get(&format!("/webhooks/{id}/deliveries/{event}"), &key).await.json().await.unwrap();
        d["attemptLog"].as_array().unwrap().iter().any(|a| a["error"].as_str().is_some_and(|e| e.contains("do not follow redirects"))).then_some(())
    })
    .await;
    hook.status.store(500, Ordering::SeqCst);
    let disabled = eventually(Duration::from_secs(60), "the webhook disabled", async || {
        let w: Value = app.get(&format!("/webhooks/{id}"), &key).await.json().await.unwrap();
        (w["enabled"] == false).then_some(w)
    })
    .await;
    assert!(disabled["disabledReason"].as_str().unwrap().contains("every attempt failed"), "{disabled}");
    assert!(hook.taken().is_empty());

    // Enabled again and the receiver back: a redelivery arrives, with the event's own id.
    hook.status.store(200, Ordering::SeqCst);
    let r = app.http.patch(format!("{}/webhooks/{id}", app.base)).bearer_auth(&key).json(&json!({ "enabled": true })).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.post(&format!("/webhooks/{id}/deliveries/{event}/redeliver"), &key, &json!({})).await.status(), 202);
    let taken = eventually(Duration::from_secs(30), "the redelivery", async || {
        let t = hook.taken();
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(taken.keys().collect::<Vec<_>>(), vec![&event]);
    verify_all(&hook, &secret);

    // Another tenant sees none of it.
    let other = app.add_tenant_of(OTHER_NIP, &_emulator).await;
    assert_eq!(app.get(&format!("/webhooks/{id}"), &other).await.status(), 404);
    assert_eq!(app.get(&format!("/webhooks/{id}/deliveries"), &other).await.status(), 404);
    assert_eq!(app.post(&format!("/webhooks/{id}/deliveries/{event}/redeliver"), &other, &json!({})).await.status(), 404);
    let list: Value = app.get("/webhooks", &other).await.json().await.unwrap();
    assert!(list["webhooks"].as_array().unwrap().is_empty());
    let events: Value = app.get("/events", &other).await.json().await.unwrap();
    assert!(events["events"].as_array().unwrap().is_empty());
    assert_eq!(app.http.delete(format!("{}/webhooks/{id}", app.base)).bearer_auth(&other).send().await.unwrap().status(), 404);
    assert_eq!(app.http.delete(format!("{}/webhooks/{id}", app.base)).bearer_auth(&key).send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn an_invoice_ksef_keeps_processing_and_a_failure_the_latarnia_announces_are_told_to_webhooks() {
    use ksef_client::wire::lighthouse::MessageCategory;
    use ksef_emulator::{FaultKind, FaultRule, LighthouseAnnouncement};
    let (app, emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), |s| {
        fast_events(s);
        s.webhooks.held_after_secs = 1;
        s.ksef.lighthouse_url = s.ksef.base_url.clone();
        s.ksef.lighthouse_every_secs = Some(1);
    })
    .await;
    let key = app.api_key.clone();
    let (hook, url) = Receiver::start().await;
    let (_, secret) = subscribe(&app, &key, &url, &["invoice.held", "invoice.accepted", "ksef.status"]).await;

    let hold = emulator.faults().add(FaultRule::new(FaultKind::HoldProcessing)).unwrap();
    let r = app.post("/invoices", &key, &json!({ "invoice": b64(&invoice(NIP, "FV/HELD/1")) })).await;
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let held = eventually(Duration::from_secs(30), "the held event", async || hook.of_type("invoice.held").into_iter().next()).await;
    assert_eq!(held["data"]["invoice"]["id"], id.as_str());
    assert_eq!(held["data"]["invoice"]["delivery"]["state"], "sent");
    emulator.faults().remove(&hold.id);
    eventually(Duration::from_secs(30), "the accepted event", async || hook.of_type("invoice.accepted").into_iter().next()).await;
    assert_eq!(hook.of_type("invoice.held").len(), 1, "told once, however many polls saw it processing");

    let announcement = LighthouseAnnouncement { category: MessageCategory::Failure, title: None, text: None, start: Some(emulator.emulator().now()), end: None };
    let failure = emulator.emulator().lighthouse().announce(emulator.emulator().now(), announcement).unwrap();
    let told = eventually(Duration::from_secs(30), "the failure's event", async || hook.of_type("ksef.status").into_iter().find(|e| e["data"]["status"] == "failure")).await;
    assert_eq!(told["data"]["source"], "latarnia");
    emulator.emulator().lighthouse().end(emulator.emulator().now(), failure.event_id, None).unwrap();
    eventually(Duration::from_secs(30), "KSeF available again", async || hook.of_type("ksef.status").into_iter().find(|e| e["data"]["status"] == "available")).await;
    verify_all(&hook, &secret);
}

#[tokio::test]
async fn the_webhooks_command_adds_tests_lists_and_removes_a_webhook() {
    use crate::helpers::run_binary;
    let (app, _emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), fast_events).await;
    let (hook, url) = Receiver::start().await;
    let gateway = format!("http://{}", app.app.address());
    let base = ["webhooks", "--gateway", gateway.as_str(), "--api-key", app.api_key.as_str()];
    let with = |more: &[&str]| [&base[..], more].concat().iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let run = async |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_binary(&args).await
    };

    // A test reaches a webhook whatever types it takes.
    let (code, out, err) = run(with(&["add", "--url", &url, "--events", "invoice.accepted,invoice.rejected"])).await;
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let (id, secret) = (lines.next().unwrap().to_owned(), lines.next().unwrap().to_owned());
    assert!(id.starts_with("wh_") && secret.starts_with("whsec_"), "{out}");

    let (code, out, err) = run(with(&["test", &id])).await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("delivered: the receiver answered 204"), "{out}");
    verify_all(&hook, &secret);

    let (code, out, _) = run(with(&["list"])).await;
    assert_eq!(code, 0);
    assert!(out.contains(&id) && out.contains("enabled") && out.contains("invoice.accepted,invoice.rejected"), "{out}");
    let (code, out, _) = run(with(&["deliveries", &id])).await;
    assert_eq!(code, 0);
    assert!(out.contains("webhook.test") && out.contains("delivered"), "{out}");

    // Bad input is a clear error, not a stack trace.
    let (code, _, err) = run(with(&["add", "--url", "ftp://example.com"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("1402") && err.contains("http or https"), "{err}");
    let (code, _, err) = run(with(&["redeliver", &id, "--failed"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("--failed"), "{err}");

    let (code, out, _) = run(with(&["remove", &id])).await;
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = run(with(&["test", &id])).await;
    assert_ne!(code, 0);
    assert!(err.contains("1401"), "{err}");
}

#[tokio::test]
async fn a_webhook_created_again_with_its_idempotency_key_is_answered_without_its_secret_and_the_list_skips_other_types() {
    let (app, _emulator, _emulator_dir) = gateway_with_emulator_and(|_| {}, Default::default(), fast_events).await;
    let key = app.api_key.clone();
    let (_, url) = Receiver::start().await;
    let create = || app.http.post(format!("{}/webhooks", app.base)).bearer_auth(&key).header("Idempotency-Key", "hook-1").json(&json!({ "url": url }));
    let first: Value = create().send().await.unwrap().json().await.unwrap();
    assert!(first["secret"].as_str().unwrap().starts_with("whsec_"));
    let again = create().send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert!(again.get("secret").is_none(), "the secret is shown once: {again}");
    let list: Value = app.get("/webhooks", &key).await.json().await.unwrap();
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);

    // Events of other types are passed over: the next cursor is past them, so they are not scanned again.
    let id = first["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(app.post(&format!("/webhooks/{id}/test"), &key, &json!({})).await.status(), 202);
    }
    let page: Value = app.get("/events?types=invoice.accepted", &key).await.json().await.unwrap();
    assert!(page["events"].as_array().unwrap().is_empty());
    assert_eq!(page["next"], "3", "{page}");
}
