//! Building export packages in the background: select the invoices, write `{ksefNumber}.xml` files and
//! `_metadata.json` into a ZIP (or tar.gz), split it into parts and encrypt each part on its own.
//!
//! The archive goes to disk, not memory, and each part is encrypted as a stream, so package size is bounded
//! by disk space only.

use std::fs::{self, File};
use std::io::{BufWriter, Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use ksef_core::crypto::{CbcEncryptor, Sha256, b64};
use ksef_wire::CompressionType;
use ksef_wire::codes::{Status, export as status};
use ksef_wire::invoices::{
    InvoiceExportRequest, InvoiceMetadata, InvoicePackage, InvoicePackagePart, InvoiceQueryDateType, PackageMetadataFile,
};

use crate::query::{RangeError, date_of, matches, resolve};
use crate::files::export_dir;
use crate::limits::PACKAGE_LIFETIME;
use crate::session::decode_encryption;
use crate::state::{AppState, SessionKey};
use crate::store::{ExportRow, QueryOrder, StoredStatus};

/// Runs forever: builds pending exports one at a time.
pub(crate) async fn run(state: AppState) {
    loop {
        let ready_before = state.now() - chrono::Duration::from_std(state.config.processing_delay).unwrap_or_default();
        match state.db.pending_exports(ready_before).await {
            Ok(pending) => {
                for export in pending {
                    let reference = export.reference_number.clone();
                    if let Err(err) = build(&state, export).await {
                        if err.downcast_ref::<sqlx::Error>().is_some_and(crate::store::is_transient) {
                            // Most likely passing (a busy database): the export stays at 100 and is tried again.
                            tracing::warn!(error = ?err, export.reference = %reference, "export interrupted; will retry");
                            continue;
                        }
                        tracing::error!(error = ?err, export.reference = %reference, "export failed");
                        let failed = StoredStatus::from(status::UNKNOWN_ERROR);
                        if let Err(err) = state.db.finish_export(&reference, &failed, None, state.now(), None).await {
                            tracing::error!(error = ?err, "failed to record a failed export");
                        }
                    }
                }
            }
            Err(err) => tracing::error!(error = ?err, "failed to list pending exports"),
        }
        tokio::select! {
            () = state.exports_waiting.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

async fn build(state: &AppState, export: ExportRow) -> anyhow::Result<()> {
    let now = state.now();
    let request: InvoiceExportRequest = serde_json::from_str(&export.request).context("stored export request")?;
    let finish_with = |status: Status| {
        let status = StoredStatus::from(status);
        let db = state.db.clone();
        let reference = export.reference_number.clone();
        async move { db.finish_export(&reference, &status, None, now, None).await }
    };
    let key = decode_encryption(state, &request.encryption)
        .ok()
        .and_then(|(key, iv)| state.unwrap_session_key(&key, &iv));
    let Some(key) = key else {
        finish_with(status::KEY_DECRYPTION_FAILED).await?;
        return Ok(());
    };
    let resolved = match resolve(state, &export.context_value, request.filters.clone(), QueryOrder::Asc).await {
        Ok(Ok(q)) => q,
        Ok(Err(RangeError::AfterHwm)) => {
            finish_with(status::RANGE_BEYOND_DATA).await?;
            return Ok(());
        }
        Ok(Err(RangeError::Invalid(_))) | Err(_) => {
            finish_with(status::UNKNOWN_ERROR).await?;
            return Ok(());
        }
    };
    let cap = state.config.export_invoice_limit;
    let mut selected: Vec<InvoiceMetadata> = Vec::new();
    let mut truncated = false;
    state
        .db
        .scan_metadata(&resolved.store, |m| {
            if !matches(&resolved.filters, &m) {
                return true;
            }
            if selected.len() == cap {
                truncated = true;
                return false;
            }
            selected.push(m);
            true
        })
        .await?;

    let compression = request.compression_type.unwrap_or_default();
    let only_metadata = request.only_metadata == Some(true);
    let dir = export_dir(state, &export.reference_number);
    fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let archive = dir.join(match compression {
        CompressionType::Zip => "package.zip",
        CompressionType::TarGz => "package.tar.gz",
    });
    let files = selected.iter().map(|m| m.ksef_number.clone()).collect::<Vec<_>>();
    let metadata_json = serde_json::to_vec(&PackageMetadataFile { invoices: selected.clone() })?;
    {
        let state = state.clone();
        let archive = archive.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let contents = |ksef: &str| handle.block_on(state.db.invoice_content(ksef)).ok().flatten();
            let files = if only_metadata { Vec::new() } else { files };
            write_archive(&archive, compression, &files, &metadata_json, contents)
        })
        .await??;
    }
    let part_size = state.config.export_part_size.max(16);
    let reference = export.reference_number.clone();
    let extension = match compression {
        CompressionType::Zip => "zip",
        CompressionType::TarGz => "tar.gz",
    };
    let parts = {
        let archive = archive.clone();
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || split_and_encrypt(&archive, &dir, &reference, extension, part_size, &key)).await??
    };
    fs::remove_file(&archive).ok();

    let last = truncated.then(|| selected.last()).flatten();
    let date_type = resolved.store.date_type;
    let package = InvoicePackage {
        invoice_count: selected.len() as i64,
        size: parts.iter().map(|p| p.part_size).sum(),
        parts,
        is_truncated: truncated,
        last_issue_date: last.filter(|_| date_type == InvoiceQueryDateType::Issue).map(|m| m.issue_date),
        last_invoicing_date: last.filter(|_| date_type == InvoiceQueryDateType::Invoicing).map(|m| date_of(date_type, m)),
        last_permanent_storage_date: last
            .filter(|_| date_type == InvoiceQueryDateType::PermanentStorage)
            .map(|m| date_of(date_type, m)),
        permanent_storage_hwm_date: resolved.hwm,
        compression_type: compression,
    };
    let completed = state.now();
    let expires: DateTime<Utc> = completed + PACKAGE_LIFETIME;
    state
        .db
        .finish_export(
            &export.reference_number,
            &status::READY.into(),
            Some(&serde_json::to_string(&package)?),
            completed,
            Some(expires),
        )
        .await?;
    tracing::info!(export.reference = %export.reference_number, invoices = package.invoice_count, parts = package.parts.len(), "export built");
    Ok(())
}

fn write_archive(
    path: &Path,
    compression: CompressionType,
    ksef_numbers: &[String],
    metadata_json: &[u8],
    contents: impl Fn(&str) -> Option<Vec<u8>>,
) -> anyhow::Result<()> {
    let file = BufWriter::new(File::create(path).with_context(|| format!("failed to create {}", path.display()))?);
    match compression {
        CompressionType::Zip => {
            let mut zip = zip::ZipWriter::new(file);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            for ksef in ksef_numbers {
                let content = contents(ksef).with_context(|| format!("content of {ksef} is missing"))?;
                zip.start_file(format!("{ksef}.xml"), options)?;
                zip.write_all(&content)?;
            }
            zip.start_file("_metadata.json", options)?;
            zip.write_all(metadata_json)?;
            zip.finish()?.flush()?;
        }
        CompressionType::TarGz => {
            let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
            let mut tar = tar::Builder::new(gz);
            let mut append = |name: &str, data: &[u8]| -> anyhow::Result<()> {
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                tar.append_data(&mut header, name, data)?;
                Ok(())
            };
            for ksef in ksef_numbers {
                let content = contents(ksef).with_context(|| format!("content of {ksef} is missing"))?;
                append(&format!("{ksef}.xml"), &content)?;
            }
            append("_metadata.json", metadata_json)?;
            tar.into_inner()?.finish()?.flush()?;
        }
    }
    Ok(())
}

/// Splits `archive` into parts of at most `part_size` plaintext bytes and encrypts each separately.
fn split_and_encrypt(
    archive: &Path,
    dir: &Path,
    reference: &str,
    extension: &str,
    part_size: usize,
    key: &SessionKey,
) -> anyhow::Result<Vec<InvoicePackagePart>> {
    let mut input = File::open(archive).with_context(|| format!("failed to open {}", archive.display()))?;
    let total = input.metadata()?.len();
    let mut parts = Vec::new();
    let mut remaining = total;
    let mut buf = vec![0u8; 1 << 20];
    while remaining > 0 || parts.is_empty() {
        let ordinal = parts.len() + 1;
        let name = format!("{reference}-{ordinal:03}.{extension}.aes");
        let mut out = BufWriter::new(File::create(dir.join(&name))?);
        let mut encryptor = CbcEncryptor::new(&key.key, &key.iv);
        let (mut plain_hash, mut cipher_hash) = (Sha256::default(), Sha256::default());
        let (mut plain_len, mut cipher_len) = (0u64, 0u64);
        let mut cipher = Vec::with_capacity(buf.len() + 16);
        let this_part = remaining.min(part_size as u64);
        let mut left = this_part;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = input.read(&mut buf[..want])?;
            anyhow::ensure!(n > 0, "archive ended early");
            plain_hash.update(&buf[..n]);
            plain_len += n as u64;
            left -= n as u64;
            cipher.clear();
            encryptor.update(&buf[..n], &mut cipher);
            cipher_hash.update(&cipher);
            cipher_len += cipher.len() as u64;
            out.write_all(&cipher)?;
        }
        cipher.clear();
        encryptor.finish(&mut cipher);
        cipher_hash.update(&cipher);
        cipher_len += cipher.len() as u64;
        out.write_all(&cipher)?;
        out.flush()?;
        remaining -= this_part;
        parts.push(InvoicePackagePart {
            ordinal_number: ordinal as i32,
            part_name: name,
            method: "GET".to_owned(),
            url: String::new(),
            part_size: plain_len as i64,
            part_hash: b64(&plain_hash.finish()),
            encrypted_part_size: cipher_len as i64,
            encrypted_part_hash: b64(&cipher_hash.finish()),
            expiration_date: Utc::now(),
        });
        if total == 0 {
            break;
        }
    }
    Ok(parts)
}
