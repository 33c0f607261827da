//! Fuzzes XAdES verification (`ksef_xades::verify`) on mutated signed `AuthTokenRequest`s: it never panics,
//! and a mutant that still verifies carries exactly the request that was signed.

use std::time::Duration;

use chrono::Utc;
use ksef_core::keys::PrivateKey;
use ksef_fuzz::Target;
use ksef_wire::{ContextIdentifier, ContextIdentifierType};
use ksef_xades::x509::{self, attribute};
use ksef_xades::{AllowedIps, AuthTokenRequest, Credential, SubjectIdentifierType, oid, sign, verify};

const CHALLENGE: &str = "20251118-CR-1A2B3C4D5E-6F7A8B9C0D-AB";

/// A request with every kind of field, allowed addresses included (values of free length, unlike the challenge).
fn request() -> AuthTokenRequest {
    AuthTokenRequest {
        challenge: CHALLENGE.to_owned(),
        context: ContextIdentifier { kind: ContextIdentifierType::Nip, value: "5265877635".to_owned() },
        subject_identifier_type: SubjectIdentifierType::CertificateSubject,
        allowed_ips: Some(AllowedIps {
            addresses: vec!["10.0.0.15".to_owned()],
            ranges: vec!["10.0.0.1-10.0.0.200".to_owned()],
            masks: vec!["10.0.0.0/16".to_owned()],
        }),
    }
}

/// The request signed by a fresh self-signed seal, RSA or P-256.
fn signed(rsa: bool) -> String {
    let key = if rsa { PrivateKey::generate_rsa_2048().unwrap() } else { PrivateKey::generate_p256().unwrap() };
    let subject =
        [attribute(oid::ORGANIZATION_IDENTIFIER, "VATPL-5265877635"), attribute(oid::COMMON_NAME, "Fuzz"), attribute(oid::COUNTRY, "PL")];
    let certificate = x509::self_signed(&subject, &key, &[0x01, 0x02, 0x03], 30).unwrap();
    sign(&request().to_xml(), &Credential::new(certificate, key).unwrap(), Utc::now()).unwrap()
}

#[test]
fn a_mutated_signed_request_that_still_verifies_carries_the_request_that_was_signed() {
    let seeds: Vec<Vec<u8>> = [true, false].map(|rsa| signed(rsa).into_bytes()).to_vec();
    let target = Target { name: "xades", bound: Duration::from_secs(1), findings: env!("CARGO_TARGET_TMPDIR") };
    target.fuzz(&seeds, |input| {
        if let Ok(verified) = verify(input) {
            assert_eq!(verified.request, request(), "verified, yet not the request that was signed");
        }
    });
}

#[test]
fn changing_any_byte_of_the_signed_challenge_fails_verification() {
    for rsa in [true, false] {
        let signed = signed(rsa);
        let start = signed.find(CHALLENGE).unwrap();
        for i in start..start + CHALLENGE.len() {
            let mut bytes = signed.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            assert!(verify(&bytes).is_err(), "byte {} of the challenge changed, still verifies", i - start);
        }
    }
}

/// Found by this target: a comment inside a signed value leaves the canonical form, so the digest, unchanged,
/// while the request is read from the text before the comment only (`10.0.0.0/1`, where `10.0.0.0/16` was signed).
#[test]
fn a_comment_inside_a_signed_value_does_not_change_what_verifies() {
    let signed = signed(false).replace("<Ip4Mask>10.0.0.0/16<", "<Ip4Mask>10.0.0.0/1<!---->6<");
    if let Ok(verified) = verify(signed.as_bytes()) {
        assert_eq!(verified.request, request(), "verified, yet not the request that was signed");
    }
}
