//! Signing a document as KSeF takes it: an enveloped XAdES-BES signature, the last child of the root, with
//! exclusive canonicalization, SHA-256 digests, RSA PKCS#1 v1.5 or ECDSA P-256 (`r‖s`), and `SignedProperties`
//! holding `SigningTime` and `SigningCertificateV2` (the certificate's digest and its issuer and serial).
//!
//! The digests are computed by the same canonicalizer the verifier uses, over the document as it will be
//! sent, so signer and verifier cannot see different bytes.

use chrono::{DateTime, SecondsFormat, Utc};
use ksef_core::crypto::b64;
use ksef_core::der::write;
use ksef_core::keys::{PrivateKey, Scheme};
use ksef_core::xml::c14n::{self, Method, Options};

use crate::algorithms::{Digest, Signature};
use crate::credential::Credential;
use crate::{DSIG, XADES};

/// Why a document could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The document is not XML with a root element.
    #[error("the document to sign is not XML: {0}")]
    Document(String),
    /// The key failed to sign.
    #[error("signing failed: {0}")]
    Key(String),
}

const DOCUMENT_DIGEST: &str = "@@DOCUMENT-DIGEST@@";
const PROPERTIES_DIGEST: &str = "@@PROPERTIES-DIGEST@@";
const SIGNATURE_VALUE: &str = "@@SIGNATURE-VALUE@@";

/// Signs `document` (XML text whose root will hold the signature) with `credential`, dated `signing_time`.
pub fn sign(document: &str, credential: &Credential, signing_time: DateTime<Utc>) -> Result<String, SignError> {
    let doc_err = |e: &dyn std::fmt::Display| SignError::Document(e.to_string());
    let parsed = ksef_core::xml::parse(document).map_err(|e| doc_err(&e))?;
    let root = parsed.root_element();
    // The signature goes just before the root's end tag.
    let close = document[..root.range().end].rfind("</").ok_or_else(|| SignError::Document("the root element has no end tag".into()))?;
    let (scheme, method) = match credential.key() {
        PrivateKey::Rsa(_) => (Scheme::RsaPkcs1Sha256, Signature::RsaPkcs1(Digest::Sha256)),
        PrivateKey::EcP256(_) => (Scheme::EcdsaSha256Fixed, Signature::Ecdsa(Digest::Sha256)),
    };
    let signature = signature_element(credential, method, signing_time);
    let template = format!("{}{signature}{}", &document[..close], &document[close..]);

    let (document_digest, properties_digest) = {
        let doc = ksef_core::xml::parse(&template).map_err(|e| doc_err(&e))?;
        let signature = find(&doc, DSIG, "Signature")?;
        let whole = c14n::document(&doc, Method::Exclusive, &Options { exclude: vec![signature.id()], ..Options::default() });
        let properties = find(&doc, XADES, "SignedProperties")?;
        let properties = c14n::element(&doc, properties, Method::Exclusive, &Options::default());
        (b64(&Digest::Sha256.digest(whole.as_bytes())), b64(&Digest::Sha256.digest(properties.as_bytes())))
    };
    let digested = template.replacen(DOCUMENT_DIGEST, &document_digest, 1).replacen(PROPERTIES_DIGEST, &properties_digest, 1);
    let signature_value = {
        let doc = ksef_core::xml::parse(&digested).map_err(|e| doc_err(&e))?;
        let signed_info = find(&doc, DSIG, "SignedInfo")?;
        let canonical = c14n::element(&doc, signed_info, Method::Exclusive, &Options::default());
        b64(&credential.key().sign(scheme, canonical.as_bytes()).map_err(|e| SignError::Key(e.to_string()))?)
    };
    Ok(digested.replacen(SIGNATURE_VALUE, &signature_value, 1))
}

fn find<'a, 'i>(doc: &'a roxmltree::Document<'i>, namespace: &str, name: &str) -> Result<roxmltree::Node<'a, 'i>, SignError> {
    doc.descendants()
        .find(|n| n.has_tag_name((namespace, name)))
        .ok_or_else(|| SignError::Document(format!("the template lost its {name}")))
}

/// The `ds:Signature` element with placeholders for the digests and the signature value.
fn signature_element(credential: &Credential, method: Signature, signing_time: DateTime<Utc>) -> String {
    let certificate = credential.certificate();
    let exc = Method::Exclusive.uri();
    let sha256 = Digest::Sha256.uri();
    let cert_digest = b64(&Digest::Sha256.digest(certificate.der()));
    // IssuerSerialV2: DER `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }`, the issuer as a
    // directoryName ([4]).
    let issuer_der = issuer_name_der(certificate);
    let general_names = write::sequence(&[&write::explicit(4, &issuer_der)]);
    let serial = write::unsigned(&hex_bytes(&certificate.serial_hex()));
    let issuer_serial = b64(&write::sequence(&[&general_names, &serial]));
    let time = signing_time.to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        "<ds:Signature xmlns:ds=\"{DSIG}\" Id=\"Signature\">\
<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{exc}\"></ds:CanonicalizationMethod>\
<ds:SignatureMethod Algorithm=\"{method}\"></ds:SignatureMethod>\
<ds:Reference URI=\"\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>\
<ds:Transform Algorithm=\"{exc}\"></ds:Transform></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{sha256}\"></ds:DigestMethod><ds:DigestValue>{DOCUMENT_DIGEST}</ds:DigestValue></ds:Reference>\
<ds:Reference Type=\"http://uri.etsi.org/01903#SignedProperties\" URI=\"#SignedProperties\"><ds:Transforms>\
<ds:Transform Algorithm=\"{exc}\"></ds:Transform></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{sha256}\"></ds:DigestMethod><ds:DigestValue>{PROPERTIES_DIGEST}</ds:DigestValue></ds:Reference>\
</ds:SignedInfo>\
<ds:SignatureValue>{SIGNATURE_VALUE}</ds:SignatureValue>\
<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
<ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES}\" Target=\"#Signature\">\
<xades:SignedProperties Id=\"SignedProperties\"><xades:SignedSignatureProperties>\
<xades:SigningTime>{time}</xades:SigningTime>\
<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>\
<ds:DigestMethod Algorithm=\"{sha256}\"></ds:DigestMethod><ds:DigestValue>{cert_digest}</ds:DigestValue></xades:CertDigest>\
<xades:IssuerSerialV2>{issuer_serial}</xades:IssuerSerialV2></xades:Cert></xades:SigningCertificateV2>\
</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object>\
</ds:Signature>",
        method = method.uri(),
        certificate = b64(certificate.der()),
    )
}

/// The issuer's DER `Name`, taken from the certificate itself.
fn issuer_name_der(certificate: &crate::Certificate) -> Vec<u8> {
    certificate.issuer_der().to_vec()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}
