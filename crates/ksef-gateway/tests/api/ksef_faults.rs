//! KSeF failing in the ways integrators report, injected into the emulator: answers lost after KSeF acted,
//! rate limits, unavailability, held processing, sessions KSeF ends early, duplicates. What the caller sees.

use std::sync::Arc;
use std::time::Duration;

use ksef_emulator::{EndpointGroup, FaultKind, FaultRule, ShiftedClock};
use serde_json::Value;

use crate::helpers::{NIP, TestApp, gateway_with_emulator, invoice};

fn rule(kind: FaultKind, endpoints: EndpointGroup) -> FaultRule {
    FaultRule { endpoints, ..FaultRule::new(kind) }
}

async fn session_info(app: &TestApp, key: &str, session: &str) -> Value {
    let v: Value = app.get(&format!("/ksefSessionStatus/{session}"), key).await.json().await.unwrap();
    v["sessionInfo"].clone()
}

/// The invoice is the one KSeF holds in the closed session, and KSeF holds no other.
async fn assert_one_in_ksef(app: &TestApp, key: &str, session: &str) {
    app.close_and_wait_upo(key, session).await;
    let info = session_info(app, key, session).await;
    assert_eq!((info["invoiceCount"].as_i64(), info["successfulInvoiceCount"].as_i64()), (Some(1), Some(1)), "{info}");
}

#[tokio::test]
async fn a_send_ksef_took_but_answered_with_500_is_found_in_ksefs_list_and_not_sent_again() {
    let (app, emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    emulator.faults().add(FaultRule { count: Some(1), ..rule(FaultKind::AcceptedThenError, EndpointGroup::Send) }).unwrap();
    let id = app.send(&key, &session, &invoice(NIP, "FV/LOST-ANSWER")).await;
    let verdict = app.wait_invoice(&key, &id).await;
    assert_eq!((verdict["delivery"]["state"].as_str(), verdict["delivery"]["attempts"].as_i64()), (Some("accepted"), Some(2)), "{verdict}");
    assert!(verdict["ksefNumber"].is_string());
    assert_one_in_ksef(&app, &key, &session).await;
}

#[tokio::test]
async fn a_send_whose_connection_was_cut_after_ksef_took_it_is_not_sent_again() {
    let (app, emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    emulator.faults().add(FaultRule { count: Some(1), ..rule(FaultKind::AcceptedThenDisconnect, EndpointGroup::Send) }).unwrap();
    let id = app.send(&key, &session, &invoice(NIP, "FV/CUT")).await;
    assert_eq!(app.wait_invoice(&key, &id).await["delivery"]["state"], "accepted");
    assert_one_in_ksef(&app, &key, &session).await;
}

#[tokio::test]
async fn sends_during_a_ksef_unavailability_are_answered_at_once_and_delivered_after_it() {
    let (app, emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    emulator.faults().add(FaultRule { duration_secs: Some(3), retry_after_secs: Some(1), ..rule(FaultKind::Unavailable, EndpointGroup::All) }).unwrap();
    let started = std::time::Instant::now();
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(app.send(&key, &session, &invoice(NIP, &format!("FV/OUTAGE/{n}"))).await);
    }
    assert!(started.elapsed() < Duration::from_secs(3), "callers are not kept waiting for KSeF: {:?}", started.elapsed());
    let first: Value = app.get(&format!("/ksefInvoiceStatus/{}", ids[0]), &key).await.json().await.unwrap();
    assert_eq!(first["invoices"][0]["delivery"]["state"], "queued", "{first}");
    let mut numbers = std::collections::BTreeSet::new();
    for id in &ids {
        let verdict = app.wait_invoice(&key, id).await;
        assert_eq!(verdict["delivery"]["state"], "accepted", "{verdict}");
        numbers.insert(verdict["ksefNumber"].as_str().unwrap().to_owned());
    }
    assert_eq!(numbers.len(), 10);
}

#[tokio::test]
async fn a_429_burst_is_waited_out_as_retry_after_says() {
    let (app, emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    emulator.faults().add(FaultRule { count: Some(6), retry_after_secs: Some(1), ..rule(FaultKind::RateLimit, EndpointGroup::Send) }).unwrap();
    let id = app.send(&key, &session, &invoice(NIP, "FV/429")).await;
    assert_eq!(app.wait_invoice(&key, &id).await["delivery"]["state"], "accepted");
    assert_one_in_ksef(&app, &key, &session).await;
}

#[tokio::test]
async fn an_invoice_held_at_150_is_answered_as_processing_until_ksef_decides() {
    let (app, emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let hold = emulator.faults().add(FaultRule::new(FaultKind::HoldProcessing)).unwrap();
    let id = app.send(&key, &session, &invoice(NIP, "FV/HELD")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held: Value = app.get(&format!("/ksefInvoiceStatus/{id}"), &key).await.json().await.unwrap();
    let held = &held["invoices"][0];
    assert_eq!(held["delivery"]["state"], "sent", "{held}");
    assert!(matches!(held["status"]["code"].as_i64(), Some(100 | 150)), "{held}");
    emulator.faults().remove(&hold.id);
    assert_eq!(app.wait_invoice(&key, &id).await["status"]["code"], 200);
}

#[tokio::test]
async fn a_close_ksef_did_but_answered_with_500_still_ends_with_the_sessions_upo() {
    let (app, emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let id = app.send(&key, &session, &invoice(NIP, "FV/CLOSE-500")).await;
    let ksef_number = app.wait_invoice(&key, &id).await["ksefNumber"].as_str().unwrap().to_owned();
    emulator.faults().add(FaultRule { count: Some(1), ..rule(FaultKind::AcceptedThenError, EndpointGroup::Close) }).unwrap();
    let upo = app.close_and_wait_upo(&key, &session).await;
    assert!(upo.contains(&ksef_number));
}

#[tokio::test]
async fn a_session_ksef_ended_is_continued_in_a_new_one_and_the_invoice_delivered() {
    let clock = Arc::new(ShiftedClock::default());
    let (app, _emulator, _dir) = gateway_with_emulator(|_| {}, clock.clone()).await;
    let key = app.api_key.clone();
    let session = app.open_session(&key).await;
    let first = app.send(&key, &session, &invoice(NIP, "FV/BEFORE-EXPIRY")).await;
    assert_eq!(app.wait_invoice(&key, &first).await["delivery"]["state"], "accepted");
    // KSeF ends an online session 12 hours after it opened.
    clock.advance(chrono::Duration::hours(13));
    let second = app.send(&key, &session, &invoice(NIP, "FV/AFTER-EXPIRY")).await;
    let verdict = app.wait_invoice(&key, &second).await;
    assert_eq!(verdict["delivery"]["state"], "accepted", "{verdict}");
    let upo = app.close_and_wait_upo(&key, &session).await;
    assert!(upo.contains(verdict["ksefNumber"].as_str().unwrap()), "the UPO is the new KSeF session's");
}

#[tokio::test]
async fn an_invoice_ksef_already_holds_ends_as_a_duplicate_with_the_originals_ksef_number() {
    let (app, _emulator, _dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    let xml = invoice(NIP, "FV/TWICE");
    let first_session = app.open_session(&key).await;
    let original = app.wait_invoice(&key, &app.send(&key, &first_session, &xml).await).await;
    let second_session = app.open_session(&key).await;
    let again = app.wait_invoice(&key, &app.send(&key, &second_session, &xml).await).await;
    assert_eq!(again["delivery"]["state"], "duplicate", "{again}");
    assert_eq!(again["status"]["code"], 440);
    assert_eq!(again["ksefNumber"], original["ksefNumber"], "{again}");
    assert_eq!(again["delivery"]["originalKsefNumber"], original["ksefNumber"]);
}
