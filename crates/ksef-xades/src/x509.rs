//! Writing X.509: certificate requests (PKCS#10) as KSeF's enrollment takes them, reading them back with their
//! signature checked, and issuing certificates (the emulator's certification authority, and self-signed test
//! certificates like those KSeF's TEST environment accepts).

use chrono::{DateTime, Utc};
use ksef_core::der::{self, BIT_STRING, CONTEXT_0, INTEGER, SEQUENCE, write};
use ksef_core::keys::{PrivateKey, Scheme};

use crate::algorithms::{PublicKeyKind, Signature};
use crate::cert::{Attribute, Certificate, KeyUsage, oid};

/// Why a request could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum X509Error {
    /// Not a well-formed PKCS#10 request.
    #[error("not a certificate request: {0}")]
    Malformed(String),
    /// Its signature does not verify with its own key.
    #[error("the request's signature does not verify")]
    BadSignature,
    /// Signed by an algorithm not accepted.
    #[error("the request is signed by an algorithm KSeF does not accept")]
    Algorithm,
    /// The key could not sign.
    #[error("signing failed: {0}")]
    Key(String),
}

impl From<der::DerError> for X509Error {
    fn from(err: der::DerError) -> Self {
        X509Error::Malformed(err.to_string())
    }
}

/// A DER `Name` with one attribute per relative distinguished name, in the order given. Country and serial
/// numbers are PrintableString, everything else UTF8String.
pub fn name(attributes: &[Attribute]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = attributes
        .iter()
        .map(|a| {
            let tag = if a.oid == oid::COUNTRY || a.oid == oid::SERIAL_NUMBER { der::PRINTABLE_STRING } else { der::UTF8_STRING };
            let atv = write::sequence(&[&write::oid(&a.oid), &write::tlv(tag, a.value.as_bytes())]);
            write::set(&[&atv])
        })
        .collect();
    let parts: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
    write::sequence(&parts)
}

/// The `AlgorithmIdentifier` and signing scheme for `key` (SHA-256 with RSA PKCS#1, or ECDSA), and the DER
/// signature of `message`.
fn sign(key: &PrivateKey, message: &[u8]) -> Result<(Vec<u8>, Vec<u8>), X509Error> {
    let (algorithm, scheme) = match key {
        PrivateKey::Rsa(_) => (write::sequence(&[&write::oid("1.2.840.113549.1.1.11"), &write::tlv(der::NULL, &[])]), Scheme::RsaPkcs1Sha256),
        PrivateKey::EcP256(_) => (write::sequence(&[&write::oid("1.2.840.10045.4.3.2")]), Scheme::EcdsaSha256Der),
    };
    let signature = key.sign(scheme, message).map_err(|e| X509Error::Key(e.to_string()))?;
    Ok((algorithm, signature))
}

/// A PKCS#10 request for `subject`, signed by `key`, DER.
pub fn certificate_request(subject: &[Attribute], key: &PrivateKey) -> Result<Vec<u8>, X509Error> {
    let spki = key.public_spki_der().map_err(|e| X509Error::Key(e.to_string()))?;
    let info = write::sequence(&[&write::unsigned(&[0]), &name(subject), &spki, &write::tlv(CONTEXT_0, &[])]);
    let (algorithm, signature) = sign(key, &info)?;
    Ok(write::sequence(&[&info, &algorithm, &write::bit_string(&signature)]))
}

/// A certificate request as read, its signature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The requested subject's attributes.
    pub subject: Vec<Attribute>,
    /// The DER `Name` requested.
    pub subject_der: Vec<u8>,
    /// The key to certify, DER `SubjectPublicKeyInfo`.
    pub spki: Vec<u8>,
    /// Its kind and size.
    pub key_kind: PublicKeyKind,
}

/// Reads a DER PKCS#10 request and checks that its own key signed it.
pub fn read_certificate_request(bytes: &[u8]) -> Result<CertificateRequest, X509Error> {
    let (request, trailing) = der::expect(bytes, SEQUENCE, "CertificationRequest is not a SEQUENCE")?;
    if !trailing.is_empty() {
        return Err(X509Error::Malformed("trailing bytes after the request".into()));
    }
    let (info, rest) = der::expect(request.content, SEQUENCE, "CertificationRequestInfo is not a SEQUENCE")?;
    let (algorithm, rest) = der::expect(rest, SEQUENCE, "signatureAlgorithm is not a SEQUENCE")?;
    let (signature, _) = der::expect(rest, BIT_STRING, "signature is not a BIT STRING")?;
    let (_, fields) = der::expect(info.content, INTEGER, "version is not an INTEGER")?;
    let (subject, fields) = der::expect(fields, SEQUENCE, "subject is not a Name")?;
    let (spki, _) = der::expect(fields, SEQUENCE, "subjectPKInfo is not a SEQUENCE")?;
    let method = Signature::from_algorithm_identifier(algorithm.whole).ok_or(X509Error::Algorithm)?;
    if !method.verify(spki.whole, info.whole, signature.content.get(1..).unwrap_or_default(), false) {
        return Err(X509Error::BadSignature);
    }
    let subject_attributes =
        der::name_attributes(subject.content)?.into_iter().map(|(oid, value)| Attribute { oid, value }).collect();
    Ok(CertificateRequest {
        subject: subject_attributes,
        subject_der: subject.whole.to_vec(),
        spki: spki.whole.to_vec(),
        key_kind: PublicKeyKind::of(spki.whole),
    })
}

/// What a certificate is issued for.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    /// The subject's DER `Name`.
    pub subject: &'a [u8],
    /// The certified key, DER `SubjectPublicKeyInfo`.
    pub spki: &'a [u8],
    /// The serial number (big-endian; KSeF's are 8 bytes, 16 hex characters).
    pub serial: &'a [u8],
    /// Valid from.
    pub not_before: DateTime<Utc>,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// Its key usage.
    pub key_usage: KeyUsage,
    /// A certification authority's certificate.
    pub ca: bool,
}

/// Issues a certificate signed by `issuer_key`, whose certificate names the issuer (`None`: self-signed, the
/// subject names itself). DER.
pub fn issue(issue: &Issue<'_>, issuer: Option<&Certificate>, issuer_key: &PrivateKey) -> Result<Vec<u8>, X509Error> {
    let algorithm = match issuer_key {
        PrivateKey::Rsa(_) => write::sequence(&[&write::oid("1.2.840.113549.1.1.11"), &write::tlv(der::NULL, &[])]),
        PrivateKey::EcP256(_) => write::sequence(&[&write::oid("1.2.840.10045.4.3.2")]),
    };
    let issuer_name = issuer.map_or(issue.subject, Certificate::subject_der);
    let usage = issue.key_usage;
    let mut bits: u8 = 0;
    if usage.digital_signature {
        bits |= 0x80;
    }
    if usage.non_repudiation {
        bits |= 0x40;
    }
    if usage.key_cert_sign {
        bits |= 0x04 | 0x02; // keyCertSign and cRLSign
    }
    let unused = if bits == 0 { 0 } else { bits.trailing_zeros() as u8 };
    let key_usage = write::tlv(BIT_STRING, &[unused, bits]);
    let key_usage_ext = write::sequence(&[&write::oid("2.5.29.15"), &write::tlv(der::BOOLEAN, &[0xFF]), &write::tlv(der::OCTET_STRING, &key_usage)]);
    let constraints = if issue.ca { write::sequence(&[&write::tlv(der::BOOLEAN, &[0xFF])]) } else { write::sequence(&[]) };
    let constraints_ext = write::sequence(&[&write::oid("2.5.29.19"), &write::tlv(der::BOOLEAN, &[0xFF]), &write::tlv(der::OCTET_STRING, &constraints)]);
    let extensions = write::explicit(3, &write::sequence(&[&key_usage_ext, &constraints_ext]));
    let tbs = write::sequence(&[
        &write::explicit(0, &write::unsigned(&[2])),
        &write::unsigned(issue.serial),
        &algorithm,
        issuer_name,
        &write::sequence(&[&write::time(issue.not_before), &write::time(issue.not_after)]),
        issue.subject,
        issue.spki,
        &extensions,
    ]);
    let (algorithm, signature) = sign(issuer_key, &tbs)?;
    Ok(write::sequence(&[&tbs, &algorithm, &write::bit_string(&signature)]))
}

/// One attribute of a name.
pub fn attribute(oid: &str, value: &str) -> Attribute {
    Attribute { oid: oid.to_owned(), value: value.to_owned() }
}

/// A self-signed certificate for `subject` and `key`, valid from an hour ago for `days` days, usable to
/// authenticate (digital signature): what KSeF's TEST environment accepts in place of a qualified certificate.
pub fn self_signed(subject: &[Attribute], key: &PrivateKey, serial: &[u8], days: i64) -> Result<Certificate, X509Error> {
    let now = Utc::now();
    let spki = key.public_spki_der().map_err(|e| X509Error::Key(e.to_string()))?;
    let der = issue(
        &Issue {
            subject: &name(subject),
            spki: &spki,
            serial,
            not_before: now - chrono::Duration::hours(1),
            not_after: now + chrono::Duration::days(days),
            key_usage: KeyUsage { digital_signature: true, non_repudiation: true, key_cert_sign: false },
            ca: false,
        },
        None,
        key,
    )?;
    Certificate::from_der(&der).map_err(|e| X509Error::Malformed(e.to_string()))
}
