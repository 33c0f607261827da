//! Tenants authenticated by certificate: a tenant with no KSeF token at all sends online and in batch; an
//! accounting office's shared certificate serves the clients that granted it permissions and no other; KSeF
//! certificates enrolled from the command line and used by the gateway; bad certificates and keys refused
//! with a clear message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ksef_client::wire::credentials::{SubjectIdentifier, SubjectIdentifierType};
use ksef_client::wire::permissions::{PermissionType, PersonPermissionsGrantRequest, PersonSubjectDetails};
use ksef_client::wire::{ContextIdentifier, ContextIdentifierType};
use ksef_client::xades::{Credential, oid, x509};
use ksef_client::{ClientOptions, ContextClient, Credentials, KsefClient, Polling};
use ksef_core::keys::PrivateKey;
use ksef_gateway::ops::credentials::{self, CertificateInput};
use serde_json::Value;

use crate::helpers::{NIP, TestApp, invoice, run_binary, spawn_app};

const OFFICE: &str = "7010002137";
const CLIENT_B: &str = "1111111111";
const CLIENT_C: &str = "2222222222";

/// A self-signed company seal of `nip`, as KSeF's TEST environment takes them.
pub fn seal(nip: &str, serial: u8) -> Credential {
    let key = PrivateKey::generate_p256().unwrap();
    let subject = [
        x509::attribute(oid::ORGANIZATION, "Firma Testowa"),
        x509::attribute(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{nip}")),
        x509::attribute(oid::COMMON_NAME, "Firma Testowa"),
        x509::attribute(oid::COUNTRY, "PL"),
    ];
    let certificate = x509::self_signed(&subject, &key, &[serial; 8], 30).unwrap();
    Credential::new(certificate, key).unwrap()
}

/// The certificate and key of `credential` as DER files in `dir`.
fn write_files(dir: &Path, name: &str, credential: &Credential) -> (PathBuf, PathBuf) {
    let certificate = dir.join(format!("{name}.cer"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&certificate, credential.certificate().der()).unwrap();
    std::fs::write(&key, credential.key_pkcs8().unwrap()).unwrap();
    (certificate, key)
}

pub fn input(credential: &Credential) -> (Vec<u8>, Vec<u8>) {
    (credential.certificate().der().to_vec(), credential.key_pkcs8().unwrap())
}

/// Sends one invoice online for `key` and returns its UPO.
async fn send_online(app: &TestApp, key: &str, seller: &str, number: &str) -> String {
    let session = app.open_session(key).await;
    let invoice_id = app.send(key, &session, &invoice(seller, number)).await;
    let status = app.wait_invoice(key, &invoice_id).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert!(status["ksefNumber"].as_str().is_some_and(|n| n.starts_with(seller)), "{status}");
    app.close_and_wait_upo(key, &session).await
}

#[tokio::test]
async fn a_tenant_with_only_a_certificate_sends_online_and_in_batch_and_gets_its_upos() {
    let mut app = spawn_app().await;
    let (certificate, key) = input(&seal(NIP, 0x51));
    let (added, summary) =
        credentials::add_tenant(app.app.ops(), "Seal only", NIP, CertificateInput { certificate: Some(&certificate), key: &key, password: None })
            .await
            .unwrap();
    assert_eq!(summary.subject.as_deref(), Some(&*format!("Nip {NIP}")), "{summary:?}");
    app.api_key = added.api_key.expose().to_owned();

    let upo = send_online(&app, &app.api_key, NIP, "FV/CERT/1").await;
    assert!(upo.contains(NIP), "the UPO names the tenant's context");

    let files: Vec<(String, Vec<u8>)> = (1..=3).map(|i| (format!("c-{i}.xml"), invoice(NIP, &format!("FV/CERT/B{i}")))).collect();
    let r = app.send_zip(zip_of(&files)).await;
    let status = r.status();
    let sent: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{sent}");
    let info = app.wait_session(&app.api_key, sent["id"].as_str().unwrap()).await;
    assert_eq!((info["status"]["code"].as_i64(), info["successfulInvoiceCount"].as_i64()), (Some(200), Some(3)), "{info}");
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn an_accounting_offices_shared_certificate_serves_clients_that_granted_it_and_a_third_is_told_why_not() {
    let app = spawn_app().await;
    let ops = app.app.ops();
    let (certificate, key) = input(&seal(OFFICE, 0x61));
    credentials::add_shared(ops, "biuro", CertificateInput { certificate: Some(&certificate), key: &key, password: None }).await.unwrap();

    // Clients B and C each become a tenant using the office's certificate; B's owner granted the office
    // permissions in B's context, C's did not.
    let server = app.app.emulator().unwrap();
    let options = ClientOptions { headers: server.access_headers(), ..ClientOptions::default() };
    let owner_b = ContextClient::new(
        KsefClient::with_options(&server.base_url(), options).unwrap(),
        Credentials::certificate(ContextIdentifier { kind: ContextIdentifierType::Nip, value: CLIENT_B.to_owned() }, Arc::new(seal(CLIENT_B, 0x62))),
    )
    .with_polling(Polling { interval: Duration::from_millis(20), timeout: Duration::from_secs(20) });
    let grant = PersonPermissionsGrantRequest {
        subject_identifier: SubjectIdentifier { kind: SubjectIdentifierType::Nip, value: OFFICE.to_owned() },
        permissions: vec![PermissionType::InvoiceWrite, PermissionType::InvoiceRead],
        description: "Biuro rachunkowe".to_owned(),
        subject_details: Some(PersonSubjectDetails {
            subject_details_type: Some("PersonByIdentifier".to_owned()),
            person_by_id: Some(serde_json::json!({"firstName": "Biuro", "lastName": "Rachunkowe"})),
            ..Default::default()
        }),
    };
    owner_b.grant_person_permissions(&grant).await.unwrap();

    let mut keys = Vec::new();
    for nip in [CLIENT_B, CLIENT_C] {
        let token = app.app.emulator().unwrap().emulator().issue_token(nip, None).await.unwrap().token;
        let added = ksef_gateway::ops::tenants::add(ops, nip, nip, &token).await.unwrap();
        let summary = credentials::use_shared(ops, &added.tenant.id, "biuro").await.unwrap();
        assert!(summary.shared);
        keys.push(added.api_key.expose().to_owned());
    }
    send_online(&app, &keys[0], CLIENT_B, "FV/BIURO/1").await;

    let r = app.post("/ksefSessionOpenOnline", &keys[1], &serde_json::json!({ "invoiceVersion": "v3" })).await;
    let (status, code, body) = TestApp::error(r).await;
    assert_eq!(code, "1101", "{body}");
    assert_ne!(status, 500, "{body}");
    let details = body.to_string();
    assert!(details.contains("415") && details.contains("credential"), "the refusal says KSeF refused the credential: {body}");
    // B is unaffected by C's refusal.
    send_online(&app, &keys[0], CLIENT_B, "FV/BIURO/2").await;
}

#[tokio::test]
async fn bad_certificates_and_keys_are_refused_with_a_clear_message_and_change_nothing() {
    let app = spawn_app().await;
    let ops = app.app.ops();
    let tenant = ops.store.tenants().await.unwrap().remove(0);
    let mine = seal(NIP, 0x71);
    let other = seal(NIP, 0x72);
    let (certificate, _) = input(&mine);
    let (_, other_key) = input(&other);

    let refusal = |e: ksef_gateway::ops::OpError| e.to_string();
    let mismatched =
        credentials::set_certificate(ops, &tenant.id, CertificateInput { certificate: Some(&certificate), key: &other_key, password: None }).await;
    let message = refusal(mismatched.unwrap_err());
    assert!(message.contains("does not belong to the certificate"), "{message}");

    let garbage = credentials::set_certificate(ops, &tenant.id, CertificateInput { certificate: Some(b"not a certificate"), key: b"nor a key", password: None }).await;
    assert!(!refusal(garbage.unwrap_err()).is_empty());

    // An encrypted key opened with the wrong password.
    let dir = tempfile::tempdir().unwrap();
    let (_, key_file) = write_files(dir.path(), "mine", &mine);
    let encrypted = dir.path().join("mine.enc.pem");
    let made = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-inform", "DER", "-v2", "aes-256-cbc", "-passout", "pass:dobre-haslo", "-in"])
        .arg(&key_file)
        .arg("-out")
        .arg(&encrypted)
        .status()
        .expect("openssl runs");
    assert!(made.success());
    let encrypted = std::fs::read(&encrypted).unwrap();
    let wrong = credentials::set_certificate(ops, &tenant.id, CertificateInput { certificate: Some(&certificate), key: &encrypted, password: Some("zle-haslo") }).await;
    let message = refusal(wrong.unwrap_err());
    assert!(message.to_lowercase().contains("password"), "{message}");

    // The tenant still logs in with its token and sends.
    assert_eq!(ops.store.tenant(&tenant.id).await.unwrap().unwrap().credential_id, None);
    send_online(&app, &app.api_key, NIP, "FV/STILL/1").await;

    // The right password works.
    let right = credentials::set_certificate(ops, &tenant.id, CertificateInput { certificate: Some(&certificate), key: &encrypted, password: Some("dobre-haslo") }).await;
    assert_eq!(right.unwrap().kind, ksef_store::CredentialKind::Certificate);
    send_online(&app, &app.api_key, NIP, "FV/CERT/2").await;
}

#[tokio::test]
async fn a_tenant_enrolled_from_the_command_line_sends_with_its_ksef_certificate() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (certificate, key) = write_files(files.path(), "seal", &seal(NIP, 0x81));
    let (certificate, key) = (certificate.to_str().unwrap(), key.to_str().unwrap());

    let (code, out, err) = run_binary(&["tenant", "add", "--data-dir", dir, "--nip", NIP, "--name", "Pieczęć", "--certificate", certificate, "--key", key]).await;
    assert_eq!(code, 0, "{out}{err}");
    let tenant = out.lines().find_map(|l| l.strip_prefix("tenant ")).and_then(|l| l.split_whitespace().next()).unwrap().to_owned();
    let api_key = out.lines().find_map(|l| l.strip_prefix("API key (shown once): ")).unwrap().to_owned();

    let (code, out, err) = run_binary(&["tenant", "enroll", "--data-dir", dir, "--tenant", &tenant]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("KSeF certificate") && out.contains("Offline certificate"), "{out}");

    let (code, out, err) = run_binary(&["tenant", "list", "--data-dir", dir]).await;
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.starts_with(&tenant)).unwrap();
    assert!(line.contains("certificate") && line.contains("KSeF certificate") && line.contains("expires"), "{line}");

    // A wrong key is refused by the command with its reason, and exits non-zero.
    let other = write_files(files.path(), "other", &seal(NIP, 0x82));
    let (code, _, err) =
        run_binary(&["tenant", "set-certificate", "--data-dir", dir, "--tenant", &tenant, "--certificate", certificate, "--key", other.1.to_str().unwrap()]).await;
    assert_ne!(code, 0);
    assert!(err.contains("key"), "{err}");

    // The gateway on that data directory logs the tenant in with its enrolled certificate.
    let settings = crate::helpers::settings(data.path(), None, Default::default());
    let mut app = crate::helpers::spawn_with(settings, data, None).await;
    app.api_key = api_key.clone();
    send_online(&app, &api_key, NIP, "FV/ENROLLED/1").await;
    let metrics = app.http.get(format!("http://{}/metrics", app.app.address())).send().await.unwrap().text().await.unwrap();
    let gauge = metrics
        .lines()
        .find(|l| l.starts_with("ksef_gateway_credential_expiry_seconds") && l.contains(&tenant))
        .unwrap_or_else(|| panic!("no expiry gauge for {tenant}: {metrics}"));
    let seconds: f64 = gauge.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(seconds > 86_400.0, "{gauge}");
}

#[tokio::test]
async fn the_operator_sets_a_tenants_certificate_through_the_admin_api_and_the_tenant_sends_with_it() {
    let app = spawn_app().await;
    let operator = app.app.operator_key().unwrap().expose().to_owned();
    let (certificate, key) = input(&seal(NIP, 0x61));
    let pem = |label: &str, der: &[u8]| {
        let body = ksef_core::crypto::b64(der);
        let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
    };
    let demo = app.app.ops().store.tenant_by_api_key(&ksef_gateway::ops::tenants::api_key_hash(&app.api_key)).await.unwrap().unwrap();
    let url = format!("{}/admin/tenants/{}/credential", app.base, demo.id);

    let bad = app.http.put(&url).bearer_auth(&operator).json(&serde_json::json!({ "certificate": { "certificate": pem("CERTIFICATE", &certificate), "key": "AAAA" } })).send().await.unwrap();
    let (status, _, body) = TestApp::error(bad).await;
    assert_eq!(status, 400, "a key that is not the certificate's: {body}");

    let body = serde_json::json!({ "certificate": { "certificate": pem("CERTIFICATE", &certificate), "key": pem("PRIVATE KEY", &key) } });
    let set = app.http.put(&url).bearer_auth(&operator).json(&body).send().await.unwrap();
    assert_eq!(set.status(), 200);
    let tenant: Value = set.json().await.unwrap();
    assert_eq!(tenant["credential"]["kind"], "certificate", "{tenant}");
    assert!(tenant["credential"]["expires"].is_string(), "its expiry is shown: {tenant}");
    assert!(!tenant.to_string().contains("PRIVATE"), "never the key");

    send_online(&app, &app.api_key, NIP, "FV/ADMIN-CERT/1").await;
    let audit: Value = app.http.get(format!("{}/admin/audit", app.base)).bearer_auth(&operator).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["entries"][0]["action"], "tenant.set_certificate", "{audit}");
}
