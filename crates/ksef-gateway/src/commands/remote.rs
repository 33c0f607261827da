//! What the client subcommands (`export`, `batch send`) share: where they talk to (our gateway with an API key,
//! or KSeF with a KSeF token), and the file-system care that lets a run stop anywhere and continue.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use ksef_client::{ContextClient, KsefClient, TokenCredentials};

use crate::api::dto;

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

/// Where a client subcommand talks to.
pub(crate) enum Remote {
    /// Our gateway's REST API, with a tenant's API key.
    Gateway { http: reqwest::Client, base: String, api_key: String },
    /// KSeF itself, with a KSeF token.
    Ksef { ctx: Box<ContextClient> },
}

impl Remote {
    /// The remote the arguments name, and a line identifying it (kept in state files, so a directory is never
    /// continued against another source).
    pub(crate) fn connect(args: &RemoteArgs) -> anyhow::Result<(Remote, String)> {
        match (&args.gateway, &args.ksef_url) {
            (Some(gateway), None) => {
                let api_key =
                    super::tenant::token(args.api_key.as_deref().context("--gateway needs --api-key (or KSEF_GATEWAY_API_KEY)")?)?;
                let base = format!("{}/api/v2", gateway.trim_end_matches('/').trim_end_matches("/api/v2"));
                let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build()?;
                // The key's fingerprint ties state to one tenant: another tenant's key never continues its run.
                let tenant = ksef_core::crypto::sha256_base64(api_key.as_bytes());
                let identity = format!("gateway {base} (API key {})", &tenant[..12]);
                Ok((Remote::Gateway { http, base, api_key }, identity))
            }
            (None, Some(url)) => {
                let nip = args.nip.clone().context("--ksef-url needs --nip")?;
                let token = super::tenant::token(args.token.as_deref().context("--ksef-url needs --token (or KSEF_TOKEN)")?)?;
                let base = match url.as_str() {
                    "test" => ksef_client::Environment::Test.base_url(),
                    "demo" => ksef_client::Environment::Demo.base_url(),
                    "prod" => ksef_client::Environment::Production.base_url(),
                    other => other,
                };
                let ctx = Box::new(ContextClient::new(KsefClient::new(base)?, TokenCredentials::nip(&nip, &token)));
                Ok((Remote::Ksef { ctx }, format!("KSeF {base} NIP {nip}")))
            }
            _ => bail!("give exactly one of --gateway (with --api-key) and --ksef-url (with --nip and --token)"),
        }
    }
}

/// Holds `dir/{name}` locked for the run, so two runs (of `what`) never work in one directory at once.
pub(crate) fn lock(dir: &Path, name: &str, what: &str) -> anyhow::Result<std::fs::File> {
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| anyhow::anyhow!("another {what} is writing into {}; wait for it to finish", dir.display()))?;
    Ok(file)
}

/// The JSON state file at `path` (`what` names it in errors), or `None` when there is none yet.
pub(crate) fn read_state<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("{} is not {what}; delete it to start over", path.display()))?,
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// Flushes the file system holding `dir`: everything written so far survives a power cut.
pub(crate) fn sync_directory(dir: &Path) -> anyhow::Result<()> {
    let handle = std::fs::File::open(dir).with_context(|| format!("failed to open {}", dir.display()))?;
    rustix::fs::syncfs(&handle).with_context(|| format!("failed to flush {} to disk", dir.display()))
}

/// Writes `bytes` to `path` so that `path` either does not exist or holds all of them.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).context("a file name")?;
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("failed to write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("failed to write {}", path.display()))
}

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

/// The gateway's error envelope as one line.
pub(crate) async fn gateway_error(what: &str, response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    match response.json::<dto::Error>().await {
        Ok(e) => anyhow::anyhow!("{what} failed: HTTP {status}, code {} {}: {}", e.code, e.name, e.details),
        Err(_) => anyhow::anyhow!("{what} failed: HTTP {status}"),
    }
}

/// A successful answer of the gateway as `T`, or its error envelope as an error.
pub(crate) async fn gateway_answer<T: serde::de::DeserializeOwned>(what: &str, response: reqwest::Response) -> anyhow::Result<T> {
    if !response.status().is_success() {
        return Err(gateway_error(what, response).await);
    }
    response.json::<T>().await.with_context(|| format!("{what}: the gateway's answer is not of the documented shape"))
}
