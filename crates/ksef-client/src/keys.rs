//! KSeF's published encryption keys, chosen by usage and validity, and the encryption steps that use them.

use chrono::{DateTime, Utc};
use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode, encrypt_cbc, sha256_base64};
use ksef_core::ids::ksef_token_plaintext;
use ksef_wire::sessions::SendInvoiceRequest;
use ksef_wire::{EncryptionInfo, PublicKeyCertificate, PublicKeyCertificateUsage};

use crate::error::KsefError;

/// One usable public key and its `publicKeyId`.
#[derive(Debug)]
pub struct PublishedKey {
    /// The RSA key.
    pub key: RsaPublicKey,
    /// KSeF's id for it.
    pub public_key_id: String,
}

/// The two keys a client needs: one to encrypt KSeF tokens, one to wrap symmetric keys.
#[derive(Debug)]
pub struct KsefKeys {
    /// `KsefTokenEncryption`.
    pub token_encryption: PublishedKey,
    /// `SymmetricKeyEncryption`.
    pub symmetric_key_encryption: PublishedKey,
}

fn pick(
    certificates: &[PublicKeyCertificate],
    usage: PublicKeyCertificateUsage,
    now: DateTime<Utc>,
    name: &'static str,
) -> Result<PublishedKey, KsefError> {
    // Of the certificates valid now, KSeF says to take the one with the latest validFrom.
    let cert = certificates
        .iter()
        .filter(|c| c.usage.contains(&usage) && c.valid_from <= now && now < c.valid_to)
        .max_by_key(|c| c.valid_from)
        .ok_or(KsefError::NoCertificate(name))?;
    let der = b64_decode(&cert.certificate)?;
    let key = RsaPublicKey::from_certificate_der(&der)?;
    Ok(PublishedKey { public_key_id: cert.public_key_id.clone(), key })
}

impl KsefKeys {
    /// Chooses the keys to use at `now` from KSeF's certificate list.
    pub fn from_certificates(certificates: &[PublicKeyCertificate], now: DateTime<Utc>) -> Result<KsefKeys, KsefError> {
        Ok(KsefKeys {
            token_encryption: pick(certificates, PublicKeyCertificateUsage::KsefTokenEncryption, now, "KsefTokenEncryption")?,
            symmetric_key_encryption: pick(
                certificates,
                PublicKeyCertificateUsage::SymmetricKeyEncryption,
                now,
                "SymmetricKeyEncryption",
            )?,
        })
    }

    /// `encryptedToken` for `/auth/ksef-token`: RSA-OAEP of `"{token}|{timestampMs}"`, in base64.
    pub fn encrypt_ksef_token(&self, token: &str, challenge_timestamp_ms: i64) -> Result<String, KsefError> {
        let plain = ksef_token_plaintext(token, challenge_timestamp_ms);
        Ok(b64(&self.token_encryption.key.wrap(plain.as_bytes())?))
    }

    /// `encryption` for a session or an export: the AES key wrapped for KSeF, the IV, and the key's id.
    pub fn wrap(&self, key: &AesKey, iv: &Iv) -> Result<EncryptionInfo, KsefError> {
        Ok(EncryptionInfo {
            encrypted_symmetric_key: b64(&self.symmetric_key_encryption.key.wrap(key.as_bytes())?),
            initialization_vector: b64(iv.as_bytes()),
            public_key_id: Some(self.symmetric_key_encryption.public_key_id.clone()),
        })
    }
}

/// A symmetric key and IV, with the wrapped form KSeF receives.
#[derive(Debug, Clone)]
pub struct SymmetricKey {
    /// The AES-256 key.
    pub key: AesKey,
    /// The IV.
    pub iv: Iv,
    /// What to send KSeF.
    pub encryption: EncryptionInfo,
}

impl SymmetricKey {
    /// A fresh key and IV, wrapped with KSeF's `SymmetricKeyEncryption` key.
    pub fn generate(keys: &KsefKeys) -> Result<SymmetricKey, KsefError> {
        let key = AesKey::generate();
        let iv = Iv::generate();
        let encryption = keys.wrap(&key, &iv)?;
        Ok(SymmetricKey { key, iv, encryption })
    }

    /// A send request carrying `xml` encrypted under this key, with both hashes and sizes.
    pub fn encrypt_invoice(&self, xml: &[u8]) -> SendInvoiceRequest {
        EncryptedInvoice::encrypt(&self.key, &self.iv, xml).request()
    }
}

/// An invoice encrypted for an online session: the ciphertext, and the plain form's hash and size, which is
/// everything a send request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedInvoice {
    /// AES-256-CBC of the invoice under the session key.
    pub ciphertext: Vec<u8>,
    /// Base64 SHA-256 of the plain invoice.
    pub invoice_hash: String,
    /// Size of the plain invoice in bytes.
    pub invoice_size: i64,
}

impl EncryptedInvoice {
    /// Encrypts `xml` under a session's key and IV.
    pub fn encrypt(key: &AesKey, iv: &Iv, xml: &[u8]) -> EncryptedInvoice {
        EncryptedInvoice { ciphertext: encrypt_cbc(key, iv, xml), invoice_hash: sha256_base64(xml), invoice_size: xml.len() as i64 }
    }

    /// The send request: both hashes and sizes, and the ciphertext in base64.
    pub fn request(&self) -> SendInvoiceRequest {
        SendInvoiceRequest {
            invoice_hash: self.invoice_hash.clone(),
            invoice_size: self.invoice_size,
            encrypted_invoice_hash: sha256_base64(&self.ciphertext),
            encrypted_invoice_size: self.ciphertext.len() as i64,
            encrypted_invoice_content: b64(&self.ciphertext),
            offline_mode: None,
            hash_of_corrected_invoice: None,
        }
    }
}
