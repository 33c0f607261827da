//! A real gateway on port 0 with its embedded emulator, on SQLite, or on a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set; and a `TestApp` with one method per operation.

use std::sync::Arc;
use std::time::Duration;

use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode, encrypt_cbc, sha256_base64};
use ksef_emulator::{EmulatorConfig, EmulatorServer, SchemaVerifier, ShiftedClock};
use ksef_gateway::config::{KsefSettings, KsefTarget, Pacing, Settings};
use ksef_gateway::startup::Application;
use serde_json::{Value, json};

pub const NIP: &str = "5265877635";
pub const OTHER_NIP: &str = "7010002137";

pub struct TestApp {
    pub app: Application,
    pub base: String,
    pub http: reqwest::Client,
    pub api_key: String,
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

/// Settings for a test gateway in `dir`, against `target`. Calls are not paced by KSeF's published limits (the
/// emulators here limit nothing, and many tests send more than KSeF's 30 invoices a minute): tests of pacing
/// turn it on.
pub fn settings(dir: &std::path::Path, database_url: Option<String>, ksef: KsefSettings) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url,
        ksef: KsefSettings { pacing: Pacing::Off, ..ksef },
        ..Settings::default()
    }
}

/// The database for a new test gateway: a fresh PostgreSQL database if configured, else SQLite in the data dir.
pub async fn database_url() -> Option<String> {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        return None;
    }
    ksef_store::testing::fresh_postgres_url().await.map(|u| u.expose().to_owned())
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url().await;
    let settings = settings(dir.path(), database_url.clone(), KsefSettings::default());
    spawn_with(settings, dir, database_url).await
}

pub async fn spawn_with(settings: Settings, dir: tempfile::TempDir, database_url: Option<String>) -> TestApp {
    let app = Application::build(settings).await.expect("gateway starts");
    let base = format!("http://{}/api/v2", app.address());
    let api_key = app.demo_tenant().map(|d| d.api_key.clone()).unwrap_or_default();
    TestApp { app, base, http: reqwest::Client::new(), api_key, dir, database_url }
}

/// An emulator of the test's own, for clients outside the gateway (the embedded one answers only its gateway).
pub async fn emulator() -> (EmulatorServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = EmulatorServer::bind("127.0.0.1:0".parse().unwrap(), EmulatorConfig::new(dir.path())).await.unwrap();
    (server, dir)
}

/// An emulator enforcing KSeF's rate limits, where the test context may send `per_second` and `per_minute`
/// invoices online (−1: no limit), as TEST's `/testdata/rate-limits` allows setting; and a KSeF token of it.
pub async fn emulator_limiting_sends(per_second: i32, per_minute: i32) -> (EmulatorServer, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::new(dir.path());
    config.rate_limits = ksef_emulator::RateLimitProfile::Official;
    let emulator = EmulatorServer::bind("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    let client = ksef_client::ContextClient::new(ksef_client::KsefClient::new(&emulator.base_url()).unwrap(), ksef_client::Credentials::nip(NIP, &token));
    let access = client.access_token().await.unwrap();
    let limits = serde_json::json!({ "rateLimits": { "invoiceSend": { "perSecond": per_second, "perMinute": per_minute, "perHour": -1 } } });
    let set = reqwest::Client::new()
        .post(format!("{}/v2/testdata/rate-limits", emulator.base_url()))
        .bearer_auth(&access)
        .json(&limits)
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success(), "TEST's rate limits set: {}", set.status());
    (emulator, dir, token)
}

/// A gateway over an emulator of the test's own, configured by `configure`, on `clock`.
pub async fn gateway_with_emulator(
    configure: impl FnOnce(&mut EmulatorConfig),
    clock: Arc<ShiftedClock>,
) -> (TestApp, EmulatorServer, tempfile::TempDir) {
    gateway_with_emulator_and(configure, clock, |_| {}).await
}

/// [`gateway_with_emulator`], with the gateway's settings changed by `settings`.
pub async fn gateway_with_emulator_and(
    configure: impl FnOnce(&mut EmulatorConfig),
    clock: Arc<ShiftedClock>,
    change: impl FnOnce(&mut Settings),
) -> (TestApp, EmulatorServer, tempfile::TempDir) {
    let emulator_dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::new(emulator_dir.path());
    configure(&mut config);
    let emulator = EmulatorServer::bind_with("127.0.0.1:0".parse().unwrap(), config, clock, Arc::new(SchemaVerifier)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = database_url().await;
    let ksef = KsefSettings { target: KsefTarget::Custom, base_url: Some(emulator.base_url()), ..KsefSettings::default() };
    let mut gateway_settings = settings(dir.path(), db.clone(), ksef);
    change(&mut gateway_settings);
    let mut app = spawn_with(gateway_settings, dir, db).await;
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    app.api_key = ksef_gateway::ops::tenants::add(app.app.ops(), "T", NIP, &token).await.unwrap().api_key.expose().to_owned();
    (app, emulator, emulator_dir)
}

/// A small valid FA(3) invoice of `seller` to OTHER_NIP, issued today.
pub fn invoice(seller: &str, number: &str) -> Vec<u8> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string();
    ksef_fa::example::invoice(seller, OTHER_NIP, number, &today, 1).into_bytes()
}

/// A caller-held session key, wrapped for KSeF.
pub struct CallerKey {
    pub key: AesKey,
    pub iv: Iv,
}

impl TestApp {
    /// Adds a tenant for `nip` with a fresh token from the embedded emulator; returns its API key.
    pub async fn add_tenant(&self, nip: &str) -> String {
        let emulator = self.app.emulator().expect("embedded emulator");
        let token = emulator.emulator().issue_token(nip, None).await.unwrap().token;
        ksef_gateway::ops::tenants::add(self.app.ops(), "Other", nip, &token).await.unwrap().api_key.expose().to_owned()
    }

    /// Adds a tenant for `nip` with a fresh token from `emulator` (the gateway's KSeF); returns its API key.
    pub async fn add_tenant_of(&self, nip: &str, emulator: &EmulatorServer) -> String {
        let token = emulator.emulator().issue_token(nip, None).await.unwrap().token;
        ksef_gateway::ops::tenants::add(self.app.ops(), "Other", nip, &token).await.unwrap().api_key.expose().to_owned()
    }

    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(key).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(key).json(body).send().await.unwrap()
    }

    /// Opens a session whose key the gateway holds; returns its id.
    pub async fn open_session(&self, key: &str) -> String {
        let r = self.post("/ksefSessionOpenOnline", key, &json!({ "invoiceVersion": "v3" })).await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// Opens a session under a key of the caller's own, wrapped with `ksefPublicKey`.
    pub async fn open_caller_session(&self, key: &str) -> (String, CallerKey) {
        let pk: Value = self.get("/ksefPublicKey", key).await.json().await.unwrap();
        assert_eq!(pk["algorithm"], "RSA");
        let public = RsaPublicKey::from_spki_der(&b64_decode(pk["publicKey"].as_str().unwrap()).unwrap()).unwrap();
        let caller = CallerKey { key: AesKey::generate(), iv: Iv::generate() };
        let body = json!({ "invoiceVersion": "v3", "encryptionInfo": {
            "encryptedKey": b64(&public.wrap(caller.key.as_bytes()).unwrap()),
            "initVector": b64(caller.iv.as_bytes()) } });
        let r = self.post("/ksefSessionOpenOnline", key, &body).await;
        assert_eq!(r.status(), 200);
        (r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned(), caller)
    }

    pub async fn send_plain(&self, key: &str, session: &str, xml: &[u8]) -> reqwest::Response {
        self.post("/ksefInvoiceSend", key, &json!({ "sessionId": session, "plain": { "invoice": b64(xml) } })).await
    }

    pub fn encrypted_body(session: &str, caller: &CallerKey, xml: &[u8]) -> Value {
        json!({ "sessionId": session, "encrypted": {
            "encryptedInvoice": b64(&encrypt_cbc(&caller.key, &caller.iv, xml)),
            "invoiceHash": sha256_base64(xml),
            "invoiceSize": xml.len() } })
    }

    /// Sends a plain invoice; returns its id.
    pub async fn send(&self, key: &str, session: &str, xml: &[u8]) -> String {
        let r = self.send_plain(key, session, xml).await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// Polls an invoice until it leaves 100/150.
    pub async fn wait_invoice(&self, key: &str, invoice: &str) -> Value {
        self.wait_invoice_for(key, invoice, Duration::from_secs(30)).await
    }

    /// Polls an invoice's status until KSeF's verdict is in (the gateway delivers and polls in the background),
    /// for at most `limit`.
    pub async fn wait_invoice_for(&self, key: &str, invoice: &str, limit: Duration) -> Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let v: Value = self.get(&format!("/ksefInvoiceStatus/{invoice}"), key).await.json().await.unwrap();
            let info = v["invoices"][0].clone();
            if matches!(info["delivery"]["state"].as_str(), Some("accepted" | "rejected" | "duplicate")) {
                return info;
            }
            assert!(std::time::Instant::now() < deadline, "invoice {invoice} never reached a verdict: {info}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Closes a session and polls its UPO until KSeF issued it.
    pub async fn close_and_wait_upo(&self, key: &str, session: &str) -> String {
        let closed: Value = self.get(&format!("/ksefSessionClose/{session}"), key).await.json().await.unwrap();
        assert_eq!(closed["result"], true);
        for _ in 0..1200 {
            let r = self.get(&format!("/ksefSessionUpo/{session}"), key).await;
            if r.status() == 200 {
                assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
                return r.text().await.unwrap();
            }
            assert_eq!(r.status(), 409, "only 'not yet' is expected while waiting");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no UPO for {session}");
    }

    /// Starts a search (`ksefInvoiceQueryStart`) over `from`..`to`; returns its id.
    pub async fn start_query(&self, key: &str, subject: &str, from: &str, to: Option<&str>) -> String {
        let r = self.post("/ksefInvoiceQueryStart", key, &json!({ "subjectType": subject, "range": { "from": from, "to": to } })).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["queryId"].as_str().unwrap().to_owned()
    }

    /// Polls a search until KSeF has finished it; returns its status.
    pub async fn wait_query(&self, key: &str, query: &str) -> Value {
        for _ in 0..400 {
            let r = self.get(&format!("/ksefInvoiceQueryStatus/{query}"), key).await;
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            if v["status"]["code"] != 100 {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("search {query} never finished");
    }

    /// The files of a search's result (the gateway's key: one ZIP, part 1), by name.
    pub async fn query_zip(&self, key: &str, query: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
        let r = self.get(&format!("/ksefInvoiceQueryResult/{query}/1"), key).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/zip");
        let length: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
        let bytes = r.bytes().await.unwrap();
        assert_eq!(bytes.len(), length);
        unzip(&bytes)
    }

    /// The error body and HTTP status of a refusal.
    pub async fn error(response: reqwest::Response) -> (u16, String, Value) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body["code"].as_str().unwrap_or_default().to_owned(), body)
    }
}

/// A ZIP of `files` (name, content), in order; a name ending in `/` is a folder.
pub fn zip_of(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in files {
        if let Some(dir) = name.strip_suffix('/') {
            zip.add_directory(dir, zip::write::SimpleFileOptions::default()).unwrap();
        } else {
            zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(&content).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// The files of a ZIP archive, by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP archive");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().unwrap().into_owned(), content)
        })
        .collect()
}

/// Runs the `ksef-gateway` binary with `args` (no credentials from the environment); returns its exit code,
/// standard output and standard error.
pub async fn run_binary(args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
        .args(args)
        .env_remove("KSEF_GATEWAY_API_KEY")
        .env_remove("KSEF_TOKEN")
        .output()
        .await
        .expect("the binary runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// An instant `minutes` ago, as RFC 3339.
pub fn minutes_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// Sends `count` invoices of NIP to OTHER_NIP straight into `emulator` (quicker than through the gateway), in sessions
/// of at most 10,000 (KSeF's limit per session), and waits until KSeF has processed them all.
pub async fn fill_emulator(emulator: &EmulatorServer, prefix: &str, count: usize) {
    use futures_util::StreamExt as _;
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    let ctx = Arc::new(ksef_client::ContextClient::new(ksef_client::KsefClient::new(&emulator.base_url()).unwrap(), ksef_client::Credentials::nip(NIP, &token)));
    let mut sessions = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(5_000) {
        let session = Arc::new(ctx.open_online_session(ksef_client::wire::FormCode::fa3()).await.unwrap());
        futures_util::stream::iter(chunk.to_vec())
            .map(|i| {
                let (ctx, session) = (ctx.clone(), session.clone());
                async move { session.send(&ctx, &invoice(NIP, &format!("{prefix}/{i}"))).await.unwrap() }
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await;
        sessions.push((session, chunk.len()));
    }
    for (session, sent) in sessions {
        loop {
            let access = ctx.access_token().await.unwrap();
            let status = ctx.client().session_status(&access, &session.reference_number).await.unwrap();
            if status.successful_invoice_count.unwrap_or(0) as usize == sent {
                break;
            }
            assert_eq!(status.failed_invoice_count.unwrap_or(0), 0, "every invoice is accepted");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
