//! An emulator on port 0 and a context client for it.

use ksef_client::{ClientOptions, ContextClient, KsefClient, Polling, Credentials};
use ksef_emulator::{EmulatorConfig, EmulatorServer};

pub const NIP: &str = "5265877635";

pub struct Harness {
    pub server: EmulatorServer,
    pub ctx: ContextClient,
    pub _dir: tempfile::TempDir,
}

pub async fn harness(configure: impl FnOnce(&mut EmulatorConfig)) -> Harness {
    harness_with(configure, ClientOptions::default()).await
}

pub async fn harness_with(configure: impl FnOnce(&mut EmulatorConfig), options: ClientOptions) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::new(dir.path());
    configure(&mut config);
    let server = EmulatorServer::bind("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let token = server.emulator().issue_token(NIP, None).await.unwrap().token;
    let client = KsefClient::with_options(&server.base_url(), options).unwrap();
    let polling = Polling { interval: std::time::Duration::from_millis(20), timeout: std::time::Duration::from_secs(20) };
    let ctx = ContextClient::new(client, Credentials::nip(NIP, &token)).with_polling(polling);
    Harness { server, ctx, _dir: dir }
}

/// A small valid FA(3) invoice of `seller`, issued today.
pub fn invoice(seller: &str, number: &str) -> Vec<u8> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string();
    ksef_fa::example::invoice(seller, "7010002137", number, &today, 1).into_bytes()
}
