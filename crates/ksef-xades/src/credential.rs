//! A certificate with its private key, loaded from what people have on disk: PEM or DER certificates; PKCS#8
//! keys, plain or encrypted (PBES2), PKCS#1 and SEC 1 keys; or one PKCS#12 file with both.

use std::fmt;

use ksef_core::keys::{PrivateKey, pem_or_der};

use crate::cert::{Certificate, CertificateError};

/// Why a credential could not be loaded. Messages never carry key material or passwords.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The certificate is unreadable.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The key is unreadable or of a kind KSeF does not take.
    #[error("the private key cannot be read: {0}")]
    Key(String),
    /// An encrypted key or a PKCS#12 file without a password.
    #[error("the private key is encrypted: give its password")]
    PasswordNeeded,
    /// The password does not open it.
    #[error("the password does not open the {0}")]
    WrongPassword(&'static str),
    /// The key is not the certificate's.
    #[error("the private key does not belong to the certificate")]
    Mismatch,
    /// A PKCS#12 file without a certificate and its key.
    #[error("the PKCS#12 file holds no certificate with its private key")]
    EmptyPkcs12,
}

/// A certificate and its private key, checked to belong together.
pub struct Credential {
    certificate: Certificate,
    key: PrivateKey,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential").field("certificate", &self.certificate).field("key", &"<redacted>").finish()
    }
}

impl Credential {
    /// Pairs `certificate` with `key`, refusing a key that is not the certificate's.
    pub fn new(certificate: Certificate, key: PrivateKey) -> Result<Credential, CredentialError> {
        let spki = key.public_spki_der().map_err(|e| CredentialError::Key(e.to_string()))?;
        if spki != certificate.spki() {
            return Err(CredentialError::Mismatch);
        }
        Ok(Credential { certificate, key })
    }

    /// Loads a credential: a certificate file (PEM or DER) and a key file, or, with no certificate, a PKCS#12
    /// file (`.p12`, `.pfx`) in `key`. `password` opens an encrypted key or the PKCS#12 file.
    pub fn load(certificate: Option<&[u8]>, key: &[u8], password: Option<&str>) -> Result<Credential, CredentialError> {
        match certificate {
            Some(cert) => Credential::new(Certificate::from_pem_or_der(cert)?, read_key(key, password)?),
            None => Credential::from_pkcs12(key, password.ok_or(CredentialError::PasswordNeeded)?),
        }
    }

    /// Opens a PKCS#12 file: the first private key with the certificate that belongs to it.
    pub fn from_pkcs12(bytes: &[u8], password: &str) -> Result<Credential, CredentialError> {
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => CredentialError::WrongPassword("PKCS#12 file"),
            other => CredentialError::Key(format!("not a PKCS#12 file KSeF's keys can come in ({other})")),
        })?;
        for bag in &archive.keys {
            let Ok(key) = PrivateKey::from_pkcs8(bag.key.as_der()) else { continue };
            let Ok(spki) = key.public_spki_der() else { continue };
            let matching = archive.certs.iter().filter_map(|c| Certificate::from_der(c.cert.as_der()).ok()).find(|c| c.spki() == spki);
            if let Some(certificate) = matching {
                return Ok(Credential { certificate, key });
            }
        }
        Err(CredentialError::EmptyPkcs12)
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The key as unencrypted PKCS#8 DER, to seal for storage.
    pub fn key_pkcs8(&self) -> Result<Vec<u8>, CredentialError> {
        self.key.pkcs8_der().map_err(|e| CredentialError::Key(e.to_string()))
    }
}

/// Reads a private key in any of the forms [`Credential::load`] takes.
pub fn read_key(bytes: &[u8], password: Option<&str>) -> Result<PrivateKey, CredentialError> {
    let text = std::str::from_utf8(bytes).ok().filter(|t| t.contains("-----BEGIN"));
    let label = text.and_then(|t| {
        ["ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"].into_iter().find(|l| t.contains(&format!("-----BEGIN {l}-----")))
    });
    let unreadable = |e: ksef_core::CryptoError| CredentialError::Key(e.to_string());
    match (text, label) {
        (Some(_), None) => Err(CredentialError::Key("the PEM text holds no private key block".into())),
        (_, Some("ENCRYPTED PRIVATE KEY")) => decrypt(&pem_or_der(bytes, "ENCRYPTED PRIVATE KEY").map_err(unreadable)?, password),
        (_, Some(label @ ("RSA PRIVATE KEY" | "EC PRIVATE KEY"))) => {
            PrivateKey::from_traditional_der(&pem_or_der(bytes, label).map_err(unreadable)?).map_err(unreadable)
        }
        (_, Some(_)) => PrivateKey::from_pkcs8(bytes).map_err(unreadable),
        (None, None) => {
            if let Ok(key) = PrivateKey::from_pkcs8(bytes) {
                return Ok(key);
            }
            if let Ok(key) = PrivateKey::from_traditional_der(bytes) {
                return Ok(key);
            }
            decrypt(bytes, password)
        }
    }
}

/// Most PBKDF2 iterations an encrypted key may ask for (OpenSSL writes 2,048; current guidance is 600,000).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Most memory scrypt may ask for (128 · r · N bytes), and its parallelism.
const MAX_SCRYPT_BYTES: u64 = 1 << 30;
const MAX_SCRYPT_PARALLELISM: u16 = 16;

/// Refuses key-derivation parameters that would take minutes or gigabytes: they come from the file, and a
/// hostile or corrupt one must not hang the command that reads it.
fn check_key_derivation(scheme: &pkcs8::pkcs5::EncryptionScheme) -> Result<(), CredentialError> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let Some(params) = scheme.pbes2() else { return Ok(()) };
    let too_costly = match &params.kdf {
        Kdf::Pbkdf2(p) => p.iteration_count > MAX_PBKDF2_ITERATIONS,
        Kdf::Scrypt(p) => {
            let memory = 128u64.saturating_mul(u64::from(p.block_size)).saturating_mul(p.cost_parameter);
            memory > MAX_SCRYPT_BYTES || p.parallelization > MAX_SCRYPT_PARALLELISM
        }
        // A derivation this library does not know cannot decrypt anyway.
        _ => false,
    };
    if too_costly {
        return Err(CredentialError::Key("the key's password derivation asks for more work than is reasonable".into()));
    }
    Ok(())
}

fn decrypt(der: &[u8], password: Option<&str>) -> Result<PrivateKey, CredentialError> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|_| CredentialError::Key("neither PKCS#8 (plain or encrypted), PKCS#1 nor SEC 1".into()))?;
    let password = password.ok_or(CredentialError::PasswordNeeded)?;
    check_key_derivation(&info.encryption_algorithm)?;
    let plain = info.decrypt(password).map_err(|_| CredentialError::WrongPassword("encrypted private key"))?;
    PrivateKey::from_pkcs8(plain.as_bytes()).map_err(|e| CredentialError::Key(e.to_string()))
}

#[cfg(test)]
mod tests {
    use pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf, Salt};

    use super::*;

    fn pbkdf2(iterations: u32) -> pkcs8::pkcs5::EncryptionScheme {
        // Built field by field: the library's constructor refuses such counts, its decryption does not.
        let params = Pbkdf2Params { salt: Salt::new([7; 16]).unwrap(), iteration_count: iterations, key_length: None, prf: Pbkdf2Prf::HmacWithSha256 };
        let kdf = Kdf::Pbkdf2(params);
        pbes2::Parameters { kdf, encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [0; 16] } }.into()
    }

    #[test]
    fn a_key_asking_for_billions_of_iterations_is_refused_before_any_are_run() {
        assert!(check_key_derivation(&pbkdf2(2048)).is_ok());
        assert!(check_key_derivation(&pbkdf2(600_000)).is_ok());
        assert!(matches!(check_key_derivation(&pbkdf2(u32::MAX)), Err(CredentialError::Key(_))));
    }
}
