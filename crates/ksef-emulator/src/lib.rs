//! An offline KSeF 2.0: the official `/v2` wire protocol over a SQLite store, faithful enough that
//! third-party KSeF clients accept it in place of the Ministry's TEST environment.
//!
//! [`EmulatorServer::bind`] starts one on an address (port 0 works); [`Emulator::open`] gives a router to
//! embed. State lives in the configured data directory, so a restart loses nothing that was accepted.

#![deny(missing_docs)]

mod clock;
mod config;
mod error;
mod extract;
mod faults;
mod files;
mod jwt;
mod keys;
mod lighthouse;
mod limits;
mod permissions;
mod presign;
mod query;
mod rate_limit;
mod routes;
mod session;
mod state;
mod store;
mod tls;
mod upo;
mod verify;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;

pub use crate::clock::{Clock, ShiftedClock, SystemClock};
pub use crate::config::{ACCESS_SECRET_HEADER, AccessSecret, EmulatorConfig, RateLimitProfile};
pub use crate::faults::{
    DEFAULT_CLOSE_TIMEOUT_MS, EndpointGroup, FAULT_HEADER, Fault, FaultError, FaultKind, FaultRule, Faults,
    MAX_FAULT_LATENCY_MS, MAX_FAULT_RETRY_AFTER_SECS, MAX_FAULT_RULES,
};
pub use crate::lighthouse::{Announcement as LighthouseAnnouncement, Lighthouse};
pub use crate::routes::tokens::IssuedToken;
pub use crate::tls::TlsSource;
pub use crate::upo::UPO_NAMESPACE;
pub use crate::verify::{
    FA2_NAMESPACE, FA3_NAMESPACE, InvoiceFacts, InvoiceVerifier, MinimalVerifier, Rejection, RejectionKind, SchemaVerifier,
    Verdict,
};

use crate::state::AppState;

/// A running emulator: its state and background workers. Dropping it stops the workers.
#[derive(Debug)]
pub struct Emulator {
    state: AppState,
    workers: Vec<JoinHandle<()>>,
}

impl Emulator {
    /// Opens the emulator's state in `config.data_dir` (making keys and the database on first use) and
    /// starts its background workers. `public_url` is the base of every URL it hands out.
    pub async fn open(config: EmulatorConfig, public_url: &str) -> anyhow::Result<Emulator> {
        Emulator::open_with(config, public_url, Arc::new(SystemClock), Arc::new(SchemaVerifier)).await
    }

    /// As [`Emulator::open`], with a chosen clock and invoice verifier.
    pub async fn open_with(
        config: EmulatorConfig,
        public_url: &str,
        clock: Arc<dyn Clock>,
        verifier: Arc<dyn InvoiceVerifier>,
    ) -> anyhow::Result<Emulator> {
        private_dir(&config.data_dir)
            .with_context(|| format!("failed to create data directory {}", config.data_dir.display()))?;
        let data_dir = config.data_dir.clone();
        let now = clock.now();
        let keys = tokio::task::spawn_blocking(move || keys::KeyMaterial::load_or_create(&data_dir, now)).await??;
        let db = store::Db::open(&config.data_dir).await?;
        let (ingest, writer) = workers::ingest::Ingest::start(db.clone(), config.max_invoices_per_session);
        let state = AppState::new(config, public_url.to_owned(), db, keys, clock, verifier, ingest)?;
        let mut workers = workers::start(&state);
        workers.push(writer);
        Ok(Emulator { state, workers })
    }

    /// The HTTP interface: KSeF's `/v2` API, pre-signed `/storage` URLs and the emulator's own `/emulator/v1`.
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Issues a KSeF token for the NIP context `nip`, with every permission or those listed.
    pub async fn issue_token(&self, nip: &str, permissions: Option<Vec<String>>) -> anyhow::Result<IssuedToken> {
        routes::tokens::issue_token(&self.state, nip, permissions, None)
            .await
            .map_err(|e| anyhow::anyhow!("could not issue a token for {nip}: {e}"))
    }

    /// The base of the URLs this emulator hands out.
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The fault rules in force (not part of KSeF): add and remove them here, as `/emulator/v1/faults` does.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The Latarnia's announcements (scripted here or through `/emulator/v1/lighthouse`; not part of KSeF's API).
    pub fn lighthouse(&self) -> &Lighthouse {
        &self.state.lighthouse
    }

    /// The emulator's clock: what "now" is to it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.now()
    }

    /// How many requests the rate limiter refused with 429 so far (0 when rate limits are off; not part of KSeF).
    pub fn rate_limit_refusals(&self) -> u64 {
        self.state.limiter.as_ref().map_or(0, |l| l.refused())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for worker in &self.workers {
            worker.abort();
        }
    }
}

/// Creates the data folder `path` with mode 0700 on Unix (it holds keys and every invoice).
fn private_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// The names a generated TLS certificate holds: loopback, the bound address and the public URL's host.
fn tls_names(local: SocketAddr, public_url: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !local.ip().is_unspecified() {
        names.push(local.ip().to_string());
    }
    let host = public_url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if !host.is_empty() {
        names.push(host.to_owned());
    }
    names.sort();
    names.dedup();
    names
}

/// An emulator serving HTTP (or HTTPS) on a bound address.
#[derive(Debug)]
pub struct EmulatorServer {
    local_addr: SocketAddr,
    scheme: &'static str,
    tls_ca: Option<PathBuf>,
    emulator: Emulator,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl EmulatorServer {
    /// Binds `listen` (port 0 picks a free port), opens the emulator and starts serving.
    ///
    /// The public URL is `config.public_url` with `{port}` replaced by the bound port, or
    /// `http(s)://{bound address}`.
    pub async fn bind(listen: SocketAddr, config: EmulatorConfig) -> anyhow::Result<EmulatorServer> {
        EmulatorServer::bind_with(listen, config, Arc::new(SystemClock), Arc::new(SchemaVerifier)).await
    }

    /// As [`EmulatorServer::bind`], with a chosen clock and invoice verifier.
    pub async fn bind_with(
        listen: SocketAddr,
        config: EmulatorConfig,
        clock: Arc<dyn Clock>,
        verifier: Arc<dyn InvoiceVerifier>,
    ) -> anyhow::Result<EmulatorServer> {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("failed to bind {listen}"))?;
        let local_addr = listener.local_addr()?;
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let public_url = match &config.public_url {
            Some(url) => url.replace("{port}", &local_addr.port().to_string()),
            None => format!("{scheme}://{local_addr}"),
        };
        let tls = match &config.tls {
            Some(source) => Some(tls::prepare(source, &config.data_dir, &tls_names(local_addr, &public_url))?),
            None => None,
        };
        let emulator = Emulator::open_with(config, &public_url, clock, verifier).await?;
        let app = emulator.router();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stopped = async move {
            let _ = rx.await;
        };
        let tls_ca = tls.as_ref().and_then(|t| t.ca_pem.clone());
        let limits = ksef_server::ServerLimits::default();
        let server = match tls {
            Some(prepared) => {
                let listener = tls::TlsListener::new(listener, prepared.config)?;
                tokio::spawn(ksef_server::serve(listener, app, limits, stopped))
            }
            None => tokio::spawn(ksef_server::serve(listener, app, limits, stopped)),
        };
        Ok(EmulatorServer { local_addr, scheme, tls_ca, emulator, shutdown: Some(tx), server })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http(s)://{bound address}`, for clients on this machine.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.local_addr)
    }

    /// The headers every request to this emulator must carry (its access secret, when it has one).
    pub fn access_headers(&self) -> Vec<(String, String)> {
        let secret = self.emulator.state.config.access_secret.clone();
        secret.map(|s| (config::ACCESS_SECRET_HEADER.to_owned(), s.0)).into_iter().collect()
    }

    /// With a generated TLS certificate, the PEM file of the CA that issued it (for clients to trust).
    pub fn tls_ca(&self) -> Option<&std::path::Path> {
        self.tls_ca.as_deref()
    }

    /// The emulator behind the server.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The fault rules in force (not part of KSeF); see [`Emulator::faults`].
    pub fn faults(&self) -> &Faults {
        self.emulator.faults()
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.server).await.context("server task panicked")?.context("server failed")
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        signal.await;
        self.shutdown().await
    }
}
