//! `ksef-gateway verify LINK` (or `--image PNG`): checks a received invoice's QR links (KOD I or KOD II) offline,
//! against the invoice's XML and the Offline certificate when given; prints every check, exit 0 only when none
//! failed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use ksef_visualize::verify::{Evidence, Outcome, verify};

/// Arguments of `ksef-gateway verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The link the QR code carries (https://qr…ksef.mf.gov.pl/invoice/… or …/certificate/…); may be left out
    /// with --image.
    link: Option<String>,
    /// A PNG image of the invoice (a scan or a photo): every QR code it holds is verified.
    #[arg(long)]
    image: Option<PathBuf>,
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

fn read(path: Option<&PathBuf>, what: &str, limit: usize) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(path) = path else { return Ok(None) };
    let size = std::fs::metadata(path).with_context(|| format!("cannot read the {what} {}", path.display()))?.len();
    anyhow::ensure!(size <= limit as u64, "the {what} {} is over {limit} bytes", path.display());
    Ok(Some(std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))?))
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let invoice = read(args.invoice.as_ref(), "invoice", crate::ops::verify::MAX_EVIDENCE_BYTES)?;
    let certificate = read(args.certificate.as_ref(), "certificate", crate::ops::verify::MAX_EVIDENCE_BYTES)?;
    let evidence = Evidence { invoice: invoice.as_deref(), certificate: certificate.as_deref(), ksef_number: args.ksef_number.as_deref() };
    let mut links: Vec<String> = args.link.iter().cloned().collect();
    if let Some(image) = read(args.image.as_ref(), "image", ksef_visualize::qr::MAX_IMAGE_BYTES)? {
        let found = ksef_visualize::qr::read_png(&image).map_err(|e| anyhow::anyhow!("{}: {e}", args.image.as_ref().map(|p| p.display().to_string()).unwrap_or_default()))?;
        anyhow::ensure!(!found.is_empty() || !links.is_empty(), "the image holds no QR code that could be read");
        links.extend(found.into_iter().filter(|f| !links.contains(f)).collect::<Vec<_>>());
    }
    anyhow::ensure!(!links.is_empty(), "give the link, or --image with a picture of the code");
    let mut all_valid = true;
    for link in &links {
        let report = verify(link, &evidence);
        all_valid &= report.valid();
        print_report(link, &report, args.json, links.len() > 1)?;
    }
    Ok(if all_valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_report(link: &str, report: &ksef_visualize::verify::Report, json: bool, name_it: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&crate::api::dto::events::VerifyResponse::from_report(link, report))?);
    } else {
        if name_it {
            println!("{link}");
        }
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
    Ok(())
}
