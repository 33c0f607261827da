//! What an emulator instance is told at start: where it keeps state, how it names itself, how strict it is.

use std::path::PathBuf;
use std::time::Duration;

use ksef_core::limits;

/// Whether and how the emulator limits request rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitProfile {
    /// No limits (the default, for tests and benchmarks).
    #[default]
    Off,
    /// KSeF's published per-group limits (req/s, req/min, req/h per context and IP).
    Official,
}

/// Settings of one emulator instance.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Directory for the SQLite database, the keys and export packages. Created if missing.
    pub data_dir: PathBuf,
    /// Base of every URL the emulator hands out (UPO, export parts). `None` uses the listening address.
    /// The text `{port}` is replaced by the port actually bound, so a DNS name can be combined with port 0.
    pub public_url: Option<String>,
    /// Rate limiting.
    pub rate_limits: RateLimitProfile,
    /// Take the caller's address from `X-Forwarded-For` (only behind a proxy you trust; otherwise anyone can
    /// claim any address, and with it a fresh rate-limit budget).
    pub trust_forwarded_for: bool,
    /// How long accepted invoices and exports stay at status 100 before processing, so clients can observe it.
    pub processing_delay: Duration,
    /// `NazwaPodmiotuPrzyjmujacego` in UPOs.
    pub receiving_entity_name: String,
    /// Largest export part before encryption (KSeF: 50 MB).
    pub export_part_size: usize,
    /// Most documents per UPO page (KSeF: 10,000).
    pub upo_page_size: usize,
    /// Most invoices per export package (KSeF: 10,000).
    pub export_invoice_limit: usize,
    /// Most invoices per session, online or batch (KSeF: 10,000).
    pub max_invoices_per_session: i32,
    /// Largest accepted JSON request body.
    pub max_json_body: usize,
    /// Lifetime of an access token (KSeF: about 15 minutes).
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token (KSeF: 7 days).
    pub refresh_token_ttl: Duration,
    /// Lifetime of the tokenless URLs in statuses (KSeF's examples: 72 hours for UPO, 1 hour for export parts).
    pub download_url_ttl: Duration,
    /// Serve HTTPS instead of HTTP.
    pub tls: Option<crate::TlsSource>,
    /// When set, every request must carry it in [`ACCESS_SECRET_HEADER`]; others get 403. The gateway's
    /// embedded emulator is made with a random one, so other local processes cannot use it.
    pub access_secret: Option<AccessSecret>,
    /// Serve the emulator's own `/emulator/v1/*` (tokens for any NIP without authentication, fault rules: for
    /// tests).
    pub test_api: bool,
    /// Fault rules active from the start (not part of KSeF; see `docs/emulator.md`, "Fault injection").
    pub faults: Vec<crate::faults::FaultRule>,
}

/// A secret every request must carry; shown as `…` in debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessSecret(pub String);

impl std::fmt::Debug for AccessSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessSecret(…)")
    }
}

/// The header carrying [`EmulatorConfig::access_secret`].
pub const ACCESS_SECRET_HEADER: &str = "x-ksef-emulator-secret";

impl EmulatorConfig {
    /// Defaults matching KSeF, with state in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> EmulatorConfig {
        EmulatorConfig {
            data_dir: data_dir.into(),
            public_url: None,
            rate_limits: RateLimitProfile::Off,
            trust_forwarded_for: false,
            processing_delay: Duration::ZERO,
            receiving_entity_name: "Ministerstwo Finansów - emulator KSeF (ksef-gateway)".to_owned(),
            export_part_size: limits::MAX_EXPORT_PART_BYTES,
            upo_page_size: limits::MAX_UPO_DOCUMENTS,
            export_invoice_limit: limits::MAX_EXPORT_INVOICES,
            max_invoices_per_session: limits::MAX_INVOICES_PER_SESSION as i32,
            max_json_body: 5 * 1024 * 1024,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            download_url_ttl: Duration::from_secs(72 * 3600),
            tls: None,
            access_secret: None,
            test_api: true,
            faults: Vec::new(),
        }
    }
}
