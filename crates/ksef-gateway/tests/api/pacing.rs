//! Pacing: a context's calls kept within the rate limits KSeF gives it (`GET /rate-limits`), by every gateway
//! instance sharing one database, so KSeF never has to answer 429; and the same load without pacing, which it does.

use std::time::Duration;

use ksef_emulator::EmulatorServer;
use ksef_gateway::config::{KsefSettings, KsefTarget, Pacing};
use serde_json::Value;

use crate::helpers::{NIP, TestApp, database_url, emulator_limiting_sends, invoice, settings, spawn_with};

/// Invoices submitted, half through each instance.
const INVOICES: usize = 12;

/// Two gateway instances on one database (SQLite in a shared data folder, or PostgreSQL when configured), with
/// `pacing`, and the tenant's API key.
async fn two_instances(emulator: &EmulatorServer, token: &str, pacing: Pacing) -> (TestApp, TestApp, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url().await;
    let ksef = KsefSettings { target: KsefTarget::Custom, base_url: Some(emulator.base_url()), ..KsefSettings::default() };
    let mut shared = settings(dir.path(), db.clone(), ksef);
    shared.ksef.pacing = pacing;
    let first = spawn_with(shared.clone(), dir, db.clone()).await;
    let second = spawn_with(shared, tempfile::tempdir().unwrap(), db).await;
    let key = ksef_gateway::ops::tenants::add(first.app.ops(), "T", NIP, token).await.unwrap().api_key.expose().to_owned();
    (first, second, key)
}

/// Submits the invoices through both instances in turn (each answers at once; both outboxes then send) and waits
/// for every verdict; returns them.
async fn submit_through_both(first: &TestApp, second: &TestApp, key: &str, prefix: &str) -> Vec<Value> {
    let mut ids = Vec::new();
    for n in 0..INVOICES {
        let app = if n % 2 == 0 { first } else { second };
        ids.push(app.submit_ok(key, &invoice(NIP, &format!("{prefix}/{n}"))).await["id"].as_str().unwrap().to_owned());
    }
    let mut done = Vec::new();
    for id in ids {
        done.push(first.wait_submitted(key, &id, Duration::from_secs(90)).await);
    }
    done
}

#[tokio::test]
async fn two_instances_keep_a_context_within_its_limits_so_ksef_never_answers_429() {
    let (emulator, _emulator_dir, token) = emulator_limiting_sends(2, -1).await;
    let (first, second, key) = two_instances(&emulator, &token, Pacing::Published).await;
    let done = submit_through_both(&first, &second, &key, "FV/PACED").await;
    let numbers: std::collections::BTreeSet<&str> = done.iter().filter_map(|v| v["invoice"]["ksefNumber"].as_str()).collect();
    assert_eq!(numbers.len(), INVOICES, "each invoice accepted with its own KSeF number: {done:?}");
    for v in &done {
        assert_eq!(v["invoice"]["delivery"]["state"], "accepted", "{v}");
        assert_eq!(v["invoice"]["delivery"]["attempts"], 1, "held back while the budget was spent, never counted as a failed attempt: {v}");
    }
    assert_eq!(emulator.emulator().rate_limit_refusals(), 0, "no call of either instance was refused with 429");
}

#[tokio::test]
async fn without_pacing_the_same_load_is_refused_with_429_and_still_delivered() {
    let (emulator, _emulator_dir, token) = emulator_limiting_sends(2, -1).await;
    let (first, second, key) = two_instances(&emulator, &token, Pacing::Off).await;
    let done = submit_through_both(&first, &second, &key, "FV/UNPACED").await;
    assert!(done.iter().all(|v| v["invoice"]["delivery"]["state"] == "accepted"), "{done:?}");
    assert!(emulator.emulator().rate_limit_refusals() > 0, "KSeF had to refuse calls beyond two a second");
}
