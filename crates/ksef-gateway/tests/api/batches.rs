//! Long queues go to KSeF as batches: sessionless submits piled up through an outage leave as one package when
//! KSeF is back (KSeF takes 30 invoices a minute online), each with its own KSeF number; and a batch an instance
//! claimed before it stopped is settled by the others, its invoices delivered once.

use std::collections::BTreeSet;
use std::time::Duration;

use ksef_emulator::{EmulatorServer, EndpointGroup, FaultKind, FaultRule};
use ksef_gateway::config::{KsefSettings, KsefTarget, Pacing};
use serde_json::Value;

use crate::helpers::{NIP, TestApp, database_url, emulator_limiting_sends, invoice, settings, spawn_with};

/// A paced gateway over `emulator` sending queues of `batch_from` or more as batches, with its tenant's API key.
async fn gateway(emulator: &EmulatorServer, token: &str, batch_from: u64) -> (TestApp, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url().await;
    let ksef = KsefSettings { target: KsefTarget::Custom, base_url: Some(emulator.base_url()), ..KsefSettings::default() };
    let mut settings = settings(dir.path(), db.clone(), ksef);
    settings.ksef.pacing = Pacing::Published;
    settings.ksef.batch_from = Some(batch_from);
    let app = spawn_with(settings, dir, db).await;
    let key = ksef_gateway::ops::tenants::add(app.app.ops(), "T", NIP, token).await.unwrap().api_key.expose().to_owned();
    (app, key)
}

async fn verdicts(app: &TestApp, key: &str, ids: &[String]) -> Vec<Value> {
    let mut done = Vec::new();
    for id in ids {
        done.push(app.wait_submitted(key, id, Duration::from_secs(120)).await["invoice"].clone());
    }
    done
}

#[tokio::test]
async fn submits_piled_up_through_an_outage_leave_as_one_batch_when_ksef_is_back_each_with_its_own_ksef_number() {
    // Two a minute online: what goes online past the first two waits for the next minute.
    let (emulator, _emulator_dir, token) = emulator_limiting_sends(1, 2).await;
    let (app, key) = gateway(&emulator, &token, 10).await;
    let down = emulator.faults().add(FaultRule { endpoints: EndpointGroup::All, ..FaultRule::new(FaultKind::Unavailable) }).unwrap();
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(app.submit_ok(&key, &invoice(NIP, &format!("FV/QUEUE/{n}"))).await["id"].as_str().unwrap().to_owned());
    }
    // KSeF comes back, and its first answer to the batch's close is lost (it closes the batch and answers 500).
    emulator.faults().add(FaultRule { count: Some(1), endpoints: EndpointGroup::Close, ..FaultRule::new(FaultKind::AcceptedThenError) }).unwrap();
    assert!(emulator.faults().remove(&down.id));

    let done = verdicts(&app, &key, &ids).await;
    let numbers: BTreeSet<&str> = done.iter().filter_map(|v| v["ksefNumber"].as_str()).collect();
    assert_eq!(numbers.len(), 30, "each invoice accepted with its own KSeF number: {done:?}");
    assert!(done.iter().all(|v| v["delivery"]["state"] == "accepted"), "{done:?}");
    let batched = done.iter().filter(|v| v["delivery"]["ksefSession"].as_str().is_some_and(|s| s.contains("-SB-"))).count();
    // KSeF takes two a minute online here: the rest can only have gone in a batch.
    assert!(batched >= 26, "{batched} of 30 went in a batch: {done:?}");
    assert_eq!(emulator.emulator().rate_limit_refusals(), 0, "paced: KSeF never had to answer 429");
}

#[tokio::test]
async fn a_batch_claimed_by_an_instance_that_stopped_is_given_back_and_each_invoice_delivered_once() {
    // Those the stopped instance was sending are looked up in KSeF and sent online: let that be quick.
    let (emulator, _emulator_dir, token) = emulator_limiting_sends(5, 100).await;
    let down = emulator.faults().add(FaultRule { endpoints: EndpointGroup::All, ..FaultRule::new(FaultKind::Unavailable) }).unwrap();
    let (first, key) = gateway(&emulator, &token, 10).await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(first.submit_ok(&key, &invoice(NIP, &format!("FV/ORPHAN/{n}"))).await["id"].as_str().unwrap().to_owned());
    }
    // The instance stops, its last attempts failed (KSeF is down) and every invoice back in the queue; another
    // instance claims them into a batch and stops before KSeF hears of it.
    let TestApp { app, dir, database_url, .. } = first;
    let store = app.ops().store.clone();
    drop(app);
    // A statement its workers had already sent the database may still land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        store.requeue_invoice(id, "KSeF unavailable", 0, 1, false).await.unwrap();
    }
    let queues = store.batch_queues(1).await.unwrap();
    assert_eq!(queues.len(), 1, "{queues:?}");
    let claimed = store.claim_batch("an-instance-that-stopped", "its-batch", &queues[0], 1, 10_000, 1 << 40).await.unwrap();
    assert_eq!(claimed.len(), 12);
    assert!(emulator.faults().remove(&down.id));

    // A new instance on the same database takes the batch over.
    let ksef = KsefSettings { target: KsefTarget::Custom, base_url: Some(emulator.base_url()), ..KsefSettings::default() };
    let mut settings = settings(dir.path(), database_url.clone(), ksef);
    settings.ksef.pacing = Pacing::Published;
    settings.ksef.batch_from = Some(10);
    let second = spawn_with(settings, dir, database_url).await;
    let done = verdicts(&second, &key, &ids).await;
    let numbers: BTreeSet<&str> = done.iter().filter_map(|v| v["ksefNumber"].as_str()).collect();
    assert_eq!(numbers.len(), 12, "each invoice accepted once, with its own KSeF number: {done:?}");
    assert!(done.iter().all(|v| v["delivery"]["state"] == "accepted"), "{done:?}");
    assert_eq!(emulator.emulator().rate_limit_refusals(), 0);
}
