//! KSeF verification links: KOD I (`/invoice/{NIP}/{DD-MM-YYYY}/{hash}`, on every visualization) and KOD II
//! (`/certificate/…/{signature}`, for invoices issued offline, signed with the key of an Offline certificate).

use chrono::NaiveDate;
use ksef_core::crypto::{b64_decode, b64url, b64url_decode, sha256};
use ksef_core::ids::{KsefNumber, Nip};
use ksef_core::Environment;
use ksef_core::offline::{OfflineKey, pem_or_der};

/// Why a link could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The seller's NIP is not 10 digits.
    #[error("`{0}` is not a NIP (10 digits)")]
    Nip(String),
    /// The hash is not a SHA-256 in base64 or base64url.
    #[error("the invoice hash must be a SHA-256 in base64 or base64url (32 bytes)")]
    Hash,
    /// The KSeF number is malformed or its checksum is wrong.
    #[error("`{0}` is not a KSeF number")]
    KsefNumber(String),
    /// The certificate or key could not be read, or they do not belong together.
    #[error("offline certificate: {0}")]
    Certificate(String),
}

/// A link and the caption printed under its QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationCode {
    /// The full `https://` link.
    pub link: String,
    /// `KSeF number`, `OFFLINE` or `CERTYFIKAT` (kept in Polish in every language).
    pub caption: String,
}

/// The invoice hash KOD I carries: base64url without padding of SHA-256 over `invoice`'s exact bytes.
pub fn invoice_hash(invoice: &[u8]) -> String {
    b64url(&sha256(invoice))
}

/// A SHA-256 given in base64 (as in UPOs) or base64url, as base64url without padding (43 characters).
pub fn normalize_hash(hash: &str) -> Result<String, LinkError> {
    let hash = hash.trim();
    let bytes = b64url_decode(hash.trim_end_matches('=')).or_else(|_| b64_decode(hash)).map_err(|_| LinkError::Hash)?;
    if bytes.len() != 32 {
        return Err(LinkError::Hash);
    }
    Ok(b64url(&bytes))
}

/// The NIP's form only: KSeF's test environment accepts NIPs whose checksum is wrong, and the link must still
/// point at such an invoice.
fn checked_nip(nip: &str) -> Result<Nip, LinkError> {
    Nip::parse(nip.trim()).map_err(|_| LinkError::Nip(nip.to_owned()))
}

/// KOD I: the invoice's verification link, captioned with its KSeF number when known, else `OFFLINE`.
pub fn kod1(env: Environment, seller_nip: &str, issue_date: NaiveDate, hash: &str, ksef_number: Option<&str>) -> Result<VerificationCode, LinkError> {
    let nip = checked_nip(seller_nip)?;
    let hash = normalize_hash(hash)?;
    let caption = match ksef_number.map(str::trim).filter(|n| !n.is_empty()) {
        Some(number) => KsefNumber::parse(number).map_err(|_| LinkError::KsefNumber(number.to_owned()))?.as_str().to_owned(),
        None => "OFFLINE".to_owned(),
    };
    let link = format!("{}/invoice/{}/{}/{hash}", env.qr_base(), nip.as_str(), issue_date.format("%d-%m-%Y"));
    Ok(VerificationCode { link, caption })
}

/// How the issuer logged in to KSeF (the context of KOD II).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextType {
    /// `Nip`.
    Nip,
    /// `InternalId`.
    InternalId,
    /// `NipVatUe`.
    NipVatUe,
    /// `PeppolId`.
    PeppolId,
}

impl ContextType {
    /// As the link writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextType::Nip => "Nip",
            ContextType::InternalId => "InternalId",
            ContextType::NipVatUe => "NipVatUe",
            ContextType::PeppolId => "PeppolId",
        }
    }

    /// Parses the link's form (case-insensitive).
    pub fn parse(text: &str) -> Option<ContextType> {
        [ContextType::Nip, ContextType::InternalId, ContextType::NipVatUe, ContextType::PeppolId].into_iter().find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
}

/// An Offline certificate with its private key: what KOD II is signed with.
#[derive(Debug)]
pub struct Certificate {
    serial: String,
    key: OfflineKey,
}

impl Certificate {
    /// Reads a certificate (DER or PEM) and its PKCS#8 private key (DER or PEM), and checks that they match.
    pub fn new(certificate: &[u8], private_key: &[u8]) -> Result<Certificate, LinkError> {
        let bad = |e: String| LinkError::Certificate(e);
        let der = pem_or_der(certificate, "CERTIFICATE").map_err(|e| bad(e.to_string()))?;
        let fields = ksef_core::der::certificate_fields(&der).map_err(|e| bad(e.to_string()))?;
        let key = OfflineKey::from_pkcs8(private_key).map_err(|e| bad(e.to_string()))?;
        if key.public_spki_der().map_err(|e| bad(e.to_string()))? != fields.spki {
            return Err(bad("the private key does not belong to the certificate".to_owned()));
        }
        Ok(Certificate { serial: serial_hex(fields.serial), key })
    }

    /// The serial number, uppercase hex.
    pub fn serial(&self) -> &str {
        &self.serial
    }
}

/// A certificate's serial as KSeF prints it: uppercase hex without the DER sign octet.
pub(crate) fn serial_hex(serial: &[u8]) -> String {
    let serial = match serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    serial.iter().map(|b| format!("{b:02X}")).collect()
}

/// KOD II: the certificate link for an invoice issued offline, signed with `certificate`'s key, captioned
/// `CERTYFIKAT`. What is signed is the link without `https://`.
pub fn kod2(
    env: Environment,
    context: (ContextType, &str),
    seller_nip: &str,
    hash: &str,
    certificate: &Certificate,
) -> Result<VerificationCode, LinkError> {
    let nip = checked_nip(seller_nip)?;
    let hash = normalize_hash(hash)?;
    let context_value = context.1.trim();
    if context_value.is_empty() || !context_value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(LinkError::Certificate(format!("`{context_value}` is not a context identifier")));
    }
    let base = env.qr_base().trim_start_matches("https://");
    let unsigned = format!("{base}/certificate/{}/{context_value}/{}/{}/{hash}", context.0.as_str(), nip.as_str(), certificate.serial);
    let signature = ksef_core::offline::sign(&certificate.key, unsigned.as_bytes()).map_err(|e| LinkError::Certificate(e.to_string()))?;
    Ok(VerificationCode { link: format!("https://{unsigned}/{}", b64url(&signature)), caption: "CERTYFIKAT".to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kod1_matches_the_official_example() {
        let code = kod1(
            Environment::Test,
            "1111111111",
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE",
            None,
        )
        .unwrap();
        assert_eq!(code.link, "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE");
        assert_eq!(code.caption, "OFFLINE");
    }

    #[test]
    fn hashes_in_base64_become_base64url_and_anything_else_is_refused() {
        let url = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
        let standard = url.replace('-', "+").replace('_', "/") + "=";
        assert_eq!(normalize_hash(&standard).unwrap(), url);
        assert_eq!(normalize_hash(url).unwrap(), url);
        assert_eq!(normalize_hash("abc"), Err(LinkError::Hash));
        assert_eq!(normalize_hash("!!!"), Err(LinkError::Hash));
    }

    #[test]
    fn a_ksef_number_becomes_the_caption_only_when_it_is_valid() {
        let date = NaiveDate::from_ymd_opt(2025, 8, 26).unwrap();
        let hash = invoice_hash(b"<Faktura/>");
        let code = kod1(Environment::Production, "5265877635", date, &hash, Some("5265877635-20250826-0100001AF629-AF")).unwrap();
        assert_eq!(code.caption, "5265877635-20250826-0100001AF629-AF");
        assert!(code.link.starts_with("https://qr.ksef.mf.gov.pl/invoice/5265877635/26-08-2025/"));
        assert!(matches!(kod1(Environment::Production, "5265877635", date, &hash, Some("5265877635-20250826-0100001AF629-AE")), Err(LinkError::KsefNumber(_))));
        assert!(matches!(kod1(Environment::Production, "526587763", date, &hash, None), Err(LinkError::Nip(_))));
    }
}
