//! Processing a closed batch session's package, as KSeF does after close: decrypt each part on its own,
//! check its hash, concatenate, check the whole archive's size and hash, unpack, and record every invoice
//! file for the ordinary per-invoice processing (`processing.rs`).
//!
//! It streams: parts are read in 64 KiB pieces into one archive file on disk, and the archive is read entry by
//! entry, so memory never holds more than one invoice. All invoices of a package are recorded in one
//! transaction, so an interruption unpacks again from the parts, which stay on disk until then.

use std::fs::File;
use std::io::{BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ksef_core::crypto::{CbcDecryptor, Sha256, b64};
use ksef_core::ids::{ReferenceKind, ReferenceNumber};
use ksef_wire::CompressionType;
use ksef_wire::codes::{invoice, session as status};

use crate::files::{batch_dir, discard_batch_parts};
use crate::limits::{MAX_FILE_NAME, MAX_HASHED_BYTES, MAX_INVOICE_BYTES, MAX_UNPACK_RATIO, MIN_UNPACK_BUDGET};
use crate::session::no_invoices_sent;
use crate::state::{AppState, SessionKey};
use crate::store::{BatchPackage, NewInvoice, SessionRow, StoredStatus};

fn package_error(details: Vec<String>) -> StoredStatus {
    StoredStatus::from(status::PACKAGE_INVALID).with_details(details)
}

fn decompression_error(detail: String) -> StoredStatus {
    StoredStatus::from(status::DECOMPRESSION_FAILED).with_details(vec![detail])
}

/// Runs forever: unpacks closed batch packages one at a time, apart from invoice processing, so a large
/// package never holds up online sessions.
pub(crate) async fn run(state: AppState) {
    loop {
        match state.db.batch_sessions_to_unpack().await {
            Ok(sessions) => {
                for session in sessions {
                    let reference = session.reference_number.clone();
                    let Err(err) = unpack(&state, session).await else { continue };
                    if err.downcast_ref::<sqlx::Error>().is_some_and(crate::store::is_transient) {
                        tracing::warn!(error = ?err, session.reference = %reference, "unpacking interrupted; will retry");
                        continue;
                    }
                    // Repeating cannot help (a part gone from disk, a fault): the session ends, as in KSeF, with 500.
                    tracing::error!(error = ?err, session.reference = %reference, "unpacking failed");
                    let failed = StoredStatus::from(status::UNKNOWN_ERROR);
                    if let Err(err) = state.db.finish_session(&reference, &failed, &[], state.now()).await {
                        tracing::error!(error = ?err, session.reference = %reference, "failed to record a failed batch");
                    }
                    discard_batch_parts(&state, &reference).await;
                }
            }
            Err(err) => tracing::error!(error = ?err, "failed to list closed batch sessions"),
        }
        tokio::select! {
            () = state.batches_waiting.notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
    }
}

/// Unpacks one closed batch session; its status becomes final here only when the package itself is bad.
pub(crate) async fn unpack(state: &AppState, session: SessionRow) -> anyhow::Result<()> {
    let reference = session.reference_number.clone();
    let Some(package) = state.db.batch_package(&reference).await? else {
        return Ok(());
    };
    let failure = match state.unwrap_session_key(&session.encrypted_key, &session.iv) {
        // Sessions whose key does not unwrap cannot be closed; this is for safety only.
        None => Some(StoredStatus::from(status::KEY_DECRYPTION_FAILED)),
        Some(key) => {
            let (worker_state, runtime) = (state.clone(), tokio::runtime::Handle::current());
            tokio::task::spawn_blocking(move || {
                unpack_blocking(&worker_state, &runtime, &session, &package, &key)
            })
            .await
            .context("unpacking panicked")??
        }
    };
    let now = state.now();
    if let Some(status) = &failure {
        state
            .db
            .finish_session(&reference, status, &[], now)
            .await?;
        tracing::info!(session.reference = %reference, status = status.code, "batch package refused");
    }
    // The parts are no longer needed either way.
    discard_batch_parts(state, &reference).await;
    Ok(())
}

/// The session-level failure, if any; otherwise the invoices are committed.
fn unpack_blocking(
    state: &AppState,
    runtime: &tokio::runtime::Handle,
    session: &SessionRow,
    package: &BatchPackage,
    key: &SessionKey,
) -> anyhow::Result<Option<StoredStatus>> {
    let dir = batch_dir(state, &session.reference_number);
    let archive = dir.join("package");
    if let Err(status) = assemble(&dir, &archive, package, key)? {
        return Ok(Some(status));
    }
    let mut entries = match Entries::open(&archive, package.compression) {
        Ok(entries) => entries,
        Err(err) => {
            return Ok(Some(decompression_error(format!(
                "Archiwum nie daje się otworzyć: {err}"
            ))));
        }
    };
    let names = match entries.names() {
        Ok(names) => names,
        Err(err) => {
            return Ok(Some(decompression_error(format!(
                "Archiwum jest uszkodzone: {err}"
            ))));
        }
    };
    let misplaced: Vec<String> = names
        .iter()
        .filter_map(|(name, is_file)| misplaced(name, *is_file))
        .collect();
    if !misplaced.is_empty() {
        return Ok(Some(package_error(misplaced)));
    }
    if names.is_empty() {
        return Ok(Some(no_invoices_sent()));
    }
    let limit = state.config.max_invoices_per_session;
    if names.len() > limit as usize {
        let detail = format!(
            "Paczka zawiera {} faktur; dozwolone jest najwyżej {limit}.",
            names.len()
        );
        return Ok(Some(
            StoredStatus::from(status::INVOICE_LIMIT_EXCEEDED).with_details(vec![detail]),
        ));
    }
    // What a package may occupy once unpacked: a ratio no real package of XML comes near, so a small archive
    // cannot fill the disk. Measured in a pass of its own, before anything is stored.
    let budget = unpack_budget(package.file_size);
    let mut kept: u64 = 0;
    let measured = entries.for_each(|name, reader| {
        let (invoice, _) = read_invoice(session, package, name, reader)?;
        kept += invoice.content.as_ref().map_or(0, |c| c.len() as u64);
        if kept > budget {
            return Err(std::io::Error::other(format!("paczka rozpakowuje się do ponad {budget} B (najwyżej {MAX_UNPACK_RATIO} razy jej rozmiar)")));
        }
        Ok(())
    });
    if let Err(err) = measured {
        return Ok(Some(decompression_error(format!("Archiwum jest uszkodzone lub zbyt duże po rozpakowaniu: {err}"))));
    }
    let mut unpacking = runtime.block_on(state.db.begin_unpacking(&session.reference_number))?;
    // A database failure is the emulator's, not the package's: it goes up to be retried, not reported as 430.
    let mut db_failure = None;
    let result = entries.for_each(|name, reader| {
        let (invoice, refused) = read_invoice(session, package, name, reader)?;
        runtime.block_on(unpacking.add(&invoice, refused.as_ref())).map_err(|err| {
            db_failure = Some(err);
            std::io::Error::other("the database failed")
        })
    });
    if let Some(err) = db_failure {
        return Err(err.into());
    }
    if let Err(err) = result {
        // What was staged was never visible; it goes now, as the session ends here.
        runtime.block_on(unpacking.abandon())?;
        return Ok(Some(decompression_error(format!(
            "Archiwum jest uszkodzone: {err}"
        ))));
    }
    runtime.block_on(unpacking.commit(state.now()))?;
    tracing::info!(session.reference = %session.reference_number, invoices = names.len(), "batch package unpacked");
    Ok(None)
}

/// Decrypts the parts in order into `archive`, checking each part's hash and then the whole archive's.
fn assemble(
    dir: &Path,
    archive: &Path,
    package: &BatchPackage,
    key: &SessionKey,
) -> anyhow::Result<Result<(), StoredStatus>> {
    let mut out = BufWriter::new(
        File::create(archive).with_context(|| format!("creating {}", archive.display()))?,
    );
    let mut whole = Sha256::default();
    let mut total: i64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let mut plain = Vec::with_capacity(buf.len() + 32);
    for part in &package.parts {
        let n = part.ordinal_number;
        let path = dir.join(format!("{n}.part"));
        let mut file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut hash = Sha256::default();
        let mut decryptor = CbcDecryptor::new(&key.key, &key.iv);
        loop {
            let read = file.read(&mut buf)?;
            if read == 0 {
                break;
            }
            hash.update(&buf[..read]);
            plain.clear();
            decryptor.update(&buf[..read], &mut plain);
            whole.update(&plain);
            total += plain.len() as i64;
            out.write_all(&plain)?;
        }
        if b64(&hash.finish()) != part.file_hash {
            return Ok(Err(package_error(vec![format!(
                "Skrót części '{n}' nie zgadza się z zadeklarowanym."
            )])));
        }
        plain.clear();
        if decryptor.finish(&mut plain).is_err() {
            let detail = format!("Części '{n}' nie można odszyfrować kluczem sesji.");
            return Ok(Err(StoredStatus::from(status::PART_DECRYPTION_FAILED).with_details(vec![detail])));
        }
        whole.update(&plain);
        total += plain.len() as i64;
        out.write_all(&plain)?;
    }
    out.flush()?;
    if total != package.file_size {
        let detail = format!(
            "Odszyfrowana paczka ma {total} B, zadeklarowano {} B.",
            package.file_size
        );
        return Ok(Err(package_error(vec![detail])));
    }
    if b64(&whole.finish()) != package.file_hash {
        return Ok(Err(package_error(vec![
            "Skrót odszyfrowanej paczki nie zgadza się z zadeklarowanym.".to_owned(),
        ])));
    }
    Ok(Ok(()))
}

/// Why an archive entry cannot be an invoice file, if it cannot.
fn misplaced(name: &str, is_file: bool) -> Option<String> {
    if !is_file || name.contains('/') || name.contains('\\') {
        Some(format!(
            "'{name}': paczka może zawierać tylko pliki faktur, bez katalogów."
        ))
    } else if !name.to_ascii_lowercase().ends_with(".xml") {
        Some(format!(
            "'{name}': plik faktury musi mieć rozszerzenie .xml."
        ))
    } else if name.chars().count() > MAX_FILE_NAME {
        Some(format!(
            "'{name}': nazwa pliku może mieć najwyżej {MAX_FILE_NAME} znaków."
        ))
    } else {
        None
    }
}

/// Reads one invoice file: at most [`MAX_INVOICE_BYTES`] are kept; a larger file is recorded as refused.
fn read_invoice(
    session: &SessionRow,
    package: &BatchPackage,
    name: &str,
    reader: &mut dyn Read,
) -> std::io::Result<(NewInvoice, Option<StoredStatus>)> {
    let mut content = Vec::new();
    reader
        .take(MAX_INVOICE_BYTES as u64 + 1)
        .read_to_end(&mut content)?;
    let mut hash = Sha256::default();
    hash.update(&content);
    let mut size = content.len() as i64;
    let refused = if size <= MAX_INVOICE_BYTES as i64 && !looks_like_xml(&content) {
        // Not kept: a file that is not XML cannot become an invoice, and zeros compress without end.
        let detail = format!("Plik {name} nie jest dokumentem XML.");
        Some(StoredStatus::from(invoice::FILE_INVALID).with_details(vec![detail]))
    } else if size > MAX_INVOICE_BYTES as i64 {
        // Hash the rest without keeping it, so the status names the file's real hash and size, up to a bound
        // (an archive entry can expand without end).
        let mut buf = vec![0u8; 64 * 1024];
        let mut rest = reader.take(MAX_HASHED_BYTES - size as u64);
        loop {
            let read = rest.read(&mut buf)?;
            if read == 0 {
                break;
            }
            hash.update(&buf[..read]);
            size += read as i64;
        }
        let detail = if size as u64 >= MAX_HASHED_BYTES {
            format!("Plik {name} ma ponad {MAX_HASHED_BYTES} B (skrót obejmuje pierwsze {MAX_HASHED_BYTES} B); faktura może mieć najwyżej {MAX_INVOICE_BYTES} B.")
        } else {
            format!("Plik {name} ma {size} B; faktura może mieć najwyżej {MAX_INVOICE_BYTES} B.")
        };
        Some(StoredStatus::from(invoice::FILE_INVALID).with_details(vec![detail]))
    } else {
        None
    };
    let invoice = NewInvoice {
        reference_number: ReferenceNumber::generate(
            ReferenceKind::Invoice,
            session.created_at.date_naive(),
        )
        .to_string(),
        session_reference: session.reference_number.clone(),
        invoice_hash: b64(&hash.finish()),
        invoice_size: size,
        content: refused.is_none().then_some(content),
        // In a batch session the invoicing date is the session's opening (KSeF's auto-offline rule).
        invoicing_date: session.created_at,
        offline_requested: package.offline_mode,
        hash_of_corrected: None,
        file_name: Some(name.to_owned()),
    };
    Ok((invoice, refused))
}

/// Whether `content` can be an XML document at all: UTF-8 whose first character (after a BOM and whitespace) is `<`.
fn looks_like_xml(content: &[u8]) -> bool {
    let text = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') && std::str::from_utf8(text).is_ok()
}

/// How many bytes of invoices a package of `file_size` bytes may unpack to.
fn unpack_budget(file_size: i64) -> u64 {
    (u64::try_from(file_size).unwrap_or(0).saturating_mul(MAX_UNPACK_RATIO)).max(MIN_UNPACK_BUDGET)
}

/// The entries of an archive on disk, ZIP or tar.gz.
enum Entries {
    Zip(zip::ZipArchive<File>),
    TarGz(PathBuf),
}

impl Entries {
    fn open(path: &Path, compression: CompressionType) -> std::io::Result<Entries> {
        match compression {
            CompressionType::Zip => Ok(Entries::Zip(
                zip::ZipArchive::new(File::open(path)?).map_err(std::io::Error::other)?,
            )),
            CompressionType::TarGz => Ok(Entries::TarGz(path.to_owned())),
        }
    }

    fn tar(path: &Path) -> std::io::Result<tar::Archive<flate2::read::GzDecoder<File>>> {
        Ok(tar::Archive::new(flate2::read::GzDecoder::new(File::open(
            path,
        )?)))
    }

    /// Every entry's name and whether it is a plain file.
    fn names(&mut self) -> std::io::Result<Vec<(String, bool)>> {
        match self {
            Entries::Zip(zip) => (0..zip.len())
                .map(|i| {
                    let entry = zip.by_index_raw(i).map_err(std::io::Error::other)?;
                    Ok((
                        entry.name().map_err(std::io::Error::other)?.into_owned(),
                        entry.is_file(),
                    ))
                })
                .collect(),
            Entries::TarGz(path) => {
                let mut names = Vec::new();
                for entry in Entries::tar(path)?.entries()? {
                    let entry = entry?;
                    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    names.push((name, entry.header().entry_type().is_file()));
                }
                Ok(names)
            }
        }
    }

    /// Calls `f` with each entry's name and content, in archive order.
    fn for_each(
        &mut self,
        mut f: impl FnMut(&str, &mut dyn Read) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match self {
            Entries::Zip(zip) => {
                for i in 0..zip.len() {
                    let mut entry = zip.by_index(i).map_err(std::io::Error::other)?;
                    let name = entry.name().map_err(std::io::Error::other)?.into_owned();
                    f(&name, &mut entry)?;
                }
                Ok(())
            }
            Entries::TarGz(path) => {
                for entry in Entries::tar(path)?.entries()? {
                    let mut entry = entry?;
                    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    f(&name, &mut entry)?;
                }
                Ok(())
            }
        }
    }
}
