//! Certificate logins (XAdES) against the emulator: a self-signed seal like those KSeF's TEST takes, KSeF
//! certificates enrolled and used, revocation, an accounting office's certificate in its clients' contexts,
//! persons linked to NIPs, and KSeF tokens made after a certificate login.

use std::sync::Arc;
use std::time::Duration;

use ksef_client::wire::credentials::{GenerateTokenRequest, KsefCertificateType, RevokeCertificateRequest, SubjectIdentifier, SubjectIdentifierType};
use ksef_client::wire::permissions::{PermissionType, PersonPermissionsGrantRequest, PersonSubjectDetails};
use ksef_client::wire::{ContextIdentifier, ContextIdentifierType, FormCode, TokenPermission};
use ksef_client::xades::{Credential, oid, x509};
use ksef_client::{ContextClient, Credentials, KsefClient, KsefError, Polling};
use ksef_core::keys::PrivateKey;

use crate::helpers::{NIP, harness, invoice};

const OFFICE: &str = "7010002137";
const CLIENT_B: &str = "1111111111";
const CLIENT_C: &str = "2222222222";

/// A self-signed company seal of `nip` (`organizationIdentifier` `VATPL-{nip}`).
fn seal(nip: &str) -> Arc<Credential> {
    let key = PrivateKey::generate_p256().unwrap();
    let subject = [
        x509::attribute(oid::ORGANIZATION, "Biuro Rachunkowe Test"),
        x509::attribute(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{nip}")),
        x509::attribute(oid::COMMON_NAME, "Biuro Rachunkowe Test"),
        x509::attribute(oid::COUNTRY, "PL"),
    ];
    let certificate = x509::self_signed(&subject, &key, &[0x42; 8], 30).unwrap();
    Arc::new(Credential::new(certificate, key).unwrap())
}

/// A self-signed personal certificate of `pesel` (`serialNumber` `PNOPL-{pesel}`).
fn person(pesel: &str) -> Arc<Credential> {
    let key = PrivateKey::generate_rsa_2048().unwrap();
    let subject = [
        x509::attribute(oid::GIVEN_NAME, "Anna"),
        x509::attribute(oid::SURNAME, "Nowak"),
        x509::attribute(oid::SERIAL_NUMBER, &format!("PNOPL-{pesel}")),
        x509::attribute(oid::COMMON_NAME, "Anna Nowak"),
        x509::attribute(oid::COUNTRY, "PL"),
    ];
    let certificate = x509::self_signed(&subject, &key, &[0x43; 8], 30).unwrap();
    Arc::new(Credential::new(certificate, key).unwrap())
}

fn nip_context(nip: &str) -> ContextIdentifier {
    ContextIdentifier { kind: ContextIdentifierType::Nip, value: nip.to_owned() }
}

fn polling() -> Polling {
    Polling { interval: Duration::from_millis(20), timeout: Duration::from_secs(20) }
}

fn client(base: &str, credentials: Credentials) -> ContextClient {
    ContextClient::new(KsefClient::new(base).unwrap(), credentials).with_polling(polling())
}

fn auth_status(err: KsefError) -> i32 {
    match err {
        KsefError::AuthenticationFailed { code, .. } => code,
        other => panic!("expected a failed authentication, got {other}"),
    }
}

#[tokio::test]
async fn a_self_signed_seal_logs_in_with_xades_and_sends_an_invoice() {
    let h = harness(|_| {}).await;
    let ctx = client(&h.server.base_url(), Credentials::certificate(nip_context(NIP), seal(NIP)));
    let session = ctx.open_online_session(FormCode::fa3()).await.unwrap();
    let sent = session.send(&ctx, &invoice(NIP, "FV/XADES/1")).await.unwrap();
    let status = session.wait_for_invoice(&ctx, &sent.reference_number).await.unwrap();
    assert_eq!(status.status.code, 200, "{:?}", status.status);
    assert_eq!(ctx.authentications(), 1);
    // Demanding a trusted chain refuses the self-signed certificate.
    let strict = client(&h.server.base_url(), Credentials::certificate(nip_context(NIP), seal(NIP)).verifying_chain());
    assert_eq!(auth_status(strict.access_token().await.unwrap_err()), 460);
}

#[tokio::test]
async fn an_enrolled_ksef_certificate_logs_in_until_it_is_revoked_and_an_offline_one_never_does() {
    let h = harness(|_| {}).await;
    let base = h.server.base_url();
    let first = client(&base, Credentials::certificate(nip_context(NIP), seal(NIP)));
    let authentication = Arc::new(first.enroll(KsefCertificateType::Authentication, "Certyfikat logowania").await.unwrap());
    let offline = Arc::new(first.enroll(KsefCertificateType::Offline, "Certyfikat offline").await.unwrap());
    assert_eq!(authentication.certificate().serial_hex().len(), 16);
    assert!(offline.certificate().key_usage().is_some_and(|u| u.non_repudiation && !u.digital_signature));

    let with_ksef_certificate = client(&base, Credentials::certificate(nip_context(NIP), authentication.clone()).verifying_chain());
    let session = with_ksef_certificate.open_online_session(FormCode::fa3()).await.unwrap();
    let sent = session.send(&with_ksef_certificate, &invoice(NIP, "FV/KSEF-CERT/1")).await.unwrap();
    assert_eq!(session.wait_for_invoice(&with_ksef_certificate, &sent.reference_number).await.unwrap().status.code, 200);

    let with_offline = client(&base, Credentials::certificate(nip_context(NIP), offline));
    let refused = with_offline.access_token().await.unwrap_err();
    assert_eq!(refused.exception_code(), Some(21115), "{refused}");

    let serial = authentication.certificate().serial_hex();
    first.revoke_certificate(&serial, &RevokeCertificateRequest::default()).await.unwrap();
    let after = client(&base, Credentials::certificate(nip_context(NIP), authentication));
    assert_eq!(auth_status(after.access_token().await.unwrap_err()), 460);
}

#[tokio::test]
async fn an_accounting_offices_certificate_serves_the_clients_that_granted_it_permissions_and_no_other() {
    let h = harness(|_| {}).await;
    let base = h.server.base_url();
    let office = seal(OFFICE);
    // Client B's owner grants the office (its NIP) invoice permissions; client C grants nothing.
    let owner_b = client(&base, Credentials::certificate(nip_context(CLIENT_B), seal(CLIENT_B)));
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
    let operation = owner_b.grant_person_permissions(&grant).await.unwrap();
    assert_eq!(owner_b.permission_operation(&operation.reference_number).await.unwrap().status.code, 200);

    let in_b = client(&base, Credentials::certificate(nip_context(CLIENT_B), office.clone()));
    let session = in_b.open_online_session(FormCode::fa3()).await.unwrap();
    let sent = session.send(&in_b, &invoice(CLIENT_B, "FV/BIURO/1")).await.unwrap();
    assert_eq!(session.wait_for_invoice(&in_b, &sent.reference_number).await.unwrap().status.code, 200);
    let in_c = client(&base, Credentials::certificate(nip_context(CLIENT_C), office));
    assert_eq!(auth_status(in_c.access_token().await.unwrap_err()), 415);
}

#[tokio::test]
async fn a_person_linked_to_a_nip_logs_in_as_its_owner_and_a_stranger_does_not() {
    let h = harness(|_| {}).await;
    let base = h.server.base_url();
    let http = reqwest::Client::new();
    let linked = http
        .post(format!("{base}/v2/testdata/person"))
        .json(&serde_json::json!({"nip": CLIENT_B, "pesel": "85121411111", "isBailiff": false, "description": "Właścicielka"}))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 200);
    let owner = client(&base, Credentials::certificate(nip_context(CLIENT_B), person("85121411111")));
    owner.access_token().await.unwrap();
    let stranger = client(&base, Credentials::certificate(nip_context(CLIENT_B), person("90010112345")));
    assert_eq!(auth_status(stranger.access_token().await.unwrap_err()), 415);
}

#[tokio::test]
async fn a_token_made_after_a_certificate_login_logs_in_until_it_is_revoked() {
    let h = harness(|_| {}).await;
    let base = h.server.base_url();
    let by_certificate = client(&base, Credentials::certificate(nip_context(NIP), seal(NIP)));
    let request = GenerateTokenRequest { permissions: vec![TokenPermission::InvoiceWrite, TokenPermission::InvoiceRead], description: "Token dla ERP".to_owned() };
    let made = by_certificate.generate_token(&request).await.unwrap();
    let by_token = client(&base, Credentials::nip(NIP, &made.token));
    by_token.access_token().await.unwrap();
    let status = by_certificate.token_status(&made.reference_number).await.unwrap();
    assert_eq!(status.requested_permissions, vec![TokenPermission::InvoiceRead, TokenPermission::InvoiceWrite]);
    by_certificate.revoke_token(&made.reference_number).await.unwrap();
    let again = client(&base, Credentials::nip(NIP, &made.token));
    assert_eq!(auth_status(again.access_token().await.unwrap_err()), 450);
    // A token may not carry what its maker lacks.
    let too_much = GenerateTokenRequest { permissions: vec![TokenPermission::EnforcementOperations], description: "Za dużo uprawnień".to_owned() };
    assert_eq!(by_certificate.generate_token(&too_much).await.unwrap_err().exception_code(), Some(26001));
}
