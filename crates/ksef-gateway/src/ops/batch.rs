//! Batch sessions: opening one in KSeF for a package the caller encrypted (the caller then uploads its parts
//! straight to KSeF's pre-signed URLs), and sending a plain ZIP of invoices that the gateway checks, packages,
//! encrypts, uploads and closes itself.

use std::path::Path;

use chrono::{DateTime, Utc};
use ksef_client::wire::sessions::{BatchFileInfo, BatchFilePartInfo, OpenBatchSessionRequest};
use ksef_client::{BatchPackager, SymmetricKey};
use ksef_core::limits::{MAX_BATCH_PACKAGE_BYTES, MAX_BATCH_PART_BYTES, MAX_BATCH_PARTS};
use ksef_store::{KeyMode, SessionKind};
use ksef_core::crypto::{b64_decode, padded_len};
use ksef_store::NewSession;

use super::sessions::{CallerEncryption, InvoiceVersion, caller_encryption, record_then_open};
use super::{Context, OpError, Tenant, micros, tenant_ksef};
use crate::errors::ErrorCode;

/// Parts uploaded at once by the gateway.
const UPLOAD_CONCURRENCY: usize = 4;

/// One encrypted part as the caller declares it.
#[derive(Debug, Clone)]
pub struct PartDeclaration {
    /// Position, from 1.
    pub ordinal: i64,
    /// Encrypted size in bytes.
    pub size: i64,
    /// Base64 SHA-256 of the encrypted part.
    pub hash: String,
}

/// The package as the caller declares it.
#[derive(Debug, Clone)]
pub struct BatchDeclaration {
    /// Size of the whole ZIP before encryption.
    pub size: i64,
    /// Base64 SHA-256 of the whole ZIP before encryption.
    pub hash: String,
    /// The encrypted parts.
    pub parts: Vec<PartDeclaration>,
}

/// Where and how to upload one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartUpload {
    /// Which part.
    pub ordinal: i32,
    /// HTTP method (`PUT`).
    pub method: String,
    /// Pre-signed URL: send no credentials.
    pub url: String,
    /// Headers to send with the part.
    pub headers: Vec<(String, String)>,
}

/// A batch session just opened.
#[derive(Debug, Clone)]
pub struct OpenedBatch {
    /// Our session id.
    pub id: String,
    /// When it was opened.
    pub created: DateTime<Utc>,
    /// One upload instruction per part.
    pub uploads: Vec<PartUpload>,
}

/// Every problem with a declaration (empty if none).
fn declaration_findings(d: &BatchDeclaration) -> Vec<String> {
    let mut findings = Vec::new();
    let hash_ok = |h: &str| b64_decode(h).is_ok_and(|bytes| bytes.len() == 32);
    if !(1..=MAX_BATCH_PACKAGE_BYTES as i64).contains(&d.size) {
        findings.push(format!("batchSize {} is outside 1..{MAX_BATCH_PACKAGE_BYTES}", d.size));
    }
    if !hash_ok(&d.hash) {
        findings.push("batchHash must be a base64 SHA-256 digest (44 characters)".to_owned());
    }
    if d.parts.is_empty() || d.parts.len() > MAX_BATCH_PARTS {
        findings.push(format!("batchParts has {} parts; KSeF takes 1 to {MAX_BATCH_PARTS}", d.parts.len()));
    }
    let mut ordinals: Vec<i64> = d.parts.iter().map(|p| p.ordinal).collect();
    ordinals.sort_unstable();
    if ordinals.iter().copied().ne(1..=d.parts.len() as i64) {
        findings.push(format!("part ordinals must be 1..{} with none repeated", d.parts.len()));
    }
    let max_encrypted = padded_len(MAX_BATCH_PART_BYTES as usize) as i64;
    for p in &d.parts {
        if p.size < 16 || p.size > max_encrypted || p.size % 16 != 0 {
            findings.push(format!(
                "part {}: partSize {} is not an AES-256-CBC ciphertext of at most 100 MB (a multiple of 16 up to {max_encrypted})",
                p.ordinal, p.size
            ));
        }
        if !hash_ok(&p.hash) {
            findings.push(format!("part {}: partHash must be a base64 SHA-256 digest", p.ordinal));
        }
    }
    findings
}

/// Opens a batch session in KSeF for a package encrypted under the caller's key.
pub async fn open(
    ctx: &Context,
    tenant: &Tenant,
    version: InvoiceVersion,
    encryption: CallerEncryption,
    offline: bool,
    declaration: BatchDeclaration,
) -> Result<OpenedBatch, OpError> {
    let findings = declaration_findings(&declaration);
    if !findings.is_empty() {
        return Err(OpError::refused(ErrorCode::InvoiceInput, findings.join("; ")));
    }
    let ksef = tenant_ksef(ctx, tenant).await?;
    let keys = ksef.keys().await.map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let encryption = caller_encryption(&encryption, &keys)?;
    let request = OpenBatchSessionRequest {
        form_code: version.form_code(),
        batch_file: BatchFileInfo {
            file_size: declaration.size,
            file_hash: declaration.hash,
            compression_type: None,
            file_parts: declaration
                .parts
                .into_iter()
                .map(|p| BatchFilePartInfo { ordinal_number: p.ordinal as i32, file_size: p.size, file_hash: p.hash })
                .collect(),
        },
        encryption,
        offline_mode: offline.then_some(true),
    };
    let session = new_session(tenant, version, KeyMode::Caller);
    let (id, created) = (session.id.clone(), super::from_micros(session.created_at));
    let opening = ksef.open_batch(&request);
    let opened = record_then_open(ctx, tenant, session, opening, |o| o.reference_number.clone()).await?;
    let uploads = opened
        .part_upload_requests
        .into_iter()
        .map(|r| PartUpload { ordinal: r.ordinal_number, method: r.method, url: r.url, headers: r.headers.into_iter().collect() })
        .collect();
    Ok(OpenedBatch { id, created, uploads })
}

fn new_session(tenant: &Tenant, version: InvoiceVersion, key_mode: KeyMode) -> NewSession {
    NewSession {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.id.clone(),
        invoice_version: version.as_str().to_owned(),
        kind: SessionKind::Batch,
        key_mode,
        // Parts are encrypted before the session opens; the gateway has no use for the key after.
        sealed_key: None,
        iv: None,
        encryption: None,
        managed: false,
        created_at: micros(super::now()),
    }
}

/// A plain ZIP sent as a batch.
#[derive(Debug, Clone)]
pub struct SentBatch {
    /// Our session id (already closed: KSeF is processing it).
    pub id: String,
    /// When it was opened.
    pub created: DateTime<Utc>,
    /// Invoices in the package.
    pub invoice_count: usize,
    /// Encrypted parts uploaded.
    pub parts: usize,
}

/// Checks the plain ZIP at `zip_path`, packages it under a fresh key (split, encrypted, hashed), opens a batch
/// session, uploads the parts and closes it. The caller then follows it with the session's status, invoices
/// and UPO. Nothing of an unusable ZIP reaches KSeF.
pub async fn send_zip(
    ctx: &Context,
    tenant: &Tenant,
    version: InvoiceVersion,
    offline: bool,
    zip_path: &Path,
    work_dir: &Path,
) -> Result<SentBatch, OpError> {
    let ksef = tenant_ksef(ctx, tenant).await?;
    let keys = ksef.keys().await.map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let key = SymmetricKey::generate(&keys).map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let (zip_path, work_dir, aes, iv) = (zip_path.to_owned(), work_dir.to_owned(), key.key.clone(), key.iv);
    let packaged = ctx.cpu.run(tenant, super::cpu::Job::Document, move || {
        let check = ksef_client::check_zip(&zip_path).map_err(|e| OpError::refused(ErrorCode::InvoiceFormat, e.to_string()))?;
        if !check.problems.is_empty() {
            return Err(OpError::refused(ErrorCode::InvoiceFormat, check.problems.join("; ")));
        }
        BatchPackager::default()
            .package_zip(&zip_path, &aes, &iv, &work_dir)
            .map_err(|e| OpError::refused(ErrorCode::InvoiceFormat, format!("the ZIP could not be repackaged: {e}")))
    })
    .await?;

    let session = new_session(tenant, version, KeyMode::Gateway);
    let (id, created) = (session.id.clone(), super::from_micros(session.created_at));
    let opening = ksef.open_batch_session(version.form_code(), &packaged, &key, offline);
    let batch = record_then_open(ctx, tenant, session, opening, |b| b.reference_number.clone()).await?;
    let in_session = |err: OpError, what: &str| match err {
        OpError::Refused { code, status, details, ksef } => {
            OpError::Refused { code, status, details: format!("session {id}: {what}: {details}"), ksef }
        }
        other => other,
    };
    batch.upload(ksef.client(), &packaged.parts, UPLOAD_CONCURRENCY, |_| {}).await.map_err(|e| {
        // Unclosed, the session is cancelled by KSeF and none of it is processed: sending the ZIP again is safe.
        in_session(OpError::ksef(ErrorCode::InvoiceSend, &e), "not every part arrived, so KSeF cancels the session; send the ZIP again")
    })?;
    // The session operation's close: it records the close, and a session KSeF reports closed already counts.
    super::sessions::close(ctx, tenant, &id)
        .await
        .map_err(|e| in_session(e, "the close did not go through; follow the session with ksefSessionStatus before sending again"))?;
    tracing::info!(session.id = %id, session.reference = %batch.reference_number, invoices = packaged.file_names.len(),
        parts = packaged.parts.len(), tenant = %tenant.id, "batch sent");
    Ok(SentBatch { id, created, invoice_count: packaged.file_names.len(), parts: packaged.parts.len() })
}
