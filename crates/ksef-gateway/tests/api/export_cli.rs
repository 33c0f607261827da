//! `ksef-gateway export`, run as a process: more than KSeF's 10,000 invoices through the gateway, incremental
//! runs that neither miss nor double an invoice, and the direct-to-KSeF mode.

use std::collections::BTreeSet;
use std::path::Path;

use crate::helpers::{NIP, OTHER_NIP, fill_emulator, gateway_with_emulator, invoice, minutes_ago, run_binary};

/// Runs the binary with `args`; returns (success, stdout, stderr).
async fn export(args: &[&str]) -> (bool, String, String) {
    let (code, stdout, stderr) = run_binary(&[&["export"][..], args].concat()).await;
    (code == 0, stdout, stderr)
}

/// The KSeF numbers of the invoices in `dir`, checking each has its metadata beside it.
fn exported(dir: &Path) -> BTreeSet<String> {
    let mut numbers = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(number) = name.strip_suffix(".xml") {
            let metadata: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(format!("{number}.json"))).unwrap()).unwrap();
            assert_eq!(metadata["ksefNumber"], number, "the metadata is the invoice's own");
            numbers.insert(number.to_owned());
        }
    }
    numbers
}

#[tokio::test]
async fn export_fetches_more_than_ten_thousand_invoices_and_a_second_run_only_what_is_new() {
    let (app, emulator, _emulator_dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    fill_emulator(&emulator, "FV/BULK", 10_001).await;
    let out = tempfile::tempdir().unwrap();
    let gateway = format!("http://{}", app.app.address());
    let dir = out.path().to_str().unwrap();
    let from = minutes_ago(30);
    let args = ["--gateway", &gateway, "--api-key", &app.api_key, "--from", &from, "--subject", "sales", "--out", dir];

    let (ok, stdout, stderr) = export(&args).await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("truncated"), "KSeF's 10,000 cut was met and followed: {stderr}");
    assert_eq!(exported(out.path()).len(), 10_001, "{stderr}");
    assert!(stdout.starts_with("10001 invoices written"), "{stdout}");

    // New invoices arrive; the same command, run again, fetches only them.
    let session = app.open_session(&app.api_key).await;
    for i in 0..2 {
        let id = app.send(&app.api_key, &session, &invoice(NIP, &format!("FV/LATE/{i}"))).await;
        app.wait_invoice(&app.api_key, &id).await;
    }
    let (ok, stdout, stderr) = export(&args).await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("continuing from"), "{stderr}");
    assert!(stdout.starts_with("2 invoices written"), "only the new ones: {stdout} {stderr}");
    assert_eq!(exported(out.path()).len(), 10_003);

    // Nothing new: nothing written.
    let (ok, stdout, stderr) = export(&args).await;
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("0 invoices written"), "{stdout}");
}

#[tokio::test]
async fn export_straight_from_ksef_gives_the_buyer_its_cost_invoices() {
    let (app, emulator, _emulator_dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let session = app.open_session(&app.api_key).await;
    let mut sent = BTreeSet::new();
    for i in 0..3 {
        let id = app.send(&app.api_key, &session, &invoice(NIP, &format!("FV/DIRECT/{i}"))).await;
        sent.insert(app.wait_invoice(&app.api_key, &id).await["ksefNumber"].as_str().unwrap().to_owned());
    }
    let token = emulator.emulator().issue_token(OTHER_NIP, None).await.unwrap().token;
    let out = tempfile::tempdir().unwrap();
    let base = emulator.base_url();
    let from = minutes_ago(30);
    let args = ["--ksef-url", &base, "--nip", OTHER_NIP, "--token", &token, "--from", &from, "--subject", "cost", "--out", out.path().to_str().unwrap()];
    let (ok, stdout, stderr) = export(&args).await;
    assert!(ok, "{stderr}");
    assert_eq!(exported(out.path()), sent, "{stdout}");
    let number = sent.first().unwrap();
    let xml = std::fs::read(out.path().join(format!("{number}.xml"))).unwrap();
    assert!(String::from_utf8(xml).unwrap().contains("FV/DIRECT/"), "the invoice itself, decrypted");
}

#[tokio::test]
async fn export_without_a_starting_point_or_a_source_says_what_is_missing() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let (ok, _, stderr) = export(&["--gateway", "http://127.0.0.1:9", "--api-key", "k", "--subject", "sales", "--out", dir]).await;
    assert!(!ok);
    assert!(stderr.contains("--from is needed"), "{stderr}");
    let (ok, _, stderr) = export(&["--subject", "sales", "--out", dir, "--from", "2026-11-01"]).await;
    assert!(!ok);
    assert!(stderr.contains("exactly one of --gateway"), "{stderr}");
    let (ok, _, stderr) = export(&["--gateway", "http://127.0.0.1:9", "--api-key", "k", "--subject", "sales", "--out", dir, "--from", "soon"]).await;
    assert!(!ok);
    assert!(stderr.contains("1301") || stderr.contains("neither a date"), "{stderr}");
}

#[tokio::test]
async fn export_refuses_a_directory_that_holds_another_sources_invoices_or_another_running_export() {
    let (app, emulator, _emulator_dir) = gateway_with_emulator(|_| {}, Default::default()).await;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let gateway = format!("http://{}", app.app.address());
    let from = minutes_ago(30);
    let (ok, _, stderr) = export(&["--gateway", &gateway, "--api-key", &app.api_key, "--from", &from, "--subject", "sales", "--out", dir]).await;
    assert!(ok, "{stderr}");

    let token = emulator.emulator().issue_token(OTHER_NIP, None).await.unwrap().token;
    let base = emulator.base_url();
    let (ok, _, stderr) = export(&["--ksef-url", &base, "--nip", OTHER_NIP, "--token", &token, "--subject", "sales", "--out", dir]).await;
    assert!(!ok, "another context's invoices must not continue this directory's state");
    assert!(stderr.contains("holds an export from"), "{stderr}");

    // While one export holds the directory, another does not write into it.
    let lock = std::fs::File::open(out.path().join(".ksef-export.lock")).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let (ok, _, stderr) = export(&["--gateway", &gateway, "--api-key", &app.api_key, "--subject", "sales", "--out", dir]).await;
    assert!(!ok);
    assert!(stderr.contains("another export is writing"), "{stderr}");
    drop(lock);
    let (ok, _, stderr) = export(&["--gateway", &gateway, "--api-key", &app.api_key, "--subject", "sales", "--out", dir]).await;
    assert!(ok, "free again: {stderr}");
}
