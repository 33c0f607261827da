//! XAdES logins spoken by hand: a signed `AuthTokenRequest` posted as XML, every refusal with KSeF's code
//! (unsigned, signed twice, altered, unreadable, DTDs, wrong encoding, off-schema, identity conflicts), and
//! the certificate's problems reported as status 460 after the 202; plus the emulator's test data and
//! limits, unknown routes, enums in any case and repeated query keys.

use std::time::Duration;

use ksef_core::keys::PrivateKey;
use ksef_wire::{ContextIdentifier, ContextIdentifierType};
use ksef_xades::{AuthTokenRequest, Credential, SubjectIdentifierType, oid, x509};
use serde_json::{Value, json};

use crate::helpers::{SELLER, TestEmulator, spawn};

/// A self-signed certificate naming `subject`, valid for `days`.
fn credential(subject: &[(&str, &str)], days: i64) -> Credential {
    let key = PrivateKey::generate_p256().unwrap();
    let subject: Vec<_> = subject.iter().map(|(oid, value)| x509::attribute(oid, value)).collect();
    Credential::new(x509::self_signed(&subject, &key, &[0x33; 8], days).unwrap(), key).unwrap()
}

fn seal(nip: &str) -> Credential {
    credential(&[(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{nip}")), (oid::COMMON_NAME, "Firma"), (oid::COUNTRY, "PL")], 30)
}

impl TestEmulator {
    /// A fresh challenge's text.
    async fn challenge(&self) -> String {
        let challenge: Value = self.post("/v2/auth/challenge", None, None).await.json().await.unwrap();
        challenge["challenge"].as_str().unwrap().to_owned()
    }

    /// An unsigned `AuthTokenRequest` for a fresh challenge.
    async fn request(&self, kind: ContextIdentifierType, value: &str, subject: SubjectIdentifierType) -> String {
        AuthTokenRequest {
            challenge: self.challenge().await,
            context: ContextIdentifier { kind, value: value.to_owned() },
            subject_identifier_type: subject,
            allowed_ips: None,
        }
        .to_xml()
    }

    async fn post_xades(&self, query: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/v2/auth/xades-signature{query}")))
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The status an accepted authentication (202) ends with.
    async fn auth_outcome(&self, response: reqwest::Response) -> Value {
        assert_eq!(response.status(), 202);
        let init: Value = response.json().await.unwrap();
        let token = init["authenticationToken"]["token"].as_str().unwrap();
        let path = format!("/v2/auth/{}", init["referenceNumber"].as_str().unwrap());
        for _ in 0..200 {
            let status: Value = self.get(&path, Some(token)).await.json().await.unwrap();
            if status["status"]["code"] != 100 {
                return json!({ "status": status, "token": token });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("authentication never ended");
    }
}

fn signed(document: &str, credential: &Credential) -> String {
    ksef_xades::sign(document, credential, chrono::Utc::now()).unwrap()
}

#[tokio::test]
async fn a_signed_request_logs_in_and_its_access_token_opens_a_session() {
    let emu = spawn().await;
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let outcome = emu.auth_outcome(emu.post_xades("", signed(&document, &seal(SELLER))).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 200, "{outcome}");
    assert_eq!(outcome["status"]["authenticationMethod"], "QualifiedSeal", "{outcome}");
    let redeemed = emu.post("/v2/auth/token/redeem", outcome["token"].as_str(), None).await;
    assert_eq!(redeemed.status(), 200);
    let access: Value = redeemed.json().await.unwrap();
    let access = access["accessToken"]["token"].as_str().unwrap();
    let session = emu.open_session(access).await;
    assert!(!session.reference.is_empty());
}

#[tokio::test]
async fn each_unacceptable_document_is_refused_with_its_own_code() {
    let emu = spawn().await;
    let seal = seal(SELLER);
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let good = signed(&document, &seal);
    let challenge = good.split("<Challenge>").nth(1).unwrap().split("</Challenge>").next().unwrap().to_owned();
    let other_challenge = emu.challenge().await;
    let with_dtd = good.replacen("<AuthTokenRequest", "<!DOCTYPE AuthTokenRequest [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<AuthTokenRequest", 1);
    let off_schema = signed(&document.replace("<SubjectIdentifierType>", "<Extra>1</Extra><SubjectIdentifierType>"), &seal);
    let object = good.find("<ds:Object>").unwrap()..good.find("</ds:Object>").unwrap() + "</ds:Object>".len();
    let without_signed_properties = format!("{}{}", &good[..object.start], &good[object.end..]);
    let detached = good.replacen("<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>", "", 1);
    let method = good.split("<ds:SignatureMethod Algorithm=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let md5 = good.replacen(&method, "http://www.w3.org/2001/04/xmldsig-more#rsa-md5", 1);
    let cases: Vec<(&str, Vec<u8>, i64)> = vec![
        ("without SignedProperties (not XAdES)", without_signed_properties.into_bytes(), 9101),
        ("detached (no enveloped transform)", detached.into_bytes(), 9105),
        ("an unsupported algorithm", md5.into_bytes(), 9105),
        ("unsigned", document.clone().into_bytes(), 9102),
        ("signed twice", signed(&good, &seal).into_bytes(), 9103),
        ("altered after signing", good.replace(&challenge, &other_challenge).into_bytes(), 9105),
        ("not XML", b"<AuthTokenRequest><Challenge>".to_vec(), 21001),
        ("a DTD with an external entity", with_dtd.into_bytes(), 21001),
        ("not UTF-8", [b"<?xml version=\"1.0\"?><AuthTokenRequest>\xff\xfe".as_slice(), b"</AuthTokenRequest>"].concat(), 21217),
        ("off the schema", off_schema.into_bytes(), 21401),
    ];
    for (why, body, code) in cases {
        let (status, got, body) = TestEmulator::error_code(emu.post_xades("", body).await).await;
        assert_eq!((status, got), (400, code), "{why}: {body}");
    }
    // None of them spent the challenge: the good document still logs in.
    let outcome = emu.auth_outcome(emu.post_xades("", good).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 200, "{outcome}");
}

#[tokio::test]
async fn identity_conflicts_are_refused_and_a_fingerprint_identifies_any_certificate() {
    let emu = spawn().await;
    let nameless = credential(&[(oid::COMMON_NAME, "Bez identyfikatora"), (oid::COUNTRY, "PL")], 30);
    let by_subject = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let (status, code, body) = TestEmulator::error_code(emu.post_xades("", signed(&by_subject, &nameless)).await).await;
    assert_eq!((status, code), (400, 21406), "{body}");
    // A seal's identifier on a certificate naming a person: the detail says which rule it breaks.
    let mixed = credential(&[(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{SELLER}")), (oid::GIVEN_NAME, "Jan"), (oid::SURNAME, "Nowak"), (oid::COMMON_NAME, "Jan Nowak")], 30);
    let by_subject = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let (status, code, body) = TestEmulator::error_code(emu.post_xades("", signed(&by_subject, &mixed)).await).await;
    assert_eq!((status, code), (400, 21406), "{body}");
    assert!(body.to_string().contains("givenName"), "{body}");

    let vat_ue = emu.request(ContextIdentifierType::NipVatUe, &format!("{SELLER}-DE123456789"), SubjectIdentifierType::CertificateSubject).await;
    let (status, code, body) = TestEmulator::error_code(emu.post_xades("", signed(&vat_ue, &seal(SELLER))).await).await;
    assert_eq!((status, code), (400, 21117), "{body}");

    // By fingerprint the certificate is accepted, and with no permissions in the context the login ends 415.
    let by_fingerprint = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateFingerprint).await;
    let outcome = emu.auth_outcome(emu.post_xades("", signed(&by_fingerprint, &nameless)).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 415, "{outcome}");
}

#[tokio::test]
async fn an_untrusted_chain_on_request_and_an_expired_certificate_end_with_status_460() {
    let emu = spawn().await;
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let outcome = emu.auth_outcome(emu.post_xades("?verifyCertificateChain=true", signed(&document, &seal(SELLER))).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 460, "{outcome}");

    let (status, code, _) = TestEmulator::error_code(emu.post_xades("?verifyCertificateChain=maybe", b"<x/>".to_vec()).await).await;
    assert_eq!((status, code), (400, 21405));

    let short = credential(&[(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{SELLER}")), (oid::COMMON_NAME, "Firma")], 1);
    emu.clock.advance(chrono::Duration::days(2));
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let outcome = emu.auth_outcome(emu.post_xades("", signed(&document, &short)).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 460, "{outcome}");
}

#[tokio::test]
async fn enrollment_refuses_token_logins_mismatched_names_and_malformed_requests_with_their_codes() {
    let emu = spawn().await;
    let by_token = emu.login(SELLER).await;
    let csr_body = |csr: &str| json!({ "certificateName": "Certyfikat testowy", "certificateType": "Authentication", "csr": csr });
    let (status, code, body) = TestEmulator::error_code(emu.get("/v2/certificates/enrollments/data", Some(&by_token)).await).await;
    assert_eq!((status, code), (400, 25001), "{body}");

    let seal = seal(SELLER);
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let outcome = emu.auth_outcome(emu.post_xades("", signed(&document, &seal)).await).await;
    let redeemed: Value = emu.post("/v2/auth/token/redeem", outcome["token"].as_str(), None).await.json().await.unwrap();
    let access = redeemed["accessToken"]["token"].as_str().unwrap().to_owned();
    let data: Value = emu.get("/v2/certificates/enrollments/data", Some(&access)).await.json().await.unwrap();
    assert_eq!(data["organizationIdentifier"], format!("VATPL-{SELLER}"), "{data}");

    let key = PrivateKey::generate_p256().unwrap();
    let stranger = x509::certificate_request(&[x509::attribute(oid::ORGANIZATION_IDENTIFIER, "VATPL-7010002137"), x509::attribute(oid::COMMON_NAME, "Obcy")], &key).unwrap();
    let cases = [
        ("a name not from the enrollment data", csr_body(&ksef_core::crypto::b64(&stranger)), 25003),
        ("not Base64", csr_body("***"), 25004),
        ("not a CSR", csr_body(&ksef_core::crypto::b64(b"garbage")), 25004),
    ];
    for (why, body, code) in cases {
        let (status, got, body) = TestEmulator::error_code(emu.post("/v2/certificates/enrollments", Some(&access), Some(&body)).await).await;
        assert_eq!((status, got), (400, code), "{why}: {body}");
    }
    let mut short_name = csr_body(&ksef_core::crypto::b64(&stranger));
    short_name["certificateName"] = json!("ab");
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/certificates/enrollments", Some(&access), Some(&short_name)).await).await;
    assert_eq!((status, code), (400, 21405));
    let (status, code, body) = TestEmulator::error_code(emu.post("/v2/certificates/enrollments", Some(&by_token), Some(&csr_body("AA=="))).await).await;
    assert_eq!((status, code), (400, 25002), "{body}");
}

#[tokio::test]
async fn test_data_links_a_person_to_a_nip_and_limits_are_published_and_adjustable() {
    let emu = spawn().await;
    for (nip, pesel, why) in [("3001234567", "85121411111", "a NIP off KSeF's pattern"), (SELLER, "89130986781", "month 13"), (SELLER, "8512141111", "ten digits")] {
        let body = json!({"nip": nip, "pesel": pesel, "isBailiff": false, "description": "Właściciel"});
        let (status, code, body) = TestEmulator::error_code(emu.post("/v2/testdata/person", None, Some(&body)).await).await;
        assert_eq!((status, code), (400, 21405), "{why}: {body}");
    }
    let linked = emu.post("/v2/testdata/person", None, Some(&json!({"nip": SELLER, "pesel": "85121411111", "isBailiff": false, "description": "Właściciel"}))).await;
    assert_eq!(linked.status(), 200);
    let person = credential(&[(oid::SERIAL_NUMBER, "PNOPL-85121411111"), (oid::COMMON_NAME, "Jan Kowalski"), (oid::GIVEN_NAME, "Jan"), (oid::SURNAME, "Kowalski")], 30);
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let outcome = emu.auth_outcome(emu.post_xades("", signed(&document, &person)).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 200, "{outcome}");
    assert_eq!(outcome["status"]["authenticationMethod"], "QualifiedSignature", "{outcome}");

    let access = emu.login(SELLER).await;
    let limits: Value = emu.get("/v2/limits/context", Some(&access)).await.json().await.unwrap();
    let online = limits["onlineSession"]["maxInvoices"].as_i64().unwrap();
    assert!(online > 0, "{limits}");
    let mut lowered = limits.clone();
    lowered["onlineSession"]["maxInvoices"] = json!(7);
    let without_collective = json!({ "onlineSession": lowered["onlineSession"], "batchSession": lowered["batchSession"] });
    let (status, code, _) = TestEmulator::error_code(emu.post("/v2/testdata/limits/context/session", Some(&access), Some(&without_collective)).await).await;
    assert_eq!((status, code), (400, 21405), "every part is required");
    let changed = emu.post("/v2/testdata/limits/context/session", Some(&access), Some(&lowered)).await;
    assert_eq!(changed.status(), 200, "{}", changed.text().await.unwrap());
    let limits: Value = emu.get("/v2/limits/context", Some(&access)).await.json().await.unwrap();
    assert_eq!(limits["onlineSession"]["maxInvoices"], 7, "{limits}");
    let reset = emu.http.delete(emu.url("/v2/testdata/limits/context/session")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    let limits: Value = emu.get("/v2/limits/context", Some(&access)).await.json().await.unwrap();
    assert_eq!(limits["onlineSession"]["maxInvoices"].as_i64(), Some(online), "{limits}");
}

#[tokio::test]
async fn unknown_routes_are_404_with_a_body_enums_read_in_any_case_and_query_keys_repeat() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let missing = emu.get("/v2/no/such/route", Some(&access)).await;
    assert_eq!(missing.status(), 404);
    assert!(!missing.text().await.unwrap().is_empty());

    let lower = emu.get("/v2/sessions?sessionType=online", Some(&access)).await;
    assert_eq!(lower.status(), 200, "{}", lower.text().await.unwrap());
    let session = emu.open_session(&access).await;
    let both = emu.get("/v2/sessions?sessionType=Online&statuses=InProgress&statuses=Succeeded", Some(&access)).await;
    assert_eq!(both.status(), 200);
    let body: Value = both.json().await.unwrap();
    let listed = body["sessions"].as_array().unwrap();
    assert!(listed.iter().any(|s| s["referenceNumber"] == session.reference.as_str()), "{body}");
    let none: Value = emu.get("/v2/sessions?sessionType=Online&statuses=Failed&statuses=Cancelled", Some(&access)).await.json().await.unwrap();
    assert!(none["sessions"].as_array().unwrap().iter().all(|s| s["referenceNumber"] != session.reference.as_str()), "{none}");
}

#[tokio::test]
async fn a_context_blocked_by_test_data_ends_token_and_certificate_logins_with_480_until_unblocked() {
    let emu = spawn().await;
    let token = emu.issue_token(SELLER).await;
    let block = json!({ "contextIdentifier": { "type": "Nip", "value": SELLER } });
    assert_eq!(emu.post("/v2/testdata/context/block", None, Some(&block)).await.status(), 200);

    let init = emu.start_auth(SELLER, &token).await;
    let operation = init["authenticationToken"]["token"].as_str().unwrap();
    let status: Value = emu.get(&format!("/v2/auth/{}", init["referenceNumber"].as_str().unwrap()), Some(operation)).await.json().await.unwrap();
    assert_eq!(status["status"]["code"], 480, "{status}");
    let document = emu.request(ContextIdentifierType::Nip, SELLER, SubjectIdentifierType::CertificateSubject).await;
    let outcome = emu.auth_outcome(emu.post_xades("", signed(&document, &seal(SELLER))).await).await;
    assert_eq!(outcome["status"]["status"]["code"], 480, "{outcome}");

    assert_eq!(emu.post("/v2/testdata/context/unblock", None, Some(&block)).await.status(), 200);
    assert_eq!(emu.login_tokens(SELLER, &token).await["accessToken"]["token"].as_str().map(str::is_empty), Some(false));
}

#[tokio::test]
async fn a_permission_operation_is_visible_only_in_its_own_context_and_wrong_methods_on_the_api_are_404() {
    let emu = spawn().await;
    let owner = emu.login(SELLER).await;
    let grant = json!({
        "subjectIdentifier": { "type": "Nip", "value": "7010002137" },
        "permissions": ["InvoiceRead"],
        "description": "Biuro rachunkowe",
        "subjectDetails": { "subjectDetailsType": "PersonByIdentifier", "personById": { "firstName": "Biuro", "lastName": "Rachunkowe" } }
    });
    let r = emu.post("/v2/permissions/persons/grants", Some(&owner), Some(&grant)).await;
    assert_eq!(r.status(), 202);
    let reference = r.json::<Value>().await.unwrap()["referenceNumber"].as_str().unwrap().to_owned();
    let mine: Value = emu.get(&format!("/v2/permissions/operations/{reference}"), Some(&owner)).await.json().await.unwrap();
    assert_eq!(mine["status"]["code"], 200, "{mine}");
    let stranger = emu.login("1111111111").await;
    let (status, code, _) = TestEmulator::error_code(emu.get(&format!("/v2/permissions/operations/{reference}"), Some(&stranger)).await).await;
    assert_eq!((status, code), (400, 21405), "another context's operation does not exist for it");

    for (method, path) in [(reqwest::Method::GET, "/emulator/v1/tokens"), (reqwest::Method::PATCH, "/v2/sessions")] {
        let r = emu.http.request(method.clone(), emu.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
}
