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
use ksef_wire::sessions::{
    BatchFileInfo, BatchFilePartInfo, OpenBatchSessionRequest, PartUploadRequest,
    SessionInvoiceStatusResponse, SessionStatusResponse,
};
use ksef_wire::{CompressionType, FormCode};

use crate::context::{ContextClient, Polling, wait_for_session};
use crate::error::KsefError;
use crate::http::KsefClient;
use crate::keys::SymmetricKey;

/// Most parts in a package (KSeF's limit).
pub const MAX_PARTS: usize = 50;
/// Largest part before encryption (KSeF's limit: 100 MB).
pub const MAX_PART_SIZE: u64 = 100_000_000;
/// Largest package before encryption (KSeF's limit: 5 GB).
pub const MAX_PACKAGE_SIZE: u64 = 5_000_000_000;

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
}

impl Default for BatchPackager {
    fn default() -> Self {
        BatchPackager {
            part_size: MAX_PART_SIZE,
        }
    }
}

impl BatchPackager {
    /// Parts of at most `part_size` bytes before encryption (clamped to 1..=100 MB).
    pub fn with_part_size(part_size: u64) -> BatchPackager {
        BatchPackager {
            part_size: part_size.clamp(1, MAX_PART_SIZE),
        }
    }

    /// Zips `files` (name and content, in order) into `dir` as encrypted parts `part-{n}.bin`.
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
        let sink = PartWriter::new(dir.to_owned(), self.part_size, key.clone(), *iv);
        let mut zip = zip::ZipWriter::new_stream(sink);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
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
        let sink = zip.finish().map_err(zip_error)?.into_inner();
        let (file, parts) = sink.finish()?;
        if parts.len() > MAX_PARTS {
            return Err(KsefError::Package(format!(
                "{} parts; KSeF takes at most {MAX_PARTS}",
                parts.len()
            )));
        }
        if file.file_size as u64 > MAX_PACKAGE_SIZE {
            return Err(KsefError::Package(format!(
                "{} bytes; KSeF takes at most {MAX_PACKAGE_SIZE}",
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

/// The writer under the ZIP: hashes the whole package and cuts it into separately encrypted part files.
struct PartWriter {
    dir: PathBuf,
    part_size: u64,
    key: AesKey,
    iv: Iv,
    whole: Sha256,
    total: u64,
    current: Option<OpenPart>,
    done: Vec<PackagedPart>,
    buf: Vec<u8>,
}

struct OpenPart {
    ordinal: i32,
    path: PathBuf,
    out: BufWriter<File>,
    encryptor: CbcEncryptor,
    hash: Sha256,
    plain: u64,
    encrypted: u64,
}

impl PartWriter {
    fn new(dir: PathBuf, part_size: u64, key: AesKey, iv: Iv) -> PartWriter {
        PartWriter {
            dir,
            part_size,
            key,
            iv,
            whole: Sha256::default(),
            total: 0,
            current: None,
            done: Vec::new(),
            buf: Vec::new(),
        }
    }

    fn open_part(&mut self) -> io::Result<OpenPart> {
        let ordinal = self.done.len() as i32 + 1;
        let path = self.dir.join(format!("part-{ordinal}.bin"));
        Ok(OpenPart {
            ordinal,
            out: BufWriter::with_capacity(256 * 1024, File::create(&path)?),
            path,
            encryptor: CbcEncryptor::new(&self.key, &self.iv),
            hash: Sha256::default(),
            plain: 0,
            encrypted: 0,
        })
    }

    fn close_part(&mut self, mut part: OpenPart) -> io::Result<()> {
        self.buf.clear();
        part.encryptor.finish(&mut self.buf);
        part.hash.update(&self.buf);
        part.encrypted += self.buf.len() as u64;
        part.out.write_all(&self.buf)?;
        part.out
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        self.done.push(PackagedPart {
            ordinal_number: part.ordinal,
            path: part.path,
            size: part.encrypted,
            hash: b64(&part.hash.finish()),
        });
        Ok(())
    }

    fn finish(mut self) -> io::Result<(BatchFileInfo, Vec<PackagedPart>)> {
        if let Some(part) = self.current.take() {
            self.close_part(part)?;
        }
        let parts = std::mem::take(&mut self.done);
        let file = BatchFileInfo {
            file_size: self.total as i64,
            file_hash: b64(&self.whole.finish()),
            compression_type: Some(CompressionType::Zip),
            file_parts: parts
                .iter()
                .map(|p| BatchFilePartInfo {
                    ordinal_number: p.ordinal_number,
                    file_size: p.size as i64,
                    file_hash: p.hash.clone(),
                })
                .collect(),
        };
        Ok((file, parts))
    }
}

impl Write for PartWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let part = match self.current.take() {
            Some(part) if part.plain < self.part_size => part,
            Some(full) => {
                self.close_part(full)?;
                self.open_part()?
            }
            None => self.open_part()?,
        };
        let mut part = part;
        let take = data.len().min((self.part_size - part.plain) as usize);
        let chunk = &data[..take];
        self.whole.update(chunk);
        self.total += take as u64;
        part.plain += take as u64;
        self.buf.clear();
        part.encryptor.update(chunk, &mut self.buf);
        part.hash.update(&self.buf);
        part.encrypted += self.buf.len() as u64;
        part.out.write_all(&self.buf)?;
        self.current = Some(part);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
        let request = &request;
        let opened = self
            .with_access(|access| async move {
                self.client().open_batch_session(&access, request).await
            })
            .await?;
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
        ctx.with_access(|access| async move {
            ctx.client()
                .close_batch_session(&access, &self.reference_number)
                .await
        })
        .await
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
