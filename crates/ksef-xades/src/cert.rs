//! X.509 certificates as KSeF reads them: subject and issuer attributes, serial, validity, public key, key
//! usage, fingerprint, the identity KSeF takes from the subject (a NIP or a PESEL), and whether an issuer
//! signed it.

use std::fmt;

use chrono::{DateTime, Utc};
use ksef_core::der::{self, BIT_STRING, CONTEXT_0, CONTEXT_3, INTEGER, OCTET_STRING, OID, SEQUENCE};
use regex::Regex;

use crate::algorithms::{PublicKeyKind, Signature};

/// Object identifiers of the subject attributes KSeF reads.
pub mod oid {
    /// `commonName`.
    pub const COMMON_NAME: &str = "2.5.4.3";
    /// `surname`.
    pub const SURNAME: &str = "2.5.4.4";
    /// `serialNumber`: `TINPL-`/`PNOPL-` identifiers of persons.
    pub const SERIAL_NUMBER: &str = "2.5.4.5";
    /// `countryName`.
    pub const COUNTRY: &str = "2.5.4.6";
    /// `organizationName`.
    pub const ORGANIZATION: &str = "2.5.4.10";
    /// `givenName`.
    pub const GIVEN_NAME: &str = "2.5.4.42";
    /// `x500UniqueIdentifier`.
    pub const UNIQUE_IDENTIFIER: &str = "2.5.4.45";
    /// `organizationIdentifier`: `VATPL-` identifiers of companies.
    pub const ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";
}

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a usable X.509 certificate: {0}")]
pub struct CertificateError(pub String);

impl From<der::DerError> for CertificateError {
    fn from(err: der::DerError) -> Self {
        CertificateError(err.to_string())
    }
}

/// One attribute of a distinguished name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its object identifier, dotted.
    pub oid: String,
    /// Its value as text.
    pub value: String,
}

/// The identity KSeF takes from a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A NIP (a company's seal, or a person's `TINPL-` identifier).
    Nip(String),
    /// A person's PESEL.
    Pesel(String),
    /// The certificate's SHA-256 fingerprint, upper-case hex.
    Fingerprint(String),
}

impl Identity {
    /// `Nip`, `Pesel` or `Fingerprint`, as KSeF names the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Nip(_) => "Nip",
            Identity::Pesel(_) => "Pesel",
            Identity::Fingerprint(_) => "Fingerprint",
        }
    }

    /// The identifier.
    pub fn value(&self) -> &str {
        match self {
            Identity::Nip(v) | Identity::Pesel(v) | Identity::Fingerprint(v) => v,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.value())
    }
}

/// The `keyUsage` bits KSeF looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyUsage {
    /// `digitalSignature`: the key may authenticate (a KSeF certificate of type Authentication).
    pub digital_signature: bool,
    /// `nonRepudiation`: the key signs content (a KSeF certificate of type Offline).
    pub non_repudiation: bool,
    /// `keyCertSign`: a certification authority's key.
    pub key_cert_sign: bool,
}

/// A parsed certificate; it keeps its DER.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    signature_algorithm: Option<Signature>,
    signature: Vec<u8>,
    serial: Vec<u8>,
    issuer_der: Vec<u8>,
    issuer: Vec<Attribute>,
    subject_der: Vec<u8>,
    subject: Vec<Attribute>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    spki: Vec<u8>,
    key_usage: Option<KeyUsage>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate").field("subject", &self.subject_text()).field("serial", &self.serial_hex()).finish()
    }
}

impl Certificate {
    /// Reads a DER certificate, or the first `CERTIFICATE` block of PEM text.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Certificate, CertificateError> {
        let der = ksef_core::keys::pem_or_der(bytes, "CERTIFICATE").map_err(|e| CertificateError(e.to_string()))?;
        Certificate::from_der(&der)
    }

    /// Reads a DER certificate.
    pub fn from_der(bytes: &[u8]) -> Result<Certificate, CertificateError> {
        let (cert, trailing) = der::expect(bytes, SEQUENCE, "certificate is not a SEQUENCE")?;
        if !trailing.is_empty() {
            return Err(CertificateError("trailing bytes after the certificate".into()));
        }
        let (tbs, rest) = der::expect(cert.content, SEQUENCE, "TBSCertificate is not a SEQUENCE")?;
        let (algorithm, rest) = der::expect(rest, SEQUENCE, "signatureAlgorithm is not a SEQUENCE")?;
        let (signature, _) = der::expect(rest, BIT_STRING, "signatureValue is not a BIT STRING")?;
        let tbs_start = tbs.whole.as_ptr() as usize - bytes.as_ptr() as usize;
        let mut fields = tbs.content;
        let (first, after) = der::read_tlv(fields)?;
        if first.tag == CONTEXT_0 {
            fields = after;
        }
        let (serial, fields) = der::expect(fields, INTEGER, "serialNumber is not an INTEGER")?;
        let (_, fields) = der::expect(fields, SEQUENCE, "signature is not a SEQUENCE")?;
        let (issuer, fields) = der::expect(fields, SEQUENCE, "issuer is not a SEQUENCE")?;
        let (validity, fields) = der::expect(fields, SEQUENCE, "validity is not a SEQUENCE")?;
        let (subject, fields) = der::expect(fields, SEQUENCE, "subject is not a SEQUENCE")?;
        let (spki, mut fields) = der::expect(fields, SEQUENCE, "subjectPublicKeyInfo is not a SEQUENCE")?;
        let mut key_usage = None;
        while !fields.is_empty() {
            let (field, rest) = der::read_tlv(fields)?;
            fields = rest;
            if field.tag == CONTEXT_3 {
                key_usage = read_key_usage(field.content)?;
            }
        }
        let times = der::elements(validity.content)?;
        let time = |i: usize| -> Result<DateTime<Utc>, CertificateError> {
            let t = times.get(i).ok_or_else(|| CertificateError("validity lacks a time".into()))?;
            std::str::from_utf8(t.content)
                .ok()
                .and_then(der::parse_time)
                .ok_or_else(|| CertificateError("validity has an unreadable time".into()))
        };
        Ok(Certificate {
            der: bytes.to_vec(),
            tbs: tbs_start..tbs_start + tbs.whole.len(),
            signature_algorithm: Signature::from_algorithm_identifier(algorithm.whole),
            signature: signature.content.get(1..).unwrap_or_default().to_vec(),
            serial: serial.content.to_vec(),
            issuer_der: issuer.whole.to_vec(),
            issuer: attributes(issuer.content)?,
            subject_der: subject.whole.to_vec(),
            subject: attributes(subject.content)?,
            not_before: time(0)?,
            not_after: time(1)?,
            spki: spki.whole.to_vec(),
            key_usage,
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject's attributes, in order.
    pub fn subject(&self) -> &[Attribute] {
        &self.subject
    }

    /// The issuer's attributes, in order.
    pub fn issuer(&self) -> &[Attribute] {
        &self.issuer
    }

    /// The DER `Name` of the subject (tag included).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The DER `Name` of the issuer (tag included).
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// The first value of a subject attribute.
    pub fn subject_value(&self, oid: &str) -> Option<&str> {
        self.subject.iter().find(|a| a.oid == oid).map(|a| a.value.as_str())
    }

    /// The subject as RFC 4514 text (most significant last), e.g. `CN=Jan,2.5.4.97=VATPL-5265877635,C=PL`.
    pub fn subject_text(&self) -> String {
        rfc4514(&self.subject)
    }

    /// The issuer as RFC 4514 text (for `X509IssuerName`).
    pub fn issuer_text(&self) -> String {
        rfc4514(&self.issuer)
    }

    /// The serial number as upper-case hex without leading zeros (KSeF's 16-character serials).
    pub fn serial_hex(&self) -> String {
        let bytes: Vec<u8> = self.serial.iter().copied().skip_while(|b| *b == 0).collect();
        if bytes.is_empty() { "00".to_owned() } else { bytes.iter().map(|b| format!("{b:02X}")).collect() }
    }

    /// The serial number in decimal (for `X509SerialNumber`).
    pub fn serial_decimal(&self) -> String {
        decimal(&self.serial)
    }

    /// Valid from.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    /// Valid until.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// Whether it is valid at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// The kind and size of the public key.
    pub fn key_kind(&self) -> PublicKeyKind {
        PublicKeyKind::of(&self.spki)
    }

    /// The `keyUsage` extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// SHA-256 of the DER, upper-case hex: KSeF's certificate fingerprint.
    pub fn fingerprint(&self) -> String {
        ksef_core::crypto::sha256(&self.der).iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Whether the issuer's name is the subject's (a self-signed or self-issued certificate).
    pub fn is_self_issued(&self) -> bool {
        self.issuer_der == self.subject_der
    }

    /// Whether `issuer` signed this certificate (its name and key).
    pub fn issued_by(&self, issuer: &Certificate) -> bool {
        self.issuer_der == issuer.subject_der && self.signed_with(&issuer.spki)
    }

    /// Whether the certificate's signature verifies with the key of `spki`.
    pub fn signed_with(&self, spki: &[u8]) -> bool {
        self.signature_algorithm.is_some_and(|alg| alg.verify(spki, &self.der[self.tbs.clone()], &self.signature, false))
    }

    /// The identity KSeF reads from the subject: a person's `serialNumber` (`PNOPL`/`PESEL` then 11 digits, or
    /// `TINPL`/`NIP` then 10 digits) when it names a person (given name or surname), a seal's
    /// `organizationIdentifier` (`VATPL` then 10 digits) otherwise; `None` when neither is there.
    pub fn subject_identity(&self) -> Option<Identity> {
        let person = self.subject_value(oid::GIVEN_NAME).is_some() || self.subject_value(oid::SURNAME).is_some();
        let from_serial = || self.subject_value(oid::SERIAL_NUMBER).and_then(person_identity);
        let from_organization = || self.subject_value(oid::ORGANIZATION_IDENTIFIER).and_then(seal_identity);
        if person { from_serial() } else { from_organization().or_else(from_serial) }
    }

    /// Whether the subject names a person (given name or surname), as a qualified signature's does.
    pub fn names_a_person(&self) -> bool {
        self.subject_value(oid::GIVEN_NAME).is_some() || self.subject_value(oid::SURNAME).is_some()
    }
}

fn person_identity(serial: &str) -> Option<Identity> {
    static PATTERNS: std::sync::OnceLock<(Regex, Regex)> = std::sync::OnceLock::new();
    let (pesel, nip) = PATTERNS.get_or_init(|| {
        (Regex::new(r"(PNOPL|PESEL).*?(\d{11})").expect("a valid pattern"), Regex::new(r"(TINPL|NIP).*?(\d{10})").expect("a valid pattern"))
    });
    if let Some(c) = pesel.captures(serial) {
        return Some(Identity::Pesel(c[2].to_owned()));
    }
    nip.captures(serial).map(|c| Identity::Nip(c[2].to_owned()))
}

fn seal_identity(identifier: &str) -> Option<Identity> {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let nip = PATTERN.get_or_init(|| Regex::new(r"VATPL.*?(\d{10})").expect("a valid pattern"));
    nip.captures(identifier).map(|c| Identity::Nip(c[1].to_owned()))
}

fn attributes(name_content: &[u8]) -> Result<Vec<Attribute>, CertificateError> {
    Ok(der::name_attributes(name_content)?.into_iter().map(|(oid, value)| Attribute { oid, value }).collect())
}

fn read_key_usage(extensions: &[u8]) -> Result<Option<KeyUsage>, CertificateError> {
    let (list, _) = der::expect(extensions, SEQUENCE, "extensions are not a SEQUENCE")?;
    for extension in der::elements(list.content)? {
        let (id, rest) = der::expect(extension.content, OID, "an extension's id is not an OBJECT IDENTIFIER")?;
        if der::oid_text(id.content)? != "2.5.29.15" {
            continue;
        }
        let (first, after) = der::read_tlv(rest)?;
        let value = if first.tag == der::BOOLEAN { der::expect(after, OCTET_STRING, "extnValue")?.0 } else { first };
        let (bits, _) = der::expect(value.content, BIT_STRING, "keyUsage is not a BIT STRING")?;
        let byte = bits.content.get(1).copied().unwrap_or(0);
        return Ok(Some(KeyUsage {
            digital_signature: byte & 0x80 != 0,
            non_repudiation: byte & 0x40 != 0,
            key_cert_sign: byte & 0x04 != 0,
        }));
    }
    Ok(None)
}

/// RFC 4514 text of a name: attributes most significant last, short names where there are any.
pub(crate) fn rfc4514(attributes: &[Attribute]) -> String {
    attributes
        .iter()
        .rev()
        .map(|a| {
            let name = match a.oid.as_str() {
                oid::COMMON_NAME => "CN",
                oid::COUNTRY => "C",
                oid::ORGANIZATION => "O",
                "2.5.4.11" => "OU",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                other => other,
            };
            let mut value = String::new();
            let count = a.value.chars().count();
            for (i, c) in a.value.chars().enumerate() {
                let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
                    || (i == 0 && matches!(c, ' ' | '#'))
                    || (i + 1 == count && c == ' ');
                if special {
                    value.push('\\');
                }
                value.push(c);
            }
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A big-endian unsigned integer in decimal.
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_read_in_decimal_and_hex() {
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), "18446744073709551615");
        assert_eq!(decimal(&[]), "0");
    }

    #[test]
    fn identities_follow_ksefs_rules() {
        assert_eq!(person_identity("PNOPL-85121411111"), Some(Identity::Pesel("85121411111".into())));
        assert_eq!(person_identity("TINPL-5265877635"), Some(Identity::Nip("5265877635".into())));
        assert_eq!(seal_identity("VATPL-5265877635"), Some(Identity::Nip("5265877635".into())));
        assert_eq!(person_identity("IDCPL-ABC"), None);
    }
}
