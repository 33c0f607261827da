//! Public keys and authentication.

use ksef_core::crypto::{RsaPublicKey, b64, b64_decode, sha256_base64};
use ksef_core::ids::{Challenge, ksef_token_plaintext};
use serde_json::{Value, json};

use crate::helpers::{SELLER, TestEmulator, spawn};

#[tokio::test]
async fn certificates_are_one_per_usage_with_ids_computed_from_the_der() {
    let emu = spawn().await;
    let certs: Vec<Value> = emu.get("/v2/security/public-key-certificates", None).await.json().await.unwrap();
    assert_eq!(certs.len(), 2);
    let mut usages = Vec::new();
    for c in &certs {
        let der = b64_decode(c["certificate"].as_str().unwrap()).unwrap();
        assert_eq!(c["certificateId"], sha256_base64(&der));
        let key = RsaPublicKey::from_certificate_der(&der).unwrap();
        assert_eq!(c["publicKeyId"], key.public_key_id());
        assert_eq!(c["publicKeyId"].as_str().unwrap().len(), 44);
        let from = ksef_wire::datetime::parse(c["validFrom"].as_str().unwrap()).unwrap();
        let to = ksef_wire::datetime::parse(c["validTo"].as_str().unwrap()).unwrap();
        assert!(from < chrono::Utc::now() && chrono::Utc::now() < to);
        usages.push(c["usage"][0].as_str().unwrap().to_owned());
    }
    usages.sort();
    assert_eq!(usages, ["KsefTokenEncryption", "SymmetricKeyEncryption"]);
    assert_ne!(certs[0]["publicKeyId"], certs[1]["publicKeyId"], "one key per usage");
}

#[tokio::test]
async fn a_challenge_is_36_characters_and_carries_its_timestamp_in_milliseconds() {
    let emu = spawn().await;
    let r = emu.post("/v2/auth/challenge", None, None).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    Challenge::parse(v["challenge"].as_str().unwrap()).unwrap();
    let ts = ksef_wire::datetime::parse(v["timestamp"].as_str().unwrap()).unwrap();
    assert_eq!(ts.timestamp_millis(), v["timestampMs"].as_i64().unwrap());
    assert_eq!(v["clientIp"], "127.0.0.1");
}

#[tokio::test]
async fn ksef_token_authentication_reaches_200_and_its_tokens_redeem_only_once() {
    let emu = spawn().await;
    let token = emu.issue_token(SELLER).await;
    let init = emu.start_auth(SELLER, &token).await;
    let reference = init["referenceNumber"].as_str().unwrap();
    assert_eq!(reference.len(), 36);
    assert_eq!(&reference[9..11], "AU");
    let op = init["authenticationToken"]["token"].as_str().unwrap();
    let status: Value = emu.get(&format!("/v2/auth/{reference}"), Some(op)).await.json().await.unwrap();
    assert_eq!(status["status"]["code"], 200);
    assert_eq!(status["authenticationMethod"], "Token");
    assert_eq!(status["authenticationMethodInfo"]["category"], "Token");
    assert!(status["startDate"].as_str().unwrap().ends_with("+00:00"));

    let first = emu.post("/v2/auth/token/redeem", Some(op), None).await;
    assert_eq!(first.status(), 200);
    let tokens: Value = first.json().await.unwrap();
    assert!(tokens["accessToken"]["token"].is_string() && tokens["refreshToken"]["token"].is_string());
    let (status, code, body) = TestEmulator::error_code(emu.post("/v2/auth/token/redeem", Some(op), None).await).await;
    assert_eq!((status, code), (400, 21301), "{body}");
    assert!(body.to_string().contains("zostały już pobrane"));
}

#[tokio::test]
async fn an_unknown_public_key_id_is_refused_with_21470() {
    let emu = spawn().await;
    let (_, _, _, symmetric_id) = emu.keys().await;
    let challenge: Value = emu.post("/v2/auth/challenge", None, None).await.json().await.unwrap();
    for key_id in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", symmetric_id.as_str()] {
        let body = json!({
            "challenge": challenge["challenge"],
            "contextIdentifier": { "type": "Nip", "value": SELLER },
            "encryptedToken": "AAAA",
            "publicKeyId": key_id,
        });
        let (status, code, body) = TestEmulator::error_code(emu.post("/v2/auth/ksef-token", None, Some(&body)).await).await;
        assert_eq!((status, code), (400, 21470), "{body}");
    }
}

#[tokio::test]
async fn a_challenge_answers_once_and_an_unknown_one_is_refused_with_21111() {
    let emu = spawn().await;
    let token = emu.issue_token(SELLER).await;
    let (token_key, _, _, _) = emu.keys().await;
    let challenge: Value = emu.post("/v2/auth/challenge", None, None).await.json().await.unwrap();
    let plain = ksef_token_plaintext(&token, challenge["timestampMs"].as_i64().unwrap());
    let body = json!({
        "challenge": challenge["challenge"],
        "contextIdentifier": { "type": "Nip", "value": SELLER },
        "encryptedToken": b64(&token_key.wrap(plain.as_bytes()).unwrap()),
    });
    assert_eq!(emu.post("/v2/auth/ksef-token", None, Some(&body)).await.status(), 202, "publicKeyId is optional");
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/auth/ksef-token", None, Some(&body)).await).await;
    assert_eq!((status, code), (400, 21111), "a challenge is used once");
    let mut unknown = body.clone();
    unknown["challenge"] = json!("20260101-CR-0000000000-0000000000-00");
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/auth/ksef-token", None, Some(&unknown)).await).await;
    assert_eq!((status, code), (400, 21111));
}

#[tokio::test]
async fn a_wrong_token_timestamp_or_context_ends_the_authentication_with_status_450() {
    let emu = spawn().await;
    let token = emu.issue_token(SELLER).await;
    let (token_key, _, _, _) = emu.keys().await;
    type Plaintext<'a> = Box<dyn Fn(i64) -> String + 'a>;
    let cases: [(&str, Plaintext, &str); 3] = [
        ("unknown token", Box::new(|ts| ksef_token_plaintext("20260101-EC-0000000000-0000000000-00|nip-5265877635|00", ts)), SELLER),
        ("timestamp of another moment", Box::new(|ts| ksef_token_plaintext(&token, ts - 1)), SELLER),
        ("token of another context", Box::new(|ts| ksef_token_plaintext(&token, ts)), "7010002137"),
    ];
    for (why, plaintext, nip) in cases {
        let challenge: Value = emu.post("/v2/auth/challenge", None, None).await.json().await.unwrap();
        let plain = plaintext(challenge["timestampMs"].as_i64().unwrap());
        let body = json!({
            "challenge": challenge["challenge"],
            "contextIdentifier": { "type": "Nip", "value": nip },
            "encryptedToken": b64(&token_key.wrap(plain.as_bytes()).unwrap()),
        });
        let init: Value = emu.post("/v2/auth/ksef-token", None, Some(&body)).await.json().await.unwrap();
        let op = init["authenticationToken"]["token"].as_str().unwrap();
        let status: Value = emu.get(&format!("/v2/auth/{}", init["referenceNumber"].as_str().unwrap()), Some(op)).await.json().await.unwrap();
        assert_eq!(status["status"]["code"], 450, "{why}: {status}");
        let (http, code, _) = TestEmulator::error_code(emu.post("/v2/auth/token/redeem", Some(op), None).await).await;
        assert_eq!((http, code), (400, 21301), "{why}: a failed authentication redeems nothing");
    }
}

#[tokio::test]
async fn a_refresh_token_gives_a_new_access_token_that_works() {
    let emu = spawn().await;
    let token = emu.issue_token(SELLER).await;
    let tokens = emu.login_tokens(SELLER, &token).await;
    let refresh = tokens["refreshToken"]["token"].as_str().unwrap();
    let r = emu.post("/v2/auth/token/refresh", Some(refresh), None).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    let access = fresh["accessToken"]["token"].as_str().unwrap();
    assert_ne!(access, tokens["accessToken"]["token"].as_str().unwrap());
    assert_eq!(emu.get("/v2/sessions?sessionType=Online", Some(access)).await.status(), 200);
    // An access token is not a refresh token.
    assert_eq!(emu.post("/v2/auth/token/refresh", Some(access), None).await.status(), 401);
}

#[tokio::test]
async fn protected_endpoints_answer_401_problem_json_without_a_valid_access_token() {
    let emu = spawn().await;
    let token = emu.issue_token(SELLER).await;
    let init = emu.start_auth(SELLER, &token).await;
    let operation_token = init["authenticationToken"]["token"].as_str().unwrap();
    for token in [None, Some("not-a-jwt"), Some(operation_token)] {
        let r = emu.get("/v2/sessions?sessionType=Online", token).await;
        assert_eq!(r.status(), 401, "{token:?}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: Value = r.json().await.unwrap();
        assert_eq!((body["status"].as_i64(), body["title"].as_str()), (Some(401), Some("Unauthorized")));
        assert_eq!(body["instance"], "/v2/sessions");
    }
}

#[tokio::test]
async fn an_access_token_expires_and_is_then_refused() {
    let emu = crate::helpers::spawn_with(|c| c.access_token_ttl = std::time::Duration::from_secs(60)).await;
    let access = emu.login(SELLER).await;
    assert_eq!(emu.get("/v2/sessions?sessionType=Online", Some(&access)).await.status(), 200);
    emu.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(emu.get("/v2/sessions?sessionType=Online", Some(&access)).await.status(), 401);
}

#[tokio::test]
async fn a_token_without_invoice_write_is_refused_sessions_with_403() {
    let emu = spawn().await;
    let r = emu.post("/emulator/v1/tokens", None, Some(&json!({ "nip": SELLER, "permissions": ["InvoiceRead"] }))).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let access = emu.login_tokens(SELLER, &token).await["accessToken"]["token"].as_str().unwrap().to_owned();
    let body = json!({ "formCode": { "systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA" },
        "encryption": { "encryptedSymmetricKey": "AAAA", "initializationVector": "AAAAAAAAAAAAAAAAAAAAAA==" } });
    let r = emu.post("/v2/sessions/online", Some(&access), Some(&body)).await;
    assert_eq!(r.status(), 403);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["reasonCode"], "missing-permissions");
    assert_eq!(p["security"]["presentPermissions"], json!(["InvoiceRead"]));
}

#[tokio::test]
async fn the_token_endpoint_refuses_a_malformed_nip_or_permission() {
    let emu = spawn().await;
    for body in [json!({ "nip": "123" }), json!({ "nip": SELLER, "permissions": ["Everything"] }), json!({})] {
        let (status, code, _) = TestEmulator::error_code(emu.post("/emulator/v1/tokens", None, Some(&body)).await).await;
        assert_eq!((status, code), (400, 21405), "{body}");
    }
}
