//! Settings: defaults, then an optional TOML file, then `KSEF_GATEWAY_*` environment variables (`__` nests),
//! then command-line flags. Unknown keys anywhere are an error, so a typo never silently falls back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use ksef_core::Environment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Where the gateway's KSeF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KsefTarget {
    /// The offline emulator, started in-process on a loopback port (the default).
    #[default]
    Embedded,
    /// The Ministry's TEST environment.
    Test,
    /// The Ministry's DEMO (pre-production) environment.
    Demo,
    /// Production KSeF.
    Production,
    /// Any KSeF-compatible API at `ksef.base_url` (e.g. a separately run emulator).
    Custom,
}

/// What a committed write survives (`durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DurabilitySetting {
    /// A power cut too: SQLite `synchronous = FULL`, PostgreSQL `synchronous_commit = on`.
    #[default]
    Full,
    /// A crash of the gateway only: SQLite `synchronous = NORMAL`, PostgreSQL `synchronous_commit = off`.
    Fast,
}

impl DurabilitySetting {
    /// The store's durability.
    pub fn store(self) -> ksef_store::Durability {
        match self {
            DurabilitySetting::Full => ksef_store::Durability::Full,
            DurabilitySetting::Fast => ksef_store::Durability::Fast,
        }
    }
}

/// Whether the gateway keeps its calls to KSeF within the rate limits KSeF publishes for each context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Pacing {
    /// Each context's calls, counted in the database for every instance sharing it, are held back before they
    /// would exceed the limits `GET /rate-limits` gives (the default): KSeF is never made to answer 429.
    #[default]
    Published,
    /// Calls go at once and KSeF's 429s are waited out (for load tests against an emulator that limits nothing).
    Off,
}

impl KsefTarget {
    /// The Ministry's environment the target is, or stands for: the emulator and custom targets stand for
    /// TEST (their verification links point at TEST's QR host).
    pub fn environment(self) -> Environment {
        match self {
            KsefTarget::Demo => Environment::Demo,
            KsefTarget::Production => Environment::Production,
            KsefTarget::Embedded | KsefTarget::Test | KsefTarget::Custom => Environment::Test,
        }
    }
}

/// The `[ksef]` section.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KsefSettings {
    /// Which KSeF to talk to.
    #[serde(default)]
    pub target: KsefTarget,
    /// The API base when `target = "custom"`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// With `target = "embedded"`: also serve the emulator's `/emulator/v1/*` (KSeF tokens for any NIP, without
    /// authentication) to local processes that know the emulator's address and secret. Off by default.
    #[serde(default)]
    pub emulator_test_api: bool,
    /// Pacing of calls by KSeF's published rate limits.
    #[serde(default)]
    pub pacing: Pacing,
    /// The Latarnia, where the Ministry announces KSeF's maintenance and failures (read into the gateway's
    /// announcements): its base URL; by default the target's (the Ministry's for test, demo and production, the
    /// embedded emulator's), none for `custom`; `"off"` reads none.
    #[serde(default)]
    pub lighthouse_url: Option<String>,
    /// How often the Latarnia is read, in seconds (default 60).
    #[serde(default)]
    pub lighthouse_every_secs: Option<u64>,
    /// A tenant's queue of sessionless submits at least this long goes to KSeF as one batch rather than invoice by
    /// invoice (default 100; 0: never).
    #[serde(default)]
    pub batch_from: Option<u64>,
}

impl KsefSettings {
    /// The Latarnia to read, given the embedded emulator's address if there is one.
    pub fn lighthouse(&self, embedded: Option<&str>) -> Option<String> {
        match self.lighthouse_url.as_deref() {
            Some("off") => None,
            Some(url) => Some(url.to_owned()),
            None => match self.target {
                KsefTarget::Embedded => embedded.map(str::to_owned),
                KsefTarget::Custom => None,
                _ => Some(self.target.environment().lighthouse_base().to_owned()),
            },
        }
    }
}

/// The `[limits]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest request body accepted (an encrypted 3 MB invoice in base64 is about 4 MB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408 (batch packages have no overall bound).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Longest pause between two pieces of a request body before the request is dropped (uploads included).
    #[serde(default = "default_body_idle_timeout")]
    pub body_idle_timeout_secs: u64,
    /// Longest wait for a request's headers, and for the next request on an idle keep-alive connection.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Most invoices one tenant may have waiting for KSeF; past it, sends and submits get 1905.
    #[serde(default = "default_max_undelivered")]
    pub max_undelivered_per_tenant: i64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            max_body_bytes: default_max_body(),
            request_timeout_secs: default_request_timeout(),
            body_idle_timeout_secs: default_body_idle_timeout(),
            header_read_timeout_secs: default_header_read_timeout(),
            max_undelivered_per_tenant: default_max_undelivered(),
        }
    }
}

fn default_max_undelivered() -> i64 {
    crate::ops::MAX_UNDELIVERED_PER_TENANT
}

fn default_max_body() -> usize {
    6 * 1024 * 1024
}

fn default_request_timeout() -> u64 {
    120
}

fn default_body_idle_timeout() -> u64 {
    30
}

fn default_header_read_timeout() -> u64 {
    10
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// Every setting of the gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address of the REST API; port 0 picks one.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Directory for SQLite, the master key file and the embedded emulator.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in `data_dir/gateway.sqlite`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// What a recorded invoice survives: `full` (the default: a power cut too; every commit synced) or `fast`
    /// (a crash of the gateway, not of the machine; syncs only at checkpoints).
    #[serde(default)]
    pub durability: DurabilitySetting,
    /// Base64 of the 32-byte key that seals secrets at rest; default: `data_dir/master.key`, made on first start.
    #[serde(default)]
    pub master_key: Option<String>,
    /// Create a demo tenant on first start when the KSeF is the embedded emulator.
    #[serde(default = "default_true")]
    pub demo_tenant: bool,
    /// Which KSeF.
    #[serde(default)]
    pub ksef: KsefSettings,
    /// Request limits.
    #[serde(default)]
    pub limits: LimitSettings,
    /// `/metrics`.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// Webhooks: where they may point, and how long failing ones are retried.
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// The sync of invoices others issue to the tenants.
    #[serde(default)]
    pub inbox: InboxSettings,
    /// `[console]`.
    #[serde(default)]
    pub console: ConsoleSettings,
}

/// The `[webhooks]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Allow webhooks to private, loopback and link-local addresses (off: a tenant could make the gateway call
    /// into its own network). The gateway's own address is refused either way.
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// Longest wait for a receiver's answer, in seconds.
    #[serde(default = "default_webhook_timeout")]
    pub timeout_secs: u64,
    /// Longest pause between two attempts of one delivery, in seconds (they double from 5 s).
    #[serde(default = "default_webhook_max_backoff")]
    pub max_backoff_secs: u64,
    /// A delivery not taken this long after its event is given up (`failed`; it can be redelivered).
    #[serde(default = "default_webhook_give_up")]
    pub give_up_after_secs: u64,
    /// A webhook whose every attempt has failed this long is disabled.
    #[serde(default = "default_webhook_disable")]
    pub disable_after_secs: u64,
    /// An invoice KSeF keeps processing (status 150) this long after it was recorded is told of (`invoice.held`).
    #[serde(default = "default_held_after")]
    pub held_after_secs: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private_addresses: false,
            timeout_secs: default_webhook_timeout(),
            max_backoff_secs: default_webhook_max_backoff(),
            give_up_after_secs: default_webhook_give_up(),
            disable_after_secs: default_webhook_disable(),
            held_after_secs: default_held_after(),
        }
    }
}

fn default_webhook_timeout() -> u64 {
    10
}

fn default_webhook_max_backoff() -> u64 {
    3600
}

fn default_webhook_give_up() -> u64 {
    3 * 24 * 3600
}

fn default_webhook_disable() -> u64 {
    5 * 24 * 3600
}

fn default_held_after() -> u64 {
    15 * 60
}

/// The `[inbox]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxSettings {
    /// Sync received invoices at all (each tenant also switches its own).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How often a tenant's sync runs, in seconds (default 300; every run is at least one of the 20 exports an
    /// hour KSeF allows a context).
    #[serde(default = "default_inbox_every")]
    pub every_secs: u64,
}

impl Default for InboxSettings {
    fn default() -> Self {
        InboxSettings { enabled: true, every_secs: default_inbox_every() }
    }
}

fn default_inbox_every() -> u64 {
    // Each run starts at least one export, and KSeF allows a context 20 an hour: this leaves room for the
    // tenant's own searches.
    300
}

/// The `[console]` section: the operator's console at `/console`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Serve the console (off answers 404).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How long a console sign-in lasts, in seconds (default 28,800: a working day).
    #[serde(default = "default_console_session_secs")]
    pub session_secs: u64,
    /// Where browsers reach the console, e.g. `https://gateway.example.com`, when a proxy in front changes the
    /// `Host` header: the console's forms must then come from exactly this origin, and an `https://` origin makes
    /// its cookie `Secure`.
    #[serde(default)]
    pub public_origin: Option<String>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings { enabled: true, session_secs: default_console_session_secs(), public_origin: None }
    }
}

fn default_console_session_secs() -> u64 {
    8 * 3600
}

/// The `[metrics]` section: whether `/metrics` is served, and whether it asks for a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `/metrics` (Prometheus text); off answers 404.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer_token: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings { enabled: true, bearer_token: None }
    }
}

fn default_true() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: default_listen(),
            data_dir: default_data_dir(),
            database_url: None,
            durability: DurabilitySetting::default(),
            master_key: None,
            demo_tenant: true,
            ksef: KsefSettings::default(),
            metrics: MetricsSettings::default(),
            limits: LimitSettings::default(),
            webhooks: WebhookSettings::default(),
            inbox: InboxSettings::default(),
            console: ConsoleSettings::default(),
        }
    }
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Settings {
    /// Reads the settings: defaults, `file` if given, the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "configuration file {} does not exist", file.display());
            figment = figment.merge(Toml::file_exact(file));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("KSEF_GATEWAY_").split("__"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")?;
        if settings.ksef.target == KsefTarget::Custom && settings.ksef.base_url.is_none() {
            anyhow::bail!("invalid configuration: ksef.target = \"custom\" needs ksef.base_url");
        }
        Ok(settings)
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> anyhow::Result<ksef_store::DatabaseUrl> {
        match &self.database_url {
            Some(url) => ksef_store::DatabaseUrl::parse(url).context("invalid database_url"),
            None => Ok(ksef_store::DatabaseUrl::sqlite_file(&self.data_dir.join("gateway.sqlite"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_values_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9999\"\n[ksef]\ntarget = \"test\"\n").unwrap();
        let s = Settings::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!((s.listen.port(), s.ksef.target), (9999, KsefTarget::Test));

        std::fs::write(&file, "listne = \"127.0.0.1:9999\"\n").unwrap();
        let err = Settings::load(Some(&file), &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("listne"), "{err:#}");
        std::fs::write(&file, "[ksef]\ntarget = \"custom\"\n").unwrap();
        assert!(Settings::load(Some(&file), &Overrides::default()).is_err(), "custom needs a base URL");
    }

    #[test]
    fn command_line_values_win() {
        let overrides = Overrides { listen: Some("127.0.0.1:0".parse().unwrap()), data_dir: Some("/tmp/x".into()) };
        let s = Settings::load(None, &overrides).unwrap();
        assert_eq!((s.listen.port(), s.data_dir.to_str()), (0, Some("/tmp/x")));
        assert_eq!(s.ksef.target, KsefTarget::Embedded);
        assert!(s.database_url().unwrap().expose().starts_with("sqlite:///tmp/x/gateway.sqlite"));
    }
}
