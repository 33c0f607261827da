//! A real emulator on port 0 and a raw HTTP client: these tests speak the wire protocol by hand, so they
//! check field names, status codes and headers exactly, without our own KSeF client in between.

use std::sync::Arc;
use std::time::Duration;

use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode, encrypt_cbc, sha256_base64};
use ksef_core::ids::ksef_token_plaintext;
use ksef_emulator::{EmulatorConfig, EmulatorServer, MinimalVerifier, ShiftedClock};
use serde_json::{Value, json};

pub const SELLER: &str = "5265877635";
pub const BUYER: &str = "7010002137";
pub const THIRD: &str = "1111111111";

pub struct TestEmulator {
    pub server: EmulatorServer,
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ShiftedClock>,
    pub dir: tempfile::TempDir,
}

pub struct Session {
    pub reference: String,
    pub key: AesKey,
    pub iv: Iv,
}

pub async fn spawn() -> TestEmulator {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut EmulatorConfig)) -> TestEmulator {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_in(dir, configure).await
}

pub async fn spawn_in(dir: tempfile::TempDir, configure: impl FnOnce(&mut EmulatorConfig)) -> TestEmulator {
    spawn_verifying(dir, configure, Arc::new(MinimalVerifier)).await
}

/// An emulator judging invoices with `verifier` (the protocol tests use the minimal one).
pub async fn spawn_verifying(
    dir: tempfile::TempDir,
    configure: impl FnOnce(&mut EmulatorConfig),
    verifier: Arc<dyn ksef_emulator::InvoiceVerifier>,
) -> TestEmulator {
    let mut config = EmulatorConfig::new(dir.path());
    config.public_url = Some("http://storage.ksef-emu.test:{port}".to_owned());
    configure(&mut config);
    let clock = Arc::new(ShiftedClock::default());
    let server = EmulatorServer::bind_with("127.0.0.1:0".parse().unwrap(), config, clock.clone(), verifier)
        .await
        .expect("emulator starts");
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .resolve("storage.ksef-emu.test", server.local_addr())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestEmulator { server, base, http, clock, dir }
}

/// A minimal FA(3) invoice.
pub fn invoice(seller: &str, number: &str) -> String {
    invoice_with(seller, number, BUYER, "")
}

pub fn invoice_with(seller: &str, number: &str, buyer: &str, extra_parties: &str) -> String {
    let today = ksef_wire::datetime::to_warsaw(chrono::Utc::now()).date_naive();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
  <Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza><WariantFormularza>3</WariantFormularza><DataWytworzeniaFa>2026-01-01T00:00:00Z</DataWytworzeniaFa></Naglowek>
  <Podmiot1><DaneIdentyfikacyjne><NIP>{seller}</NIP><Nazwa>Sprzedawca</Nazwa></DaneIdentyfikacyjne><Adres><KodKraju>PL</KodKraju><AdresL1>ul. A 1</AdresL1></Adres></Podmiot1>
  <Podmiot2><DaneIdentyfikacyjne><NIP>{buyer}</NIP><Nazwa>Nabywca</Nazwa></DaneIdentyfikacyjne><Adres><KodKraju>PL</KodKraju><AdresL1>ul. B 2</AdresL1></Adres><JST>2</JST><GV>2</GV></Podmiot2>
  {extra_parties}
  <Fa><KodWaluty>PLN</KodWaluty><P_1>{today}</P_1><P_2>{number}</P_2><P_13_1>100.00</P_13_1><P_14_1>23.00</P_14_1><P_15>123.00</P_15>
  <Adnotacje><P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A><Zwolnienie><P_19N>1</P_19N></Zwolnienie><NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu><P_23>2</P_23><PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy></Adnotacje>
  <RodzajFaktury>VAT</RodzajFaktury>
  <FaWiersz><NrWierszaFa>1</NrWierszaFa><P_7>Usługa</P_7><P_8A>szt.</P_8A><P_8B>1</P_8B><P_9A>100.00</P_9A><P_11>100.00</P_11><P_12>23</P_12></FaWiersz></Fa>
</Faktura>
"#
    )
}

impl TestEmulator {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Option<&Value>) -> reqwest::Response {
        let mut request = self.http.post(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(b);
        }
        request.send().await.expect("request sent")
    }

    /// The published keys: (token key, its id, symmetric key, its id).
    pub async fn keys(&self) -> (RsaPublicKey, String, RsaPublicKey, String) {
        let certs: Vec<Value> = self.get("/v2/security/public-key-certificates", None).await.json().await.unwrap();
        let find = |usage: &str| {
            let c = certs.iter().find(|c| c["usage"][0] == usage).expect("certificate for usage");
            let key = RsaPublicKey::from_certificate_der(&b64_decode(c["certificate"].as_str().unwrap()).unwrap()).unwrap();
            (key, c["publicKeyId"].as_str().unwrap().to_owned())
        };
        let (tk, tid) = find("KsefTokenEncryption");
        let (sk, sid) = find("SymmetricKeyEncryption");
        (tk, tid, sk, sid)
    }

    pub async fn issue_token(&self, nip: &str) -> String {
        let r = self.post("/emulator/v1/tokens", None, Some(&json!({ "nip": nip }))).await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Starts a KSeF-token authentication; returns the 202 body.
    pub async fn start_auth(&self, nip: &str, token: &str) -> Value {
        let (token_key, token_key_id, _, _) = self.keys().await;
        let challenge: Value = self.post("/v2/auth/challenge", None, None).await.json().await.unwrap();
        let plain = ksef_token_plaintext(token, challenge["timestampMs"].as_i64().unwrap());
        let body = json!({
            "challenge": challenge["challenge"],
            "contextIdentifier": { "type": "Nip", "value": nip },
            "encryptedToken": b64(&token_key.wrap(plain.as_bytes()).unwrap()),
            "publicKeyId": token_key_id,
            "authorizationPolicy": null,
        });
        let r = self.post("/v2/auth/ksef-token", None, Some(&body)).await;
        assert_eq!(r.status(), 202);
        r.json().await.unwrap()
    }

    /// Authenticates and redeems; returns the full token response.
    pub async fn login_tokens(&self, nip: &str, token: &str) -> Value {
        let init = self.start_auth(nip, token).await;
        let op = init["authenticationToken"]["token"].as_str().unwrap();
        let status: Value = self.get(&format!("/v2/auth/{}", init["referenceNumber"].as_str().unwrap()), Some(op)).await.json().await.unwrap();
        assert_eq!(status["status"]["code"], 200, "{status}");
        let r = self.post("/v2/auth/token/redeem", Some(op), None).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// An access token for a fresh token of `nip`.
    pub async fn login(&self, nip: &str) -> String {
        let token = self.issue_token(nip).await;
        self.login_tokens(nip, &token).await["accessToken"]["token"].as_str().unwrap().to_owned()
    }

    pub async fn open_session_for(&self, access: &str, system_code: &str) -> Session {
        let (_, _, sym, sym_id) = self.keys().await;
        let key = AesKey::generate();
        let iv = Iv::generate();
        let body = json!({
            "formCode": { "systemCode": system_code, "schemaVersion": "1-0E", "value": "FA" },
            "encryption": { "encryptedSymmetricKey": b64(&sym.wrap(key.as_bytes()).unwrap()), "initializationVector": b64(iv.as_bytes()), "publicKeyId": sym_id },
        });
        let r = self.post("/v2/sessions/online", Some(access), Some(&body)).await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        Session { reference: v["referenceNumber"].as_str().unwrap().to_owned(), key, iv }
    }

    pub async fn open_session(&self, access: &str) -> Session {
        self.open_session_for(access, "FA (3)").await
    }

    pub fn send_body(session: &Session, xml: &[u8]) -> Value {
        let encrypted = encrypt_cbc(&session.key, &session.iv, xml);
        json!({
            "invoiceHash": sha256_base64(xml),
            "invoiceSize": xml.len(),
            "encryptedInvoiceHash": sha256_base64(&encrypted),
            "encryptedInvoiceSize": encrypted.len(),
            "encryptedInvoiceContent": b64(&encrypted),
            "offlineMode": false,
            "hashOfCorrectedInvoice": null,
        })
    }

    pub async fn send_raw(&self, access: &str, session: &Session, body: &Value) -> reqwest::Response {
        self.post(&format!("/v2/sessions/online/{}/invoices", session.reference), Some(access), Some(body)).await
    }

    /// Sends an invoice and returns its reference number.
    pub async fn send(&self, access: &str, session: &Session, xml: &str) -> String {
        let r = self.send_raw(access, session, &Self::send_body(session, xml.as_bytes())).await;
        assert_eq!(r.status(), 202);
        r.json::<Value>().await.unwrap()["referenceNumber"].as_str().unwrap().to_owned()
    }

    /// Polls an invoice until it leaves 100/150.
    pub async fn wait_invoice(&self, access: &str, session: &Session, invoice: &str) -> Value {
        for _ in 0..200 {
            let v: Value = self.get(&format!("/v2/sessions/{}/invoices/{invoice}", session.reference), Some(access)).await.json().await.unwrap();
            if !matches!(v["status"]["code"].as_i64(), Some(100 | 150)) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("invoice {invoice} never left processing");
    }

    pub async fn close(&self, access: &str, session: &Session) {
        let r = self.post(&format!("/v2/sessions/online/{}/close", session.reference), Some(access), None).await;
        assert_eq!(r.status(), 204);
    }

    /// Polls a session until its status code is at least 200.
    pub async fn wait_session(&self, access: &str, session: &str) -> Value {
        for _ in 0..200 {
            let v: Value = self.get(&format!("/v2/sessions/{session}"), Some(access)).await.json().await.unwrap();
            if v["status"]["code"].as_i64().unwrap() >= 200 {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("session {session} never finished");
    }

    /// The first coded error of a 400 body (legacy format).
    pub async fn error_code(response: reqwest::Response) -> (u16, i64, Value) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["exception"]["exceptionDetailList"][0]["exceptionCode"].as_i64().unwrap_or(0);
        (status, code, body)
    }
}
