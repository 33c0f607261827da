//! Error formats, malformed input, size limits and rate limiting.

use serde_json::{Value, json};

use crate::helpers::{SELLER, TestEmulator, spawn, spawn_with};

#[tokio::test]
async fn a_validation_error_is_legacy_json_by_default_and_problem_details_on_request() {
    let emu = spawn().await;
    let legacy = emu.post("/v2/auth/ksef-token", None, Some(&json!({ "challenge": "x" }))).await;
    assert_eq!(legacy.status(), 400);
    assert_eq!(legacy.headers()["content-type"], "application/json");
    let body: Value = legacy.json().await.unwrap();
    let detail = &body["exception"]["exceptionDetailList"][0];
    assert_eq!(detail["exceptionCode"], 21405);
    assert_eq!(detail["exceptionDescription"], "Błąd walidacji danych wejściowych.");
    assert!(detail["details"][0].as_str().unwrap().contains("contextIdentifier"), "{body}");

    let problem = emu
        .http
        .post(emu.url("/v2/auth/ksef-token"))
        .header("X-Error-Format", "problem-details")
        .json(&json!({ "challenge": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem.status(), 400);
    assert_eq!(problem.headers()["content-type"], "application/problem+json");
    let body: Value = problem.json().await.unwrap();
    assert_eq!((body["title"].as_str(), body["status"].as_i64()), (Some("Bad Request"), Some(400)));
    assert_eq!(body["errors"][0]["code"], 21405);
    assert_eq!(body["instance"], "/v2/auth/ksef-token");
    assert!(body["traceId"].is_string() && body["timestamp"].as_str().unwrap().ends_with("+00:00"));
}

#[tokio::test]
async fn malformed_bodies_paths_and_queries_are_21405_never_a_500() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (emu.http.post(emu.url("/v2/sessions/online")).bearer_auth(&access).body("{not json"), "broken JSON"),
        (emu.http.post(emu.url("/v2/sessions/online")).bearer_auth(&access).json(&json!({ "formCode": 7 })), "wrong types"),
        (emu.http.post(emu.url("/v2/sessions/online")).bearer_auth(&access), "no body"),
        (emu.http.get(emu.url("/v2/sessions/x/invoices?pageSize=abc")).bearer_auth(&access), "bad query"),
        (emu.http.get(emu.url("/v2/invoices/exports/short")).bearer_auth(&access), "bad reference"),
        (emu.http.post(emu.url("/v2/invoices/query/metadata")).bearer_auth(&access).json(&json!({ "subjectType": "Subject9" })), "bad enum"),
    ];
    for (request, why) in cases {
        let (status, code, body) = TestEmulator::error_code(request.send().await.unwrap()).await;
        assert_eq!((status, code), (400, 21405), "{why}: {body}");
    }
}

#[tokio::test]
async fn non_ascii_identifiers_are_validation_errors_not_crashes() {
    let emu = spawn().await;
    let body = json!({ "challenge": "2025062é-CR-0000000000-0000000000-0",
        "contextIdentifier": { "type": "Nip", "value": SELLER }, "encryptedToken": "AA==" });
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/auth/ksef-token", None, Some(&body)).await).await;
    assert_eq!((status, code), (400, 21405));
    let access = emu.login(SELLER).await;
    for path in ["/v2/sessions/2025062%C3%A9-SO-0000000000-0000000000-0", "/v2/invoices/ksef/526587763%C3%A9-20250826-0100001AF629-A"] {
        let (status, code, _) = TestEmulator::error_code(emu.get(path, Some(&access)).await).await;
        assert_eq!((status, code), (400, 21405), "{path}");
    }
    let long_ago = json!({ "subjectType": "Subject1", "dateRange": { "dateType": "Invoicing", "from": "-262143-01-01T00:00:00" } });
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/invoices/query/metadata", Some(&access), Some(&long_ago)).await).await;
    assert_eq!((status, code), (400, 21405), "a date at the end of the range");
}

#[tokio::test]
async fn storage_urls_without_a_signature_are_forbidden() {
    let emu = spawn().await;
    let r = emu.get("/storage/exports/20260101-EH-0000000000-0000000000-00/x.zip.aes", None).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("AuthenticationFailed"));
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let emu = spawn_with(|c| c.max_json_body = 64 * 1024).await;
    let access = emu.login(SELLER).await;
    let big = json!({ "padding": "x".repeat(100 * 1024) });
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/sessions/online", Some(&access), Some(&big)).await).await;
    assert_eq!((status, code), (400, 21405));
}

#[tokio::test]
async fn with_official_rate_limits_the_sixth_session_list_in_a_second_is_429_with_retry_after() {
    let emu = spawn_with(|c| c.rate_limits = ksef_emulator::RateLimitProfile::Official).await;
    let access = emu.login(SELLER).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(emu.get("/v2/sessions?sessionType=Online", Some(&access)).await);
    }
    let last = statuses.pop().unwrap();
    assert!(statuses.iter().all(|r| r.status() == 200));
    assert_eq!(last.status(), 429);
    let retry: u64 = last.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = last.json().await.unwrap();
    assert_eq!(body["status"]["code"], 429);
    // Pre-signed downloads are never limited.
    assert_eq!(emu.get("/emulator/v1/health", None).await.status(), 200);
}

#[tokio::test]
async fn unknown_request_headers_and_accept_any_are_fine() {
    let emu = spawn().await;
    let r = emu
        .http
        .get(emu.url("/v2/security/public-key-certificates"))
        .header("Accept", "*/*")
        .header("X-KSeF-Feature", "upo-v4-3")
        .header("X-Something-New", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
