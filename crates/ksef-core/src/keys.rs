//! Private keys of KSeF certificates (RSA or EC P-256), read from PKCS#8 (or PKCS#1 and SEC 1), and the
//! signature schemes the protocol uses with them: RSASSA-PSS and ECDSA in `r‖s` form for KOD II links, RSA
//! PKCS#1 v1.5 and ECDSA in `r‖s` form for XAdES, and ECDSA in DER for certificate requests.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::rand::SystemRandom;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::CryptoError;

/// A certificate's private key.
pub enum PrivateKey {
    /// RSA (at least 2048 bits).
    Rsa(RsaKeyPair),
    /// EC P-256.
    EcP256(EcdsaKeyPair),
}

/// How a signature is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt (KOD II).
    RsaPssSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (XAdES, certificates).
    RsaPkcs1Sha256,
    /// ECDSA with SHA-256, as 64 bytes `r‖s` (KOD II, XML signatures).
    EcdsaSha256Fixed,
    /// ECDSA with SHA-256, as a DER `Ecdsa-Sig-Value` (certificates and requests).
    EcdsaSha256Der,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrivateKey::Rsa(_) => "PrivateKey::Rsa(<redacted>)",
            PrivateKey::EcP256(_) => "PrivateKey::EcP256(<redacted>)",
        })
    }
}

impl PrivateKey {
    /// Reads a PKCS#8 private key, DER or PEM (`-----BEGIN PRIVATE KEY-----`), RSA or EC P-256.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<PrivateKey, CryptoError> {
        let der = pem_or_der(bytes, "PRIVATE KEY")?;
        if let Ok(key) = RsaKeyPair::from_pkcs8(&der) {
            return Ok(PrivateKey::Rsa(key));
        }
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map(PrivateKey::EcP256)
            .map_err(|_| CryptoError::KeyRejected("not a PKCS#8 RSA or EC P-256 private key".to_owned()))
    }

    /// Reads an RSA key in PKCS#1 (`RSA PRIVATE KEY`) or an EC P-256 key in SEC 1 (`EC PRIVATE KEY`), DER.
    pub fn from_traditional_der(der: &[u8]) -> Result<PrivateKey, CryptoError> {
        if let Ok(key) = RsaKeyPair::from_der(der) {
            return Ok(PrivateKey::Rsa(key));
        }
        EcdsaKeyPair::from_private_key_der(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(PrivateKey::EcP256)
            .map_err(|_| CryptoError::KeyRejected("not a PKCS#1 RSA or SEC 1 EC P-256 private key".to_owned()))
    }

    /// A fresh EC P-256 key (tests, demos).
    pub fn generate_p256() -> Result<PrivateKey, CryptoError> {
        Ok(PrivateKey::EcP256(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)?))
    }

    /// A fresh RSA-2048 key (tests, demos).
    pub fn generate_rsa_2048() -> Result<PrivateKey, CryptoError> {
        Ok(PrivateKey::Rsa(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)?))
    }

    /// The PKCS#8 DER encoding, for storage.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(match self {
            PrivateKey::Rsa(key) => AsDer::<Pkcs8V1Der>::as_der(key)?.as_ref().to_vec(),
            PrivateKey::EcP256(key) => key.to_pkcs8v1()?.as_ref().to_vec(),
        })
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub fn public_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        Ok(match self {
            PrivateKey::Rsa(key) => AsDer::<PublicKeyX509Der>::as_der(key.public_key())?.as_ref().to_vec(),
            PrivateKey::EcP256(key) => AsDer::<PublicKeyX509Der>::as_der(key.public_key())?.as_ref().to_vec(),
        })
    }

    /// Signs `message` by `scheme`, which must suit the key (RSA schemes for RSA keys, ECDSA for EC keys).
    pub fn sign(&self, scheme: Scheme, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = SystemRandom::new();
        match (self, scheme) {
            (PrivateKey::Rsa(key), Scheme::RsaPssSha256 | Scheme::RsaPkcs1Sha256) => {
                let padding: &dyn signature::RsaEncoding =
                    if scheme == Scheme::RsaPssSha256 { &signature::RSA_PSS_SHA256 } else { &signature::RSA_PKCS1_SHA256 };
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(padding, &rng, message, &mut sig)?;
                Ok(sig)
            }
            (PrivateKey::EcP256(key), Scheme::EcdsaSha256Fixed) => Ok(key.sign(&rng, message)?.as_ref().to_vec()),
            (PrivateKey::EcP256(key), Scheme::EcdsaSha256Der) => {
                let der_key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, key.to_pkcs8v1()?.as_ref())
                    .map_err(|_| CryptoError::KeyRejected("the EC key cannot sign in DER form".to_owned()))?;
                Ok(der_key.sign(&rng, message)?.as_ref().to_vec())
            }
            _ => Err(CryptoError::KeyRejected(format!("a {} key cannot sign by {scheme:?}", self.kind()))),
        }
    }

    /// `RSA` or `EC P-256`.
    pub fn kind(&self) -> &'static str {
        match self {
            PrivateKey::Rsa(_) => "RSA",
            PrivateKey::EcP256(_) => "EC P-256",
        }
    }
}

/// The DER inside a PEM block labelled `label`, or `bytes` themselves when they are not PEM.
pub fn pem_or_der(bytes: &[u8], label: &str) -> Result<Vec<u8>, CryptoError> {
    let Ok(text) = std::str::from_utf8(bytes) else { return Ok(bytes.to_vec()) };
    match pem_blocks(text, label)?.into_iter().next() {
        Some(der) => Ok(der),
        None if text.trim_start().starts_with("-----BEGIN") => Err(CryptoError::KeyRejected(format!("expected a PEM block `{label}`"))),
        None => Ok(bytes.to_vec()),
    }
}

/// The DER of every PEM block labelled `label` in `text`, in order (a certificate chain has several).
pub fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, CryptoError> {
    let (begin, end) = (format!("-----BEGIN {label}-----"), format!("-----END {label}-----"));
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let stop = body.find(&end).ok_or_else(|| CryptoError::KeyRejected(format!("unterminated PEM block `{label}`")))?;
        let b64: String = body[..stop].chars().filter(|c| !c.is_whitespace()).collect();
        blocks.push(STANDARD.decode(b64).map_err(|_| CryptoError::Base64)?);
        rest = &body[stop + end.len()..];
    }
    Ok(blocks)
}

/// `der` as a PEM block labelled `label`, in lines of 64 characters.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_is_read_and_garbage_is_refused() {
        let key = PrivateKey::generate_p256().unwrap();
        let der = key.pkcs8_der().unwrap();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(&der));
        assert!(PrivateKey::from_pkcs8(pem.as_bytes()).is_ok());
        assert!(PrivateKey::from_pkcs8(b"not a key").is_err());
        assert!(PrivateKey::from_pkcs8(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----").is_err());
    }

    #[test]
    fn each_key_signs_by_the_schemes_of_its_kind_only() {
        let ec = PrivateKey::generate_p256().unwrap();
        let rsa = PrivateKey::generate_rsa_2048().unwrap();
        let (ec_spki, rsa_spki) = (ec.public_spki_der().unwrap(), rsa.public_spki_der().unwrap());
        let m = b"message";
        let check = |alg: &'static dyn signature::VerificationAlgorithm, spki: &[u8], sig: &[u8]| {
            signature::UnparsedPublicKey::new(alg, spki).verify(m, sig).is_ok()
        };
        assert!(check(&signature::ECDSA_P256_SHA256_FIXED, &ec_spki, &ec.sign(Scheme::EcdsaSha256Fixed, m).unwrap()));
        assert!(check(&signature::ECDSA_P256_SHA256_ASN1, &ec_spki, &ec.sign(Scheme::EcdsaSha256Der, m).unwrap()));
        assert!(check(&signature::RSA_PKCS1_2048_8192_SHA256, &rsa_spki, &rsa.sign(Scheme::RsaPkcs1Sha256, m).unwrap()));
        assert!(check(&signature::RSA_PSS_2048_8192_SHA256, &rsa_spki, &rsa.sign(Scheme::RsaPssSha256, m).unwrap()));
        assert!(ec.sign(Scheme::RsaPkcs1Sha256, m).is_err());
        assert!(rsa.sign(Scheme::EcdsaSha256Fixed, m).is_err());
    }
}
