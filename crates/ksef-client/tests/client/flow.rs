//! The whole KSeF flow through our client: authenticate, send, statuses, UPO, download, query, export.

use std::io::Read as _;
use std::time::Duration;

use ksef_client::wire::invoices::{InvoiceExportRequest, InvoiceQueryDateRange, InvoiceQueryDateType, InvoiceQueryFilters, InvoiceQuerySubjectType};
use futures_util::TryStreamExt as _;
use ksef_client::wire::FormCode;
use ksef_client::{KsefError, MetadataPage, SymmetricKey};
use ksef_core::crypto::decrypt_cbc;

use crate::helpers::{NIP, harness, invoice};

fn filters() -> InvoiceQueryFilters {
    InvoiceQueryFilters::new(
        InvoiceQuerySubjectType::Subject1,
        InvoiceQueryDateRange {
            date_type: InvoiceQueryDateType::PermanentStorage,
            from: chrono::Utc::now() - chrono::Duration::hours(1),
            to: None,
            restrict_to_permanent_storage_hwm_date: None,
        },
    )
}

#[tokio::test]
async fn the_whole_online_flow_runs_through_the_client() {
    let h = harness(|c| c.export_part_size = 300).await;
    let ctx = &h.ctx;
    let session = ctx.open_online_session(FormCode::fa3()).await.unwrap();
    let xml = invoice(NIP, "FV/CLIENT/1");
    let sent = session.send(ctx, &xml).await.unwrap();
    let status = session.wait_for_invoice(ctx, &sent.reference_number).await.unwrap();
    assert_eq!(status.status.code, 200);
    let ksef = status.ksef_number.clone().unwrap();

    let access = ctx.access_token().await.unwrap();
    let upo = ctx.client().invoice_upo(&access, &session.reference_number, &sent.reference_number).await.unwrap();
    assert!(upo.meta_hash.is_some());
    let by_ksef = ctx.client().invoice_upo_by_ksef_number(&access, &session.reference_number, &ksef).await.unwrap();
    assert_eq!(upo.bytes, by_ksef.bytes);

    session.close(ctx).await.unwrap();
    let done = session.wait_until_processed(ctx).await.unwrap();
    assert_eq!(done.status.code, 200);
    let page = &done.upo.unwrap().pages[0];
    let by_ref = ctx.client().session_upo(&access, &session.reference_number, &page.reference_number).await.unwrap();
    let presigned = ctx.client().download_presigned(&page.download_url).await.unwrap();
    assert_eq!(by_ref.bytes, presigned.bytes);
    assert!(std::str::from_utf8(&by_ref.bytes).unwrap().contains(&ksef));

    let downloaded = ctx.client().invoice(&access, &ksef).await.unwrap();
    assert_eq!(&downloaded.bytes[..], &xml[..]);

    let listed = ctx.client().session_invoices_page(&access, &session.reference_number, false, 10, None).await.unwrap();
    assert_eq!(listed.invoices.len(), 1);
    let metadata = ctx.client().query_invoice_metadata(&access, &filters(), MetadataPage { descending: false, offset: 0, size: 10 }).await.unwrap();
    assert_eq!(metadata.invoices[0].ksef_number, ksef);

    let keys = ctx.keys().await.unwrap();
    let export_key = SymmetricKey::generate(&keys).unwrap();
    let request = InvoiceExportRequest { encryption: export_key.encryption.clone(), only_metadata: None, filters: filters(), compression_type: None };
    let export = ctx.client().start_export(&access, &request).await.unwrap();
    let package = loop {
        let s = ctx.client().export_status(&access, &export.reference_number).await.unwrap();
        if s.status.code == 200 {
            break s.package.unwrap();
        }
        assert_eq!(s.status.code, 100);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(package.parts.len() > 1, "small parts, so joining them is exercised");
    let mut archive = Vec::new();
    for part in &package.parts {
        let encrypted = ctx.client().download_presigned(&part.url).await.unwrap();
        archive.extend(decrypt_cbc(&export_key.key, &export_key.iv, &encrypted.bytes).unwrap());
    }
    // The streaming path yields the same archive, checked part by part.
    let streamed = ksef_client::decrypted_package(ctx.client().clone(), package.parts.clone(), export_key.key.clone(), export_key.iv).await.unwrap();
    let streamed: Vec<bytes::Bytes> = streamed.try_collect().await.unwrap();
    assert_eq!(streamed.concat(), archive);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut file = zip.by_name(&format!("{ksef}.xml")).unwrap();
    let mut content = Vec::new();
    file.read_to_end(&mut content).unwrap();
    assert_eq!(content, xml);
    assert_eq!(ctx.authentications(), 1, "one authentication served the whole flow");
}

#[tokio::test]
async fn an_access_token_is_reused_and_refreshed_shortly_before_it_expires() {
    let h = harness(|_| {}).await;
    // Access tokens live 15 minutes; a margin of 14:59 makes the token "nearly expired" after a second.
    let ctx = h.ctx.with_refresh_margin(Duration::from_secs(899));
    let first = ctx.access_token().await.unwrap();
    assert_eq!(ctx.access_token().await.unwrap(), first, "reused while fresh");
    assert_eq!((ctx.authentications(), ctx.refreshes()), (1, 0));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let refreshed = ctx.access_token().await.unwrap();
    assert_ne!(refreshed, first);
    assert_eq!((ctx.authentications(), ctx.refreshes()), (1, 1));
    let listed = ctx.client().list_sessions(&refreshed, false, 10, None).await.unwrap();
    assert!(listed.sessions.is_empty());
}

#[tokio::test]
async fn a_wrong_ksef_token_fails_authentication_with_status_450() {
    let h = harness(|_| {}).await;
    let ctx = ksef_client::ContextClient::new(h.ctx.client().clone(), ksef_client::Credentials::nip(NIP, "not-a-token"));
    match ctx.access_token().await {
        Err(KsefError::AuthenticationFailed { code, .. }) => assert_eq!(code, 450),
        other => panic!("expected a failed authentication, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_carry_ksef_exception_codes() {
    let h = harness(|_| {}).await;
    let ctx = &h.ctx;
    let session = ctx.open_online_session(FormCode::fa3()).await.unwrap();
    let mut request = session.key.encrypt_invoice(&invoice(NIP, "FV/X"));
    request.invoice_size += 1;
    let access = ctx.access_token().await.unwrap();
    let err = ctx.client().send_invoice(&access, &session.reference_number, &request).await.unwrap_err();
    assert_eq!(err.exception_code(), Some(21402), "{err}");
    let err = ctx.client().session_status(&access, "20260101-SO-0000000000-0000000000-00").await.unwrap_err();
    assert_eq!(err.exception_code(), Some(21173));
    assert!(err.to_string().contains("21173"));
}
