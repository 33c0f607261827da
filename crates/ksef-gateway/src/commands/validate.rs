//! `ksef-gateway validate FILE…`: checks invoice files offline, as `ksefInvoiceValidate` does; exit 0 only when
//! every file is valid. `--json` prints one object per file, so the schema verdict can be compared with other tools.

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

pub(crate) fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    let options = ksef_fa::rules::Options { nip_checksums: true, received: Some(today) };
    let mut all_valid = true;
    // One buffered writer: a write per line (what `println!` does) costs more than checking a small invoice.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for file in &args.files {
        let name = file.display().to_string();
        let report = match std::fs::read(file) {
            Ok(bytes) => ksef_fa::check(&bytes, &options),
            Err(err) => {
                all_valid = false;
                if args.json {
                    writeln!(out, "{}", json!({ "file": name, "version": null, "valid": false, "error": err.to_string(), "findings": [] }))?;
                } else {
                    writeln!(out, "{name}: cannot be read: {err}")?;
                }
                continue;
            }
        };
        let valid = report.valid();
        all_valid &= valid;
        if args.json {
            let findings: Vec<_> = report
                .findings
                .iter()
                .map(|f| json!({ "kind": f.kind, "severity": f.severity, "rule": f.rule, "path": f.path, "line": f.line, "message": f.message_en }))
                .collect();
            writeln!(out, "{}", json!({ "file": name, "version": report.version, "valid": valid, "findings": findings }))?;
        } else {
            let version = report.version.map_or("not FA(2)/FA(3)", |v| v.name());
            writeln!(out, "{name}: {} ({version})", if valid { "valid" } else { "INVALID" })?;
            for f in &report.findings {
                let severity = if f.severity == ksef_fa::Severity::Error { "error" } else { "warning" };
                writeln!(out, "  {severity} {} line {} [{}] {}", f.path, f.line, f.rule, f.message_en)?;
            }
        }
    }
    out.flush()?;
    Ok(if all_valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
