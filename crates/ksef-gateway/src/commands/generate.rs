//! `ksef-gateway generate REQUEST.json`: an FA(3) invoice from JSON with readable names, offline, as
//! `ksefInvoiceGenerate` makes it; the XML goes to standard output, problems to standard error (exit 1).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::ops::{OpError, documents};

/// Arguments of `ksef-gateway generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// The request: an FA(3) invoice as JSON with readable names (`-` reads standard input).
    pub(crate) request: PathBuf,
}

pub(crate) fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let text = if args.request.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("failed to read the request from standard input")?
    } else {
        std::fs::read_to_string(&args.request).with_context(|| format!("failed to read {}", args.request.display()))?
    };
    let request: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.request.display()))?;
    match documents::generate(&request) {
        Ok((xml, warnings)) => {
            for f in &warnings {
                eprintln!("warning {} [{}] {}", f.path, f.rule, f.message_en);
            }
            print!("{xml}");
            Ok(ExitCode::SUCCESS)
        }
        Err(OpError::Invalid { findings, .. }) => {
            for f in &findings {
                let severity = if f.severity == ksef_fa::Severity::Error { "error" } else { "warning" };
                eprintln!("{severity} {} [{}] {}", if f.path.is_empty() { "/" } else { &f.path }, f.rule, f.message_en);
            }
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(anyhow::anyhow!("{other}")),
    }
}
