//! `ksef-gateway batch send DIR_OR_ZIP`: sends a folder (or a ZIP) of invoices as one KSeF batch session,
//! through our gateway or straight to KSeF, and prints each invoice's KSeF number or error.
//!
//! Why an interrupted run never sends anything twice: the state file in the work directory (`.ksef-batch` in
//! the folder, or `.{name}.ksef-batch` beside the ZIP) records the session before its parts are uploaded and
//! that it was closed right after; a session KSeF processes is only ever closed once. On a new run an open
//! session is asked for its status first: closed (or processed) means wait for its results; still open and in
//! its upload window means upload the missing parts and close; cancelled (its window passed unclosed, so
//! KSeF accepted none of it) means package again and open a new one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use ksef_client::wire::FormCode;
use ksef_client::wire::sessions::{BatchFileInfo, PartUploadRequest};
use ksef_client::wire::codes::session as session_status;
use ksef_client::{BatchPackager, BatchSession, PackagedBatch, PackagedPart};
use ksef_core::crypto::{AesKey, Iv, Sha256, b64};
use ksef_core::limits::{MAX_BATCH_PART_BYTES, MAX_INVOICE_BYTES, MAX_INVOICES_PER_SESSION};
use serde::{Deserialize, Serialize};

use super::remote::{InvoiceResult, NewBatch, Remote, RemoteArgs, poll_until_done, with_remote};
use super::run_state::{lock, read_state, sync_directory, write_atomically};

/// How long to wait for KSeF to process a package.
const PROCESSING_LIMIT: Duration = Duration::from_secs(60 * 60);
/// KSeF's upload window: 20 minutes per declared part, from the opening.
const WINDOW_PER_PART: chrono::Duration = chrono::Duration::minutes(20);

/// Arguments of `ksef-gateway batch send`.
#[derive(Debug, clap::Args)]
pub(crate) struct BatchSendArgs {
    /// A directory of invoice files (`*.xml`), or a ZIP of them (no folders inside).
    pub(crate) input: PathBuf,
    /// Where to send.
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
    /// Schema of the invoices: v2 (FA(2)) or v3 (FA(3)).
    #[arg(long, default_value = "v3")]
    pub(crate) invoice_version: String,
    /// The invoices were issued offline.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Part size before encryption, in bytes (at most KSeF's 100 MB, the default).
    #[arg(long, default_value_t = MAX_BATCH_PART_BYTES)]
    pub(crate) part_size: u64,
    /// Parts uploaded at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Print the per-invoice results as JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The invoice files to send.
enum Input {
    Dir(Vec<PathBuf>),
    Zip(PathBuf),
}

impl Input {
    /// Reads and checks the input; its file names, and a fingerprint that changes when the input does.
    fn open(path: &Path) -> anyhow::Result<(Input, Vec<String>, String)> {
        let mut fingerprint = Sha256::default();
        let (input, names, problems) = if path.is_dir() {
            let files = ksef_client::directory_files(path).with_context(|| format!("failed to read {}", path.display()))?;
            let (mut names, mut problems) = (Vec::new(), Vec::new());
            for file in &files {
                let name = file.file_name().and_then(|n| n.to_str()).context("a file name that is not UTF-8")?.to_owned();
                let meta = std::fs::metadata(file)?;
                if meta.len() > MAX_INVOICE_BYTES as u64 {
                    problems.push(format!("{name}: {} bytes; an invoice may have at most {MAX_INVOICE_BYTES}", meta.len()));
                }
                fingerprint.update(format!("{name}\n{}\n{}\n", meta.len(), modified_nanos(&meta)).as_bytes());
                names.push(name);
            }
            if names.is_empty() {
                problems.push("there are no invoice files (*.xml) to send".to_owned());
            }
            if names.len() > MAX_INVOICES_PER_SESSION {
                problems.push(format!("{} invoices; a batch takes at most {MAX_INVOICES_PER_SESSION}", names.len()));
            }
            (Input::Dir(files), names, problems)
        } else {
            let check = ksef_client::check_zip(path).with_context(|| format!("{} cannot be read", path.display()))?;
            let meta = std::fs::metadata(path)?;
            fingerprint.update(format!("zip\n{}\n{}\n", meta.len(), modified_nanos(&meta)).as_bytes());
            (Input::Zip(path.to_owned()), check.names, check.problems)
        };
        if !problems.is_empty() {
            bail!("{} cannot be sent as a batch:\n  {}", path.display(), problems.join("\n  "));
        }
        Ok((input, names, b64(&fingerprint.finish())))
    }

    /// Zips, splits and encrypts the invoices into `dir`.
    fn package(&self, packager: &BatchPackager, key: &AesKey, iv: &Iv, dir: &Path) -> anyhow::Result<PackagedBatch> {
        match self {
            Input::Dir(files) => {
                let files = files.iter().map(|f| {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                    Ok((name, std::fs::File::open(f)?))
                });
                Ok(packager.package(files, key, iv, dir)?)
            }
            Input::Zip(path) => Ok(packager.package_zip(path, key, iv, dir)?),
        }
    }
}

/// When a file last changed, to tell an edited input from the one a batch began with.
fn modified_nanos(meta: &std::fs::Metadata) -> u128 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default().as_nanos()
}

/// One encrypted part on disk, as the state remembers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartState {
    ordinal: i32,
    file: String,
    size: u64,
    hash: String,
}

/// Where a batch run stands; written atomically after every step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchState {
    /// Where the batch goes (a run never continues against another).
    source: String,
    /// The input it was made from.
    input_fingerprint: String,
    /// The package as declared.
    file: BatchFileInfo,
    parts: Vec<PartState>,
    /// The session: KSeF's reference number, or the gateway's session id.
    session: Option<String>,
    uploads: Vec<PartUploadRequest>,
    upload_deadline: Option<DateTime<Utc>>,
    uploaded: BTreeSet<i32>,
    closed: bool,
}

impl BatchState {
    fn packaged(&self) -> Vec<PackagedPart> {
        self.parts
            .iter()
            .map(|p| PackagedPart { ordinal_number: p.ordinal, path: PathBuf::from(&p.file), size: p.size, hash: p.hash.clone() })
            .collect()
    }
}

fn work_dir(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join(".ksef-batch")
    } else {
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("batch");
        input.with_file_name(format!(".{name}.ksef-batch"))
    }
}

fn write_state(path: &Path, state: &BatchState) -> anyhow::Result<()> {
    write_atomically(path, &serde_json::to_vec_pretty(state)?)?;
    sync_directory(path.parent().context("the state lives in a directory")?)
}

fn progress(len: u64, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub(crate) async fn send(args: BatchSendArgs) -> anyhow::Result<ExitCode> {
    with_remote!(&args.remote, |remote| send_with(&remote, &args).await)
}

async fn send_with(remote: &impl Remote, args: &BatchSendArgs) -> anyhow::Result<ExitCode> {
    let version = match args.invoice_version.as_str() {
        "v2" => FormCode::fa2(),
        "v3" => FormCode::fa3(),
        other => bail!("--invoice-version {other}: use v2 or v3"),
    };
    let identity = remote.identity().to_owned();
    let (input, names, fingerprint) = Input::open(&args.input)?;
    let dir = work_dir(&args.input);
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let _lock = lock(&dir, "lock", "batch send")?;
    let state_path = dir.join("state.json");
    let mut state = read_state::<BatchState>(&state_path, "a batch state")?;
    if let Some(s) = &state {
        if s.source != identity {
            bail!("{} holds a batch sent to {}, not {identity}; finish it there or delete {}", dir.display(), s.source, dir.display());
        }
        if s.input_fingerprint != fingerprint {
            bail!("the invoices in {} changed since the batch in {} began; finish it with the same files or delete {}",
                args.input.display(), dir.display(), dir.display());
        }
    }
    // A session opened earlier: find out what became of it before anything is sent again.
    if let Some(s) = state.as_mut().filter(|s| !s.closed)
        && let Some(session) = s.session.clone()
    {
        let code = remote.session_status(&session).await?.0 as i32;
        let open = session_status::BATCH_OPEN.is(code);
        if open && s.upload_deadline.is_some_and(|d| Utc::now() < d) {
            eprintln!("continuing session {session}: {} of {} parts were uploaded", s.uploaded.len(), s.parts.len());
        } else if open || session_status::CANCELLED.is(code) {
            eprintln!("session {session} was not closed in time and KSeF cancels it; sending the batch anew");
            state = None;
        } else {
            eprintln!("session {session} was closed (status {code}); waiting for its results");
            s.closed = true;
            write_state(&state_path, s)?;
        }
    }
    // Packaged but never opened (or its opening never answered, which leaves nothing KSeF would process).
    if state.as_ref().is_some_and(|s| s.session.is_none()) {
        state = None;
    }
    let mut state = match state {
        Some(s) => s,
        None => package_and_open(remote, &input, args, version, &identity, &fingerprint, &dir, &state_path).await?,
    };
    if !state.closed {
        upload(remote, &mut state, &state_path, args.concurrency).await?;
        let session = state.session.clone().context("an open session")?;
        remote.close_batch(&session).await?;
        state.closed = true;
        write_state(&state_path, &state)?;
    }
    // Once closed, the parts are KSeF's: the local copies are no longer needed.
    let _ = std::fs::remove_dir_all(dir.join("parts"));
    let session = state.session.clone().context("a session")?;
    let spinner = progress(0, "{spinner} KSeF is processing the package… {elapsed}");
    let (code, description) =
        poll_until_done(|| remote.session_status(&session), |s| !session_status::in_progress(s.0 as i32), PROCESSING_LIMIT, "the batch")
            .await?;
    spinner.finish_and_clear();
    let mut results = remote.session_invoices(&session).await?;
    let upo = if session_status::BATCH_PROCESSED.is(code as i32) { remote.session_upo(&session).await? } else { Vec::new() };
    let mut upo_paths = Vec::new();
    for (i, page) in upo.iter().enumerate() {
        let path = dir.join(if upo.len() == 1 { "upo.xml".to_owned() } else { format!("upo-{}.xml", i + 1) });
        write_atomically(&path, page)?;
        upo_paths.push(path.display().to_string());
    }
    // Files KSeF never listed (the whole package was refused) get the session's status.
    let listed: BTreeSet<String> = results.iter().map(|r| r.file.clone()).collect();
    for name in names.iter().filter(|n| !listed.contains(*n)) {
        results.push(InvoiceResult { file: name.clone(), invoice_number: None, ksef_number: None, status: code, error: Some(format!("{code} {description}")) });
    }
    print_results(&results, args.json)?;
    let numbered = results.iter().filter(|r| r.ksef_number.is_some()).count();
    eprintln!(
        "session {session}: status {code} {description}; {numbered} of {} invoices got a KSeF number{}",
        results.len(),
        if upo_paths.is_empty() { String::new() } else { format!("; UPO in {}", upo_paths.join(", ")) }
    );
    Ok(if numbered == results.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[expect(clippy::too_many_arguments, reason = "the run's inputs, each used once; a struct would only rename them")]
async fn package_and_open(
    remote: &impl Remote,
    input: &Input,
    args: &BatchSendArgs,
    form: FormCode,
    identity: &str,
    fingerprint: &str,
    dir: &Path,
    state_path: &Path,
) -> anyhow::Result<BatchState> {
    let key = remote.session_key().await?;
    let parts_dir = dir.join("parts");
    let _ = std::fs::remove_dir_all(&parts_dir);
    let spinner = progress(0, "{spinner} packaging (zip, split, encrypt, hash)… {elapsed}");
    let packager = BatchPackager::with_part_size(args.part_size);
    let package = tokio::task::block_in_place(|| input.package(&packager, &key.key, &key.iv, &parts_dir))?;
    spinner.finish_and_clear();
    eprintln!("packaged {} invoices into {} parts ({} bytes before encryption)", package.file_names.len(), package.parts.len(), package.file.file_size);
    let mut state = BatchState {
        source: identity.to_owned(),
        input_fingerprint: fingerprint.to_owned(),
        file: package.file.clone(),
        parts: package
            .parts
            .iter()
            .map(|p| PartState { ordinal: p.ordinal_number, file: p.path.display().to_string(), size: p.size, hash: p.hash.clone() })
            .collect(),
        session: None,
        uploads: Vec::new(),
        upload_deadline: None,
        uploaded: BTreeSet::new(),
        closed: false,
    };
    write_state(state_path, &state)?;
    let opened_at = Utc::now();
    let (session, uploads) = remote.open_batch(NewBatch { form: &form, package: &package, key: &key, offline: args.offline }).await?;
    state.session = Some(session.clone());
    state.uploads = uploads;
    // A little short of KSeF's window, so a resumed run never races its end.
    state.upload_deadline = Some(opened_at + WINDOW_PER_PART * package.parts.len() as i32 - chrono::Duration::minutes(1));
    write_state(state_path, &state)?;
    eprintln!("opened batch session {session}");
    Ok(state)
}

async fn upload(remote: &impl Remote, state: &mut BatchState, state_path: &Path, concurrency: usize) -> anyhow::Result<()> {
    let session = BatchSession::resume(state.session.clone().context("an open session")?, state.uploads.clone(), Default::default());
    let pending: Vec<PackagedPart> = state.packaged().into_iter().filter(|p| !state.uploaded.contains(&p.ordinal_number)).collect();
    let total: u64 = pending.iter().map(|p| p.size).sum();
    let bar = progress(total, "{spinner} uploading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({msg})");
    let shared = Mutex::new((state.clone(), None::<anyhow::Error>));
    let record = |part: &PackagedPart| {
        bar.inc(part.size);
        let mut guard = shared.lock().expect("state lock");
        guard.0.uploaded.insert(part.ordinal_number);
        bar.set_message(format!("{} of {} parts", guard.0.uploaded.len(), guard.0.parts.len()));
        // Recorded so a resumed run does not upload it again (uploading again would be harmless, only slower).
        if let Err(err) = write_state(state_path, &guard.0) {
            guard.1 = Some(err);
        }
    };
    // The URLs are pre-signed, so the parts go straight to KSeF's storage in either mode.
    let uploader = remote.uploader()?;
    let result = session.upload(&uploader, &pending, concurrency, record).await;
    bar.finish_and_clear();
    let (updated, failure) = shared.into_inner().expect("state lock");
    *state = updated;
    result.context("uploading the parts failed; run the command again to continue")?;
    if let Some(err) = failure {
        return Err(err);
    }
    Ok(())
}

fn print_results(results: &[InvoiceResult], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(results)?);
        return Ok(());
    }
    let width = results.iter().map(|r| r.file.chars().count()).max().unwrap_or(4).max(4);
    let number_width = results.iter().map(|r| r.invoice_number.as_deref().unwrap_or("-").chars().count()).max().unwrap_or(14).max(14);
    println!("{:width$}  {:number_width$}  KSEF NUMBER OR ERROR", "FILE", "INVOICE NUMBER");
    for r in results {
        let outcome = r.ksef_number.clone().or_else(|| r.error.clone()).unwrap_or_else(|| format!("status {}", r.status));
        println!("{:width$}  {:number_width$}  {outcome}", r.file, r.invoice_number.as_deref().unwrap_or("-"));
    }
    Ok(())
}
