//! Sessionless submits: one invoice in, its id at once; the gateway's own sessions, duplicates answered with the
//! first submit, offline24 with its codes and deadline, and delivery through a KSeF outage.

use std::time::Duration;

use ksef_core::crypto::b64;
use serde_json::{Value, json};

use crate::helpers::{NIP, TestApp, gateway_with_emulator, invoice, spawn_app};

impl TestApp {
    async fn submit(&self, key: &str, body: &Value) -> reqwest::Response {
        self.post("/invoices", key, body).await
    }

    pub(crate) async fn submit_ok(&self, key: &str, xml: &[u8]) -> Value {
        let r = self.submit(key, &json!({ "invoice": b64(xml) })).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        body
    }

    /// Polls a submitted invoice until KSeF's verdict is in.
    pub(crate) async fn wait_submitted(&self, key: &str, id: &str, limit: Duration) -> Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let v: Value = self.get(&format!("/invoices/{id}"), key).await.json().await.unwrap();
            if matches!(v["invoice"]["delivery"]["state"].as_str(), Some("accepted" | "rejected" | "duplicate")) {
                return v;
            }
            assert!(std::time::Instant::now() < deadline, "no verdict for {id}: {v}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_submitted_invoice_is_answered_at_once_and_ends_accepted_with_its_own_upo() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let submitted = app.submit_ok(&key, &invoice(NIP, "FV/SUBMIT/1")).await;
    assert_eq!(submitted["existing"], false);
    assert!(submitted.get("offline").is_none(), "KSeF is up: issued online");
    let id = submitted["id"].as_str().unwrap();
    let done = app.wait_submitted(&key, id, Duration::from_secs(30)).await;
    let ksef_number = done["invoice"]["ksefNumber"].as_str().unwrap();
    assert_eq!(done["invoice"]["delivery"]["state"], "accepted", "{done}");
    assert_eq!(done["invoice"]["invoiceNumber"], "FV/SUBMIT/1");
    assert_eq!(done["invoice"]["invoicingMode"], "Online");
    let upo = app.get(&format!("/invoices/{id}/upo"), &key).await;
    assert_eq!(upo.status(), 200);
    assert!(upo.text().await.unwrap().contains(ksef_number));
    // The seed's status operation knows it too.
    let seed: Value = app.get(&format!("/ksefInvoiceStatus/{id}"), &key).await.json().await.unwrap();
    assert_eq!(seed["invoices"][0]["ksefNumber"], ksef_number);
}

#[tokio::test]
async fn submits_share_the_gateways_session_and_the_same_invoice_twice_is_one_invoice() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let xml = invoice(NIP, "FV/SUBMIT/TWICE");
    let body = json!({ "invoice": b64(&xml) });
    // Eight at once, each retried as Retry-After says while the tenant's share of checking work is taken (1905).
    let submit = || async {
        loop {
            let r = app.submit(&key, &body).await;
            if r.status() != 429 {
                assert_eq!(r.status(), 202);
                return r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let ids: std::collections::BTreeSet<String> = futures_util::future::join_all((0..8).map(|_| submit())).await.into_iter().collect();
    assert_eq!(ids.len(), 1, "eight submits of one invoice are one invoice");
    let again = app.submit_ok(&key, &xml).await;
    assert_eq!(again["existing"], true);
    let other = app.submit_ok(&key, &invoice(NIP, "FV/SUBMIT/OTHER")).await;
    let first = app.wait_submitted(&key, ids.first().unwrap(), Duration::from_secs(30)).await;
    let second = app.wait_submitted(&key, other["id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(first["sessionId"], second["sessionId"], "both went into the gateway's one open session");
    assert_ne!(first["invoice"]["ksefNumber"], second["invoice"]["ksefNumber"]);
}

#[tokio::test]
async fn the_same_number_with_other_content_is_refused_and_an_invalid_invoice_gets_every_finding() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    app.submit_ok(&key, &invoice(NIP, "FV/SUBMIT/SAME")).await;
    let changed = String::from_utf8(invoice(NIP, "FV/SUBMIT/SAME")).unwrap().replace("<P_13_1>", "<P_13_1>1");
    let (status, code, body) = TestApp::error(app.submit(&key, &json!({ "invoice": b64(changed.as_bytes()) })).await).await;
    assert_eq!((status, code.as_str()), (409, "1204"), "{body}");
    let broken = String::from_utf8(invoice(NIP, "FV/SUBMIT/BAD")).unwrap().replace("<P_2>", "<Nonsense/><P_2>");
    let (status, code, body) = TestApp::error(app.submit(&key, &json!({ "invoice": b64(broken.as_bytes()) })).await).await;
    assert_eq!((status, code.as_str()), (400, "1203"), "{body}");
    assert!(!body["findings"].as_array().unwrap().is_empty(), "{body}");
    let (status, code, _) = TestApp::error(app.submit(&key, &json!({ "invoice": "???" })).await).await;
    assert_eq!((status, code.as_str()), (400, "1005"));
    let (status, _, _) = TestApp::error(app.submit(&key, &json!({ "invoice": b64(b"x"), "generate": {} })).await).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_offline24_submit_gets_both_codes_and_the_next_business_day_as_its_deadline() {
    let app = spawn_app().await;
    let key = app.api_key.clone();
    let body = json!({ "invoice": b64(&invoice(NIP, "FV/OFFLINE/1")), "offline": "offline24" });
    let (status, code, body_of_refusal) = TestApp::error(app.submit(&key, &body).await).await;
    assert_eq!((status, code.as_str()), (400, "1208"), "no Offline certificate, no KOD II, no offline issue: {body_of_refusal}");
    app.set_offline_certificate(&key).await;
    let r = app.submit(&key, &json!({ "invoice": b64(&invoice(NIP, "FV/OFFLINE/1")), "offline": "offline24" })).await;
    assert_eq!(r.status(), 202);
    let submitted: Value = r.json().await.unwrap();
    let offline = &submitted["offline"];
    assert_eq!(offline["mode"], "offline24");
    assert_eq!(offline["invoice"]["caption"], "OFFLINE");
    assert_eq!(offline["certificate"]["caption"], "CERTYFIKAT");
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    assert_eq!(offline["deadline"], ksef_core::calendar::OfflineMode::Offline24.deadline(today).to_string());
    let done = app.wait_submitted(&key, submitted["id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(done["invoice"]["delivery"]["state"], "accepted", "{done}");
    assert_eq!(done["invoice"]["delivery"]["offlineMode"], "offline24");
    let again = app.submit_ok(&key, &invoice(NIP, "FV/OFFLINE/1")).await;
    assert_eq!((again["existing"].as_bool(), again["offline"]["mode"].as_str()), (Some(true), Some("offline24")), "answered as first recorded: {again}");
    assert_eq!(done["invoice"]["invoicingMode"], "Offline", "KSeF recorded it as issued offline: {done}");
    assert!(done["invoice"]["delivery"]["deadline"].is_string());
}

#[tokio::test]
async fn submits_while_ksef_is_down_are_issued_offline_automatically_and_delivered_when_it_is_back() {
    let (app, emulator, emulator_dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let key = app.api_key.clone();
    app.set_offline_certificate(&key).await;
    let before = app.submit_ok(&key, &invoice(NIP, "FV/AUTO/0")).await;
    app.wait_submitted(&key, before["id"].as_str().unwrap(), Duration::from_secs(30)).await;
    let addr = emulator.local_addr();
    emulator.shutdown().await.unwrap();
    // The first submit after the outage began finds KSeF down; from then on the gateway knows it.
    let first = app.submit_ok(&key, &invoice(NIP, "FV/AUTO/1")).await;
    let mut during = vec![first["id"].as_str().unwrap().to_owned()];
    tokio::time::sleep(Duration::from_millis(800)).await;
    let second = app.submit_ok(&key, &invoice(NIP, "FV/AUTO/2")).await;
    assert_eq!(second["offline"]["mode"], "offline24", "KSeF unreachable: issued offline with its codes: {second}");
    assert!(second["offline"]["certificate"]["link"].is_string());
    during.push(second["id"].as_str().unwrap().to_owned());
    let never = app.submit(&key, &json!({ "invoice": b64(&invoice(NIP, "FV/AUTO/3")), "offline": "never" })).await.json::<Value>().await.unwrap();
    assert!(never.get("offline").is_none(), "offline: never stays online: {never}");
    during.push(never["id"].as_str().unwrap().to_owned());

    let _emulator = crate::outages::emulator_at(addr, emulator_dir.path()).await;
    for id in &during {
        let done = app.wait_submitted(&key, id, Duration::from_secs(60)).await;
        assert_eq!(done["invoice"]["delivery"]["state"], "accepted", "{done}");
    }
}

#[tokio::test]
async fn during_an_announced_failure_submits_are_issued_in_its_mode_and_get_their_deadline_when_it_ends() {
    use ksef_core::calendar::OfflineMode;
    let app = spawn_app().await;
    let key = app.api_key.clone();
    app.set_offline_certificate(&key).await;
    let (status, code, _) = TestApp::error(app.submit(&key, &json!({ "invoice": b64(&invoice(NIP, "FV/FAIL/0")), "offline": "failure" })).await).await;
    assert_eq!((status, code.as_str()), (400, "1208"), "no failure announced: the mode is refused");
    let started = chrono::Utc::now() - chrono::Duration::hours(1);
    let announced = ksef_gateway::ops::announcements::announce(app.app.ops(), OfflineMode::Failure, started, None, None).await.unwrap();
    let during = app.submit_ok(&key, &invoice(NIP, "FV/FAIL/1")).await;
    assert_eq!(during["offline"]["mode"], "failure", "{during}");
    assert!(during["offline"].get("deadline").is_none(), "unknown while the failure lasts: {during}");
    assert_eq!(during["offline"]["certificate"]["caption"], "CERTYFIKAT");

    let ended = ksef_gateway::ops::announcements::end(app.app.ops(), &announced.id, chrono::Utc::now()).await.unwrap();
    assert_eq!(ended, 1, "the invoice issued during it gets its deadline");
    let done = app.wait_submitted(&key, during["id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(done["invoice"]["delivery"]["state"], "accepted", "{done}");
    assert_eq!(done["invoice"]["invoicingMode"], "Offline");
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let deadline = chrono::DateTime::parse_from_rfc3339(done["invoice"]["delivery"]["deadline"].as_str().unwrap()).unwrap();
    assert_eq!(ksef_client::wire::datetime::to_warsaw(deadline.to_utc()).date_naive(), OfflineMode::Failure.deadline(today), "seven business days after it ended");
    let after = app.submit_ok(&key, &invoice(NIP, "FV/FAIL/2")).await;
    assert!(after.get("offline").is_none(), "the failure is over: issued online: {after}");
}

#[tokio::test]
async fn a_failure_the_latarnia_announces_issues_submits_offline_and_its_published_end_gives_their_deadline() {
    use ksef_client::wire::lighthouse::MessageCategory;
    use ksef_core::calendar::OfflineMode;
    use ksef_emulator::{EndpointGroup, FaultKind, FaultRule, LighthouseAnnouncement};
    // The gateway reads the emulator's Latarnia every second.
    let (app, emulator, _emulator_dir) = crate::helpers::gateway_with_emulator_and(|_| {}, Default::default(), |settings| {
        settings.ksef.lighthouse_url = settings.ksef.base_url.clone();
        settings.ksef.lighthouse_every_secs = Some(1);
    })
    .await;
    let key = app.api_key.clone();
    app.set_offline_certificate(&key).await;
    let before = app.submit_ok(&key, &invoice(NIP, "FV/LATARNIA/0")).await;
    assert!(before.get("offline").is_none(), "no failure announced: issued online: {before}");

    // KSeF fails, and the Latarnia says so.
    let started = emulator.emulator().now() - chrono::Duration::minutes(5);
    let announcement = LighthouseAnnouncement { category: MessageCategory::Failure, title: None, text: None, start: Some(started), end: None };
    let failure = emulator.emulator().lighthouse().announce(emulator.emulator().now(), announcement).unwrap();
    let down = emulator.faults().add(FaultRule { endpoints: EndpointGroup::All, ..FaultRule::new(FaultKind::Unavailable) }).unwrap();
    let id = format!("latarnia-{}", failure.event_id);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ksef_gateway::ops::announcements::list(app.app.ops()).await.unwrap().iter().any(|a| a.id == id && a.kind == "failure") {
        assert!(std::time::Instant::now() < deadline, "the gateway did not take up the Latarnia's failure");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let during = app.submit_ok(&key, &invoice(NIP, "FV/LATARNIA/1")).await;
    assert_eq!(during["offline"]["mode"], "failure", "issued in the announced failure's mode: {during}");
    assert!(during["offline"].get("deadline").is_none(), "unknown while the failure lasts: {during}");

    // The failure ends: the Latarnia publishes its end, KSeF answers again, the invoice is delivered and due
    // seven business days after the end.
    emulator.emulator().lighthouse().end(emulator.emulator().now(), failure.event_id, None).unwrap();
    assert!(emulator.faults().remove(&down.id));
    let done = app.wait_submitted(&key, during["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(done["invoice"]["delivery"]["state"], "accepted", "{done}");
    assert_eq!(done["invoice"]["invoicingMode"], "Offline");
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let due = loop {
        let v: Value = app.get(&format!("/invoices/{}", during["id"].as_str().unwrap()), &key).await.json().await.unwrap();
        if let Some(due) = v["invoice"]["delivery"]["deadline"].as_str() {
            break chrono::DateTime::parse_from_rfc3339(due).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no deadline after the failure ended: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ksef_client::wire::datetime::to_warsaw(due.to_utc()).date_naive(), OfflineMode::Failure.deadline(today), "seven business days after it ended");
    let after = app.submit_ok(&key, &invoice(NIP, "FV/LATARNIA/2")).await;
    assert!(after.get("offline").is_none(), "the failure is over: issued online: {after}");
}

#[tokio::test]
async fn the_outage_command_records_lists_and_ends_announcements() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, out, err) = crate::helpers::run_binary(&["outage", "announce", "--kind", "unavailability", "--note", "BIP 2026-12-05", "--data-dir", data]).await;
    assert_eq!(code, 0, "{err}");
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let (code, out, _) = crate::helpers::run_binary(&["outage", "list", "--data-dir", data]).await;
    assert_eq!(code, 0);
    assert!(out.contains(&id) && out.contains("unavailability") && out.contains("BIP 2026-12-05"), "{out}");
    let (code, out, err) = crate::helpers::run_binary(&["outage", "end", "--id", &id, "--data-dir", data]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 invoice(s)"), "{out}");
    let (code, _, err) = crate::helpers::run_binary(&["outage", "announce", "--kind", "offline24", "--data-dir", data]).await;
    assert_eq!(code, 2, "offline24 is not announced: {err}");
    let (code, _, err) = crate::helpers::run_binary(&["outage", "end", "--id", "nope", "--data-dir", data]).await;
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("no announcement"), "{err}");
}
