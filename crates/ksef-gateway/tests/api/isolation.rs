//! A tenant never sees or touches another tenant's sessions or invoices, through any operation.

use serde_json::Value;

use crate::helpers::{NIP, OTHER_NIP, TestApp, invoice, spawn_app};

#[tokio::test]
async fn a_tenant_cannot_reach_another_tenants_sessions_or_invoices() {
    let app = spawn_app().await;
    let owner = app.api_key.clone();
    let stranger = app.add_tenant(OTHER_NIP).await;
    let session = app.open_session(&owner).await;
    let xml = invoice(NIP, "FV/PRIVATE");
    let id = app.send(&owner, &session, &xml).await;
    let ksef_number = app.wait_invoice(&owner, &id).await["ksefNumber"].as_str().unwrap().to_owned();

    for path in ["ksefSessionStatus", "ksefSessionInvoices", "ksefSessionUpo", "ksefSessionClose"] {
        let (status, code, body) = TestApp::error(app.get(&format!("/{path}/{session}"), &stranger).await).await;
        assert_eq!((status, code.as_str()), (404, "1109"), "{path}: another's session does not exist for this tenant: {body}");
    }
    let (status, code, _) = TestApp::error(app.send_plain(&stranger, &session, &invoice(OTHER_NIP, "FV/X")).await).await;
    assert_eq!((status, code.as_str()), (404, "1109"), "sending into another's session");
    let (status, code, _) = TestApp::error(app.get(&format!("/ksefInvoiceStatus/{id}"), &stranger).await).await;
    assert_eq!((status, code.as_str()), (404, "1207"), "another's invoice does not exist for this tenant");

    // The stranger is the buyer here (OTHER_NIP), so KSeF lets it download the invoice; a third tenant is not.
    let as_buyer = app.get(&format!("/ksefInvoiceGet/{ksef_number}"), &stranger).await;
    assert_eq!(as_buyer.status(), 200, "the buyer's context may download its purchase invoice");
    let outsider = app.add_tenant("1111111111").await;
    let (status, code, _) = TestApp::error(app.get(&format!("/ksefInvoiceGet/{ksef_number}"), &outsider).await).await;
    assert_eq!((status, code.as_str()), (404, "1207"));

    // Nothing the stranger tried changed the owner's session.
    let status: Value = app.get(&format!("/ksefSessionStatus/{session}"), &owner).await.json().await.unwrap();
    assert_eq!(status["sessionInfo"]["status"]["code"], 100, "still open");
}
