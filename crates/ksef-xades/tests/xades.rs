//! XAdES signing and verification, against ourselves and against independent implementations: xmlsec1
//! (libxmlsec1 with OpenSSL) verifies what we sign and signs what we verify, and OpenSSL reads our requests and
//! certificates. Tools that are absent skip their test with a message, except under `CI=true`.

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use ksef_core::crypto::b64;
use ksef_core::keys::{PrivateKey, pem_encode as pem};
use ksef_wire::{ContextIdentifier, ContextIdentifierType};
use ksef_xades::x509::{self, attribute};
use ksef_xades::{AuthTokenRequest, Credential, Identity, SubjectIdentifierType, VerifyError, oid, sign, verify};

fn request(nip: &str) -> AuthTokenRequest {
    AuthTokenRequest {
        challenge: "20251118-CR-1A2B3C4D5E-6F7A8B9C0D-AB".to_owned(),
        context: ContextIdentifier { kind: ContextIdentifierType::Nip, value: nip.to_owned() },
        subject_identifier_type: SubjectIdentifierType::CertificateSubject,
        allowed_ips: None,
    }
}

/// A self-signed seal of `nip` with a fresh key.
fn seal(nip: &str, rsa: bool) -> Credential {
    let key = if rsa { PrivateKey::generate_rsa_2048().unwrap() } else { PrivateKey::generate_p256().unwrap() };
    let subject = [
        attribute(oid::ORGANIZATION, "Firma Testowa"),
        attribute(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{nip}")),
        attribute(oid::COMMON_NAME, "Firma Testowa"),
        attribute(oid::COUNTRY, "PL"),
    ];
    let certificate = x509::self_signed(&subject, &key, &[0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF], 30).unwrap();
    Credential::new(certificate, key).unwrap()
}

fn tool(name: &str) -> bool {
    let present = Command::new(name).arg("--version").output().is_ok();
    if !present {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} is required under CI=true");
        eprintln!("skipping: {name} is not installed");
    }
    present
}

#[test]
fn a_signed_request_verifies_and_names_its_signer() {
    for rsa in [true, false] {
        let credential = seal("5265877635", rsa);
        let signed = sign(&request("5265877635").to_xml(), &credential, Utc::now()).unwrap();
        let verified = verify(signed.as_bytes()).unwrap();
        assert_eq!(verified.request, request("5265877635"));
        assert_eq!(verified.certificate.subject_identity(), Some(Identity::Nip("5265877635".to_owned())));
        assert_eq!(verified.certificate.fingerprint(), credential.certificate().fingerprint());
    }
}

#[test]
fn tampering_anywhere_signed_is_caught() {
    let credential = seal("5265877635", false);
    let signed = sign(&request("5265877635").to_xml(), &credential, Utc::now()).unwrap();
    let other_context = signed.replace("<Nip>5265877635</Nip>", "<Nip>1111111111</Nip>");
    assert!(matches!(verify(other_context.as_bytes()), Err(VerifyError::Signature(_))));
    let other_time = signed.replacen("<xades:SigningTime>2", "<xades:SigningTime>1", 1);
    assert!(matches!(verify(other_time.as_bytes()), Err(VerifyError::Signature(_))));
    let other_algorithm = signed.replace("xmldsig-more#ecdsa-sha256", "xmldsig-more#ecdsa-sha384");
    assert!(matches!(verify(other_algorithm.as_bytes()), Err(VerifyError::Signature(_))));
}

#[test]
fn malformed_signatures_get_the_error_ksef_gives() {
    let credential = seal("5265877635", false);
    let unsigned = request("5265877635").to_xml();
    assert_eq!(verify(unsigned.as_bytes()).unwrap_err(), VerifyError::NoSignature);
    let signed = sign(&unsigned, &credential, Utc::now()).unwrap();
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let twice = format!("{}{}{}", &signed[..end], &signed[start..end], &signed[end..]);
    assert_eq!(verify(twice.as_bytes()).unwrap_err(), VerifyError::TooManySignatures);
    let without_properties = signed.replace("xades:SignedProperties", "xades:OtherProperties");
    assert!(matches!(verify(without_properties.as_bytes()), Err(VerifyError::Document(_))));
    // A detached signature: the Signature alone, its document reference pointing elsewhere.
    let detached = signed[start..end].replacen("URI=\"\"", "URI=\"https://example.com/request.xml\"", 1);
    assert!(matches!(verify(detached.as_bytes()), Err(VerifyError::Document(_) | VerifyError::Schema(_))));
    // Another certificate in KeyInfo than SigningCertificate names.
    let stranger = seal("1111111111", false);
    let swapped = signed.replace(&b64(credential.certificate().der()), &b64(stranger.certificate().der()));
    assert!(matches!(verify(swapped.as_bytes()), Err(VerifyError::Certificate(_))));
    let bad_schema = sign(&unsigned.replace("certificateSubject", "certificateName"), &credential, Utc::now()).unwrap();
    assert!(matches!(verify(bad_schema.as_bytes()), Err(VerifyError::Schema(_))));
    assert!(matches!(verify(b"<a>"), Err(VerifyError::Unreadable(_))));
    assert_eq!(verify(&[0xFF, 0xFE, 0x00]).unwrap_err(), VerifyError::Encoding);
    let dtd = "<!DOCTYPE a [<!ENTITY x \"y\">]><AuthTokenRequest>&x;</AuthTokenRequest>";
    assert!(matches!(verify(dtd.as_bytes()), Err(VerifyError::Unreadable(_))));
}

#[test]
fn xmlsec1_verifies_what_we_sign() {
    if !tool("xmlsec1") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for rsa in [true, false] {
        let credential = seal("5265877635", rsa);
        let signed = sign(&request("5265877635").to_xml(), &credential, Utc::now()).unwrap();
        let (xml, cert) = (dir.path().join("signed.xml"), dir.path().join("cert.pem"));
        std::fs::write(&xml, &signed).unwrap();
        std::fs::write(&cert, pem("CERTIFICATE", credential.certificate().der())).unwrap();
        let run = |file: &Path| {
            Command::new("xmlsec1")
                .args(["--verify", "--id-attr:Id", "SignedProperties", "--trusted-pem"])
                .arg(&cert)
                .arg(file)
                .output()
                .unwrap()
        };
        let out = run(&xml);
        assert!(out.status.success(), "rsa={rsa}: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&xml, signed.replace("<Nip>5265877635</Nip>", "<Nip>1111111111</Nip>")).unwrap();
        assert!(!run(&xml).status.success(), "xmlsec1 must refuse a tampered document");
    }
}

/// The layout of the official C# client: an unprefixed signature in the dsig default namespace, SignedInfo
/// canonicalized by inclusive C14N 1.0 (so the root's `xmlns:xsi`/`xmlns:xsd` are part of it), references
/// with exclusive C14N, `SigningCertificate` (v1) with the issuer and the decimal serial.
fn csharp_layout_template(credential: &Credential) -> String {
    let certificate = credential.certificate();
    let digest = b64(&ksef_xades::algorithms::Digest::Sha256.digest(certificate.der()));
    let method = match credential.key() {
        PrivateKey::Rsa(_) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        PrivateKey::EcP256(_) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    };
    format!(
        r##"<?xml version="1.0" encoding="utf-8"?>
<AuthTokenRequest xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="http://ksef.mf.gov.pl/auth/token/2.0">
  <Challenge>20251118-CR-1A2B3C4D5E-6F7A8B9C0D-AB</Challenge>
  <ContextIdentifier>
    <Nip>5265877635</Nip>
  </ContextIdentifier>
  <SubjectIdentifierType>certificateSubject</SubjectIdentifierType>
<Signature Id="Signature" xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315" /><SignatureMethod Algorithm="{method}" /><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature" /><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" /></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256" /><DigestValue /></Reference><Reference URI="#SignedProperties" Type="http://uri.etsi.org/01903#SignedProperties"><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" /></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256" /><DigestValue /></Reference></SignedInfo><SignatureValue /><KeyInfo><X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo><Object><xades:QualifyingProperties Target="#Signature" xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" xmlns="http://www.w3.org/2000/09/xmldsig#"><xades:SignedProperties Id="SignedProperties"><xades:SignedSignatureProperties><xades:SigningTime>{time}</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256" /><DigestValue>{digest}</DigestValue></xades:CertDigest><xades:IssuerSerial><X509IssuerName>{issuer}</X509IssuerName><X509SerialNumber>{serial}</X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></Object></Signature></AuthTokenRequest>"##,
        cert = b64(certificate.der()),
        time = (Utc::now() - chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%S%.6f+00:00"),
        issuer = certificate.issuer_text(),
        serial = certificate.serial_decimal(),
    )
}

#[test]
fn we_verify_what_xmlsec1_signs_in_the_official_csharp_clients_layout() {
    if !tool("xmlsec1") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for rsa in [true, false] {
        let credential = seal("5265877635", rsa);
        let (template, key, cert) = (dir.path().join("template.xml"), dir.path().join("key.pem"), dir.path().join("cert.pem"));
        std::fs::write(&template, csharp_layout_template(&credential)).unwrap();
        std::fs::write(&key, pem("PRIVATE KEY", &credential.key_pkcs8().unwrap())).unwrap();
        std::fs::write(&cert, pem("CERTIFICATE", credential.certificate().der())).unwrap();
        let out = Command::new("xmlsec1")
            .args(["--sign", "--id-attr:Id", "SignedProperties", "--privkey-pem"])
            .arg(format!("{},{}", key.display(), cert.display()))
            .arg(&template)
            .output()
            .unwrap();
        assert!(out.status.success(), "xmlsec1 --sign failed: {}", String::from_utf8_lossy(&out.stderr));
        let verified = verify(&out.stdout).unwrap_or_else(|e| panic!("rsa={rsa}: {e}\n{}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(verified.request.context.value, "5265877635");
        let tampered = String::from_utf8(out.stdout).unwrap().replace("<Nip>5265877635</Nip>", "<Nip>1111111111</Nip>");
        assert!(matches!(verify(tampered.as_bytes()), Err(VerifyError::Signature(_))));
    }
}

#[test]
fn openssl_reads_our_certificate_requests_and_we_read_its_own() {
    if !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let subject = [attribute(oid::COMMON_NAME, "Jan Kowalski"), attribute(oid::SERIAL_NUMBER, "TINPL-5265877635"), attribute(oid::COUNTRY, "PL")];
    for key in [PrivateKey::generate_p256().unwrap(), PrivateKey::generate_rsa_2048().unwrap()] {
        let csr = x509::certificate_request(&subject, &key).unwrap();
        let path = dir.path().join("ours.der");
        std::fs::write(&path, &csr).unwrap();
        let out = Command::new("openssl").args(["req", "-inform", "DER", "-noout", "-verify", "-in"]).arg(&path).output().unwrap();
        assert!(out.status.success(), "openssl req -verify: {}", String::from_utf8_lossy(&out.stderr));
        let read = x509::read_certificate_request(&csr).unwrap();
        assert_eq!(read.subject, subject);
        let mut tampered = csr.clone();
        let at = tampered.len() - 10;
        tampered[at] ^= 1;
        assert!(x509::read_certificate_request(&tampered).is_err());
    }
    // OpenSSL's own, RSA-PSS signed as the official C# client signs them.
    let (key, csr) = (dir.path().join("k.pem"), dir.path().join("theirs.der"));
    let out = Command::new("openssl")
        .args(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Firma/2.5.4.97=VATPL-5265877635/C=PL", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-outform", "DER", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = x509::read_certificate_request(&std::fs::read(&csr).unwrap()).unwrap();
    assert!(read.subject.iter().any(|a| a.oid == oid::ORGANIZATION_IDENTIFIER && a.value == "VATPL-5265877635"));
}

#[test]
fn openssl_verifies_a_certificate_our_authority_issued() {
    if !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca_key = PrivateKey::generate_rsa_2048().unwrap();
    let ca_spki = ca_key.public_spki_der().unwrap();
    let ca_name = x509::name(&[attribute(oid::COMMON_NAME, "KSeF emulator CA"), attribute(oid::COUNTRY, "PL")]);
    let now = Utc::now();
    let issue = |subject: &[u8], spki: &[u8], serial: &[u8], ca: bool, usage: ksef_xades::KeyUsage| x509::Issue {
        subject: subject.to_vec().leak(),
        spki: spki.to_vec().leak(),
        serial: serial.to_vec().leak(),
        not_before: now - chrono::Duration::minutes(5),
        not_after: now + chrono::Duration::days(365),
        key_usage: usage,
        ca,
    };
    let ca_usage = ksef_xades::KeyUsage { key_cert_sign: true, ..Default::default() };
    let ca = ksef_xades::Certificate::from_der(&x509::issue(&issue(&ca_name, &ca_spki, &[1], true, ca_usage), None, &ca_key).unwrap()).unwrap();
    let holder = PrivateKey::generate_p256().unwrap();
    let subject = x509::name(&[attribute(oid::COMMON_NAME, "Jan"), attribute(oid::SERIAL_NUMBER, "PNOPL-85121411111"), attribute(oid::GIVEN_NAME, "Jan")]);
    let usage = ksef_xades::KeyUsage { digital_signature: true, ..Default::default() };
    let issued = x509::issue(&issue(&subject, &holder.public_spki_der().unwrap(), &[0x0F; 8], false, usage), Some(&ca), &ca_key).unwrap();
    let issued = ksef_xades::Certificate::from_der(&issued).unwrap();
    assert!(issued.issued_by(&ca));
    assert_eq!(issued.serial_hex(), "0F0F0F0F0F0F0F0F");
    assert_eq!(issued.subject_identity(), Some(Identity::Pesel("85121411111".to_owned())));
    assert_eq!(issued.key_usage().map(|u| (u.digital_signature, u.non_repudiation)), Some((true, false)));
    let (ca_path, cert_path) = (dir.path().join("ca.pem"), dir.path().join("cert.pem"));
    std::fs::write(&ca_path, pem("CERTIFICATE", ca.der())).unwrap();
    std::fs::write(&cert_path, pem("CERTIFICATE", issued.der())).unwrap();
    let out = Command::new("openssl").arg("verify").arg("-CAfile").arg(&ca_path).arg(&cert_path).output().unwrap();
    assert!(out.status.success(), "openssl verify: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn keys_load_from_every_form_and_wrong_passwords_are_named() {
    if !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let credential = seal("5265877635", true);
    let (key, cert, encrypted, p12) =
        (dir.path().join("k.pem"), dir.path().join("c.pem"), dir.path().join("enc.pem"), dir.path().join("c.p12"));
    std::fs::write(&key, pem("PRIVATE KEY", &credential.key_pkcs8().unwrap())).unwrap();
    std::fs::write(&cert, pem("CERTIFICATE", credential.certificate().der())).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", key.to_str().unwrap(), "-out", encrypted.to_str().unwrap(), "-passout", "pass:sekret"]);
    run(&["pkcs12", "-export", "-in", cert.to_str().unwrap(), "-inkey", key.to_str().unwrap(), "-out", p12.to_str().unwrap(), "-passout", "pass:sekret"]);
    let cert_bytes = std::fs::read(&cert).unwrap();
    let fingerprint = credential.certificate().fingerprint();
    let plain = Credential::load(Some(&cert_bytes), &std::fs::read(&key).unwrap(), None).unwrap();
    assert_eq!(plain.certificate().fingerprint(), fingerprint);
    let enc = std::fs::read(&encrypted).unwrap();
    assert_eq!(Credential::load(Some(&cert_bytes), &enc, Some("sekret")).unwrap().certificate().fingerprint(), fingerprint);
    assert_eq!(Credential::load(Some(&cert_bytes), &enc, None).unwrap_err(), ksef_xades::CredentialError::PasswordNeeded);
    assert!(matches!(Credential::load(Some(&cert_bytes), &enc, Some("wrong")), Err(ksef_xades::CredentialError::WrongPassword(_))));
    let pfx = std::fs::read(&p12).unwrap();
    assert_eq!(Credential::load(None, &pfx, Some("sekret")).unwrap().certificate().fingerprint(), fingerprint);
    let wrong = Credential::load(None, &pfx, Some("wrong")).unwrap_err();
    assert!(matches!(wrong, ksef_xades::CredentialError::WrongPassword(_)), "{wrong}");
    assert!(!wrong.to_string().contains("wrong"), "the password never appears in errors");
    let other = seal("1111111111", true);
    let mismatch = Credential::load(Some(&cert_bytes), &pem("PRIVATE KEY", &other.key_pkcs8().unwrap()).into_bytes(), None);
    assert_eq!(mismatch.unwrap_err(), ksef_xades::CredentialError::Mismatch);
}

/// Python `signxml`'s XAdES signer, used as the Python SDK `ksef2` uses it: enveloped, C14N 1.1 for SignedInfo,
/// a third reference signing KeyInfo, `SigningCertificateV2`, ECDSA as `r‖s`.
const SIGNXML: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.xades.xades import XAdESSigner
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
method = SignatureMethod.RSA_SHA256 if sys.argv[4] == "rsa" else SignatureMethod.ECDSA_SHA256
signer = XAdESSigner(method=SignatureConstructionMethod.enveloped, signature_algorithm=method, digest_algorithm=DigestAlgorithm.SHA256)
root = etree.fromstring(open(sys.argv[3], "rb").read())
sys.stdout.buffer.write(etree.tostring(signer.sign(data=root, key=key, cert=[cert]), xml_declaration=True, encoding="UTF-8"))
"#;

#[test]
fn we_verify_what_pythons_signxml_xades_signer_signs() {
    let available = Command::new("python3").args(["-c", "import signxml, lxml, cryptography"]).output().is_ok_and(|o| o.status.success());
    if !available {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "Python signxml is required under CI=true (pip install signxml)");
        eprintln!("skipping: Python signxml is not installed (pip install signxml)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for rsa in [true, false] {
        let credential = seal("5265877635", rsa);
        let (key, cert, unsigned) = (dir.path().join("k.pem"), dir.path().join("c.pem"), dir.path().join("request.xml"));
        std::fs::write(&key, pem("PRIVATE KEY", &credential.key_pkcs8().unwrap())).unwrap();
        std::fs::write(&cert, pem("CERTIFICATE", credential.certificate().der())).unwrap();
        std::fs::write(&unsigned, request("5265877635").to_xml()).unwrap();
        let out = Command::new("python3")
            .args(["-c", SIGNXML])
            .arg(&key)
            .arg(&cert)
            .arg(&unsigned)
            .arg(if rsa { "rsa" } else { "ec" })
            .output()
            .unwrap();
        assert!(out.status.success(), "signxml failed: {}", String::from_utf8_lossy(&out.stderr));
        let verified = verify(&out.stdout).unwrap_or_else(|e| panic!("rsa={rsa}: {e}\n{}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(verified.certificate.fingerprint(), credential.certificate().fingerprint());
        let tampered = String::from_utf8(out.stdout).unwrap().replace("<Nip>5265877635</Nip>", "<Nip>1111111111</Nip>");
        assert!(matches!(verify(tampered.as_bytes()), Err(VerifyError::Signature(_))));
    }
}

/// Hostile shapes cost bounded work and give a short answer: every one is refused with the code KSeF gives,
/// and the messages neither repeat per element nor echo what the document supplied at length.
#[test]
fn hostile_requests_are_refused_briefly() {
    let seal = seal("5265877635", false);
    let good = sign(&request("5265877635").to_xml(), &seal, Utc::now()).unwrap();

    // Thousands of foreign children with a long namespace: one short list of findings.
    let namespace = format!("urn:{}", "x".repeat(50_000));
    let children = "<p:a/>".repeat(10_000);
    let flood = good.replacen("<AuthTokenRequest xmlns=", &format!("<AuthTokenRequest xmlns:p=\"{namespace}\" xmlns="), 1).replacen("</AuthTokenRequest>", &format!("{children}</AuthTokenRequest>"), 1);
    match verify(flood.as_bytes()) {
        Err(VerifyError::Schema(findings)) => {
            assert!(findings.len() <= 20, "{} findings", findings.len());
            assert!(findings.iter().all(|f| f.len() < 400), "{:?}", findings.iter().map(String::len).max());
        }
        other => panic!("expected a schema refusal, got {other:?}"),
    }

    // A PrefixList naming a prefix thousands of times, and a reference repeated: refused as signatures.
    let prefixes = format!("<ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"{}\"/>", (0..100).map(|i| format!("p{i}")).collect::<Vec<_>>().join(" "));
    let many_prefixes = good.replacen("<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:CanonicalizationMethod>", &format!("<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">{prefixes}</ds:CanonicalizationMethod>"), 1);
    assert_ne!(many_prefixes, good, "the canonicalization method is where the test expects it");
    assert!(matches!(verify(many_prefixes.as_bytes()), Err(VerifyError::Signature(_))));
    let start = good.find("<ds:Reference").unwrap();
    let end = good[start..].find("</ds:Reference>").unwrap() + start + "</ds:Reference>".len();
    let repeated = format!("{}{}{}", &good[..end], good[start..end].repeat(10), &good[end..]);
    assert!(matches!(verify(repeated.as_bytes()), Err(VerifyError::Signature(m)) if m.contains("references")));

    // Past the size a login can have: unreadable, before any tree is built.
    let padded = good.replacen("</AuthTokenRequest>", &format!("<!--{}--></AuthTokenRequest>", "x".repeat(ksef_xades::MAX_SIGNED_REQUEST_BYTES)), 1);
    assert!(matches!(verify(padded.as_bytes()), Err(VerifyError::Unreadable(_))));
}
