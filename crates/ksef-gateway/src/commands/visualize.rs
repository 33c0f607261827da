//! `ksef-gateway visualize FILE` and `ksef-gateway links …`: an invoice rendered for people, and its
//! verification links with QR codes, offline, as `ksefInvoiceVisualize` and `ksefInvoiceLinks` make them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use ksef_core::Environment;
use ksef_visualize::links::{self, Certificate, ContextType};
use ksef_visualize::view::{self, Options};
use ksef_visualize::{Language, html, qr};

/// An Offline certificate given on the command line, for KOD II.
#[derive(Debug, clap::Args)]
pub(crate) struct CertificateArgs {
    /// The KSeF Offline certificate (PEM or DER), to sign KOD II.
    #[arg(long, requires = "key")]
    pub(crate) certificate: Option<PathBuf>,
    /// Its PKCS#8 private key (PEM or DER).
    #[arg(long, requires = "certificate")]
    pub(crate) key: Option<PathBuf>,
    /// The KSeF login context's type.
    #[arg(long, default_value = "Nip")]
    pub(crate) context_type: String,
    /// The context's identifier (default: the seller's NIP).
    #[arg(long)]
    pub(crate) context_value: Option<String>,
}

impl CertificateArgs {
    fn load(&self) -> anyhow::Result<Option<(Certificate, ContextType)>> {
        let (Some(cert), Some(key)) = (&self.certificate, &self.key) else { return Ok(None) };
        let cert = std::fs::read(cert).with_context(|| format!("failed to read {}", cert.display()))?;
        let key = std::fs::read(key).with_context(|| format!("failed to read {}", key.display()))?;
        let context = ContextType::parse(&self.context_type).with_context(|| format!("unknown context type {:?} (Nip, InternalId, NipVatUe, PeppolId)", self.context_type))?;
        Ok(Some((Certificate::new(&cert, &key)?, context)))
    }
}

/// Arguments of `ksef-gateway visualize`.
#[derive(Debug, clap::Args)]
pub(crate) struct VisualizeArgs {
    /// The invoice (FA(2) or FA(3) XML), or a UPO.
    pub(crate) file: PathBuf,
    /// `html` or `pdf` (PDF/A-3b with the XML attached).
    #[arg(long, default_value = "html")]
    pub(crate) format: String,
    /// `pl`, `en` or `pl_en`.
    #[arg(long, default_value = "pl")]
    pub(crate) lang: String,
    /// The invoice's KSeF number (the caption under KOD I).
    #[arg(long)]
    pub(crate) ksef_number: Option<String>,
    /// The invoice was issued offline: KOD I says OFFLINE, and KOD II is added with --certificate.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Whose QR host the links point to.
    #[arg(long, default_value = "prod", value_parser = clap::value_parser!(Environment))]
    pub(crate) env: Environment,
    #[command(flatten)]
    pub(crate) certificate: CertificateArgs,
    /// Where to write the visualization (`-`: standard output).
    #[arg(short, long)]
    pub(crate) out: PathBuf,
}

pub(crate) fn visualize(args: VisualizeArgs) -> anyhow::Result<ExitCode> {
    let language = Language::parse(&args.lang).with_context(|| format!("--lang {:?}: use pl, en or pl_en", args.lang))?;
    if !matches!(args.format.as_str(), "html" | "pdf") {
        anyhow::bail!("--format {:?}: use html or pdf", args.format);
    }
    let xml = std::fs::read(&args.file).with_context(|| format!("failed to read {}", args.file.display()))?;
    let certificate = args.certificate.load()?;
    let seller = seller_nip(&xml).unwrap_or_default();
    let context_value = args.certificate.context_value.clone().unwrap_or(seller);
    let options = Options {
        ksef_number: args.ksef_number.as_deref(),
        offline: args.offline,
        environment: Some(args.env),
        certificate: certificate.as_ref().map(|(c, t)| (c, *t, context_value.as_str())),
        without_codes: false,
    };
    // A UPO renders too (it has no verification codes).
    let is_upo = std::str::from_utf8(&xml).is_ok_and(|t| t.contains("<Potwierdzenie") && t.contains("upo.schematy.mf.gov.pl"));
    let view = if is_upo { view::upo(&xml) } else { view::build(&xml, &options) }.with_context(|| format!("{}", args.file.display()))?;
    let bytes = if args.format == "pdf" { ksef_pdf::render(&view, language, &xml)? } else { html::render(&view, language).into_bytes() };
    if args.out.as_os_str() == "-" {
        std::io::Write::write_all(&mut std::io::stdout(), &bytes)?;
    } else {
        std::fs::write(&args.out, bytes).with_context(|| format!("failed to write {}", args.out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn seller_nip(xml: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(xml).ok()?;
    let doc = ksef_core::xml::parse(text).ok()?;
    let seller = doc.root_element().children().find(|n| n.has_tag_name((n.tag_name().namespace().unwrap_or(""), "Podmiot1")))?;
    seller.descendants().find(|n| n.tag_name().name() == "NIP").and_then(|n| n.text()).map(str::to_owned)
}

/// Arguments of `ksef-gateway links`.
#[derive(Debug, clap::Args)]
pub(crate) struct LinksArgs {
    /// The invoice file: its NIP, date and hash are read from it.
    #[arg(long, conflicts_with_all = ["nip", "date", "hash"])]
    pub(crate) file: Option<PathBuf>,
    /// The seller's NIP.
    #[arg(long, requires_all = ["date", "hash"])]
    pub(crate) nip: Option<String>,
    /// The issue date (P_1), YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: Option<String>,
    /// SHA-256 of the invoice's bytes, base64 or base64url.
    #[arg(long)]
    pub(crate) hash: Option<String>,
    /// The invoice's KSeF number (without it the invoice counts as issued offline).
    #[arg(long)]
    pub(crate) ksef_number: Option<String>,
    /// Whose QR host the links point to.
    #[arg(long, default_value = "prod", value_parser = clap::value_parser!(Environment))]
    pub(crate) env: Environment,
    #[command(flatten)]
    pub(crate) certificate: CertificateArgs,
    /// Write kod1.png (and kod2.png) here.
    #[arg(long)]
    pub(crate) png_dir: Option<PathBuf>,
}

pub(crate) fn links(args: LinksArgs) -> anyhow::Result<ExitCode> {
    let (nip, date, hash) = match &args.file {
        Some(file) => {
            let xml = std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
            let model = ksef_fa::model::Invoice::from_xml(std::str::from_utf8(&xml)?)?;
            let (nip, date) = match &model {
                ksef_fa::model::Invoice::Fa3(f) => (f.seller.identification.nip.clone(), f.invoice.issue_date),
                ksef_fa::model::Invoice::Fa2(f) => (f.seller.identification.nip.clone(), f.invoice.issue_date),
            };
            (nip, date, links::invoice_hash(&xml))
        }
        None => {
            let (Some(nip), Some(date), Some(hash)) = (&args.nip, &args.date, &args.hash) else {
                anyhow::bail!("give --file, or --nip, --date and --hash");
            };
            let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").with_context(|| format!("--date {date:?} is not YYYY-MM-DD"))?;
            (nip.clone(), date, hash.clone())
        }
    };
    let env = args.env;
    let mut codes = vec![("kod1", links::kod1(env, &nip, date, &hash, args.ksef_number.as_deref())?)];
    if args.ksef_number.is_none()
        && let Some((certificate, context)) = args.certificate.load()?
    {
        let value = args.certificate.context_value.clone().unwrap_or_else(|| nip.clone());
        codes.push(("kod2", links::kod2(env, (context, &value), &nip, &hash, &certificate)?));
    }
    for (name, code) in &codes {
        println!("{name}: {}\n      caption: {}", code.link, code.caption);
        if let Some(dir) = &args.png_dir {
            std::fs::create_dir_all(dir)?;
            let png = qr::matrix(&code.link).context("the link does not fit a QR code")?.png(5);
            std::fs::write(dir.join(format!("{name}.png")), png)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
