//! `ksef-gateway validate FILE…`: checks invoice files offline, as `ksefInvoiceValidate` does; exit 0 only when
//! every file is valid. `--json` prints one object per file, so the schema verdict can be compared with other tools.
//! Files are checked on every core, and reported in the order given.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

/// Arguments of `ksef-gateway validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Invoice files (FA(2) or FA(3) XML).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// One JSON object per file: `{"file", "version", "valid", "findings": [{"kind", "severity", "rule", "path", "line", "message"}]}`.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Files checked between two writes: a batch is split into a run of files per core, and its reports are written
/// in the files' order once all are done, so memory stays bounded whatever the number of files.
const BATCH: usize = 256;

pub(crate) fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let options = ksef_fa::rules::Options { nip_checksums: true, received: Some(today) };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut all_valid = true;
    // One buffered writer: a write per line (what `println!` does) costs more than checking a small invoice.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for batch in args.files.chunks(BATCH) {
        let reports: Vec<(bool, String)> = std::thread::scope(|scope| {
            let runs: Vec<_> = batch
                .chunks(batch.len().div_ceil(cores))
                .map(|files| scope.spawn(|| files.iter().map(|file| report(file, &options, args.json)).collect::<Vec<_>>()))
                .collect();
            runs.into_iter().flat_map(|run| run.join().expect("checking a file does not panic")).collect()
        });
        for (valid, text) in reports {
            all_valid &= valid;
            out.write_all(text.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(if all_valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Whether `file` is valid, and its report as printed.
fn report(file: &std::path::Path, options: &ksef_fa::rules::Options, as_json: bool) -> (bool, String) {
    use std::fmt::Write as _;
    let name = file.display().to_string();
    let mut text = String::new();
    let report = match std::fs::read(file) {
        Ok(bytes) => ksef_fa::check(&bytes, options),
        Err(err) => {
            if as_json {
                let _ = writeln!(text, "{}", json!({ "file": name, "version": null, "valid": false, "error": err.to_string(), "findings": [] }));
            } else {
                let _ = writeln!(text, "{name}: cannot be read: {err}");
            }
            return (false, text);
        }
    };
    let valid = report.valid();
    if as_json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| json!({ "kind": f.kind, "severity": f.severity, "rule": f.rule, "path": f.path, "line": f.line, "message": f.message_en }))
            .collect();
        let _ = writeln!(text, "{}", json!({ "file": name, "version": report.version, "valid": valid, "findings": findings }));
    } else {
        let version = report.version.map_or("not FA(2)/FA(3)", |v| v.name());
        let _ = writeln!(text, "{name}: {} ({version})", if valid { "valid" } else { "INVALID" });
        for f in &report.findings {
            let severity = if f.severity == ksef_fa::Severity::Error { "error" } else { "warning" };
            let _ = writeln!(text, "  {severity} {} line {} [{}] {}", f.path, f.line, f.rule, f.message_en);
        }
    }
    (valid, text)
}
