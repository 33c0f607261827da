//! Where the client subcommands (`export`, `batch send`) talk to: one [`Remote`] with two implementations, KSeF
//! itself with a KSeF token ([`ksef::KsefRemote`]) and our gateway with a tenant's API key
//! ([`gateway::GatewayRemote`]). A subcommand is written once, generic over the remote.

pub(crate) mod gateway;
pub(crate) mod ksef;

use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use ksef_client::wire::FormCode;
use ksef_client::wire::sessions::PartUploadRequest;
use ksef_client::{ContextClient, KsefClient, PackagedBatch, SymmetricKey, Credentials};
use serde::Serialize;

use crate::ops::queries::SubjectType;

/// `--gateway URL --api-key KEY`, or `--ksef-url URL --nip NIP --token TOKEN`.
#[derive(Debug, clap::Args)]
pub(crate) struct RemoteArgs {
    /// The gateway's base URL (e.g. http://127.0.0.1:8080).
    #[arg(long, conflicts_with_all = ["ksef_url", "nip"])]
    pub(crate) gateway: Option<String>,
    /// The tenant's API key for --gateway; `-` reads it from standard input (keeps it out of the process list).
    #[arg(long, env = "KSEF_GATEWAY_API_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// KSeF's API base URL (`test`, `demo` and `prod` name the Ministry's hosts), instead of a gateway.
    #[arg(long)]
    pub(crate) ksef_url: Option<String>,
    /// The NIP of the KSeF context, with --ksef-url.
    #[arg(long)]
    pub(crate) nip: Option<String>,
    /// The KSeF token, with --ksef-url; `-` reads it from standard input.
    #[arg(long, env = "KSEF_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

/// How long to wait for KSeF to build one export package.
pub(crate) const EXPORT_POLL_LIMIT: Duration = crate::ops::inbox::EXPORT_POLL_LIMIT;

/// What the client subcommands ask of wherever they send to or read from.
pub(crate) trait Remote {
    /// Names the remote (kept in state files, so a directory is never continued against another source).
    fn identity(&self) -> &str;

    /// A fresh session key, wrapped with KSeF's public key.
    async fn session_key(&self) -> anyhow::Result<SymmetricKey>;

    /// Opens a batch session for a package; its id (or reference) and where the parts go.
    async fn open_batch(&self, batch: NewBatch<'_>) -> anyhow::Result<(String, Vec<PartUploadRequest>)>;

    /// A client for the pre-signed part URLs (they need no credentials, in either mode).
    fn uploader(&self) -> anyhow::Result<KsefClient>;

    /// Closes a batch session; one closed before counts as closed.
    async fn close_batch(&self, session: &str) -> anyhow::Result<()>;

    /// The session's status code and description.
    async fn session_status(&self, session: &str) -> anyhow::Result<(i64, String)>;

    /// Every invoice of a batch session with its outcome.
    async fn session_invoices(&self, session: &str) -> anyhow::Result<Vec<InvoiceResult>>;

    /// The session's UPO pages.
    async fn session_upo(&self, session: &str) -> anyhow::Result<Vec<Vec<u8>>>;

    /// Runs one export of the invoices in `range` and writes its plain ZIP to `file`.
    async fn export(&self, range: &ExportRange, file: &mut tokio::fs::File) -> anyhow::Result<ExportWindow>;
}

/// A batch session to open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewBatch<'a> {
    pub(crate) form: &'a FormCode,
    pub(crate) package: &'a PackagedBatch,
    pub(crate) key: &'a SymmetricKey,
    pub(crate) offline: bool,
}

/// One export window: whose invoices, stored from `from` to `to` (now when absent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExportRange {
    pub(crate) subject: SubjectType,
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: Option<DateTime<Utc>>,
}

/// One invoice's outcome in a batch session.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvoiceResult {
    pub(crate) file: String,
    pub(crate) invoice_number: Option<String>,
    pub(crate) ksef_number: Option<String>,
    pub(crate) status: i64,
    pub(crate) error: Option<String>,
}

pub(crate) use crate::ops::inbox::ExportWindow;

/// The remote the arguments name.
// One value per command run: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Connected {
    /// KSeF itself.
    Ksef(ksef::KsefRemote),
    /// Our gateway.
    Gateway(gateway::GatewayRemote),
}

impl Connected {
    /// Connects to the remote `args` name.
    pub(crate) fn from_args(args: &RemoteArgs) -> anyhow::Result<Connected> {
        match (&args.gateway, &args.ksef_url) {
            (Some(gateway), None) => {
                let api_key =
                    super::tenant::token(args.api_key.as_deref().context("--gateway needs --api-key (or KSEF_GATEWAY_API_KEY)")?)?;
                Ok(Connected::Gateway(gateway::GatewayRemote::new(gateway, api_key)?))
            }
            (None, Some(url)) => {
                let nip = args.nip.clone().context("--ksef-url needs --nip")?;
                let token = super::tenant::token(args.token.as_deref().context("--ksef-url needs --token (or KSEF_TOKEN)")?)?;
                let base = url.parse::<ksef_core::Environment>().map_or(url.as_str(), |env| env.api_base());
                let ctx = ContextClient::new(KsefClient::new(base)?, Credentials::nip(&nip, &token));
                Ok(Connected::Ksef(ksef::KsefRemote::new(ctx, format!("KSeF {base} NIP {nip}"))))
            }
            _ => bail!("give exactly one of --gateway (with --api-key) and --ksef-url (with --nip and --token)"),
        }
    }
}

/// Runs a subcommand's body, generic over the remote, with the remote `args` name.
macro_rules! with_remote {
    ($args:expr, |$remote:ident| $body:expr) => {
        match $crate::commands::remote::Connected::from_args($args)? {
            $crate::commands::remote::Connected::Ksef($remote) => $body,
            $crate::commands::remote::Connected::Gateway($remote) => $body,
        }
    };
}
pub(crate) use with_remote;

/// Asks until the answer is `done`, pausing a little longer each time, for at most `limit`.
pub(crate) async fn poll_until_done<T, F, Fut>(mut ask: F, done: impl Fn(&T) -> bool, limit: Duration, what: &str) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut pause = Duration::from_millis(100);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let answer = ask().await?;
        if done(&answer) {
            return Ok(answer);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("KSeF has not finished {what} in {} minutes; run the command again later to continue", limit.as_secs() / 60);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(2));
    }
}
