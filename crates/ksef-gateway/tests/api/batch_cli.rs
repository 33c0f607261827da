//! `ksef-gateway batch send`, run as a process: 10,000 invoices straight into the emulator, a folder with a bad
//! invoice through the gateway, and runs that continue an interrupted batch without sending anything twice.

use std::path::Path;

use ksef_client::wire::FormCode;
use ksef_client::{BatchPackager, ContextClient, KsefClient, SymmetricKey, Credentials};
use serde_json::{Value, json};

use crate::helpers::{NIP, emulator, invoice, run_binary, spawn_app};

/// Runs `ksef-gateway batch send` with `args`; returns (exit code, stdout, stderr).
async fn batch_send(args: &[&str]) -> (i32, String, String) {
    run_binary(&[&["batch", "send"][..], args].concat()).await
}

fn write_invoices(dir: &Path, prefix: &str, n: usize) {
    for i in 1..=n {
        std::fs::write(dir.join(format!("{prefix}-{i:05}.xml")), invoice(NIP, &format!("{prefix}/{i}"))).unwrap();
    }
}

/// The batch sessions KSeF holds for the context.
async fn batch_sessions(ctx: &ContextClient) -> usize {
    let access = ctx.access_token().await.unwrap();
    ctx.client().list_sessions(&access, true, 100, None).await.unwrap().sessions.len()
}

#[tokio::test]
async fn ten_thousand_invoices_go_straight_to_ksef_in_one_batch_and_every_one_gets_a_ksef_number() {
    let (emulator, _emulator_dir) = emulator().await;
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    let dir = tempfile::tempdir().unwrap();
    write_invoices(dir.path(), "BIG", 10_000);
    let base = emulator.base_url();
    let (code, stdout, stderr) = batch_send(&[
        dir.path().to_str().unwrap(), "--ksef-url", &base, "--nip", NIP, "--token", &token, "--part-size", "500000", "--json",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(results.len(), 10_000);
    assert!(results.iter().all(|r| r["ksefNumber"].as_str().is_some_and(|n| n.starts_with(NIP))), "{}", &stdout[..500]);
    let files: std::collections::BTreeSet<&str> = results.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files.len(), 10_000);
    assert!(files.contains("BIG-00001.xml") && files.contains("BIG-10000.xml"));
    let upo = std::fs::read_to_string(dir.path().join(".ksef-batch/upo.xml")).unwrap();
    assert_eq!(upo.matches("<NumerKSeFDokumentu>").count(), 10_000);
    assert!(stderr.contains("parts"), "{stderr}");
}

#[tokio::test]
async fn a_folder_sent_through_the_gateway_lists_a_bad_invoice_with_its_error_and_exits_1() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    write_invoices(dir.path(), "GW", 4);
    std::fs::write(dir.path().join("GW-bad.xml"), b"<Faktura>").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not an invoice, not sent").unwrap();
    let gateway = app.base.trim_end_matches("/api/v2").to_owned();
    let (code, stdout, stderr) = batch_send(&[dir.path().to_str().unwrap(), "--gateway", &gateway, "--api-key", &app.api_key]).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("FILE"), "{stdout}");
    assert_eq!(lines.len(), 6, "a header and five invoices: {stdout}");
    let bad = lines.iter().find(|l| l.starts_with("GW-bad.xml")).unwrap();
    assert!(bad.contains("430"), "{bad}");
    for line in lines.iter().filter(|l| l.starts_with("GW-0")) {
        assert!(line.contains(&format!("{NIP}-")), "{line}");
    }
    assert!(stderr.contains("4 of 5 invoices got a KSeF number"), "{stderr}");
}

#[tokio::test]
async fn a_run_cut_short_after_close_or_mid_upload_continues_without_opening_another_session() {
    let (emulator, _emulator_dir) = emulator().await;
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    let ctx = ContextClient::new(KsefClient::new(&emulator.base_url()).unwrap(), Credentials::nip(NIP, &token));
    let base = emulator.base_url();
    let remote = ["--ksef-url", base.as_str(), "--nip", NIP, "--token", token.as_str()];

    // Cut short after the close was sent but before it was recorded: the next run only collects the results.
    let dir = tempfile::tempdir().unwrap();
    write_invoices(dir.path(), "CUT", 3);
    let input = dir.path().to_str().unwrap();
    let (code, first, stderr) = batch_send(&[&[input][..], &remote[..]].concat()).await;
    assert_eq!(code, 0, "{stderr}");
    let state_path = dir.path().join(".ksef-batch/state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    state["closed"] = json!(false);
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    let (code, again, stderr) = batch_send(&[&[input][..], &remote[..]].concat()).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("was closed"), "{stderr}");
    assert_eq!(first, again, "the same results, from the same session");
    assert_eq!(batch_sessions(&ctx).await, 1);

    // Cut short mid-upload: a session is open with one of its parts uploaded. The next run uploads the rest.
    let dir = tempfile::tempdir().unwrap();
    write_invoices(dir.path(), "MID", 8);
    let input = dir.path().to_str().unwrap();
    let work = dir.path().join(".ksef-batch");
    let key = SymmetricKey::generate(&ctx.keys().await.unwrap()).unwrap();
    let files = ksef_client::directory_files(dir.path()).unwrap();
    let named = files.iter().map(|f| Ok((f.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::File::open(f)?)));
    let package = BatchPackager::with_part_size(1_500).package(named, &key.key, &key.iv, &work.join("parts")).unwrap();
    let session = ctx.open_batch_session(FormCode::fa3(), &package, &key, false).await.unwrap();
    session.upload(ctx.client(), &package.parts[..1], 1, |_| {}).await.unwrap();
    let fingerprint = {
        // How the CLI fingerprints a folder: each invoice file's name, size and modification time, in name order.
        let mut hash = ksef_core::crypto::Sha256::default();
        for f in &files {
            let name = f.file_name().unwrap().to_str().unwrap();
            let meta = std::fs::metadata(f).unwrap();
            let modified = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
            hash.update(format!("{name}\n{}\n{modified}\n", meta.len()).as_bytes());
        }
        ksef_core::crypto::b64(&hash.finish())
    };
    let state = json!({
        "source": format!("KSeF {base} NIP {NIP}"),
        "inputFingerprint": fingerprint,
        "file": package.file,
        "parts": package.parts.iter().map(|p| json!({ "ordinal": p.ordinal_number, "file": p.path, "size": p.size, "hash": p.hash })).collect::<Vec<_>>(),
        "session": session.reference_number,
        "uploads": session.part_upload_requests,
        "uploadDeadline": chrono::Utc::now() + chrono::Duration::minutes(10),
        "uploaded": [1],
        "closed": false,
    });
    std::fs::write(work.join("state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    let (code, stdout, stderr) = batch_send(&[&[input, "--json"][..], &remote[..]].concat()).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("continuing session {}", session.reference_number)), "{stderr}");
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(batch_sessions(&ctx).await, 2, "no session beyond the interrupted one");
}
