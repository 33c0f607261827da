//! `ksef-gateway export`: downloads a tenant's invoices (sales, costs, …) into a directory as `{ksefNumber}.xml`
//! plus `{ksefNumber}.json` (KSeF's metadata), through our gateway or straight from KSeF.
//!
//! Why it never misses or doubles an invoice across runs:
//! - windows are on permanent-storage dates and capped at KSeF's high-water mark, so nothing can still appear
//!   in a window once it has been read (without the mark the export stops rather than guess);
//! - a package cut at KSeF's 10,000 invoices continues from its `lastPermanentStorageDate`; invoices stored at
//!   that instant come twice and the second copy is skipped, because
//! - an invoice is on disk iff its `.xml` is (written last, atomically), and one already on disk is skipped;
//! - the state file `.ksef-export-{subject}.json` remembers where the next run starts (and for which source),
//!   and is only moved forward after a window's invoices are flushed to disk. A run cut short repeats at most
//!   one window; a lock keeps two runs out of one directory.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Months, TimeDelta, Utc};
use futures_util::StreamExt as _;
use ksef_client::{ContextClient, SymmetricKey};
use ksef_core::ids::KsefNumber;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

use super::remote::{Remote, gateway_answer, gateway_error, lock, poll_until_done, read_state, sync_directory, write_atomically};
use crate::api::dto;
use crate::cli::{ExportArgs, ExportSubject};
use crate::ops::queries::{self, Bound, SubjectType};

/// Largest invoice accepted from a package (KSeF's limit with attachments is 3 MB).
const MAX_INVOICE_BYTES: u64 = 10 * 1024 * 1024;
/// How long to wait for KSeF to build one package.
const POLL_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Largest `_metadata.json` accepted (10,000 entries of a few hundred bytes).
const MAX_METADATA_BYTES: u64 = 64 * 1024 * 1024;

impl ExportSubject {
    fn subject(self) -> SubjectType {
        match self {
            ExportSubject::Sales => SubjectType::Subject1,
            ExportSubject::Cost => SubjectType::Subject2,
            ExportSubject::Third => SubjectType::Subject3,
            ExportSubject::Authorized => SubjectType::SubjectAuthorized,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExportSubject::Sales => "sales",
            ExportSubject::Cost => "cost",
            ExportSubject::Third => "third",
            ExportSubject::Authorized => "authorized",
        }
    }
}

/// `_metadata.json` of a package.
#[derive(Debug, Deserialize)]
struct MetadataFile<'a> {
    #[serde(borrow)]
    invoices: Vec<&'a serde_json::value::RawValue>,
}

/// The one field of a metadata entry the export needs.
#[derive(Debug, Deserialize)]
struct MetadataEntry<'a> {
    #[serde(rename = "ksefNumber", borrow)]
    ksef_number: std::borrow::Cow<'a, str>,
}

/// Where an incremental export stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportState {
    /// The subject the state is for.
    subject: String,
    /// Where the invoices come from (the gateway's URL, or KSeF's and the NIP).
    source: String,
    /// Where the next window starts.
    next_from: DateTime<Utc>,
    /// When the state was written.
    updated: DateTime<Utc>,
}

/// One window's package, as its source reported it.
#[derive(Debug)]
struct Window {
    /// KSeF's export status (200 done; 420 "from after the high-water mark": nothing new yet).
    status: i64,
    invoices: i64,
    truncated: bool,
    next_from: Option<DateTime<Utc>>,
    hwm: Option<DateTime<Utc>>,
}

pub(crate) async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (source, identity) = Remote::connect(&args.remote)?;
    let subject = args.subject;
    std::fs::create_dir_all(&args.out).with_context(|| format!("failed to create {}", args.out.display()))?;
    let _lock = lock(&args.out, ".ksef-export.lock", "export")?;
    let state_path = args.out.join(format!(".ksef-export-{}.json", subject.name()));
    let state = read_state::<ExportState>(&state_path, "an export state")?;
    if let Some(state) = state.as_ref().filter(|s| s.source != identity) {
        bail!(
            "{} holds an export from {}, not {identity}; use another --out (or delete {} to start over)",
            args.out.display(),
            state.source,
            state_path.display()
        );
    }
    let parse = |text: &str, bound| queries::parse_bound(text, bound).map_err(|e| anyhow::anyhow!("{e}"));
    let requested_from = args.from.as_deref().map(|t| parse(t, Bound::From)).transpose()?;
    let to = args.to.as_deref().map(|t| parse(t, Bound::To)).transpose()?;
    let mut from = match (requested_from, &state) {
        (Some(f), Some(s)) => {
            if f < s.next_from {
                eprintln!("invoices up to {} are already here; --from {f} is earlier and only the rest is fetched", s.next_from);
            }
            f.max(s.next_from)
        }
        (None, Some(s)) => s.next_from,
        (Some(f), None) => f,
        (None, None) => bail!("--from is needed for the first export into {} (later runs continue where the last stopped)", args.out.display()),
    };
    if state.is_some() {
        eprintln!("continuing from {from} ({})", state_path.display());
    }

    let (mut written, mut present, mut windows) = (0u64, 0u64, 0u32);
    loop {
        if to.is_some_and(|t| from > t) {
            break;
        }
        // KSeF searches at most three months at a time.
        let three_months = from.checked_add_months(Months::new(3)).context("date out of range")? - TimeDelta::microseconds(1);
        let (window_to, last_window) = match to {
            Some(t) if t <= three_months => (Some(t), true),
            None if Utc::now() <= three_months => (None, true),
            _ => (Some(three_months), false),
        };
        windows += 1;
        let package = args.out.join(format!(".ksef-export-{}.zip.partial", subject.name()));
        let window = source.fetch(subject.subject(), from, window_to, &package).await?;
        let (new, had) = if window.status == 200 { unpack(&package, &args.out).await? } else { (0, 0) };
        let _ = std::fs::remove_file(&package);
        written += new;
        present += had;
        eprintln!(
            "window {} from {from}{}: {} invoices, {new} written, {had} already present{}",
            windows,
            window_to.map(|t| format!(" to {t}")).unwrap_or_default(),
            window.invoices,
            if window.truncated { " (truncated by KSeF; continuing)" } else { "" }
        );
        let next = if window.truncated {
            let next = window.next_from.context("KSeF truncated the package but gave no lastPermanentStorageDate")?;
            if next <= from {
                bail!("KSeF truncated the package without moving forward (more than its limit stored at {from}); cannot continue");
            }
            next
        } else if window.status == 420 {
            from
        } else {
            // Up to the high-water mark everything is in; past it, invoices may still arrive. Without the mark
            // there is no safe place to continue from.
            let hwm = window.hwm.context("KSeF gave no permanentStorageHwmDate, so where the next run must start is unknown")?;
            window_to.map_or(hwm, |end| hwm.min(end)).max(from)
        };
        // The invoices must be on disk for good before the state says they are.
        sync_directory(&args.out)?;
        let state = ExportState { subject: subject.name().to_owned(), source: identity.clone(), next_from: next, updated: Utc::now() };
        write_state(&state_path, &state)?;
        sync_directory(&args.out)?;
        // Done when the last window is read, or when KSeF has nothing further yet (its high-water mark).
        if !window.truncated && (last_window || window.status == 420 || next <= from) {
            break;
        }
        from = next;
    }
    let next = read_state::<ExportState>(&state_path, "an export state")?.map(|s| s.next_from.to_string()).unwrap_or_default();
    println!("{written} invoices written, {present} already present, in {}; the next run starts at {next}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn write_state(path: &Path, state: &ExportState) -> anyhow::Result<()> {
    write_atomically(path, &serde_json::to_vec_pretty(state)?)
}

/// Writes a package's invoices that are not on disk yet; returns (written, already present).
async fn unpack(package: &Path, out: &Path) -> anyhow::Result<(u64, u64)> {
    let (package, out) = (package.to_path_buf(), out.to_path_buf());
    tokio::task::spawn_blocking(move || unpack_blocking(&package, &out)).await?
}

fn unpack_blocking(package: &Path, out: &Path) -> anyhow::Result<(u64, u64)> {
    let file = std::fs::File::open(package)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).context("the package is not a ZIP archive")?;
    let read = |archive: &mut zip::ZipArchive<_>, name: &str, limit: u64| -> anyhow::Result<Vec<u8>> {
        let entry = archive.by_name(name).with_context(|| format!("the package lacks {name}"))?;
        let mut content = Vec::new();
        entry.take(limit + 1).read_to_end(&mut content)?;
        anyhow::ensure!(content.len() as u64 <= limit, "{name} in the package is larger than {limit} bytes");
        Ok(content)
    };
    let metadata = read(&mut archive, "_metadata.json", MAX_METADATA_BYTES)?;
    // Entries stay raw: each is written out exactly as KSeF gave it, and 10,000 of them stay small in memory.
    let metadata: MetadataFile<'_> = serde_json::from_slice(&metadata).context("_metadata.json is not KSeF's metadata list")?;
    let (mut written, mut present) = (0, 0);
    for raw in metadata.invoices {
        let entry: MetadataEntry<'_> = serde_json::from_str(raw.get()).context("an entry of _metadata.json has no ksefNumber")?;
        let number = entry.ksef_number.as_ref();
        // The number names files: only a valid KSeF number may (no path tricks from a package).
        KsefNumber::parse(number).with_context(|| format!("_metadata.json lists '{number}', not a KSeF number"))?;
        let xml_path = out.join(format!("{number}.xml"));
        // Present only if whole: a file cut short by a power cut before its window was flushed is written again.
        let size = archive.by_name(&format!("{number}.xml")).map(|e| e.size()).ok();
        if size.is_some_and(|size| std::fs::metadata(&xml_path).is_ok_and(|m| m.len() == size)) {
            present += 1;
            continue;
        }
        let xml = read(&mut archive, &format!("{number}.xml"), MAX_INVOICE_BYTES)?;
        write_atomically(&out.join(format!("{number}.json")), raw.get().as_bytes())?;
        // Last: the invoice's presence is what marks it done.
        write_atomically(&xml_path, &xml)?;
        written += 1;
    }
    Ok((written, present))
}

impl Remote {
    /// Runs one search and writes its plain ZIP to `package`.
    async fn fetch(&self, subject: SubjectType, from: DateTime<Utc>, to: Option<DateTime<Utc>>, package: &Path) -> anyhow::Result<Window> {
        let mut file = tokio::fs::File::create(package).await.with_context(|| format!("failed to create {}", package.display()))?;
        let window = match self {
            Remote::Gateway { http, base, api_key } => fetch_from_gateway(http, base, api_key, subject, from, to, &mut file).await?,
            Remote::Ksef { ctx } => fetch_from_ksef(ctx, subject, from, to, &mut file).await?,
        };
        file.flush().await?;
        Ok(window)
    }
}

async fn fetch_from_gateway(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    subject: SubjectType,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    file: &mut tokio::fs::File,
) -> anyhow::Result<Window> {
    let body = dto::KsefInvoiceQueryStartRequest {
        range: dto::KsefInvoiceQueryStartRange { from: from.to_rfc3339(), to: to.map(|t| t.to_rfc3339()) },
        encryption_info: None,
        subject_type: subject.api_name().to_owned(),
    };
    let response = http.post(format!("{base}/ksefInvoiceQueryStart")).bearer_auth(api_key).json(&body).send().await.context("the gateway is unreachable")?;
    let started: dto::KsefInvoiceQueryStartResponse = gateway_answer("starting the search", response).await?;
    let query = &started.query_id;
    let status = poll_until_done(
        || async move {
            let response = http.get(format!("{base}/ksefInvoiceQueryStatus/{query}")).bearer_auth(api_key).send().await?;
            gateway_answer::<dto::KsefInvoiceQueryStatusResponse>("the search's status", response).await
        },
        |status| status.status.code != 100,
        POLL_LIMIT,
        "the search",
    )
    .await?;
    let code = status.status.code;
    if code != 200 && code != 420 {
        bail!("KSeF could not complete the search: {code} {}", status.status.description);
    }
    if code == 200 {
        let mut received = 0u64;
        for part in &status.part_numbers {
            let response = http.get(format!("{base}/ksefInvoiceQueryResult/{query}/{part}")).bearer_auth(api_key).send().await?;
            if !response.status().is_success() {
                return Err(gateway_error("downloading the result", response).await);
            }
            let mut body = response.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.context("the download broke off")?;
                received += chunk.len() as u64;
                file.write_all(&chunk).await?;
            }
        }
        let expected = status.package_size as u64;
        anyhow::ensure!(received == expected, "received {received} bytes of a {expected}-byte package");
    }
    Ok(Window {
        status: code,
        invoices: status.number_of_invoices,
        truncated: status.is_truncated,
        next_from: status.next_from,
        hwm: status.permanent_storage_hwm_date,
    })
}

async fn fetch_from_ksef(
    ctx: &ContextClient,
    subject: SubjectType,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    file: &mut tokio::fs::File,
) -> anyhow::Result<Window> {
    let keys = ctx.keys().await?;
    let key = SymmetricKey::generate(&keys)?;
    let request = queries::export_request(subject, from, to, key.encryption.clone());
    let request = &request;
    let started = ctx.with_access(|access| async move { ctx.client().start_export(&access, request).await }).await?;
    let reference = started.reference_number;
    let status = poll_until_done(
        || {
            let reference = reference.as_str();
            async move { Ok(ctx.with_access(|access| async move { ctx.client().export_status(&access, reference).await }).await?) }
        },
        |status| status.status.code != 100,
        POLL_LIMIT,
        "the export",
    )
    .await?;
    let code = i64::from(status.status.code);
    let Some(package) = status.package.filter(|_| code == 200) else {
        if code == 420 {
            return Ok(Window { status: 420, invoices: 0, truncated: false, next_from: None, hwm: None });
        }
        bail!("KSeF could not complete the export {reference}: {code} {}", status.status.description);
    };
    let window = Window {
        status: code,
        invoices: package.invoice_count,
        truncated: package.is_truncated,
        next_from: package.last_permanent_storage_date,
        hwm: package.permanent_storage_hwm_date,
    };
    let mut stream = ksef_client::decrypted_package(ctx.client().clone(), package.parts, key.key, key.iv).await?;
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk?).await?;
    }
    Ok(window)
}
