//! Fault injection (not part of KSeF): what a caller sees under each kind of rule, how rules are counted and
//! end, and the control API at `/emulator/v1/faults`.

use std::time::{Duration, Instant};

use ksef_emulator::{AccessSecret, FaultKind, FaultRule};
use serde_json::{Value, json};

use crate::helpers::{SELLER, Session, TestEmulator, invoice, spawn, spawn_with};

const PUBLIC_KEYS: &str = "/v2/security/public-key-certificates";

impl TestEmulator {
    /// Adds a rule through the control API; returns its id.
    async fn add_fault(&self, rule: Value) -> String {
        let r = self.post("/emulator/v1/faults", None, Some(&rule)).await;
        assert_eq!(r.status(), 201, "{rule}");
        let body: Value = r.json().await.unwrap();
        assert_eq!((body["hits"].as_u64(), body["active"].as_bool()), (Some(0), Some(true)), "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn remove_fault(&self, id: &str) {
        let r = self.http.delete(self.url(&format!("/emulator/v1/faults/{id}"))).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }

    /// The rule `id` as `GET /emulator/v1/faults` lists it.
    async fn listed_fault(&self, id: &str) -> Value {
        let list: Value = self.get("/emulator/v1/faults", None).await.json().await.unwrap();
        list["faults"].as_array().unwrap().iter().find(|f| f["id"] == id).cloned().expect("the rule is listed")
    }

    /// An access token, an open session and one invoice's content, ready to send.
    async fn ready_to_send(&self) -> (String, Session, String) {
        let access = self.login(SELLER).await;
        let session = self.open_session(&access).await;
        (access, session, invoice(SELLER, "FV/FAULT/1"))
    }

    async fn invoices_of(&self, access: &str, session: &Session) -> Vec<Value> {
        let list: Value = self.get(&format!("/v2/sessions/{}/invoices", session.reference), Some(access)).await.json().await.unwrap();
        list["invoices"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn unavailable_answers_503_with_a_problem_body_and_retry_after() {
    let emu = spawn().await;
    let id = emu.add_fault(json!({ "kind": "unavailable", "retryAfterSecs": 7 })).await;

    let r = emu.get(PUBLIC_KEYS, None).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.headers()[ksef_emulator::FAULT_HEADER].to_str().unwrap(), id);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["title"].as_str(), body["status"].as_i64()), (Some("Service Unavailable"), Some(503)), "{body}");
    assert_eq!(body["instance"], PUBLIC_KEYS);

    emu.remove_fault(&id).await;
    assert_eq!(emu.get(PUBLIC_KEYS, None).await.status(), 200);
}

#[tokio::test]
async fn error_answers_its_status_on_its_endpoints_only() {
    let emu = spawn().await;
    emu.add_fault(json!({ "kind": "error", "status": 502, "endpoints": "auth" })).await;

    let r = emu.post("/v2/auth/challenge", None, None).await;
    assert_eq!(r.status(), 502);
    assert!(r.headers().get("retry-after").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["title"].as_str(), body["status"].as_i64()), (Some("Bad Gateway"), Some(502)), "{body}");
    assert_eq!(emu.get(PUBLIC_KEYS, None).await.status(), 200, "not an auth endpoint");
    // The emulator's own API is never affected, whatever the group.
    emu.server.faults().add(FaultRule::new(FaultKind::Unavailable)).unwrap();
    emu.issue_token(SELLER).await;
}

#[tokio::test]
async fn latency_delays_the_normal_answer() {
    let emu = spawn().await;
    emu.add_fault(json!({ "kind": "latency", "latencyMs": 400 })).await;
    let started = Instant::now();
    let r = emu.get(PUBLIC_KEYS, None).await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_the_rate_limiters_body() {
    let emu = spawn().await;
    emu.add_fault(json!({ "kind": "rateLimit", "retryAfterSecs": 2 })).await;
    let r = emu.get(PUBLIC_KEYS, None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"]["code"], 429, "{body}");
    assert_eq!(body["status"]["description"], "Too Many Requests");
    assert!(body["status"]["details"][0].as_str().unwrap().contains("2 sekundach"), "{body}");
}

#[tokio::test]
async fn accepted_then_error_on_send_answers_500_but_the_invoice_is_in_the_session() {
    let emu = spawn().await;
    let (access, session, xml) = emu.ready_to_send().await;
    emu.add_fault(json!({ "kind": "acceptedThenError", "endpoints": "send" })).await;

    let r = emu.send_raw(&access, &session, &TestEmulator::send_body(&session, xml.as_bytes())).await;
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["title"], "Internal Server Error", "{body}");

    let invoices = emu.invoices_of(&access, &session).await;
    assert_eq!(invoices.len(), 1, "the send took effect although its answer was lost");
    assert_eq!(invoices[0]["invoiceHash"], ksef_core::crypto::sha256_base64(xml.as_bytes()));
}

/// Whether the request failed in transport before any answer arrived, as when a network drops.
async fn cut_off(request: reqwest::RequestBuilder) -> bool {
    match request.send().await {
        Err(err) => {
            // hyper's words: "connection closed before message completed".
            let chain = format!("{err:?}");
            err.is_request() && chain.contains("IncompleteMessage")
        }
        Ok(response) => panic!("an answer arrived: {}", response.status()),
    }
}

#[tokio::test]
async fn accepted_then_disconnect_cuts_the_connection_after_the_work_is_done() {
    let emu = spawn().await;
    let (access, session, xml) = emu.ready_to_send().await;
    let id = emu.add_fault(json!({ "kind": "acceptedThenDisconnect", "endpoints": "send" })).await;

    let send = emu
        .http
        .post(emu.url(&format!("/v2/sessions/online/{}/invoices", session.reference)))
        .bearer_auth(&access)
        .json(&TestEmulator::send_body(&session, xml.as_bytes()));
    assert!(cut_off(send).await, "the client sees a transport error");
    assert_eq!(emu.invoices_of(&access, &session).await.len(), 1, "the invoice was recorded");
    assert_eq!(emu.listed_fault(&id).await["hits"], 1);

    // A close answers 204, which has no body to break: the connection is cut before any answer instead.
    emu.add_fault(json!({ "kind": "acceptedThenDisconnect", "endpoints": "close" })).await;
    let close = emu.http.post(emu.url(&format!("/v2/sessions/online/{}/close", session.reference))).bearer_auth(&access);
    assert!(cut_off(close).await, "the client sees a transport error");
    let status: Value = emu.get(&format!("/v2/sessions/{}", session.reference), Some(&access)).await.json().await.unwrap();
    assert!(status["status"]["code"].as_i64().unwrap() >= 170, "the session was closed: {status}");
}

#[tokio::test]
async fn hold_processing_keeps_invoices_at_150_until_the_rule_is_removed() {
    let emu = spawn().await;
    let (access, session, xml) = emu.ready_to_send().await;
    let id = emu.add_fault(json!({ "kind": "holdProcessing" })).await;
    let invoice = emu.send(&access, &session, &xml).await;

    tokio::time::sleep(Duration::from_millis(600)).await;
    let held: Value =
        emu.get(&format!("/v2/sessions/{}/invoices/{invoice}", session.reference), Some(&access)).await.json().await.unwrap();
    assert_eq!(held["status"]["code"], 150, "{held}");
    assert_eq!(held["status"]["description"], "Trwa przetwarzanie");
    assert!(held["ksefNumber"].is_null());
    assert!(emu.listed_fault(&id).await["hits"].as_u64().unwrap() >= 1, "the worker rounds held back are counted");

    emu.remove_fault(&id).await;
    let done = emu.wait_invoice(&access, &session, &invoice).await;
    assert_eq!(done["status"]["code"], 200, "{done}");
}

#[tokio::test]
async fn delay_upo_keeps_a_closed_session_without_a_upo_until_the_rule_ends() {
    let emu = spawn().await;
    let (access, session, xml) = emu.ready_to_send().await;
    let invoice = emu.send(&access, &session, &xml).await;
    assert_eq!(emu.wait_invoice(&access, &session, &invoice).await["status"]["code"], 200);
    emu.add_fault(json!({ "kind": "delayUpo", "durationSecs": 2 })).await;
    emu.close(&access, &session).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting: Value = emu.get(&format!("/v2/sessions/{}", session.reference), Some(&access)).await.json().await.unwrap();
    assert_eq!(waiting["status"]["code"], 170, "{waiting}");
    assert!(waiting.get("upo").is_none(), "{waiting}");

    let done = emu.wait_session(&access, &session.reference).await;
    assert_eq!(done["status"]["code"], 200, "{done}");
    assert!(done["upo"]["pages"][0]["referenceNumber"].is_string(), "{done}");
}

#[tokio::test]
async fn close_timeout_closes_the_session_but_answers_after_the_clients_timeout() {
    let emu = spawn().await;
    let (access, session, _) = emu.ready_to_send().await;
    let rule = emu.post("/emulator/v1/faults", None, Some(&json!({ "kind": "closeTimeout", "latencyMs": 3000 }))).await;
    let rule: Value = rule.json().await.unwrap();
    assert_eq!(rule["endpoints"], "close", "{rule}");

    let close = emu
        .http
        .post(emu.url(&format!("/v2/sessions/online/{}/close", session.reference)))
        .bearer_auth(&access)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(close.is_err_and(|e| e.is_timeout()), "the client gives up first");
    let status: Value = emu.get(&format!("/v2/sessions/{}", session.reference), Some(&access)).await.json().await.unwrap();
    assert!(status["status"]["code"].as_i64().unwrap() >= 170, "the close took effect: {status}");
}

#[tokio::test]
async fn a_rule_for_half_the_requests_hits_between_60_and_140_of_200() {
    let emu = spawn().await;
    let added = emu.server.faults().add(FaultRule { share: 0.5, ..FaultRule::new(FaultKind::Error) }).unwrap();
    let mut failed = 0;
    for _ in 0..200 {
        if emu.get(PUBLIC_KEYS, None).await.status() == 500 {
            failed += 1;
        }
    }
    assert!((60..=140).contains(&failed), "{failed} of 200");
    assert_eq!(emu.server.faults().get(&added.id).unwrap().hits, failed);
}

#[tokio::test]
async fn a_counted_rule_hits_exactly_its_count_then_reads_inactive() {
    let emu = spawn().await;
    let id = emu.add_fault(json!({ "kind": "unavailable", "count": 3 })).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(emu.get(PUBLIC_KEYS, None).await.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 503, 200, 200, 200]);
    let listed = emu.listed_fault(&id).await;
    assert_eq!((listed["hits"].as_u64(), listed["active"].as_bool()), (Some(3), Some(false)), "{listed}");
}

#[tokio::test]
async fn a_rule_with_a_duration_stops_after_it() {
    let emu = spawn().await;
    let id = emu.add_fault(json!({ "kind": "unavailable", "durationSecs": 1 })).await;
    assert_eq!(emu.get(PUBLIC_KEYS, None).await.status(), 503);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(emu.get(PUBLIC_KEYS, None).await.status(), 200);
    assert_eq!(emu.listed_fault(&id).await["active"], false);
}

#[tokio::test]
async fn rules_are_listed_removed_one_by_one_and_cleared() {
    let emu = spawn().await;
    let first = emu.add_fault(json!({ "kind": "latency", "latencyMs": 1, "endpoints": "storage" })).await;
    emu.add_fault(json!({ "kind": "error", "share": 0.25, "endpoints": "invoices" })).await;
    let list: Value = emu.get("/emulator/v1/faults", None).await.json().await.unwrap();
    assert_eq!(
        list,
        json!({ "faults": [
            { "id": first, "kind": "latency", "endpoints": "storage", "latencyMs": 1, "hits": 0, "active": true },
            { "id": "f2", "kind": "error", "endpoints": "invoices", "share": 0.25, "hits": 0, "active": true },
        ]})
    );
    emu.remove_fault(&first).await;
    let again = emu.http.delete(emu.url(&format!("/emulator/v1/faults/{first}"))).send().await.unwrap();
    assert_eq!(again.status(), 404);
    let cleared = emu.http.delete(emu.url("/emulator/v1/faults")).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(emu.server.faults().list().is_empty());
}

#[tokio::test]
async fn bad_rules_are_refused_with_400_saying_why() {
    let emu = spawn().await;
    let cases = [
        (json!({ "kind": "explode" }), "unknown variant `explode`"),
        (json!({ "kind": "error", "endpoints": "everywhere" }), "unknown variant `everywhere`"),
        (json!({ "kind": "error", "share": 1.5 }), "share must be between 0.0 and 1.0"),
        (json!({ "kind": "error", "share": -0.1 }), "share must be between 0.0 and 1.0"),
        (json!({ "kind": "error", "status": 404 }), "500 to 599"),
        (json!({ "kind": "unavailable", "status": 500 }), "status applies only to kind error"),
        (json!({ "kind": "latency", "latencyMs": 600_001 }), "at most 600000"),
        (json!({ "kind": "latency" }), "needs latencyMs"),
        (json!({ "kind": "error", "lantencyMs": 5 }), "unknown field `lantencyMs`"),
        (json!({ "kind": "holdProcessing", "count": 2 }), "do not apply"),
        (json!({ "kind": "error", "count": 0 }), "count must be at least 1"),
        (json!({ "endpoints": "send" }), "missing field `kind`"),
    ];
    for (rule, expected) in cases {
        let (status, code, body) = TestEmulator::error_code(emu.post("/emulator/v1/faults", None, Some(&rule)).await).await;
        assert_eq!((status, code), (400, 21405), "{rule}: {body}");
        let detail = body["exception"]["exceptionDetailList"][0]["details"][0].as_str().unwrap();
        assert!(detail.contains(expected), "{rule}: {detail}");
    }
    for _ in 0..ksef_emulator::MAX_FAULT_RULES {
        emu.server.faults().add(FaultRule { latency_ms: Some(1), ..FaultRule::new(FaultKind::Latency) }).unwrap();
    }
    let (status, _, body) =
        TestEmulator::error_code(emu.post("/emulator/v1/faults", None, Some(&json!({ "kind": "error" }))).await).await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("at most 100 fault rules"), "{body}");
}

#[tokio::test]
async fn the_control_api_is_absent_without_the_test_api() {
    let emu = spawn_with(|config| config.test_api = false).await;
    let r = emu.post("/emulator/v1/faults", None, Some(&json!({ "kind": "error" }))).await;
    assert_eq!(r.status(), 404);
    assert_eq!(emu.get("/emulator/v1/faults", None).await.status(), 404);
}

#[tokio::test]
async fn rules_from_the_configuration_apply_from_the_start() {
    let emu = spawn_with(|config| config.faults = vec!["all:unavailable:retryAfter=3".parse().unwrap()]).await;
    let r = emu.get(PUBLIC_KEYS, None).await;
    assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()), (503, "3"));
    assert_eq!(emu.get("/emulator/v1/faults", None).await.status(), 200, "the control API is never affected");
}

#[tokio::test]
async fn a_stranger_is_refused_before_any_rule_applies() {
    let emu = spawn_with(|config| {
        config.access_secret = Some(AccessSecret("s3cret".to_owned()));
        config.faults = vec!["all:latency:ms=5000".parse().unwrap()];
    })
    .await;
    let started = Instant::now();
    assert_eq!(emu.get(PUBLIC_KEYS, None).await.status(), 403);
    assert!(started.elapsed() < Duration::from_secs(4), "refused at once, not after the latency");
}
