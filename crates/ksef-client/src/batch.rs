//! Batch packages: invoice files zipped, split, encrypted and hashed in one streaming pass into part files,
//! and batch sessions that upload those parts concurrently, close and wait.
//!
//! The ZIP is never whole in memory or on disk in clear: its bytes flow from the ZIP writer through the
//! whole-package hash into the current part's encryptor and hash, and out to that part's file.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::TryStreamExt as _;
use ksef_core::crypto::{AesKey, CbcEncryptor, Iv, Sha256, b64};
use ksef_core::limits::{
    MAX_BATCH_PACKAGE_BYTES, MAX_BATCH_PART_BYTES, MAX_BATCH_PARTS, MAX_INVOICE_BYTES, MAX_INVOICES_PER_SESSION,
};
use ksef_wire::sessions::{
    BatchFileInfo, BatchFilePartInfo, OpenBatchSessionRequest, PartUploadRequest,
    SessionInvoiceStatusResponse, SessionStatusResponse,
};
use ksef_wire::{CompressionType, FormCode};

use crate::context::{ContextClient, Polling, wait_for_session};
use crate::error::KsefError;
use crate::http::KsefClient;
use crate::keys::SymmetricKey;


/// One encrypted part on disk.
#[derive(Debug, Clone)]
pub struct PackagedPart {
    /// Its ordinal number, from 1.
    pub ordinal_number: i32,
    /// The file holding its encrypted bytes.
    pub path: PathBuf,
    /// Encrypted size.
    pub size: u64,
    /// Base64 SHA-256 of the encrypted bytes.
    pub hash: String,
}

/// A package ready to declare and upload.
#[derive(Debug, Clone)]
pub struct PackagedBatch {
    /// `batchFile` of the open request.
    pub file: BatchFileInfo,
    /// The encrypted parts, in order.
    pub parts: Vec<PackagedPart>,
    /// The invoice file names, in archive order.
    pub file_names: Vec<String>,
}

/// Builds a ZIP of invoice files, encrypted part by part under one key and IV.
#[derive(Debug)]
pub struct BatchPackager {
    part_size: u64,
    compress: bool,
}

impl Default for BatchPackager {
    fn default() -> Self {
        BatchPackager { part_size: MAX_BATCH_PART_BYTES, compress: true }
    }
}

impl BatchPackager {
    /// Parts of at most `part_size` bytes before encryption (clamped to 1..=100 MB).
    pub fn with_part_size(part_size: u64) -> BatchPackager {
        BatchPackager { part_size: part_size.clamp(1, MAX_BATCH_PART_BYTES), compress: true }
    }

    /// Whether entries are deflated at level 1 (the default: about as fast as storing, and invoices shrink
    /// several times) or stored.
    pub fn compressed(mut self, compress: bool) -> BatchPackager {
        self.compress = compress;
        self
    }

    /// Zips `files` (name and content, in order) into `dir` as encrypted parts `part-{n}.bin`.
    ///
    /// The part files are written, not synced: a caller that must find them after a power cut syncs them (the
    /// CLI does when it records the package in its state).
    ///
    /// Names must be plain file names: KSeF refuses folders inside a package.
    pub fn package<R: Read>(
        &self,
        files: impl IntoIterator<Item = io::Result<(String, R)>>,
        key: &AesKey,
        iv: &Iv,
        dir: &Path,
    ) -> Result<PackagedBatch, KsefError> {
        std::fs::create_dir_all(dir)?;
        let writer = PartWriter::new(dir.to_owned(), self.part_size, key.clone(), *iv);
        let mut zip = zip::ZipWriter::new_stream(writer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(if self.compress { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored })
            .compression_level(self.compress.then_some(1))
            // Fixed timestamps: the same files give the same package.
            .last_modified_time(zip::DateTime::default());
        let mut file_names = Vec::new();
        for file in files {
            let (name, mut content) = file?;
            if name.is_empty() || name.contains('/') || name.contains('\\') {
                return Err(KsefError::Package(format!(
                    "'{name}' is not a plain file name"
                )));
            }
            zip.start_file(name.as_str(), options).map_err(zip_error)?;
            io::copy(&mut content, &mut zip)?;
            file_names.push(name);
        }
        let writer = zip.finish().map_err(zip_error)?.into_inner();
        let (file, parts) = writer.finish()?;
        if parts.len() > MAX_BATCH_PARTS {
            return Err(KsefError::Package(format!(
                "{} parts; KSeF takes at most {MAX_BATCH_PARTS}",
                parts.len()
            )));
        }
        if file.file_size as u64 > MAX_BATCH_PACKAGE_BYTES {
            return Err(KsefError::Package(format!(
                "{} bytes; KSeF takes at most {MAX_BATCH_PACKAGE_BYTES}",
                file.file_size
            )));
        }
        Ok(PackagedBatch {
            file,
            parts,
            file_names,
        })
    }
}

fn zip_error(err: zip::result::ZipError) -> KsefError {
    KsefError::Package(format!("zip: {err}"))
}

/// Plain bytes gathered before they are encrypted and handed to the sink thread.
const CHUNK: usize = 1 << 20;

/// What the sink thread makes of a package: its declaration and its parts on disk.
type Sunk = (BatchFileInfo, Vec<PackagedPart>);

/// What the packaging thread hands the sink thread, in package order.
enum Piece {
    /// Plain bytes of the package and the same bytes as encrypted for part `ordinal` (a part's final piece
    /// carries only the padded last block).
    Data { ordinal: i32, plain: Vec<u8>, cipher: Vec<u8> },
    /// Part `ordinal` is complete.
    EndPart { ordinal: i32 },
}

/// The writer under the ZIP. It cuts the package into parts and encrypts each on its own; a second thread
/// hashes the whole package and each encrypted part and writes the part files, so the two cores share the work
/// (encryption on one, both SHA-256 passes and the writes on the other).
struct PartWriter {
    part_size: u64,
    key: AesKey,
    iv: Iv,
    /// The part being written: its ordinal, encryptor, and plain bytes so far.
    current: Option<(i32, CbcEncryptor, u64)>,
    parts_started: i32,
    pending: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Piece>>,
    sink: Option<std::thread::JoinHandle<io::Result<Sunk>>>,
}

impl PartWriter {
    fn new(dir: PathBuf, part_size: u64, key: AesKey, iv: Iv) -> PartWriter {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let sink = std::thread::spawn(move || sink(rx, &dir));
        PartWriter {
            part_size,
            key,
            iv,
            current: None,
            parts_started: 0,
            pending: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            sink: Some(sink),
        }
    }

    fn send(&mut self, piece: Piece) -> io::Result<()> {
        let sent = self.tx.as_ref().map(|tx| tx.send(piece).is_ok()).unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The sink stopped: its own error says why.
        Err(match self.sink.take().map(|h| h.join()) {
            Some(Ok(Err(err))) => err,
            _ => io::Error::other("the part writer stopped"),
        })
    }

    /// Encrypts the pending plain bytes into the current part and hands both on.
    fn flush_pending(&mut self) -> io::Result<()> {
        let Some((ordinal, encryptor, _)) = self.current.as_mut() else { return Ok(()) };
        if self.pending.is_empty() {
            return Ok(());
        }
        let ordinal = *ordinal;
        let mut cipher = Vec::with_capacity(self.pending.len() + 16);
        encryptor.update(&self.pending, &mut cipher);
        let plain = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        self.send(Piece::Data { ordinal, plain, cipher })
    }

    fn end_part(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        if let Some((ordinal, encryptor, _)) = self.current.take() {
            let mut cipher = Vec::with_capacity(16);
            encryptor.finish(&mut cipher);
            self.send(Piece::Data { ordinal, plain: Vec::new(), cipher })?;
            self.send(Piece::EndPart { ordinal })?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<Sunk> {
        self.end_part()?;
        drop(self.tx.take());
        match self.sink.take().map(|h| h.join()) {
            Some(Ok(result)) => result,
            _ => Err(io::Error::other("the part writer panicked")),
        }
    }
}

impl Write for PartWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.current.as_ref().is_some_and(|(_, _, plain)| *plain >= self.part_size) {
            self.end_part()?;
        }
        if self.current.is_none() {
            self.parts_started += 1;
            self.current = Some((self.parts_started, CbcEncryptor::new(&self.key, &self.iv), 0));
        }
        let (_, _, plain) = self.current.as_mut().expect("a part is open");
        let take = data.len().min((self.part_size - *plain) as usize).min(CHUNK - self.pending.len());
        *plain += take as u64;
        self.pending.extend_from_slice(&data[..take]);
        if self.pending.len() >= CHUNK {
            self.flush_pending()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sink thread: hashes the package and each part, and writes the part files (not synced; see `package`).
fn sink(rx: std::sync::mpsc::Receiver<Piece>, dir: &Path) -> io::Result<Sunk> {
    let mut whole = Sha256::default();
    let mut total: u64 = 0;
    let mut parts = Vec::new();
    let mut open: Option<(PathBuf, BufWriter<File>, Sha256, u64)> = None;
    for piece in rx {
        match piece {
            Piece::Data { ordinal, plain, cipher } => {
                whole.update(&plain);
                total += plain.len() as u64;
                if open.is_none() {
                    let path = dir.join(format!("part-{ordinal}.bin"));
                    open = Some((path.clone(), BufWriter::with_capacity(1 << 20, File::create(&path)?), Sha256::default(), 0));
                }
                let (_, out, hash, size) = open.as_mut().expect("a part file is open");
                hash.update(&cipher);
                *size += cipher.len() as u64;
                out.write_all(&cipher)?;
            }
            Piece::EndPart { ordinal } => {
                let (path, out, hash, size) = open.take().expect("a part file is open");
                out.into_inner().map_err(|e| e.into_error())?;
                parts.push(PackagedPart { ordinal_number: ordinal, path, size, hash: b64(&hash.finish()) });
            }
        }
    }
    let file = BatchFileInfo {
        file_size: total as i64,
        file_hash: b64(&whole.finish()),
        compression_type: Some(CompressionType::Zip),
        file_parts: parts
            .iter()
            .map(|p| BatchFilePartInfo { ordinal_number: p.ordinal_number, file_size: p.size as i64, file_hash: p.hash.clone() })
            .collect(),
    };
    Ok((file, parts))
}

/// An open batch session: where its parts go.
#[derive(Debug, Clone)]
pub struct BatchSession {
    /// The session's reference number (`…-SB-…`).
    pub reference_number: String,
    /// One upload instruction per part.
    pub part_upload_requests: Vec<PartUploadRequest>,
    polling: Polling,
}

impl ContextClient {
    /// Opens a batch session for a package encrypted under `key`.
    pub async fn open_batch_session(
        &self,
        form: FormCode,
        package: &PackagedBatch,
        key: &SymmetricKey,
        offline: bool,
    ) -> Result<BatchSession, KsefError> {
        let request = OpenBatchSessionRequest {
            form_code: form,
            batch_file: package.file.clone(),
            encryption: key.encryption.clone(),
            offline_mode: offline.then_some(true),
        };
        let opened = self.open_batch(&request).await?;
        Ok(BatchSession {
            reference_number: opened.reference_number,
            part_upload_requests: opened.part_upload_requests,
            polling: self.polling(),
        })
    }
}

impl BatchSession {
    /// A session opened earlier, to continue with.
    pub fn resume(
        reference_number: String,
        part_upload_requests: Vec<PartUploadRequest>,
        polling: Polling,
    ) -> BatchSession {
        BatchSession {
            reference_number,
            part_upload_requests,
            polling,
        }
    }

    /// Uploads `parts` (any subset of the package's), `concurrency` at a time, calling `uploaded` after each.
    /// The URLs are pre-signed: any client can use them, no context or token is needed.
    pub async fn upload(
        &self,
        client: &KsefClient,
        parts: &[PackagedPart],
        concurrency: usize,
        uploaded: impl Fn(&PackagedPart) + Send + Sync,
    ) -> Result<(), KsefError> {
        let uploaded = &uploaded;
        futures_util::stream::iter(parts.iter().map(Ok))
            .try_for_each_concurrent(concurrency.max(1), |part| async move {
                let request = self
                    .part_upload_requests
                    .iter()
                    .find(|r| r.ordinal_number == part.ordinal_number)
                    .ok_or_else(|| {
                        KsefError::Package(format!(
                            "KSeF gave no upload URL for part {}",
                            part.ordinal_number
                        ))
                    })?;
                let started = Instant::now();
                client.upload_part_file(request, &part.path, part.size).await?;
                tracing::debug!(
                    part = part.ordinal_number,
                    bytes = part.size,
                    ms = started.elapsed().as_millis() as u64,
                    "part uploaded"
                );
                uploaded(part);
                Ok(())
            })
            .await
    }

    /// Closes the session; KSeF then processes the package.
    pub async fn close(&self, ctx: &ContextClient) -> Result<(), KsefError> {
        ctx.close_batch_session(&self.reference_number).await
    }

    /// Polls the session until it is finished (status 200 or a failure) and returns that status.
    pub async fn wait_until_processed(
        &self,
        ctx: &ContextClient,
    ) -> Result<SessionStatusResponse, KsefError> {
        wait_for_session(ctx, &self.reference_number, self.polling).await
    }

    /// Every invoice of the session with its status, in ordinal order.
    pub async fn invoices(
        &self,
        ctx: &ContextClient,
    ) -> Result<Vec<SessionInvoiceStatusResponse>, KsefError> {
        ctx.session_invoices(&self.reference_number).await
    }
}

/// A ZIP of invoice files, as checked before it is packaged.
#[derive(Debug, Clone, Default)]
pub struct ZipCheck {
    /// The entries' names, in archive order.
    pub names: Vec<String>,
    /// Every reason the ZIP cannot be a package, each naming its entry (none when it can).
    pub problems: Vec<String>,
}

/// Checks a ZIP of invoice files as KSeF checks a package: plain `*.xml` files only (no folders), none over
/// 3 MB, between 1 and 10,000 of them. Reads only the central directory.
pub fn check_zip(path: &Path) -> Result<ZipCheck, KsefError> {
    let mut zip = open_zip(path)?;
    let mut check = ZipCheck::default();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(zip_error)?;
        let name = entry.name().map_err(zip_error)?.into_owned();
        if !entry.is_file() || name.contains('/') || name.contains('\\') {
            check.problems.push(format!("'{name}': folders are not allowed; put the invoice files at the top of the ZIP"));
        } else if !name.to_ascii_lowercase().ends_with(".xml") {
            check.problems.push(format!("'{name}': only .xml invoice files are allowed"));
        } else if entry.size() > MAX_INVOICE_BYTES as u64 {
            check.problems.push(format!("'{name}': {} bytes; an invoice may have at most {MAX_INVOICE_BYTES}", entry.size()));
        }
        check.names.push(name);
    }
    if check.names.is_empty() {
        check.problems.push("the ZIP holds no invoices".to_owned());
    }
    if check.names.len() > MAX_INVOICES_PER_SESSION {
        check.problems.push(format!("the ZIP holds {} files; a batch takes at most {MAX_INVOICES_PER_SESSION}", check.names.len()));
    }
    Ok(check)
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<File>, KsefError> {
    zip::ZipArchive::new(File::open(path)?).map_err(|e| KsefError::Package(format!("not a ZIP archive: {e}")))
}

impl BatchPackager {
    /// Packages the invoice files of the ZIP at `path` (see [`check_zip`] first), each read whole in turn.
    pub fn package_zip(&self, path: &Path, key: &AesKey, iv: &Iv, dir: &Path) -> Result<PackagedBatch, KsefError> {
        let mut zip = open_zip(path)?;
        let files = (0..zip.len()).map(|i| {
            let mut entry = zip.by_index(i).map_err(io::Error::other)?;
            // At most 3 MB each, as checked; the ZIP reader enforces the size it declares.
            let mut content = Vec::with_capacity(entry.size().min(MAX_INVOICE_BYTES as u64) as usize);
            entry.read_to_end(&mut content)?;
            Ok((entry.name().map_err(io::Error::other)?.into_owned(), io::Cursor::new(content)))
        });
        self.package(files, key, iv, dir)
    }
}

/// Reads the invoice files of a directory (`*.xml`, sorted by name) as package input.
pub fn directory_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use ksef_core::crypto::{decrypt_cbc, sha256_base64};

    use super::*;

    fn files(n: usize) -> Vec<io::Result<(String, Cursor<Vec<u8>>)>> {
        (0..n)
            .map(|i| {
                Ok((
                    format!("fv-{i}.xml"),
                    Cursor::new(
                        format!("<Faktura>{i}{}</Faktura>", "x".repeat(i * 37)).into_bytes(),
                    ),
                ))
            })
            .collect()
    }

    #[test]
    fn parts_decrypt_and_join_into_the_declared_zip() {
        let dir = tempfile::tempdir().unwrap();
        let (key, iv) = (AesKey::generate(), Iv::generate());
        let package = BatchPackager::with_part_size(1000)
            .package(files(40), &key, &iv, dir.path())
            .unwrap();
        assert!(
            package.parts.len() > 2,
            "a small part size gives several parts"
        );
        let mut zip = Vec::new();
        for (part, declared) in package.parts.iter().zip(&package.file.file_parts) {
            let encrypted = std::fs::read(&part.path).unwrap();
            assert_eq!(encrypted.len() as i64, declared.file_size);
            assert_eq!(sha256_base64(&encrypted), declared.file_hash);
            let plain = decrypt_cbc(&key, &iv, &encrypted).unwrap();
            assert!(plain.len() <= 1000);
            zip.extend_from_slice(&plain);
        }
        assert_eq!(zip.len() as i64, package.file.file_size);
        assert_eq!(sha256_base64(&zip), package.file.file_hash);
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 40);
        let mut text = String::new();
        archive
            .by_name("fv-7.xml")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.starts_with("<Faktura>7x"));
        assert_eq!(package.file_names.len(), 40);
    }

    #[test]
    fn the_same_files_and_key_give_the_same_package() {
        let (key, iv) = (AesKey::generate(), Iv::generate());
        let a = BatchPackager::default()
            .package(files(5), &key, &iv, tempfile::tempdir().unwrap().path())
            .unwrap();
        let b = BatchPackager::default()
            .package(files(5), &key, &iv, tempfile::tempdir().unwrap().path())
            .unwrap();
        assert_eq!(a.file, b.file);
    }

    #[test]
    fn a_name_with_a_folder_is_refused() {
        let (key, iv) = (AesKey::generate(), Iv::generate());
        let input = vec![Ok(("dir/a.xml".to_owned(), Cursor::new(b"<a/>".to_vec())))];
        let err = BatchPackager::default()
            .package(input, &key, &iv, tempfile::tempdir().unwrap().path())
            .unwrap_err();
        assert!(err.to_string().contains("plain file name"), "{err}");
    }
}
