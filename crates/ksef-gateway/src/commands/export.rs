//! `ksef-gateway export`: downloads a tenant's invoices (sales, costs, …) into a directory as `{ksefNumber}.xml`
//! plus `{ksefNumber}.json` (KSeF's metadata), through our gateway or straight from KSeF.
//!
//! Why it never misses or doubles an invoice across runs: the windows follow the rules the gateway's own sync of
//! received invoices follows (`ops::inbox`: permanent-storage dates capped at KSeF's high-water mark; a truncated
//! package continued from its `lastPermanentStorageDate`, whose repeated invoices are skipped), and
//! - an invoice is on disk iff its `.xml` is (written last, atomically), and one already on disk is skipped;
//! - the state file `.ksef-export-{subject}.json` remembers where the next run starts (and for which source),
//!   and is only moved forward after a window's invoices are flushed to disk. A run cut short repeats at most
//!   one window; a lock keeps two runs out of one directory.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use ksef_core::ids::KsefNumber;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

use super::remote::{ExportRange, ExportWindow, Remote, with_remote};
use super::run_state::{lock, read_state, sync_directory, write_atomically};
use crate::cli::{ExportArgs, ExportSubject};
use crate::ops::inbox::{self, MAX_ENTRY_BYTES, MAX_METADATA_BYTES};
use crate::ops::queries::{self, Bound, SubjectType};


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

pub(crate) async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    with_remote!(&args.remote, |remote| run_with(&remote, &args).await)
}

async fn run_with(source: &impl Remote, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let identity = source.identity().to_owned();
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
        let (window_to, last_window) = inbox::window_end(from, to)?;
        windows += 1;
        let package = args.out.join(format!(".ksef-export-{}.zip.partial", subject.name()));
        let window = fetch(source, subject.subject(), from, window_to, &package).await?;
        let (new, had) = if window.ready() { unpack(&package, &args.out).await? } else { (0, 0) };
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
        let next = window.next_from(from, window_to)?;
        // The invoices must be on disk for good before the state says they are.
        sync_directory(&args.out)?;
        let state = ExportState { subject: subject.name().to_owned(), source: identity.clone(), next_from: next, updated: Utc::now() };
        write_state(&state_path, &state)?;
        sync_directory(&args.out)?;
        // Done when the last window is read, or when KSeF has nothing further yet (its high-water mark).
        if !window.truncated && (last_window || window.nothing_new() || next <= from) {
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
/// Runs one search and writes its plain ZIP to `package`.
async fn fetch(
    source: &impl Remote,
    subject: SubjectType,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    package: &Path,
) -> anyhow::Result<ExportWindow> {
    let mut file = tokio::fs::File::create(package).await.with_context(|| format!("failed to create {}", package.display()))?;
    let window = source.export(&ExportRange { subject, from, to }, &mut file).await?;
    file.flush().await?;
    Ok(window)
}

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
        let xml = read(&mut archive, &format!("{number}.xml"), MAX_ENTRY_BYTES)?;
        write_atomically(&out.join(format!("{number}.json")), raw.get().as_bytes())?;
        // Last: the invoice's presence is what marks it done.
        write_atomically(&xml_path, &xml)?;
        written += 1;
    }
    Ok((written, present))
}
