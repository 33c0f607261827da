//! KSeF Offline certificates' keys at work: signing KOD II verification links with RSASSA-PSS (SHA-256,
//! MGF1-SHA-256, 32-byte salt) or ECDSA P-256 over SHA-256 with the IEEE P1363 `r‖s` encoding, as KSeF's
//! verifier expects.

use aws_lc_rs::signature;

use crate::crypto::CryptoError;
pub use crate::keys::{PrivateKey as OfflineKey, pem_or_der};
use crate::keys::Scheme;

/// Signs a KOD II link (without `https://`) with an Offline certificate's key.
pub fn sign(key: &OfflineKey, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let scheme = match key {
        OfflineKey::Rsa(_) => Scheme::RsaPssSha256,
        OfflineKey::EcP256(_) => Scheme::EcdsaSha256Fixed,
    };
    key.sign(scheme, message)
}

/// Checks a signature made by [`sign`] against a DER `SubjectPublicKeyInfo` (RSA or EC P-256).
pub fn verify(spki_der: &[u8], message: &[u8], signature_bytes: &[u8]) -> bool {
    let rsa = signature::UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, spki_der);
    let ec = signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, spki_der);
    rsa.verify(message, signature_bytes).is_ok() || ec.verify(message, signature_bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_of_key_sign_what_their_public_keys_verify_and_nothing_else() {
        for key in [OfflineKey::generate_p256().unwrap(), OfflineKey::generate_rsa_2048().unwrap()] {
            let spki = key.public_spki_der().unwrap();
            let message = b"qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/hash";
            let sig = sign(&key, message).unwrap();
            assert!(verify(&spki, message, &sig));
            assert!(!verify(&spki, b"another message", &sig));
            let again = OfflineKey::from_pkcs8(&key.pkcs8_der().unwrap()).unwrap();
            assert!(verify(&spki, message, &sign(&again, message).unwrap()));
        }
        assert_eq!(sign(&OfflineKey::generate_p256().unwrap(), b"x").unwrap().len(), 64, "P1363 r‖s");
    }
}
