//! The command line: one subcommand per face of the binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::telemetry::LogFormat;

/// One binary for the KSeF gateway, its KSeF client and an offline KSeF emulator.
#[derive(Debug, Parser)]
#[command(name = "ksef-gateway", version, about)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "KSEF_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway's REST API. With no configuration: SQLite and the offline KSeF emulator, both in
    /// --data-dir, and a demo tenant.
    Serve(ServeArgs),
    /// Manage tenants: add one, rotate its API key, replace its KSeF token, list them.
    Tenant(TenantArgs),
    /// Record the Ministry's announcements of a KSeF unavailability or failure: while one is in force, submits are
    /// issued offline in its mode; once it ends, their deadline follows.
    Outage(crate::commands::outage::OutageArgs),
    /// The operator key (console and admin API): `rotate` revokes every operator key and prints a new one.
    OperatorKey(crate::commands::operator_key::OperatorKeyArgs),
    /// Run the offline KSeF 2.0 emulator alone (the official /v2 API, state in --data-dir).
    Emulator(EmulatorArgs),
    /// Download invoices (sales, costs, …) into --out as {ksefNumber}.xml and .json, through a gateway or
    /// from KSeF directly. Run it again to fetch what is new: it continues where it stopped.
    Export(ExportArgs),
    /// Batch sessions: `batch send DIR_OR_ZIP` sends a folder (or ZIP) of invoices as one KSeF batch, through
    /// a gateway or straight to KSeF, and prints each invoice's KSeF number or error. Run it again after an
    /// interruption: it continues and never sends an invoice twice.
    Batch(BatchArgs),
    /// A tenant's webhooks, through a gateway: `list`, `add --url URL [--events a,b]` (prints the id and the
    /// signing secret), `test ID`, `deliveries ID [--state failed]`, `redeliver ID EVENT… | --failed`, `enable ID
    /// [--off]`, `remove ID`.
    Webhooks(crate::commands::webhooks::WebhooksArgs),
    /// Check a received invoice's QR link (KOD I or KOD II) offline: its form, the seller's NIP, the date and the
    /// hash against `--invoice`, the KSeF number's checksum, KOD II's signature against `--certificate`. Exit 0
    /// only when no check failed.
    Verify(crate::commands::verify::VerifyArgs),
    /// Check invoice files (FA(2)/FA(3)) offline as KSeF will: prechecks, the official schema, and the rules
    /// beyond it. Exit 0 only when every file is valid; `--json` prints one object per file.
    Validate(crate::commands::validate::ValidateArgs),
    /// Make an FA(3) invoice from JSON with readable names, offline (as ksefInvoiceGenerate); the XML goes to
    /// standard output.
    Generate(crate::commands::generate::GenerateArgs),
    /// Render an invoice for people, offline, as ksefInvoiceVisualize does: HTML in pl, en or pl_en, with KOD I
    /// (and KOD II for an offline invoice, given an Offline certificate).
    Visualize(crate::commands::visualize::VisualizeArgs),
    /// Print an invoice's verification links (KOD I, and KOD II given an Offline certificate), offline, and
    /// write their QR codes as PNG with --png-dir.
    Links(crate::commands::visualize::LinksArgs),
}

/// Arguments of `ksef-gateway batch`.
#[derive(Debug, clap::Args)]
pub(crate) struct BatchArgs {
    #[command(subcommand)]
    pub(crate) command: BatchCommand,
}

/// Batch subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BatchCommand {
    /// Send a directory of invoice files, or a ZIP of them, as one batch session; exit 0 only when every
    /// invoice got a KSeF number.
    Send(crate::commands::batch::BatchSendArgs),
}

/// Arguments of `ksef-gateway serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file; KSEF_GATEWAY_* environment variables override it.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080); port 0 picks a free port.
    #[arg(long)]
    pub(crate) listen: Option<SocketAddr>,
    /// Directory for SQLite, the master key and the embedded emulator (default ./data).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
}

/// Arguments of `ksef-gateway tenant`.
#[derive(Debug, clap::Args)]
pub(crate) struct TenantArgs {
    /// The gateway's configuration file.
    #[arg(long, global = true)]
    pub(crate) config: Option<PathBuf>,
    /// The gateway's data directory (default ./data).
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: TenantCommand,
}

/// Tenant subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Add a tenant acting in the KSeF context of --nip; prints its API key once.
    Add {
        /// The NIP of the tenant's KSeF context.
        #[arg(long)]
        nip: String,
        /// Its KSeF token; `-` reads it from standard input (keeps it out of the process list).
        #[arg(long, required_unless_present = "key", conflicts_with = "key")]
        ksef_token: Option<String>,
        /// Authenticate with a certificate instead of a token (see `set-certificate`).
        #[command(flatten)]
        certificate: CertificateArgs,
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
    },
    /// Make --tenant authenticate in KSeF with a certificate (a KSeF Authentication certificate, or a qualified
    /// signature or seal) instead of its token; its key is sealed under the master key.
    SetCertificate {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        certificate: CertificateArgs,
    },
    /// Record a certificate many tenants may use (an accounting office's), each in its own KSeF context once it
    /// granted the certificate's subject permissions there.
    AddShared {
        /// A name for the credential (used by `use-shared`).
        #[arg(long)]
        name: String,
        #[command(flatten)]
        certificate: CertificateArgs,
    },
    /// Make --tenant authenticate with the shared credential --name.
    UseShared {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        /// The shared credential's name.
        #[arg(long)]
        name: String,
    },
    /// Obtain KSeF certificates for --tenant through KSeF (it must be logged in with a certificate already): an
    /// Authentication one it switches to, and an Offline one for KOD II links. Calls the configured KSeF;
    /// with the embedded emulator, run it while the gateway is stopped.
    Enroll {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke every API key of --tenant and print a new one.
    RotateKey {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
    },
    /// Replace the KSeF token of --tenant.
    SetToken {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        /// The new KSeF token; `-` reads it from standard input.
        #[arg(long)]
        ksef_token: String,
    },
    /// Record the KSeF Offline certificate of --tenant and its private key (sealed under the master key), to
    /// sign KOD II links of invoices issued offline.
    SetOfflineCertificate {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        /// The certificate (PEM or DER).
        #[arg(long)]
        certificate: PathBuf,
        /// Its PKCS#8 private key (PEM or DER).
        #[arg(long)]
        key: PathBuf,
        /// The KSeF login context's type: Nip, InternalId, NipVatUe or PeppolId.
        #[arg(long, default_value = "Nip")]
        context_type: String,
        /// The context's identifier (default: the tenant's NIP).
        #[arg(long)]
        context_value: Option<String>,
    },
    /// List tenants.
    List,
}

/// A certificate and its key, as files.
#[derive(clap::Args)]
pub(crate) struct CertificateArgs {
    /// The certificate (PEM or DER); not needed with a PKCS#12 --key.
    #[arg(long, requires = "key")]
    pub(crate) certificate: Option<PathBuf>,
    /// Its private key: PKCS#8 (plain or encrypted), PKCS#1, SEC 1 (PEM or DER), or a PKCS#12 file.
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
    /// Opens an encrypted key or PKCS#12 file; `-` reads it from standard input (a password given here is
    /// visible to other users in the process list).
    #[arg(long, requires = "key")]
    pub(crate) password: Option<String>,
}

impl std::fmt::Debug for CertificateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateArgs")
            .field("certificate", &self.certificate)
            .field("key", &self.key)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Arguments of `ksef-gateway emulator`.
#[derive(Debug, clap::Args)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8090", env = "KSEF_EMULATOR_LISTEN")]
    pub(crate) listen: SocketAddr,
    /// Directory for the emulator's database, keys and export packages.
    #[arg(long, default_value = "data/emulator", env = "KSEF_EMULATOR_DATA_DIR")]
    pub(crate) data_dir: PathBuf,
    /// Base of the URLs the emulator hands out (UPO, export parts); `{port}` stands for the bound port.
    /// Default: http://<listen address>.
    #[arg(long, env = "KSEF_EMULATOR_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// `official` applies KSeF's published rate limits (429 with Retry-After).
    #[arg(long, value_enum, default_value_t = RateLimits::Off, env = "KSEF_EMULATOR_RATE_LIMITS")]
    pub(crate) rate_limits: RateLimits,
    /// NIP of the demo context whose KSeF token is printed at start.
    #[arg(long, default_value = "5265877635", env = "KSEF_EMULATOR_DEMO_NIP")]
    pub(crate) demo_nip: String,
    /// Take callers' addresses from X-Forwarded-For (only behind a proxy you trust).
    #[arg(long, env = "KSEF_EMULATOR_TRUST_FORWARDED_FOR")]
    pub(crate) trust_forwarded_for: bool,
    /// Keep accepted invoices at status 100 this long before processing them.
    #[arg(long, default_value_t = 0, env = "KSEF_EMULATOR_PROCESSING_DELAY_MS")]
    pub(crate) processing_delay_ms: u64,
    /// Serve HTTPS with a certificate made at start, issued by a CA kept in --data-dir/tls (its path is
    /// printed: clients trust that ca.pem). Combine with --public-url https://NAME:{port} for pre-signed URLs.
    #[arg(long, env = "KSEF_EMULATOR_TLS")]
    pub(crate) tls: bool,
    /// Serve HTTPS with this certificate chain (PEM) instead of a made one; needs --tls-key.
    #[arg(long, requires = "tls_key", env = "KSEF_EMULATOR_TLS_CERTIFICATE")]
    pub(crate) tls_certificate: Option<PathBuf>,
    /// The private key of --tls-certificate (PEM or DER).
    #[arg(long, requires = "tls_certificate", env = "KSEF_EMULATOR_TLS_KEY")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Inject a fault (NOT how KSeF behaves; for testing clients), repeatable: [GROUP:]KIND[:KEY=VALUE]...,
    /// e.g. send:error:share=0.2, all:unavailable:duration=30, holdProcessing:duration=20 (docs/emulator.md).
    #[arg(long = "fault", value_name = "SPEC", env = "KSEF_EMULATOR_FAULTS", value_delimiter = ',')]
    pub(crate) faults: Vec<ksef_emulator::FaultRule>,
}

/// Arguments of `ksef-gateway export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Where the invoices come from.
    #[command(flatten)]
    pub(crate) remote: crate::commands::remote::RemoteArgs,
    /// Permanent-storage date (or date-time) to start from; needed on the first run into --out only.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Permanent-storage date (or date-time) to stop at (inclusive); default: everything KSeF has stored.
    #[arg(long)]
    pub(crate) to: Option<String>,
    /// Whose invoices: issued (sales), received (cost), as third party, as authorized subject.
    #[arg(long, value_enum)]
    pub(crate) subject: ExportSubject,
    /// Directory for the invoices and the state of incremental runs.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// The tenant's role on the invoices exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportSubject {
    /// Invoices issued (Subject1).
    Sales,
    /// Invoices received as buyer (Subject2).
    Cost,
    /// Invoices naming the tenant as a third party (Subject3).
    Third,
    /// Invoices naming the tenant as authorized subject.
    Authorized,
}

/// Rate limiting profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RateLimits {
    /// No limits.
    Off,
    /// KSeF's per-group limits.
    Official,
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => crate::commands::serve::run(args).await,
        Command::Tenant(args) => crate::commands::tenant::run(args).await,
        Command::Outage(args) => crate::commands::outage::run(args).await,
        Command::OperatorKey(args) => crate::commands::operator_key::run(args).await,
        Command::Emulator(args) => crate::commands::emulator::run(args).await,
        Command::Export(args) => crate::commands::export::run(args).await,
        Command::Webhooks(args) => crate::commands::webhooks::run(args).await,
        Command::Verify(args) => crate::commands::verify::run(args),
        Command::Validate(args) => crate::commands::validate::run(args),
        Command::Generate(args) => crate::commands::generate::run(args),
        Command::Visualize(args) => crate::commands::visualize::visualize(args),
        Command::Links(args) => crate::commands::visualize::links(args),
        Command::Batch(args) => match args.command {
            BatchCommand::Send(args) => crate::commands::batch::send(args).await,
        },
    }
}
