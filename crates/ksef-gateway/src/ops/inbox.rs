//! Received invoices: what others issue to a tenant, synced from KSeF's exports into the gateway (and the rule
//! both the sync and `ksef-gateway export` follow so that no invoice is missed or doubled).
//!
//! Why nothing is missed or doubled:
//! - windows are on permanent-storage dates and capped at KSeF's high-water mark
//!   (`restrictToPermanentStorageHwmDate`), so nothing can still appear in a window once it has been read;
//! - a package cut at KSeF's 10,000 invoices continues from its `lastPermanentStorageDate`; invoices stored at
//!   that instant come twice, and the second copy is skipped because invoices are stored once per KSeF number;
//! - the position moves in the transaction that stores the window's invoices, so it never runs ahead of them;
//! - a package is checked whole before anything of it is stored: a file it should not hold, an invoice it lists
//!   but lacks, or an invoice whose hash is not the one listed puts the package aside (quarantine) and stores
//!   nothing; the sync retries later.

use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Months, TimeDelta, Utc};
use futures_util::StreamExt as _;
use ksef_client::wire::codes::export as export_status;
use ksef_client::wire::invoices::InvoiceMetadata;
use ksef_client::{ContextClient, SymmetricKey};
use ksef_core::ids::KsefNumber;
use ksef_store::{NewReceived, ReceivedFilter, ReceivedRecord, SyncRecord};

use super::queries::SubjectType;
use super::{Context, OpError, Tenant, from_micros, micros, now};
use crate::errors::ErrorCode;

/// A received invoice, as the gateway keeps it.
pub type ReceivedInvoice = ReceivedRecord;

/// Most bytes read of one file of a package: above KSeF's 3 MB invoices, so a damaged package is refused rather
/// than read without end.
pub const MAX_ENTRY_BYTES: u64 = 10 * 1024 * 1024;
/// Largest `_metadata.json` accepted (10,000 entries of a few hundred bytes).
pub const MAX_METADATA_BYTES: u64 = 64 * 1024 * 1024;
/// Longest a KSeF export may take to prepare.
pub const EXPORT_POLL_LIMIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// Invoices stored per transaction, at most.
const STORE_CHUNK: usize = 250;
/// Bytes of XML stored per transaction, at most (an invoice may be 3 MB; memory stays bounded).
const STORE_CHUNK_BYTES: u64 = 32 * 1024 * 1024;
/// How long a run's hold on its sync lasts from each window it starts (a window's export may take long).
pub const SYNC_HOLD: chrono::TimeDelta = chrono::TimeDelta::minutes(45);
/// Windows one run of a tenant's sync reads at most before others get their turn.
const WINDOWS_PER_RUN: u32 = 20;
/// How far back a tenant's sync starts on its first run.
pub const FIRST_SYNC_DAYS: i64 = 30;
/// Most received invoices in one page.
pub const MAX_PAGE: i64 = 1_000;

/// One export window's package, as its source reported it.
#[derive(Debug, Clone, Copy)]
pub struct ExportWindow {
    /// KSeF's export status (200 done; 420 "from after the high-water mark": nothing new yet).
    pub status: i64,
    /// Invoices in the package.
    pub invoices: i64,
    /// KSeF cut the package at its limit.
    pub truncated: bool,
    /// Where a truncated package continues (`lastPermanentStorageDate`).
    pub next_from: Option<DateTime<Utc>>,
    /// KSeF's high-water mark: everything stored up to it is in.
    pub hwm: Option<DateTime<Utc>>,
}

impl ExportWindow {
    /// The package is ready (it may hold no invoices).
    pub fn ready(&self) -> bool {
        i32::try_from(self.status).is_ok_and(|code| export_status::READY.is(code))
    }

    /// The window starts past KSeF's high-water mark: nothing new is visible yet.
    pub fn nothing_new(&self) -> bool {
        i32::try_from(self.status).is_ok_and(|code| export_status::RANGE_BEYOND_DATA.is(code))
    }

    /// Where the next window starts after this one, read from `from` to `to` (now when absent): a truncated
    /// package continues at its last invoice's storage date; otherwise everything up to the high-water mark is
    /// in. Errors when KSeF gives no safe place to continue from.
    pub fn next_from(&self, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> anyhow::Result<DateTime<Utc>> {
        if self.truncated {
            let next = self.next_from.ok_or_else(|| anyhow::anyhow!("KSeF truncated the package but gave no lastPermanentStorageDate"))?;
            anyhow::ensure!(next > from, "KSeF truncated the package without moving forward (more than its limit stored at {from}); cannot continue");
            return Ok(next);
        }
        if self.nothing_new() {
            return Ok(from);
        }
        let hwm = self.hwm.ok_or_else(|| anyhow::anyhow!("KSeF gave no permanentStorageHwmDate, so where the next window must start is unknown"))?;
        Ok(to.map_or(hwm, |end| hwm.min(end)).max(from))
    }
}

/// The end of the window that starts at `from` (KSeF searches at most three months at once), and whether it
/// reaches `to` (or now).
pub fn window_end(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> anyhow::Result<(Option<DateTime<Utc>>, bool)> {
    let three_months = from.checked_add_months(Months::new(3)).ok_or_else(|| anyhow::anyhow!("date out of range"))? - TimeDelta::microseconds(1);
    Ok(match to {
        Some(t) if t <= three_months => (Some(t), true),
        None if Utc::now() <= three_months => (None, true),
        _ => (Some(three_months), false),
    })
}

/// Runs one export of `subject`'s invoices stored from `from` to `to` in KSeF and writes its plain ZIP to `file`.
pub async fn export_window(ksef: &ContextClient, subject: SubjectType, from: DateTime<Utc>, to: Option<DateTime<Utc>>, file: &mut tokio::fs::File) -> anyhow::Result<ExportWindow> {
    use tokio::io::AsyncWriteExt as _;
    let key = SymmetricKey::generate(ksef.keys().await?.as_ref())?;
    let request = super::queries::export_request(subject, from, to, key.encryption.clone());
    let reference = ksef.start_export(&request).await?.reference_number;
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(200);
    let status = loop {
        let status = ksef.export_status(&reference).await?;
        if !export_status::IN_PROGRESS.is(status.status.code) {
            break status;
        }
        anyhow::ensure!(started.elapsed() < EXPORT_POLL_LIMIT, "KSeF did not prepare export {reference} within {} minutes", EXPORT_POLL_LIMIT.as_secs() / 60);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    };
    let code = status.status.code;
    let Some(package) = status.package.filter(|_| export_status::READY.is(code)) else {
        if export_status::RANGE_BEYOND_DATA.is(code) {
            return Ok(ExportWindow { status: i64::from(code), invoices: 0, truncated: false, next_from: None, hwm: None });
        }
        anyhow::bail!("KSeF could not complete the export {reference}: {code} {}", status.status.description);
    };
    let window = ExportWindow {
        status: i64::from(code),
        invoices: package.invoice_count,
        truncated: package.is_truncated,
        next_from: package.last_permanent_storage_date,
        hwm: package.permanent_storage_hwm_date,
    };
    let mut stream = ksef_client::decrypted_package(ksef.client().clone(), package.parts, key.key, key.iv).await?;
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk?).await?;
    }
    file.flush().await?;
    Ok(window)
}

/// Why a package was put aside.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Quarantine(pub String);

/// One invoice of a checked package: its metadata entry (raw JSON and read) and where its XML is.
#[derive(Debug)]
pub struct PackageEntry {
    /// KSeF's metadata entry, exactly as given.
    pub raw: String,
    /// The same, read.
    pub metadata: InvoiceMetadata,
}

/// Reads a package's `_metadata.json` and checks the package whole: only `_metadata.json` and one
/// `{ksefNumber}.xml` per listed invoice, each at most [`MAX_ENTRY_BYTES`] and hashing to its listed hash.
pub fn check_package(file: &mut std::fs::File) -> Result<Vec<PackageEntry>, Quarantine> {
    file.rewind().map_err(|e| Quarantine(format!("cannot read the package: {e}")))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(&mut *file)).map_err(|e| Quarantine(format!("the package is not a ZIP archive: {e}")))?;
    let metadata = read_entry(&mut archive, "_metadata.json", MAX_METADATA_BYTES)?;
    #[derive(serde::Deserialize)]
    struct MetadataFile<'a> {
        #[serde(borrow)]
        invoices: Vec<&'a serde_json::value::RawValue>,
    }
    let listed: MetadataFile<'_> = serde_json::from_slice(&metadata).map_err(|e| Quarantine(format!("_metadata.json is not KSeF's metadata list: {e}")))?;
    let mut entries = Vec::with_capacity(listed.invoices.len());
    let mut expected = std::collections::HashSet::with_capacity(listed.invoices.len() + 1);
    expected.insert("_metadata.json".to_owned());
    for raw in listed.invoices {
        let metadata: InvoiceMetadata =
            serde_json::from_str(raw.get()).map_err(|e| Quarantine(format!("an entry of _metadata.json is not KSeF's invoice metadata: {e}")))?;
        // The number names a file: only a valid KSeF number may.
        KsefNumber::parse(&metadata.ksef_number).map_err(|_| Quarantine(format!("_metadata.json lists '{}', not a KSeF number", crate::telemetry::loggable(&metadata.ksef_number))))?;
        if !expected.insert(format!("{}.xml", metadata.ksef_number)) {
            continue;
        }
        entries.push(PackageEntry { raw: raw.get().to_owned(), metadata });
    }
    for name in archive.file_names() {
        let name = name.map_err(|e| Quarantine(format!("the package's file names cannot be read: {e}")))?;
        if !expected.contains(name.as_ref()) {
            return Err(Quarantine(format!("the package holds a file it should not: '{}'", crate::telemetry::loggable(&name))));
        }
    }
    for entry in &entries {
        let xml = read_entry(&mut archive, &format!("{}.xml", entry.metadata.ksef_number), MAX_ENTRY_BYTES)?;
        let hash = ksef_core::crypto::sha256_base64(&xml);
        if hash != entry.metadata.invoice_hash {
            return Err(Quarantine(format!("{}.xml does not hash to the hash KSeF lists for it", entry.metadata.ksef_number)));
        }
    }
    Ok(entries)
}

fn read_entry<R: std::io::Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>, name: &str, limit: u64) -> Result<Vec<u8>, Quarantine> {
    let entry = archive.by_name(name).map_err(|_| Quarantine(format!("the package lacks {name}")))?;
    let mut content = Vec::new();
    entry.take(limit + 1).read_to_end(&mut content).map_err(|e| Quarantine(format!("{name} cannot be read: {e}")))?;
    if content.len() as u64 > limit {
        return Err(Quarantine(format!("{name} in the package is larger than {limit} bytes")));
    }
    Ok(content)
}

/// Reads the XML of `entries` from a checked package.
#[cfg(test)]
fn read_xml(file: &mut std::fs::File, entries: &[PackageEntry]) -> Result<Vec<Vec<u8>>, Quarantine> {
    file.rewind().map_err(|e| Quarantine(format!("cannot read the package: {e}")))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(&mut *file)).map_err(|e| Quarantine(format!("the package is not a ZIP archive: {e}")))?;
    entries.iter().map(|e| read_entry(&mut archive, &format!("{}.xml", e.metadata.ksef_number), MAX_ENTRY_BYTES)).collect()
}

fn to_new(entry: &PackageEntry, xml: Vec<u8>, subject: SubjectType) -> NewReceived {
    let m = &entry.metadata;
    let gross = m.gross_amount;
    NewReceived {
        ksef_number: m.ksef_number.clone(),
        subject: subject.api_name().to_owned(),
        seller_nip: m.seller.nip.clone(),
        seller_name: m.seller.name.clone(),
        invoice_number: m.invoice_number.clone(),
        issue_date: m.issue_date.to_string(),
        gross_amount: Some(format!("{gross:.2}")),
        // Hundredths, rounded: KSeF's amounts have two decimals.
        #[allow(clippy::cast_possible_truncation)]
        gross_cents: gross.is_finite().then(|| (gross * 100.0).round() as i64),
        currency: Some(m.currency.clone()),
        invoice_hash: m.invoice_hash.clone(),
        permanent_storage_date: micros(m.permanent_storage_date),
        metadata: entry.raw.clone(),
        xml,
    }
}

/// What one run of a tenant's sync did.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncRun {
    /// Windows read.
    pub windows: u32,
    /// Invoices new to the gateway.
    pub new: u64,
    /// Invoices the packages held (new or not).
    pub seen: u64,
    /// Stopped at its window budget with more to read.
    pub more: bool,
}

/// Runs a tenant's sync of one subject from where it stands: windows until KSeF has nothing newer (or the run's
/// budget of windows is spent), each window's invoices stored with the position in one transaction.
pub async fn sync_once(ctx: &Context, sync: &SyncRecord) -> Result<SyncRun, OpError> {
    let subject = SubjectType::parse(&sync.subject)?;
    let tenant = Tenant { id: sync.tenant_id.clone(), nip: String::new() };
    let ksef = super::tenant_ksef(ctx, &tenant).await?;
    let mut from = from_micros(sync.next_from);
    let mut run = SyncRun::default();
    loop {
        ctx.store.hold_sync(&sync.tenant_id, &sync.subject, micros(now() + SYNC_HOLD)).await.map_err(OpError::store(ErrorCode::Internal))?;
        let (window_to, last_window) = window_end(from, None)?;
        let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(anyhow::Error::from)?);
        let window = export_window(&ksef, subject, from, window_to, &mut file).await.map_err(|e| match e.downcast::<ksef_client::KsefError>() {
            Ok(k) => OpError::ksef(ErrorCode::QueryInvoiceInit, &k),
            Err(e) => OpError::Internal(e),
        })?;
        run.windows += 1;
        let next = window.next_from(from, window_to)?;
        let stored = if window.ready() {
            let file = file.into_std().await;
            store_package(ctx, &sync.tenant_id, subject, file, next).await?
        } else {
            ctx.store.insert_received(&sync.tenant_id, &[], micros(now()), Some((&sync.subject, micros(next)))).await.map_err(OpError::store(ErrorCode::Internal))?;
            (0, 0)
        };
        run.new += stored.0;
        run.seen += stored.1;
        if !window.truncated && (last_window || window.nothing_new() || next <= from) {
            return Ok(run);
        }
        if run.windows >= WINDOWS_PER_RUN {
            run.more = true;
            return Ok(run);
        }
        from = next;
    }
}

/// Checks a package whole, then stores its invoices in chunks (by count and by bytes), the last chunk moving the
/// position to `next`. A package that fails the check is kept in the quarantine folder and nothing of it is stored.
async fn store_package(ctx: &Context, tenant_id: &str, subject: SubjectType, file: std::fs::File, next: DateTime<Utc>) -> Result<(u64, u64), OpError> {
    fn blocking<T>(r: Result<T, tokio::task::JoinError>) -> Result<T, OpError> {
        r.map_err(|e| OpError::Internal(e.into()))
    }
    let (checked, mut file) = blocking(
        tokio::task::spawn_blocking(move || {
            let mut file = file;
            (check_package(&mut file), file)
        })
        .await,
    )?;
    let entries = match checked {
        Ok(entries) => entries,
        Err(why) => {
            let (dir, tenant) = (ctx.quarantine.clone(), tenant_id.to_owned());
            let kept = tokio::task::spawn_blocking(move || quarantine(dir.as_deref(), &tenant, &mut file)).await.ok().flatten();
            return Err(OpError::Internal(anyhow::anyhow!(
                "KSeF's package was put aside{}: {why}; nothing of it was stored, and the sync tries again later",
                kept.map(|p| format!(" in {}", p.display())).unwrap_or_default()
            )));
        }
    };
    let seen = entries.len() as u64;
    let mut new = 0;
    let mut entries = std::collections::VecDeque::from(entries);
    loop {
        // The next chunk: up to STORE_CHUNK invoices or STORE_CHUNK_BYTES of XML, read off the async workers.
        let (read, back) = blocking(
            tokio::task::spawn_blocking(move || {
                let mut chunk = Vec::new();
                let mut bytes = 0u64;
                let read = (|| {
                    file.rewind().map_err(|e| Quarantine(format!("cannot read the package: {e}")))?;
                    let mut archive =
                        zip::ZipArchive::new(std::io::BufReader::new(&mut file)).map_err(|e| Quarantine(format!("the package is not a ZIP archive: {e}")))?;
                    while chunk.len() < STORE_CHUNK && bytes < STORE_CHUNK_BYTES {
                        let Some(entry) = entries.pop_front() else { break };
                        let xml = read_entry(&mut archive, &format!("{}.xml", entry.metadata.ksef_number), MAX_ENTRY_BYTES)?;
                        bytes += xml.len() as u64;
                        chunk.push(to_new(&entry, xml, subject));
                    }
                    Ok::<_, Quarantine>(())
                })();
                (read.map(|()| chunk), (file, entries))
            })
            .await,
        )?;
        (file, entries) = back;
        let chunk = read.map_err(|e| OpError::Internal(anyhow::anyhow!("{e}")))?;
        let last = entries.is_empty();
        let position = last.then(|| (subject.api_name(), micros(next)));
        new += ctx.store.insert_received(tenant_id, &chunk, micros(now()), position).await.map_err(OpError::store(ErrorCode::Internal))?;
        if last {
            break;
        }
    }
    if new > 0 {
        ctx.wake_webhooks();
    }
    Ok((new, seen))
}

/// Keeps a package that failed its check for the operator to look at; where, if it could.
fn quarantine(dir: Option<&Path>, tenant_id: &str, file: &mut std::fs::File) -> Option<PathBuf> {
    let dir = dir?;
    // Named by its content, so the same package refused again and again is kept once.
    let mut hasher = ksef_core::crypto::Sha256::default();
    let hashed = (|| -> std::io::Result<()> {
        file.rewind()?;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
        }
    })();
    if let Err(e) = hashed {
        tracing::warn!(error = %e, "a quarantined package could not be read");
        return None;
    }
    let digest: String = hasher.finish()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("inbox-{tenant_id}-{digest}.zip"));
    if path.exists() {
        return Some(path);
    }
    // Written under a temporary name and renamed when whole, so a copy cut short is never taken for the package.
    let partial = path.with_extension("zip.partial");
    let mut copy = || -> std::io::Result<()> {
        crate::files::private_dir(dir)?;
        file.rewind()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&partial)?;
        std::io::copy(file, &mut out)?;
        out.sync_all()?;
        std::fs::rename(&partial, &path)
    };
    match copy() {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(error = %e, "a quarantined package could not be kept");
            None
        }
    }
}

/// Where the tenant's syncs stand.
pub async fn syncs(ctx: &Context, tenant: &Tenant) -> Result<Vec<SyncRecord>, OpError> {
    ctx.store.syncs(&tenant.id).await.map_err(OpError::store(ErrorCode::Internal))
}

/// Switches the tenant's sync of `subject` on or off (on: from `from`, or where it stood, or 30 days back).
pub async fn set_sync(ctx: &Context, tenant: &Tenant, subject: &str, enabled: bool, from: Option<DateTime<Utc>>) -> Result<Vec<SyncRecord>, OpError> {
    let subject = SubjectType::parse(subject).map_err(|_| {
        OpError::refused(ErrorCode::ReceivedQuery, format!("`subject` must be subject2, subject3 or subjectAuthorized, not {}", crate::telemetry::loggable(subject)))
    })?;
    if subject == SubjectType::Subject1 {
        return Err(OpError::refused(ErrorCode::ReceivedQuery, "subject1 is the tenant's own sales, not received invoices"));
    }
    if from.is_some_and(|f| f > Utc::now()) {
        return Err(OpError::refused(ErrorCode::ReceivedQuery, "`from` is in the future"));
    }
    let now = now();
    let default_from = now - TimeDelta::days(FIRST_SYNC_DAYS);
    ctx.store
        .set_sync(&tenant.id, subject.api_name(), enabled, from.map(micros), micros(default_from), micros(now))
        .await
        .map_err(OpError::store(ErrorCode::Internal))?;
    syncs(ctx, tenant).await
}

/// The tenant's received invoices matching `filter`.
pub async fn list(ctx: &Context, tenant: &Tenant, filter: &ReceivedFilter) -> Result<Vec<ReceivedRecord>, OpError> {
    if !(1..=MAX_PAGE).contains(&filter.limit) {
        return Err(OpError::refused(ErrorCode::ReceivedQuery, format!("`limit` must be 1 to {MAX_PAGE}")));
    }
    ctx.store.received_invoices(&tenant.id, filter).await.map_err(OpError::store(ErrorCode::Internal))
}

/// One received invoice, with its XML.
pub async fn received(ctx: &Context, tenant: &Tenant, ksef_number: &str) -> Result<ReceivedRecord, OpError> {
    ctx.store
        .received_invoice(&tenant.id, ksef_number)
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| OpError::refused(ErrorCode::ReceivedUnknown, format!("no received invoice {}", crate::telemetry::loggable(ksef_number))))
}

/// Where the sync keeps packages that failed their check.
pub fn quarantine_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("quarantine")
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const NUMBER: &str = "5265877635-20260101-0100001234AB-01";

    fn metadata(number: &str, xml: &[u8]) -> String {
        serde_json::json!({ "invoices": [{
            "ksefNumber": number, "invoiceNumber": "FV/1", "issueDate": "2026-01-01",
            "invoicingDate": "2026-01-01T10:00:00+00:00", "acquisitionDate": "2026-01-01T10:00:01+00:00",
            "permanentStorageDate": "2026-01-01T10:00:02+00:00",
            "seller": { "nip": "5265877635" }, "buyer": { "identifier": { "type": "Nip", "value": "7010002137" } },
            "netAmount": 100.0, "grossAmount": 123.0, "vatAmount": 23.0, "currency": "PLN",
            "invoicingMode": "Online", "invoiceType": "Vat",
            "formCode": { "systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA" },
            "isSelfInvoicing": false, "hasAttachment": false, "invoiceHash": ksef_core::crypto::sha256_base64(xml)
        }] })
        .to_string()
    }

    fn package(files: &[(&str, &[u8])]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        {
            let mut zip = zip::ZipWriter::new(&mut file);
            for (name, content) in files {
                zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
                zip.write_all(content).unwrap();
            }
            zip.finish().unwrap();
        }
        file
    }

    fn valid_number() -> String {
        // A number with a correct checksum, made as KSeF makes them.
        let mut probe = NUMBER.to_owned();
        for crc in 0..=255u8 {
            probe = format!("{}{crc:02X}", &NUMBER[..NUMBER.len() - 2]);
            if KsefNumber::parse(&probe).is_ok() {
                break;
            }
        }
        probe
    }

    #[test]
    fn a_whole_package_passes_its_check() {
        let number = valid_number();
        let xml = b"<Faktura/>";
        let mut file = package(&[("_metadata.json", metadata(&number, xml).as_bytes()), (&format!("{number}.xml"), xml)]);
        let entries = check_package(&mut file).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(read_xml(&mut file, &entries).unwrap(), vec![xml.to_vec()]);
    }

    #[test]
    fn a_package_with_an_unexpected_file_a_missing_invoice_or_a_wrong_hash_is_put_aside() {
        let number = valid_number();
        let xml = b"<Faktura/>";
        let meta = metadata(&number, xml);
        let name = format!("{number}.xml");
        type Files<'a> = Vec<(&'a str, &'a [u8])>;
        let cases: Vec<(Files<'_>, &str)> = vec![
            (vec![("_metadata.json", meta.as_bytes()), (&name, xml), ("run.sh", b"rm -rf /")], "should not"),
            (vec![("_metadata.json", meta.as_bytes()), (&name, xml), ("../escape.xml", xml)], "should not"),
            (vec![("_metadata.json", meta.as_bytes())], "lacks"),
            (vec![("_metadata.json", meta.as_bytes()), (&name, b"<Faktura>changed</Faktura>")], "does not hash"),
            (vec![(&name, xml)], "lacks _metadata.json"),
        ];
        for (files, expect) in cases {
            let err = check_package(&mut package(&files)).unwrap_err();
            assert!(err.0.contains(expect), "{expect}: {err}");
        }
        let mut not_zip = tempfile::tempfile().unwrap();
        not_zip.write_all(b"not a zip").unwrap();
        assert!(check_package(&mut not_zip).unwrap_err().0.contains("not a ZIP"));
    }

    #[test]
    fn windows_continue_after_truncation_and_stop_at_the_high_water_mark() {
        let from: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let later: DateTime<Utc> = "2026-01-02T00:00:00Z".parse().unwrap();
        let truncated = ExportWindow { status: 200, invoices: 10_000, truncated: true, next_from: Some(later), hwm: None };
        assert_eq!(truncated.next_from(from, None).unwrap(), later);
        let stuck = ExportWindow { next_from: Some(from), ..truncated };
        assert!(stuck.next_from(from, None).is_err(), "a truncated package that does not move forward stops");
        let whole = ExportWindow { status: 200, invoices: 3, truncated: false, next_from: None, hwm: Some(later) };
        assert_eq!(whole.next_from(from, None).unwrap(), later);
        let earlier_end: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(whole.next_from(from, Some(earlier_end)).unwrap(), earlier_end);
        let no_mark = ExportWindow { hwm: None, ..whole };
        assert!(no_mark.next_from(from, None).is_err(), "without KSeF's mark there is no safe place to continue");
    }
}
