//! Retries, rate limits, both error formats and hash checks, against the emulator and stub servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use ksef_client::wire::auth::InitTokenAuthenticationRequest;
use ksef_client::wire::{ContextIdentifier, ContextIdentifierType};
use ksef_client::{ClientOptions, ErrorFormat, KsefClient, KsefError};

use crate::helpers::harness;

async fn stub(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn fast() -> ClientOptions {
    ClientOptions { backoff: Duration::from_millis(10), ..ClientOptions::default() }
}

#[tokio::test]
async fn a_429_is_waited_out_as_retry_after_says() {
    let h = harness(|c| c.rate_limits = ksef_emulator::RateLimitProfile::Official).await;
    let access = h.ctx.access_token().await.unwrap();
    let started = Instant::now();
    // GET /sessions allows 5 requests a second; the client waits out the rest instead of failing.
    for _ in 0..7 {
        h.ctx.client().list_sessions(&access, false, 10, None).await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
}

#[tokio::test]
async fn server_errors_are_retried_for_safe_calls_and_never_for_sends() {
    let reads = Arc::new(AtomicU32::new(0));
    let sends = Arc::new(AtomicU32::new(0));
    let (r, s) = (reads.clone(), sends.clone());
    let router = Router::new()
        .route(
            "/v2/security/public-key-certificates",
            get(move || {
                let n = r.fetch_add(1, Ordering::SeqCst);
                async move { if n < 2 { (StatusCode::SERVICE_UNAVAILABLE, "busy") } else { (StatusCode::OK, "[]") } }
            }),
        )
        .route(
            "/v2/sessions/online/{r}/invoices",
            post(move || {
                s.fetch_add(1, Ordering::SeqCst);
                async { (StatusCode::BAD_GATEWAY, "down") }
            }),
        );
    let base = stub(router).await;
    let client = KsefClient::with_options(&base, fast()).unwrap();
    assert!(client.public_key_certificates().await.unwrap().is_empty());
    assert_eq!(reads.load(Ordering::SeqCst), 3, "two failures, then success");
    let request = ksef_client::wire::sessions::SendInvoiceRequest {
        invoice_hash: String::new(),
        invoice_size: 1,
        encrypted_invoice_hash: String::new(),
        encrypted_invoice_size: 1,
        encrypted_invoice_content: String::new(),
        offline_mode: None,
        hash_of_corrected_invoice: None,
    };
    let err = client.send_invoice("t", "20260101-SO-0000000000-0000000000-00", &request).await.unwrap_err();
    assert!(matches!(err, KsefError::Server { status: 502, .. }), "{err}");
    assert_eq!(sends.load(Ordering::SeqCst), 1, "a send is never repeated behind the caller's back");
}

#[tokio::test]
async fn both_error_formats_become_the_same_typed_error() {
    let h = harness(|_| {}).await;
    for format in [ErrorFormat::Legacy, ErrorFormat::ProblemDetails] {
        let client = KsefClient::with_options(&h.server.base_url(), ClientOptions { error_format: format, ..fast() }).unwrap();
        let request = InitTokenAuthenticationRequest {
            challenge: "20260101-CR-0000000000-0000000000-00".into(),
            context_identifier: ContextIdentifier { kind: ContextIdentifierType::Nip, value: "5265877635".into() },
            encrypted_token: "AAAA".into(),
            public_key_id: None,
            authorization_policy: None,
        };
        let err = client.ksef_token_auth(&request).await.unwrap_err();
        assert_eq!(err.exception_code(), Some(21111), "{format:?}: {err}");
        let err = client.session_status("bad-token", "20260101-SO-0000000000-0000000000-00").await.unwrap_err();
        assert!(matches!(err, KsefError::Unauthorized { .. }), "{format:?}: {err}");
    }
}

#[tokio::test]
async fn a_download_whose_announced_hash_does_not_match_is_refused() {
    let router = Router::new().route("/blob", get(|| async { ([("x-ms-meta-hash", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")], "not empty") }));
    let base = stub(router).await;
    let client = KsefClient::with_options(&base, fast()).unwrap();
    let err = client.download_presigned(&format!("{base}/blob")).await.unwrap_err();
    assert!(matches!(err, KsefError::HashMismatch { .. }), "{err}");
}

#[tokio::test]
async fn a_package_part_that_fails_either_of_its_hashes_ends_the_stream_with_an_error() {
    use futures_util::StreamExt as _;
    use ksef_core::crypto::{AesKey, Iv, encrypt_cbc, sha256_base64};
    let (key, iv) = (AesKey::generate(), Iv::generate());
    let plain = b"PK archive bytes".repeat(100);
    let encrypted = encrypt_cbc(&key, &iv, &plain);
    let served = encrypted.clone();
    let router = Router::new().route("/part", get(move || async move { served }));
    let base = stub(router).await;
    let client = KsefClient::with_options(&base, fast()).unwrap();
    let part = |encrypted_hash: String, plain_hash: String| ksef_client::wire::invoices::InvoicePackagePart {
        ordinal_number: 1,
        part_name: "p1".into(),
        method: "GET".into(),
        url: format!("{base}/part"),
        part_size: plain.len() as i64,
        part_hash: plain_hash,
        encrypted_part_size: encrypted.len() as i64,
        encrypted_part_hash: encrypted_hash,
        expiration_date: chrono::Utc::now(),
    };
    let good = part(sha256_base64(&encrypted), sha256_base64(&plain));
    let wrong = sha256_base64(b"something else");
    for (parts, ok) in [(vec![good.clone()], true), (vec![part(wrong.clone(), sha256_base64(&plain))], false), (vec![good, part(sha256_base64(&encrypted), wrong)], false)] {
        let whole = plain.len() * parts.len();
        let items: Vec<_> = ksef_client::decrypted_package(client.clone(), parts, key.clone(), iv).await.unwrap().collect().await;
        let last = items.last().unwrap();
        let delivered: Vec<u8> = items.iter().filter_map(|i| i.as_ref().ok()).flat_map(|b| b.to_vec()).collect();
        if ok {
            assert!(items.iter().all(Result::is_ok));
            assert_eq!(delivered, plain);
        } else {
            assert!(matches!(last, Err(KsefError::HashMismatch { .. })), "{last:?}");
            assert!(delivered.len() < whole, "a part failing its check never reaches the caller whole");
        }
    }
}

#[tokio::test]
async fn an_unreachable_ksef_is_a_transport_error_after_retries() {
    let client = KsefClient::with_options("http://127.0.0.1:1", fast()).unwrap();
    let err = client.public_key_certificates().await.unwrap_err();
    assert!(matches!(err, KsefError::Transport(_)) && err.is_transient(), "{err}");
}
