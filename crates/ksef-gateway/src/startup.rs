//! Startup as a value: `Application::build(settings)` opens the store, finds (or starts) KSeF, makes the demo
//! tenant on a fresh embedded setup, binds the listener (port 0 works) and serves until told to stop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use ksef_emulator::{EmulatorConfig, EmulatorServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::api::AppState;
use crate::config::{KsefTarget, Settings};
use crate::ksef::Ksef;
use crate::ops;
use crate::secrets::MasterKey;

/// The NIP of the demo context on a fresh embedded setup.
pub const DEMO_NIP: &str = "5265877635";

/// The demo tenant's credentials, as written to `DATA_DIR/demo-tenant.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DemoTenant {
    /// Its API key.
    pub api_key: String,
    /// Its KSeF context.
    pub nip: String,
}

/// A running gateway.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    ops: ops::Context,
    demo: Option<DemoTenant>,
    operator_key: ops::admin::OperatorKeyFound,
    emulator: Option<EmulatorServer>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    workers: JoinHandle<()>,
}

/// The Prometheus recorder; one per process.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

impl Application {
    /// Builds and starts the gateway described by `settings`.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        crate::files::private_dir(&settings.data_dir).with_context(|| format!("failed to create {}", settings.data_dir.display()))?;
        let master_key = MasterKey::load(settings.master_key.as_deref(), &settings.data_dir)?;
        let database_url = settings.database_url()?;
        let store = ksef_store::Store::open_with(&database_url, settings.durability.store())
            .await
            .with_context(|| format!("failed to open the database {database_url}"))?;
        match store.durability_in_force().await {
            Ok(setting) => tracing::info!(durability = ?settings.durability, database = %setting, "database durability"),
            Err(e) => tracing::warn!(error = %e, "could not read the database's durability setting"),
        }
        let KsefEndpoint { base_url, headers, emulator } = ksef_endpoint(&settings).await?;
        let ksef = Ksef::new(&base_url, headers)?;
        let ksef = match settings.ksef.pacing {
            crate::config::Pacing::Published => ksef.paced(Arc::new(crate::ksef::SharedPacer::new(store.clone()))),
            crate::config::Pacing::Off => ksef,
        };
        let mut ops = ops::Context::new(store, master_key, Arc::new(ksef));
        ops.qr_environment = settings.ksef.target.environment();
        ops.max_undelivered = settings.limits.max_undelivered_per_tenant;
        let every = Duration::from_secs(settings.ksef.lighthouse_every_secs.unwrap_or(60).max(1));
        ops.lighthouse = settings.ksef.lighthouse(emulator.as_ref().map(|e| e.base_url()).as_deref()).map(|url| (url, every));
        ops.batch_from = settings.ksef.batch_from.map_or(ops::DEFAULT_BATCH_FROM, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let demo = match &emulator {
            Some(server) if settings.demo_tenant => Some(ensure_demo_tenant(&ops, server, &settings.data_dir).await?),
            _ => None,
        };

        let operator_key = ops::admin::ensure_operator_key(&ops, &settings.data_dir).await?;

        let listener = tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("failed to bind {}", settings.listen))?;
        let address = listener.local_addr()?;
        // Webhooks may never point at the gateway itself or at its embedded emulator.
        let mut own = vec![address];
        if let Some(server) = &emulator {
            own.extend(url::Url::parse(&server.base_url()).ok().and_then(|u| u.socket_addrs(|| None).ok()).unwrap_or_default());
        }
        let hooks = &settings.webhooks;
        ops.webhooks = Arc::new(ops::webhooks::Policy {
            allow_private: hooks.allow_private_addresses,
            own,
            timeout: Duration::from_secs(hooks.timeout_secs.clamp(1, 120)),
            max_backoff: Duration::from_secs(hooks.max_backoff_secs.max(1)),
            give_up_after: Duration::from_secs(hooks.give_up_after_secs),
            disable_after: Duration::from_secs(hooks.disable_after_secs),
            held_after: Duration::from_secs(hooks.held_after_secs),
        });
        ops.quarantine = Some(ops::inbox::quarantine_dir(&settings.data_dir));
        ops.inbox_every = settings.inbox.enabled.then(|| Duration::from_secs(settings.inbox.every_secs.max(1)));
        let state = AppState {
            ops: ops.clone(),
            api_keys: Arc::default(),
            max_body: settings.limits.max_body_bytes,
            metrics: settings.metrics.enabled.then(metrics_handle),
            metrics_token: settings.metrics.bearer_token.as_deref().map(Arc::from),
            console: settings.console.enabled.then(|| {
                Arc::new(crate::console::ConsoleConfig {
                    session: Duration::from_secs(settings.console.session_secs.max(1)).min(ops::console::MAX_SIGN_IN),
                    public_origin: settings.console.public_origin.clone(),
                })
            }),
        };
        let limits = &settings.limits;
        let app = crate::router::router(state, Duration::from_secs(limits.request_timeout_secs), Duration::from_secs(limits.body_idle_timeout_secs));
        let server_limits =
            ksef_server::ServerLimits { header_read_timeout: Duration::from_secs(limits.header_read_timeout_secs), ..ksef_server::ServerLimits::default() };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(ksef_server::serve(listener, app, server_limits, async move {
            let _ = rx.await;
        }));
        // Alive before the first send is recorded under this instance, so no other instance takes it for an orphan.
        ops.store.heartbeat(&ops.instance, ops::micros(chrono::Utc::now())).await.context("the database did not take this instance's heartbeat")?;
        let workers = crate::workers::start(ops.clone());
        tracing::info!(listen = %address, ksef = %base_url, database = %database_url, "gateway listening");
        Ok(Application { address, ops, demo, operator_key, emulator, shutdown: Some(tx), server, workers })
    }

    /// The address bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The port bound.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The operator key this instance made on a fresh database, or finds in `DATA_DIR/operator-key.json`.
    pub fn operator_key(&self) -> Option<&ops::admin::OperatorKey> {
        self.operator_key.key()
    }

    /// Whether the operator key was made by this start (and is to be shown once).
    pub fn operator_key_found(&self) -> &ops::admin::OperatorKeyFound {
        &self.operator_key
    }

    /// The demo tenant, on an embedded setup.
    pub fn demo_tenant(&self) -> Option<&DemoTenant> {
        self.demo.as_ref()
    }

    /// What operations use (tests add tenants through it).
    pub fn ops(&self) -> &ops::Context {
        &self.ops
    }

    /// The embedded emulator, if KSeF is embedded.
    pub fn emulator(&self) -> Option<&EmulatorServer> {
        self.emulator.as_ref()
    }

    /// Stops accepting requests, finishes those in flight, then stops the emulator.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.server).await.context("server task panicked")?.context("server failed")?;
        self.workers.abort();
        if let Some(emulator) = self.emulator.take() {
            emulator.shutdown().await?;
        }
        self.ops.store.close().await;
        Ok(())
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

/// Where KSeF is, and what every request to it carries.
#[derive(Debug)]
pub(crate) struct KsefEndpoint {
    /// The API base.
    pub base_url: String,
    /// Headers for every request (the embedded emulator's access secret).
    pub headers: Vec<(String, String)>,
    /// The embedded emulator, when started here.
    pub emulator: Option<EmulatorServer>,
}

/// Where KSeF is for `settings`: the embedded emulator (started here, on a free loopback port, answering only
/// requests that carry a secret made for this process), a custom URL, or one of the Ministry's environments.
pub(crate) async fn ksef_endpoint(settings: &Settings) -> anyhow::Result<KsefEndpoint> {
    Ok(match settings.ksef.target {
        KsefTarget::Embedded => {
            let mut config = EmulatorConfig::new(settings.data_dir.join("emulator"));
            config.access_secret = Some(ksef_emulator::AccessSecret(ksef_core::crypto::b64(&ksef_core::crypto::random_array::<32>())));
            config.test_api = settings.ksef.emulator_test_api;
            let server = EmulatorServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .context("failed to start the embedded KSeF emulator")?;
            KsefEndpoint { base_url: server.base_url(), headers: server.access_headers(), emulator: Some(server) }
        }
        KsefTarget::Custom => KsefEndpoint { base_url: settings.ksef.base_url.clone().context("ksef.base_url")?, headers: Vec::new(), emulator: None },
        KsefTarget::Test | KsefTarget::Demo | KsefTarget::Production => {
            KsefEndpoint { base_url: settings.ksef.target.environment().api_base().to_owned(), headers: Vec::new(), emulator: None }
        }
    })
}

/// On a fresh embedded setup, a tenant for the demo NIP with a token from the emulator; on later starts, the
/// one recorded in `demo-tenant.json`.
async fn ensure_demo_tenant(ops: &ops::Context, emulator: &EmulatorServer, data_dir: &Path) -> anyhow::Result<DemoTenant> {
    let file = data_dir.join("demo-tenant.json");
    if let Some(demo) = std::fs::read(&file).ok().and_then(|bytes| serde_json::from_slice::<DemoTenant>(&bytes).ok()) {
        return Ok(demo);
    }
    let token = emulator.emulator().issue_token(DEMO_NIP, None).await?;
    let added = ops::tenants::add(ops, "Demo", DEMO_NIP, &token.token).await.map_err(|e| anyhow::anyhow!("failed to add the demo tenant: {e}"))?;
    let demo = DemoTenant { api_key: added.api_key.expose().to_owned(), nip: DEMO_NIP.to_owned() };
    crate::files::write_private(&file, &serde_json::to_vec_pretty(&demo)?).with_context(|| format!("failed to write {}", file.display()))?;
    Ok(demo)
}

impl Drop for Application {
    // The background work belongs to this application: dropped without a shutdown (tests), it stops too.
    fn drop(&mut self) {
        self.workers.abort();
    }
}
