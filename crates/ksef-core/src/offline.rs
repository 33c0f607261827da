//! KSeF Offline certificates' keys: signing KOD II verification links with RSASSA-PSS (SHA-256, MGF1-SHA-256,
//! 32-byte salt) or ECDSA P-256 over SHA-256 with the IEEE P1363 `r‖s` encoding, as KSeF's verifier expects.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::rand::SystemRandom;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::CryptoError;

/// The private key of an Offline certificate.
pub enum OfflineKey {
    /// RSA (at least 2048 bits): RSASSA-PSS.
    Rsa(RsaKeyPair),
    /// EC P-256: ECDSA, P1363.
    EcP256(EcdsaKeyPair),
}

impl fmt::Debug for OfflineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OfflineKey::Rsa(_) => "OfflineKey::Rsa(<redacted>)",
            OfflineKey::EcP256(_) => "OfflineKey::EcP256(<redacted>)",
        })
    }
}

impl OfflineKey {
    /// Reads a PKCS#8 private key, DER or PEM (`-----BEGIN PRIVATE KEY-----`), RSA or EC P-256.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<OfflineKey, CryptoError> {
        let der = pem_or_der(bytes, "PRIVATE KEY")?;
        if let Ok(key) = RsaKeyPair::from_pkcs8(&der) {
            return Ok(OfflineKey::Rsa(key));
        }
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map(OfflineKey::EcP256)
            .map_err(|_| CryptoError::KeyRejected("not a PKCS#8 RSA or EC P-256 private key".to_owned()))
    }

    /// A fresh EC P-256 key (tests, demos).
    pub fn generate_p256() -> Result<OfflineKey, CryptoError> {
        Ok(OfflineKey::EcP256(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)?))
    }

    /// A fresh RSA-2048 key (tests, demos).
    pub fn generate_rsa_2048() -> Result<OfflineKey, CryptoError> {
        Ok(OfflineKey::Rsa(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)?))
    }

    /// The PKCS#8 DER encoding, for storage.
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(match self {
            OfflineKey::Rsa(key) => AsDer::<Pkcs8V1Der>::as_der(key)?.as_ref().to_vec(),
            OfflineKey::EcP256(key) => key.to_pkcs8v1()?.as_ref().to_vec(),
        })
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub fn public_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        Ok(match self {
            OfflineKey::Rsa(key) => AsDer::<PublicKeyX509Der>::as_der(key.public_key())?.as_ref().to_vec(),
            OfflineKey::EcP256(key) => AsDer::<PublicKeyX509Der>::as_der(key.public_key())?.as_ref().to_vec(),
        })
    }

    /// Signs `message`: RSASSA-PSS-SHA256 with a 32-byte salt, or ECDSA P-256 SHA-256 as 64 bytes `r‖s`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = SystemRandom::new();
        match self {
            OfflineKey::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(&signature::RSA_PSS_SHA256, &rng, message, &mut sig)?;
                Ok(sig)
            }
            OfflineKey::EcP256(key) => Ok(key.sign(&rng, message)?.as_ref().to_vec()),
        }
    }
}

/// Checks a signature made by [`OfflineKey::sign`] against a DER `SubjectPublicKeyInfo` (RSA or EC P-256).
pub fn verify(spki_der: &[u8], message: &[u8], signature_bytes: &[u8]) -> bool {
    let rsa = signature::UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, spki_der);
    let ec = signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, spki_der);
    rsa.verify(message, signature_bytes).is_ok() || ec.verify(message, signature_bytes).is_ok()
}

/// The DER inside a PEM block labelled `label`, or `bytes` themselves when they are not PEM.
pub fn pem_or_der(bytes: &[u8], label: &str) -> Result<Vec<u8>, CryptoError> {
    let Ok(text) = std::str::from_utf8(bytes) else { return Ok(bytes.to_vec()) };
    let begin = format!("-----BEGIN {label}-----");
    let Some(start) = text.find(&begin) else {
        return if text.trim_start().starts_with("-----BEGIN") {
            Err(CryptoError::KeyRejected(format!("expected a PEM block `{label}`")))
        } else {
            Ok(bytes.to_vec())
        };
    };
    let body = &text[start + begin.len()..];
    let end = body.find(&format!("-----END {label}-----")).ok_or_else(|| CryptoError::KeyRejected(format!("unterminated PEM block `{label}`")))?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).map_err(|_| CryptoError::Base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_of_key_sign_what_their_public_keys_verify_and_nothing_else() {
        for key in [OfflineKey::generate_p256().unwrap(), OfflineKey::generate_rsa_2048().unwrap()] {
            let spki = key.public_spki_der().unwrap();
            let message = b"qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/hash";
            let sig = key.sign(message).unwrap();
            assert!(verify(&spki, message, &sig));
            assert!(!verify(&spki, b"another message", &sig));
            let again = OfflineKey::from_pkcs8(&key.pkcs8_der().unwrap()).unwrap();
            assert!(verify(&spki, message, &again.sign(message).unwrap()));
        }
        assert_eq!(OfflineKey::generate_p256().unwrap().sign(b"x").unwrap().len(), 64, "P1363 r‖s");
    }

    #[test]
    fn pem_is_read_and_garbage_is_refused() {
        let key = OfflineKey::generate_p256().unwrap();
        let der = key.pkcs8_der().unwrap();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(&der));
        assert!(OfflineKey::from_pkcs8(pem.as_bytes()).is_ok());
        assert!(OfflineKey::from_pkcs8(b"not a key").is_err());
        assert!(OfflineKey::from_pkcs8(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----").is_err());
    }
}
