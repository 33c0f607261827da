//! The emulator's default verifier: the official schema and the rules KSeF enforces decide an invoice's status.

use std::sync::Arc;

use ksef_emulator::SchemaVerifier;

use crate::helpers::{SELLER, invoice, spawn_verifying};

#[tokio::test]
async fn an_invoice_the_schema_refuses_fails_with_430_naming_where_and_a_valid_one_is_accepted() {
    let emu = spawn_verifying(tempfile::tempdir().unwrap(), |_| {}, Arc::new(SchemaVerifier)).await;
    let access = emu.login(SELLER).await;
    let session = emu.open_session(&access).await;

    let valid = invoice(SELLER, "SCHEMA/1");
    let accepted = emu.send(&access, &session, &valid).await;
    let status = emu.wait_invoice(&access, &session, &accepted).await;
    assert_eq!(status["status"]["code"], 200, "{status}");

    // Well-formed, with the identification fields, but P_12 is not a rate the schema knows.
    let invalid = invoice(SELLER, "SCHEMA/2").replacen("<P_12>23</P_12>", "<P_12>23%</P_12>", 1);
    let refused = emu.send(&access, &session, &invalid).await;
    let status = emu.wait_invoice(&access, &session, &refused).await;
    assert_eq!(status["status"]["code"], 430, "{status}");
    assert_eq!(status["invoiceNumber"], "SCHEMA/2");
    let detail = status["status"]["details"][0].as_str().unwrap();
    assert!(detail.starts_with("/Faktura/Fa/FaWiersz/P_12"), "{detail}");
}
