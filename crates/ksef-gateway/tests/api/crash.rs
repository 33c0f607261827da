//! Nothing lost, nothing doubled: the real binary killed with SIGKILL mid-run, KSeF restarted under it, two
//! instances on one database with one of them killed, while callers send invoices and retry on any failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ksef_core::crypto::b64;
use ksef_emulator::{EmulatorConfig, EmulatorServer, EndpointGroup, FaultKind, FaultRule};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::helpers::{NIP, database_url, invoice};

/// One `ksef-gateway serve` process.
struct Instance {
    child: tokio::process::Child,
    port: u16,
}

/// How every instance of one test is started.
#[derive(Clone)]
struct Setup {
    data_dir: PathBuf,
    ksef_url: String,
    database_url: Option<String>,
}

impl Setup {
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ksef-gateway"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("KSEF_GATEWAY_KSEF__TARGET", "custom")
            .env("KSEF_GATEWAY_KSEF__BASE_URL", &self.ksef_url)
            // 504 invoices in a minute or two: far beyond KSeF's 30 a minute, which the emulator here does not enforce.
            .env("KSEF_GATEWAY_KSEF__PACING", "off")
            .env_remove("KSEF_GATEWAY_MASTER_KEY")
            .env_remove("KSEF_GATEWAY_DATABASE_URL")
            .kill_on_drop(true);
        if let Some(url) = &self.database_url {
            command.env("KSEF_GATEWAY_DATABASE_URL", url);
        }
        command
    }

    async fn add_tenant(&self, token: &str) -> String {
        let mut child = self
            .command(&["tenant", "add", "--nip", NIP, "--ksef-token", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use tokio::io::AsyncWriteExt as _;
        child.stdin.take().unwrap().write_all(token.as_bytes()).await.unwrap();
        let out = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout.lines().find_map(|l| l.strip_prefix("API key (shown once): ")).unwrap_or_else(|| panic!("no API key in {stdout}")).trim().to_owned()
    }

    async fn start(&self, port: u16, log: &str) -> Instance {
        let log = std::fs::File::create(self.data_dir.join(log)).unwrap();
        let child = self
            .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the ksef-gateway binary starts");
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
                return Instance { child, port };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the gateway did not start on port {port}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn kill(instance: &mut Instance) {
    // SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    instance.child.start_kill().unwrap();
    instance.child.wait().await.unwrap();
}

/// A caller that sends `count` invoices into a session of its own through the gateways at `ports` (taking
/// turns), retrying every request on any failure until it gets an answer; returns each invoice's id by number.
async fn sender(ports: Vec<u16>, key: String, who: usize, count: usize) -> BTreeMap<String, String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut turn = who;
    let mut next_port = || {
        turn += 1;
        ports[turn % ports.len()]
    };
    let session = loop {
        let port = next_port();
        let r = http.post(format!("http://127.0.0.1:{port}/api/v2/ksefSessionOpenOnline")).bearer_auth(&key).json(&json!({ "invoiceVersion": "v3" })).send().await;
        match r {
            Ok(r) if r.status() == 200 => break r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned(),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let mut ids = BTreeMap::new();
    for n in 0..count {
        let number = format!("FV/{who}/{n}");
        let body = json!({ "sessionId": session, "plain": { "invoice": b64(&invoice(NIP, &number)) } });
        let id = loop {
            let port = next_port();
            match http.post(format!("http://127.0.0.1:{port}/api/v2/ksefInvoiceSend")).bearer_auth(&key).json(&body).send().await {
                Ok(r) if r.status() == 200 => break r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned(),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        ids.insert(number, id);
    }
    loop {
        let port = next_port();
        if http.get(format!("http://127.0.0.1:{port}/api/v2/ksefSessionClose/{session}")).bearer_auth(&key).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ids
}

/// Waits until every invoice has KSeF's verdict, as the gateway at `port` reports it; returns each one's info.
async fn verdicts(port: u16, key: &str, ids: &BTreeMap<String, String>, limit: Duration) -> BTreeMap<String, Value> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    let mut done = BTreeMap::new();
    while done.len() < ids.len() {
        let waiting: Vec<(&String, &String)> = ids.iter().filter(|(n, _)| !done.contains_key(*n)).collect();
        for (number, id) in waiting {
            let r = http.get(format!("http://127.0.0.1:{port}/api/v2/ksefInvoiceStatus/{id}")).bearer_auth(key).send().await.unwrap();
            let answer = r.json::<Value>().await.unwrap();
            let info = answer["invoices"].get(0).cloned().unwrap_or(answer);
            if matches!(info["delivery"]["state"].as_str(), Some("accepted" | "rejected" | "duplicate")) {
                done.insert(number.clone(), info);
            } else if Instant::now() > deadline {
                panic!("{} of {} invoices have no verdict {limit:?} after the run; {number} is {info}", ids.len() - done.len(), ids.len());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done
}

/// Every invoice ended accepted with a KSeF number of its own, or as a duplicate reconciled to the number its first
/// copy got: no invoice without a number, no number for two invoices.
fn assert_exactly_once(verdicts: &BTreeMap<String, Value>, expected: usize) {
    assert_eq!(verdicts.len(), expected);
    let mut numbers = BTreeSet::new();
    for (number, info) in verdicts {
        let state = info["delivery"]["state"].as_str().unwrap();
        assert!(matches!(state, "accepted" | "duplicate"), "{number} ended {state}: {info}");
        let ksef_number = info["ksefNumber"].as_str().unwrap_or_else(|| panic!("{number} has no KSeF number: {info}"));
        assert!(numbers.insert(ksef_number.to_owned()), "KSeF number {ksef_number} given to two invoices");
        assert_eq!(info["invoiceNumber"].as_str().unwrap_or(number), number, "{info}");
    }
}

/// An emulator whose sends take 200 ms, so a gateway killed at any moment is likely to be in the middle of some.
async fn emulator_at(addr: std::net::SocketAddr, dir: &Path) -> EmulatorServer {
    let emulator = EmulatorServer::bind(addr, EmulatorConfig::new(dir)).await.expect("emulator starts");
    emulator.faults().add(FaultRule { endpoints: EndpointGroup::Send, latency_ms: Some(200), ..FaultRule::new(FaultKind::Latency) }).unwrap();
    emulator
}

#[tokio::test]
async fn invoices_sent_while_the_gateway_is_killed_twice_and_ksef_restarts_each_get_exactly_one_ksef_number() {
    const SENDERS: usize = 8;
    const EACH: usize = 63;
    let emulator_dir = tempfile::tempdir().unwrap();
    let emulator = emulator_at("127.0.0.1:0".parse().unwrap(), emulator_dir.path()).await;
    let ksef_addr = emulator.local_addr();
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    let data = tempfile::tempdir().unwrap();
    let setup = Setup { data_dir: data.path().to_owned(), ksef_url: emulator.base_url(), database_url: database_url().await };
    let key = setup.add_tenant(&token).await;
    let port = free_port();
    let gateway = Arc::new(Mutex::new(setup.start(port, "gateway-1.log").await));

    let senders: Vec<_> = (0..SENDERS).map(|who| tokio::spawn(sender(vec![port], key.clone(), who, EACH))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kill(&mut *gateway.lock().await).await;
    *gateway.lock().await = setup.start(port, "gateway-2.log").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    emulator.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let _emulator = emulator_at(ksef_addr, emulator_dir.path()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    kill(&mut *gateway.lock().await).await;
    *gateway.lock().await = setup.start(port, "gateway-3.log").await;

    let mut ids = BTreeMap::new();
    for s in senders {
        ids.extend(s.await.unwrap());
    }
    let verdicts = verdicts(port, &key, &ids, Duration::from_secs(90)).await;
    assert_exactly_once(&verdicts, SENDERS * EACH);
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_everything_once_when_one_of_them_is_killed() {
    const SENDERS: usize = 6;
    const EACH: usize = 40;
    let emulator_dir = tempfile::tempdir().unwrap();
    let emulator = emulator_at("127.0.0.1:0".parse().unwrap(), emulator_dir.path()).await;
    let token = emulator.emulator().issue_token(NIP, None).await.unwrap().token;
    let data = tempfile::tempdir().unwrap();
    let setup = Setup { data_dir: data.path().to_owned(), ksef_url: emulator.base_url(), database_url: database_url().await };
    let key = setup.add_tenant(&token).await;
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = setup.start(port_a, "a.log").await;
    let b = setup.start(port_b, "b.log").await;

    let senders: Vec<_> = (0..SENDERS).map(|who| tokio::spawn(sender(vec![port_a, port_b], key.clone(), who, EACH))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kill(&mut a).await;

    let mut ids = BTreeMap::new();
    for s in senders {
        ids.extend(s.await.unwrap());
    }
    // Only B is left: it finishes what A held when it died.
    let verdicts = verdicts(b.port, &key, &ids, Duration::from_secs(90)).await;
    assert_exactly_once(&verdicts, SENDERS * EACH);
    let log = std::fs::read_to_string(data.path().join("b.log")).unwrap();
    assert!(log.contains("took over an invoice a stopped instance was sending"), "A died with sends in flight, and B took them over");
}
