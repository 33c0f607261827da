//! Batch sessions through the client: package, open, upload parts concurrently, close, wait, read results.

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};

use ksef_client::wire::FormCode;
use ksef_client::{BatchPackager, BatchSession, SymmetricKey};

use crate::helpers::{NIP, harness, invoice};

#[tokio::test]
async fn a_package_split_into_parts_is_uploaded_concurrently_and_every_invoice_gets_a_ksef_number()
{
    let h = harness(|_| {}).await;
    let ctx = &h.ctx;
    let files: Vec<_> = (1..=30)
        .map(|i| {
            Ok((
                format!("fv-{i:02}.xml"),
                Cursor::new(invoice(NIP, &format!("FV/BATCH/{i}"))),
            ))
        })
        .collect();
    let key = SymmetricKey::generate(&ctx.keys().await.unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let package = BatchPackager::with_part_size(2_000)
        .package(files, &key.key, &key.iv, dir.path())
        .unwrap();
    assert!(package.parts.len() > 3, "{} parts", package.parts.len());

    let session = ctx
        .open_batch_session(FormCode::fa3(), &package, &key, false)
        .await
        .unwrap();
    assert_eq!(session.part_upload_requests.len(), package.parts.len());
    let uploaded = AtomicUsize::new(0);
    session
        .upload(ctx.client(), &package.parts, 4, |_| {
            uploaded.fetch_add(1, Ordering::Relaxed);
        })
        .await
        .unwrap();
    assert_eq!(uploaded.load(Ordering::Relaxed), package.parts.len());
    session.close(ctx).await.unwrap();
    let status = session.wait_until_processed(ctx).await.unwrap();
    assert_eq!(status.status.code, 200, "{status:?}");
    assert_eq!(status.successful_invoice_count, Some(30));

    let invoices = session.invoices(ctx).await.unwrap();
    assert_eq!(invoices.len(), 30);
    for (i, inv) in invoices.iter().enumerate() {
        assert_eq!(
            inv.invoice_file_name.as_deref(),
            Some(package.file_names[i].as_str())
        );
        assert_eq!(inv.status.code, 200);
        assert!(inv.ksef_number.is_some());
    }
}

#[tokio::test]
async fn an_interrupted_upload_resumes_in_a_new_process_with_the_saved_urls() {
    let h = harness(|_| {}).await;
    let ctx = &h.ctx;
    let files: Vec<_> = (1..=6)
        .map(|i| {
            Ok((
                format!("r-{i}.xml"),
                Cursor::new(invoice(NIP, &format!("FV/RESUME/{i}"))),
            ))
        })
        .collect();
    let key = SymmetricKey::generate(&ctx.keys().await.unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let package = BatchPackager::with_part_size(1_500)
        .package(files, &key.key, &key.iv, dir.path())
        .unwrap();
    let opened = ctx
        .open_batch_session(FormCode::fa3(), &package, &key, false)
        .await
        .unwrap();
    // The first process uploads one part and stops.
    opened
        .upload(ctx.client(), &package.parts[..1], 1, |_| {})
        .await
        .unwrap();

    // Another picks the session up from what was saved, with no key in hand.
    let resumed = BatchSession::resume(
        opened.reference_number.clone(),
        opened.part_upload_requests.clone(),
        ctx.polling(),
    );
    resumed
        .upload(ctx.client(), &package.parts[1..], 2, |_| {})
        .await
        .unwrap();
    resumed.close(ctx).await.unwrap();
    assert_eq!(
        resumed
            .wait_until_processed(ctx)
            .await
            .unwrap()
            .successful_invoice_count,
        Some(6)
    );
}
