//! The OpenAPI document (kept in a golden file), the docs UI, health, metrics and request ids.

use serde_json::Value;

use crate::helpers::spawn_app;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/openapi.golden.json");

#[tokio::test]
async fn the_openapi_document_matches_the_golden_file() {
    let app = spawn_app().await;
    let r = app.http.get(format!("{}/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for op in ["ksefPublicKey", "ksefSessionOpenOnline", "ksefSessionStatus/{sessionId}", "ksefInvoiceSend", "ksefInvoiceStatus/{invoiceId}",
        "ksefSessionInvoices/{sessionId}", "ksefSessionClose/{sessionId}", "ksefSessionUpo/{sessionId}", "ksefInvoiceGet/{invoiceKsefNumber}"] {
        assert!(doc["paths"].get(format!("/api/v2/{op}")).is_some(), "{op} missing");
    }
    let pretty = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::write(GOLDEN, &pretty).unwrap();
    }
    let golden = std::fs::read_to_string(GOLDEN).expect("golden file; create it with UPDATE_GOLDEN=1");
    assert!(golden == pretty, "the OpenAPI document changed; review it and run with UPDATE_GOLDEN=1 to accept");
}

#[tokio::test]
async fn the_docs_ui_is_served_without_any_outside_resource() {
    let app = spawn_app().await;
    let r = app.http.get(format!("{}/docs/", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no CDN: {html}");
}

#[tokio::test]
async fn health_metrics_and_request_ids_are_there() {
    let app = spawn_app().await;
    let root = format!("http://{}", app.app.address());
    assert_eq!(app.http.get(format!("{root}/healthz")).send().await.unwrap().status(), 200);
    let r = app.get("/ksefPublicKey", &app.api_key).await;
    assert!(r.headers().contains_key("x-request-id"));
    let metrics = app.http.get(format!("{root}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total{route=\"/api/v2/ksefPublicKey\""), "{metrics}");
}
