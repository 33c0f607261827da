//! `ksef-gateway verify LINK`: checks a received invoice's QR link (KOD I or KOD II) offline, against the
//! invoice's XML and the Offline certificate when given; prints every check, exit 0 only when none failed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use ksef_visualize::verify::{Evidence, Outcome, verify};

/// Arguments of `ksef-gateway verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The link the QR code carries (https://qr…ksef.mf.gov.pl/invoice/… or …/certificate/…).
    link: String,
    /// The invoice's XML file, to check the link's hash, seller and date against.
    #[arg(long)]
    invoice: Option<PathBuf>,
    /// The Offline certificate (PEM or DER), to check a KOD II link's signature with.
    #[arg(long)]
    certificate: Option<PathBuf>,
    /// The KSeF number printed under the code.
    #[arg(long)]
    ksef_number: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn read(path: Option<&PathBuf>, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(path) = path else { return Ok(None) };
    let size = std::fs::metadata(path).with_context(|| format!("cannot read the {what} {}", path.display()))?.len();
    anyhow::ensure!(size <= crate::ops::verify::MAX_EVIDENCE_BYTES as u64, "the {what} {} is over {} bytes", path.display(), crate::ops::verify::MAX_EVIDENCE_BYTES);
    Ok(Some(std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))?))
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let invoice = read(args.invoice.as_ref(), "invoice")?;
    let certificate = read(args.certificate.as_ref(), "certificate")?;
    let evidence = Evidence { invoice: invoice.as_deref(), certificate: certificate.as_deref(), ksef_number: args.ksef_number.as_deref() };
    let report = verify(&args.link, &evidence);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&crate::api::dto::events::VerifyResponse::from_report(&report))?);
    } else {
        for check in &report.checks {
            let mark = match check.outcome {
                Outcome::Passed => "ok  ",
                Outcome::Failed => "FAIL",
                Outcome::Warning => "warn",
                Outcome::Skipped => "skip",
            };
            println!("{mark}  {:<22} {}", check.name, check.detail);
        }
        println!("{}", if report.valid() { "the link is valid" } else { "the link is NOT valid" });
    }
    Ok(if report.valid() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
