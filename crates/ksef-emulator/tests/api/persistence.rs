//! A restart loses nothing the emulator accepted.

use serde_json::Value;

use crate::helpers::{SELLER, invoice, spawn_in, spawn_with};

#[tokio::test]
async fn a_restart_keeps_keys_tokens_sessions_and_finishes_pending_invoices() {
    let emu = spawn_with(|c| c.processing_delay = std::time::Duration::from_secs(3600)).await;
    let (_, token_key_id, _, sym_key_id) = emu.keys().await;
    let ksef_token = emu.issue_token(SELLER).await;
    let access = emu.login_tokens(SELLER, &ksef_token).await["accessToken"]["token"].as_str().unwrap().to_owned();
    let s = emu.open_session(&access).await;
    let inv = emu.send(&access, &s, &invoice(SELLER, "FV/RESTART")).await;
    let pending: Value = emu.get(&format!("/v2/sessions/{}/invoices/{inv}", s.reference), Some(&access)).await.json().await.unwrap();
    assert_eq!(pending["status"]["code"], 100, "held back by the processing delay");

    let crate::helpers::TestEmulator { server, dir, .. } = emu;
    server.shutdown().await.unwrap();
    let emu = spawn_in(dir, |_| {}).await;

    let (_, token_key_id_after, _, sym_key_id_after) = emu.keys().await;
    assert_eq!((token_key_id, sym_key_id), (token_key_id_after, sym_key_id_after), "keys are kept");
    assert_eq!(emu.get("/v2/sessions?sessionType=Online", Some(&access)).await.status(), 200, "the access token still works");
    let fresh = emu.login_tokens(SELLER, &ksef_token).await;
    assert!(fresh["accessToken"]["token"].is_string(), "the KSeF token still works");
    // The session key survives as its wrapped form: sending into the old session still works.
    emu.send(&access, &s, &invoice(SELLER, "FV/RESTART/2")).await;
    let done = emu.wait_invoice(&access, &s, &inv).await;
    assert_eq!(done["status"]["code"], 200, "the invoice accepted before the restart was processed after it");
}
