//! The cryptography KSeF prescribes: RSA-OAEP (SHA-256, MGF1-SHA-256) key wrapping, AES-256-CBC with
//! PKCS#7 padding and the IV carried separately, SHA-256 in base64, RSA PKCS#1 v1.5 signatures and HMAC.
//!
//! All of it runs on aws-lc-rs, which rustls already builds, so the fast AES-NI/SHA-NI paths come for free.

use std::fmt;

use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{self, KeyPair as _};
use aws_lc_rs::{aead, digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Length of an AES-256 key in bytes.
pub const AES_KEY_LEN: usize = 32;
/// Length of an AES-CBC initialization vector in bytes.
pub const IV_LEN: usize = 16;
/// AES block size in bytes; CBC ciphertext is always a multiple of it.
pub const BLOCK_LEN: usize = 16;

/// Why a cryptographic operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// A symmetric key that is not 32 bytes long.
    #[error("AES-256 key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// An initialization vector that is not 16 bytes long.
    #[error("initialization vector must be 16 bytes, got {0}")]
    IvLength(usize),
    /// Ciphertext that is not a whole number of blocks, or whose padding is wrong.
    #[error("ciphertext could not be decrypted (wrong key, IV or padding)")]
    Decrypt,
    /// A wrapped key that the private key could not unwrap.
    #[error("wrapped key could not be decrypted with RSA-OAEP-SHA256")]
    Unwrap,
    /// A key in a form aws-lc-rs refuses (not RSA, too short, malformed DER).
    #[error("key rejected: {0}")]
    KeyRejected(String),
    /// A certificate that is not DER X.509.
    #[error("certificate is not a DER X.509 certificate: {0}")]
    Certificate(String),
    /// Input that is not valid base64.
    #[error("invalid base64")]
    Base64,
    /// The underlying library reported an unspecified failure.
    #[error("cryptographic operation failed")]
    Unspecified,
}

impl From<aws_lc_rs::error::Unspecified> for CryptoError {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        CryptoError::Unspecified
    }
}

impl From<aws_lc_rs::error::KeyRejected> for CryptoError {
    fn from(err: aws_lc_rs::error::KeyRejected) -> Self {
        CryptoError::KeyRejected(err.to_string())
    }
}

/// Fills a fixed-size array with bytes from the system's secure random generator.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The system RNG failing is not a recoverable condition for any caller.
    rand::fill(&mut out).expect("system random number generator failed");
    out
}

/// A 256-bit AES key. Its `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; AES_KEY_LEN]);

impl AesKey {
    /// A fresh random key.
    pub fn generate() -> AesKey {
        AesKey(random_array())
    }

    /// Parses a key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<AesKey, CryptoError> {
        let arr: [u8; AES_KEY_LEN] =
            bytes.try_into().map_err(|_| CryptoError::KeyLength(bytes.len()))?;
        Ok(AesKey(arr))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; AES_KEY_LEN] {
        &self.0
    }

    fn unbound(&self) -> UnboundCipherKey {
        // A 32-byte key is always accepted for AES-256.
        UnboundCipherKey::new(&AES_256, &self.0).expect("32-byte AES-256 key")
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

/// A 128-bit initialization vector for AES-CBC.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Iv([u8; IV_LEN]);

impl Iv {
    /// A fresh random IV.
    pub fn generate() -> Iv {
        Iv(random_array())
    }

    /// Parses an IV from exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Iv, CryptoError> {
        let arr: [u8; IV_LEN] = bytes.try_into().map_err(|_| CryptoError::IvLength(bytes.len()))?;
        Ok(Iv(arr))
    }

    /// The raw IV bytes.
    pub fn as_bytes(&self) -> &[u8; IV_LEN] {
        &self.0
    }
}

/// Encrypts `plain` with AES-256-CBC and PKCS#7 padding. The IV is not prepended to the output:
/// KSeF carries it separately, in `initializationVector`.
pub fn encrypt_cbc(key: &AesKey, iv: &Iv, plain: &[u8]) -> Vec<u8> {
    let mut in_out = Vec::with_capacity(padded_len(plain.len()));
    in_out.extend_from_slice(plain);
    encrypt_cbc_in_place(key, iv, &mut in_out);
    in_out
}

/// Encrypts `buf` in place with AES-256-CBC and PKCS#7 padding, growing it by the padding.
pub fn encrypt_cbc_in_place(key: &AesKey, iv: &Iv, buf: &mut Vec<u8>) {
    let cipher = PaddedBlockEncryptingKey::cbc_pkcs7(key.unbound()).expect("AES-256-CBC key");
    cipher
        .less_safe_encrypt(buf, EncryptionContext::Iv128(FixedLength::from(iv.0)))
        .expect("AES-CBC encryption with a valid key and IV");
}

/// Decrypts AES-256-CBC ciphertext with PKCS#7 padding (no IV prefix).
pub fn decrypt_cbc(key: &AesKey, iv: &Iv, cipher: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut in_out = cipher.to_vec();
    decrypt_cbc_in_place(key, iv, &mut in_out)?;
    Ok(in_out)
}

/// Decrypts `buf` in place, shrinking it to the plaintext; on failure `buf` holds garbage.
pub fn decrypt_cbc_in_place(key: &AesKey, iv: &Iv, buf: &mut Vec<u8>) -> Result<(), CryptoError> {
    if buf.is_empty() || !buf.len().is_multiple_of(BLOCK_LEN) {
        return Err(CryptoError::Decrypt);
    }
    let decrypting = PaddedBlockDecryptingKey::cbc_pkcs7(key.unbound()).expect("AES-256-CBC key");
    let plain_len = decrypting
        .decrypt(buf, DecryptionContext::Iv128(FixedLength::from(iv.0)))
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    buf.truncate(plain_len);
    Ok(())
}

/// The ciphertext length PKCS#7 padding gives a plaintext of `plain_len` bytes.
pub fn padded_len(plain_len: usize) -> usize {
    (plain_len / BLOCK_LEN + 1) * BLOCK_LEN
}

/// AES-256-CBC encryption fed in pieces, for packages too large to hold in memory.
///
/// Whole blocks are encrypted as they arrive; the last partial block is padded by [`CbcEncryptor::finish`].
/// The output equals [`encrypt_cbc`] over the concatenated input.
pub struct CbcEncryptor {
    cipher: EncryptingKey,
    chain: [u8; IV_LEN],
    pending: Vec<u8>,
}

impl fmt::Debug for CbcEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcEncryptor").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

impl CbcEncryptor {
    /// Starts a stream under `key` and `iv`.
    pub fn new(key: &AesKey, iv: &Iv) -> CbcEncryptor {
        let cipher = EncryptingKey::cbc(key.unbound()).expect("AES-256-CBC key");
        CbcEncryptor { cipher, chain: iv.0, pending: Vec::with_capacity(BLOCK_LEN) }
    }

    /// Encrypts what it can of `data` and appends the ciphertext to `out`.
    pub fn update(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut data = data;
        if !self.pending.is_empty() {
            let take = (BLOCK_LEN - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < BLOCK_LEN {
                return;
            }
            let block = std::mem::take(&mut self.pending);
            self.encrypt_blocks(&block, out);
        }
        let whole = data.len() - data.len() % BLOCK_LEN;
        if whole > 0 {
            self.encrypt_blocks(&data[..whole], out);
        }
        self.pending.extend_from_slice(&data[whole..]);
    }

    /// Pads the last block, encrypts it and appends it to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        let pad = BLOCK_LEN - self.pending.len();
        let mut last = std::mem::take(&mut self.pending);
        last.resize(BLOCK_LEN, pad as u8);
        self.encrypt_blocks(&last, out);
    }

    fn encrypt_blocks(&mut self, blocks: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(blocks);
        let in_out = &mut out[start..];
        self.cipher
            .less_safe_encrypt(in_out, EncryptionContext::Iv128(FixedLength::from(self.chain)))
            .expect("AES-CBC encryption of whole blocks");
        self.chain.copy_from_slice(&in_out[in_out.len() - BLOCK_LEN..]);
    }
}

/// Length of the nonce [`seal`] prepends.
const SEAL_NONCE_LEN: usize = 12;

/// Encrypts a secret for storage: AES-256-GCM under `key`, bound to `context` (e.g. the record it belongs
/// to, so a sealed value cannot be moved to another record). Output: nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &AesKey, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let sealing = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &key.0).expect("32-byte AES-256-GCM key"));
    let nonce_bytes: [u8; SEAL_NONCE_LEN] = random_array();
    let mut out = Vec::with_capacity(SEAL_NONCE_LEN + plaintext.len() + aead::AES_256_GCM.tag_len());
    out.extend_from_slice(&nonce_bytes);
    let mut in_out = plaintext.to_vec();
    sealing
        .seal_in_place_append_tag(aead::Nonce::assume_unique_for_key(nonce_bytes), aead::Aad::from(context), &mut in_out)
        .expect("AES-GCM sealing");
    out.extend_from_slice(&in_out);
    out
}

/// Decrypts what [`seal`] produced with the same key and context.
pub fn open(key: &AesKey, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < SEAL_NONCE_LEN + aead::AES_256_GCM.tag_len() {
        return Err(CryptoError::Decrypt);
    }
    let opening = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &key.0).expect("32-byte AES-256-GCM key"));
    let (nonce, body) = sealed.split_at(SEAL_NONCE_LEN);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
    let mut in_out = body.to_vec();
    let plain_len = opening.open_in_place(nonce, aead::Aad::from(context), &mut in_out).map_err(|_| CryptoError::Decrypt)?.len();
    in_out.truncate(plain_len);
    Ok(in_out)
}

/// AES-256-CBC decryption fed in pieces (an export part arriving over the network). The last block is held
/// back until [`CbcDecryptor::finish`], which checks and strips the PKCS#7 padding.
pub struct CbcDecryptor {
    cipher: DecryptingKey,
    chain: [u8; IV_LEN],
    pending: Vec<u8>,
}

impl fmt::Debug for CbcDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcDecryptor").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

impl CbcDecryptor {
    /// Starts a stream under `key` and `iv`.
    pub fn new(key: &AesKey, iv: &Iv) -> CbcDecryptor {
        let cipher = DecryptingKey::cbc(key.unbound()).expect("AES-256-CBC key");
        CbcDecryptor { cipher, chain: iv.0, pending: Vec::with_capacity(2 * BLOCK_LEN) }
    }

    /// Decrypts what it can of `data` (all but the last whole block) and appends the plaintext to `out`.
    pub fn update(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(data);
        // Keep at least one whole block back: it may be the padded last one.
        let whole = self.pending.len() / BLOCK_LEN * BLOCK_LEN;
        let ready = whole.saturating_sub(BLOCK_LEN);
        if ready == 0 {
            return;
        }
        let start = out.len();
        out.extend_from_slice(&self.pending[..ready]);
        self.decrypt_blocks(start, out);
        self.pending.drain(..ready);
    }

    /// Decrypts the held-back block, checks its padding and appends the rest of the plaintext to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.pending.len() != BLOCK_LEN {
            return Err(CryptoError::Decrypt);
        }
        let start = out.len();
        out.extend_from_slice(&self.pending);
        self.decrypt_blocks(start, out);
        let pad = *out.last().expect("one block") as usize;
        let valid = (1..=BLOCK_LEN).contains(&pad) && out[out.len() - pad..].iter().all(|b| *b as usize == pad);
        if !valid {
            out.truncate(start);
            return Err(CryptoError::Decrypt);
        }
        out.truncate(out.len() - pad);
        Ok(())
    }

    fn decrypt_blocks(&mut self, start: usize, out: &mut [u8]) {
        let blocks = &mut out[start..];
        let next_chain: [u8; IV_LEN] = blocks[blocks.len() - BLOCK_LEN..].try_into().expect("whole blocks");
        self.cipher
            .decrypt(blocks, DecryptionContext::Iv128(FixedLength::from(self.chain)))
            .expect("AES-CBC decryption of whole blocks");
        self.chain = next_chain;
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    d.as_ref().try_into().expect("SHA-256 digest is 32 bytes")
}

/// SHA-256 of `data` in standard, padded base64 (44 characters): KSeF's `invoiceHash` form.
pub fn sha256_base64(data: &[u8]) -> String {
    STANDARD.encode(sha256(data))
}

/// SHA-256 of `data` in base64url without padding (43 characters): the form in KSeF's QR links.
pub fn sha256_base64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(data))
}

/// Incremental SHA-256, for data that arrives in pieces.
#[derive(Clone)]
pub struct Sha256(digest::Context);

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256")
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256(digest::Context::new(&digest::SHA256))
    }
}

impl Sha256 {
    /// Adds `data` to the hash.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything added.
    pub fn finish(self) -> [u8; 32] {
        self.0.finish().as_ref().try_into().expect("SHA-256 digest is 32 bytes")
    }
}

/// Standard padded base64, the encoding of every binary field in KSeF's JSON.
pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes standard padded base64.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    STANDARD.decode(text.as_bytes()).map_err(|_| CryptoError::Base64)
}

/// Base64url without padding, used in JWTs and QR links.
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url without padding.
pub fn b64url_decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    URL_SAFE_NO_PAD.decode(text.as_bytes()).map_err(|_| CryptoError::Base64)
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, message).as_ref().try_into().expect("HMAC-SHA256 tag is 32 bytes")
}

/// Checks an HMAC-SHA256 tag in constant time.
pub fn hmac_sha256_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, message, tag).is_ok()
}

/// An RSA public key, as KSeF publishes it inside its certificates.
pub struct RsaPublicKey {
    spki_der: Vec<u8>,
    oaep: OaepPublicEncryptingKey,
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey").field("public_key_id", &self.public_key_id()).finish()
    }
}

impl RsaPublicKey {
    /// Reads a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(spki_der: &[u8]) -> Result<RsaPublicKey, CryptoError> {
        let key = PublicEncryptingKey::from_der(spki_der)?;
        let oaep = OaepPublicEncryptingKey::new(key)?;
        Ok(RsaPublicKey { spki_der: spki_der.to_vec(), oaep })
    }

    /// Reads the public key out of a DER X.509 certificate.
    pub fn from_certificate_der(cert_der: &[u8]) -> Result<RsaPublicKey, CryptoError> {
        let spki = crate::der::certificate_spki(cert_der)
            .map_err(|err| CryptoError::Certificate(err.to_string()))?;
        RsaPublicKey::from_spki_der(spki)
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The modulus length in bytes, which is the length of everything [`RsaPublicKey::wrap`] produces.
    pub fn modulus_len(&self) -> usize {
        self.oaep.ciphertext_size()
    }

    /// KSeF's `publicKeyId`: base64 SHA-256 of the DER `SubjectPublicKeyInfo` (44 characters).
    pub fn public_key_id(&self) -> String {
        sha256_base64(&self.spki_der)
    }

    /// Encrypts a short secret (an AES key, a KSeF token) with RSA-OAEP, SHA-256 and MGF1-SHA-256.
    pub fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![0u8; self.oaep.ciphertext_size()];
        let len = self.oaep.encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)?.len();
        out.truncate(len);
        Ok(out)
    }

    /// Checks an RSA PKCS#1 v1.5 SHA-256 signature over `message`.
    pub fn verify_pkcs1_sha256(&self, message: &[u8], signature_bytes: &[u8]) -> bool {
        let key = signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.spki_der);
        key.verify(message, signature_bytes).is_ok()
    }
}

/// An RSA private key (PKCS#8), used by the emulator to unwrap keys and sign UPOs and certificates.
pub struct RsaPrivateKey {
    pkcs8: Vec<u8>,
    oaep: OaepPrivateDecryptingKey,
    signing: signature::RsaKeyPair,
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaPrivateKey(<redacted>)")
    }
}

impl RsaPrivateKey {
    /// A fresh 2048-bit key.
    pub fn generate_2048() -> Result<RsaPrivateKey, CryptoError> {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)?;
        let der = AsDer::<Pkcs8V1Der>::as_der(&key)?;
        RsaPrivateKey::from_pkcs8_der(der.as_ref())
    }

    /// Reads a PKCS#8 v1 DER private key.
    pub fn from_pkcs8_der(pkcs8: &[u8]) -> Result<RsaPrivateKey, CryptoError> {
        let oaep = OaepPrivateDecryptingKey::new(PrivateDecryptingKey::from_pkcs8(pkcs8)?)?;
        let signing = signature::RsaKeyPair::from_pkcs8(pkcs8)?;
        Ok(RsaPrivateKey { pkcs8: pkcs8.to_vec(), oaep, signing })
    }

    /// The PKCS#8 v1 DER encoding, for storage.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The matching public key.
    pub fn public_key(&self) -> RsaPublicKey {
        let spki = AsDer::<PublicKeyX509Der>::as_der(self.signing.public_key())
            .expect("RSA public key encodes as SubjectPublicKeyInfo");
        RsaPublicKey::from_spki_der(spki.as_ref()).expect("own public key is valid")
    }

    /// Decrypts what [`RsaPublicKey::wrap`] produced.
    pub fn unwrap(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![0u8; self.oaep.min_output_size()];
        let len = self
            .oaep
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, None)
            .map_err(|_| CryptoError::Unwrap)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// Signs `message` with RSA PKCS#1 v1.5 over SHA-256 (XML-DSig's `rsa-sha256`).
    pub fn sign_pkcs1_sha256(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.signing.public_modulus_len()];
        self.signing
            .sign(&signature::RSA_PKCS1_SHA256, &rand::SystemRandom::new(), message, &mut sig)
            .expect("RSA signing with a valid key");
        sig
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn sha256_matches_the_fips_180_2_test_vector() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_base64(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(sha256_base64url(b""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    }

    #[test]
    fn incremental_sha256_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = Sha256::default();
        for chunk in data.chunks(777) {
            h.update(chunk);
        }
        assert_eq!(h.finish(), sha256(&data));
    }

    #[test]
    fn aes_cbc_matches_the_nist_sp800_38a_vector() {
        // NIST SP 800-38A, F.2.5 CBC-AES256.Encrypt, first two blocks (no padding involved in those).
        let key = AesKey::from_slice(&unhex(
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        ))
        .unwrap();
        let iv = Iv::from_slice(&unhex("000102030405060708090a0b0c0d0e0f")).unwrap();
        let plain = unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let out = encrypt_cbc(&key, &iv, &plain);
        assert_eq!(
            hex(&out[..32]),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        );
        assert_eq!(out.len(), 48, "PKCS#7 adds a whole block to block-aligned input");
        assert_eq!(decrypt_cbc(&key, &iv, &out).unwrap(), plain);
    }

    #[test]
    fn ciphertext_is_plain_pkcs7_growth_with_no_iv_prefix() {
        // The OpenAPI examples: invoiceSize 6480 -> encryptedInvoiceSize 6496; 16037 -> 16048.
        let key = AesKey::generate();
        let iv = Iv::generate();
        assert_eq!(encrypt_cbc(&key, &iv, &vec![b'x'; 6480]).len(), 6496);
        assert_eq!(encrypt_cbc(&key, &iv, &vec![b'x'; 16037]).len(), 16048);
        assert_eq!(padded_len(22_425_060), 22_425_072);
    }

    #[test]
    fn decrypting_with_the_wrong_key_or_a_truncated_ciphertext_fails() {
        let key = AesKey::generate();
        let iv = Iv::generate();
        let ct = encrypt_cbc(&key, &iv, b"<Faktura/>");
        assert_eq!(decrypt_cbc(&key, &iv, &ct[..15]), Err(CryptoError::Decrypt));
        assert_eq!(decrypt_cbc(&key, &iv, &[]), Err(CryptoError::Decrypt));
        // A wrong key yields garbage whose padding is almost always invalid; either way it is not the plaintext.
        let other = AesKey::generate();
        assert_ne!(decrypt_cbc(&other, &iv, &ct).ok().as_deref(), Some(&b"<Faktura/>"[..]));
    }

    #[test]
    fn streaming_encryption_equals_one_shot_for_every_split() {
        let key = AesKey::generate();
        let iv = Iv::generate();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 1000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for piece in [1usize, 3, 16, 17, 64] {
                let mut enc = CbcEncryptor::new(&key, &iv);
                let mut out = Vec::new();
                for chunk in data.chunks(piece) {
                    enc.update(chunk, &mut out);
                }
                enc.finish(&mut out);
                assert_eq!(out, encrypt_cbc(&key, &iv, &data), "len {len} piece {piece}");
            }
        }
    }

    #[test]
    fn streaming_decryption_equals_one_shot_for_every_split_and_checks_padding() {
        let key = AesKey::generate();
        let iv = Iv::generate();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 1000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ct = encrypt_cbc(&key, &iv, &data);
            for piece in [1usize, 3, 16, 17, 64, 5000] {
                let mut dec = CbcDecryptor::new(&key, &iv);
                let mut out = Vec::new();
                for chunk in ct.chunks(piece) {
                    dec.update(chunk, &mut out);
                }
                dec.finish(&mut out).unwrap();
                assert_eq!(out, data, "len {len} piece {piece}");
            }
        }
        let ct = encrypt_cbc(&key, &iv, b"abc");
        let mut dec = CbcDecryptor::new(&AesKey::generate(), &iv);
        let mut out = Vec::new();
        dec.update(&ct, &mut out);
        // A wrong key almost always breaks the padding; when it does not, the plaintext is still not ours.
        assert!(dec.finish(&mut out).is_err() || out != b"abc");
        let mut truncated = CbcDecryptor::new(&key, &iv);
        truncated.update(&ct[..10], &mut out);
        assert_eq!(truncated.finish(&mut out), Err(CryptoError::Decrypt));
    }

    #[test]
    fn key_and_iv_lengths_are_checked() {
        assert_eq!(AesKey::from_slice(&[0; 31]), Err(CryptoError::KeyLength(31)));
        assert_eq!(Iv::from_slice(&[0; 12]), Err(CryptoError::IvLength(12)));
        assert!(format!("{:?}", AesKey::generate()).contains("redacted"));
    }

    #[test]
    fn rsa_oaep_wraps_and_unwraps_a_session_key() {
        let private = RsaPrivateKey::generate_2048().unwrap();
        let public = private.public_key();
        let key = AesKey::generate();
        let wrapped = public.wrap(key.as_bytes()).unwrap();
        assert_eq!(wrapped.len(), 256);
        assert_eq!(private.unwrap(&wrapped).unwrap(), key.as_bytes());
        // OAEP is randomized: two wraps differ but both unwrap.
        assert_ne!(public.wrap(key.as_bytes()).unwrap(), wrapped);
        let mut broken = wrapped.clone();
        broken[10] ^= 1;
        assert_eq!(private.unwrap(&broken), Err(CryptoError::Unwrap));
        assert_eq!(public.public_key_id().len(), 44);
    }

    #[test]
    fn a_private_key_survives_pkcs8_round_trip_and_signs_verifiably() {
        let private = RsaPrivateKey::generate_2048().unwrap();
        let again = RsaPrivateKey::from_pkcs8_der(private.pkcs8_der()).unwrap();
        assert_eq!(again.public_key().spki_der(), private.public_key().spki_der());
        let sig = again.sign_pkcs1_sha256(b"signed info");
        assert!(private.public_key().verify_pkcs1_sha256(b"signed info", &sig));
        assert!(!private.public_key().verify_pkcs1_sha256(b"signed inf0", &sig));
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = AesKey::generate();
        let sealed = seal(&key, b"tenant-1", b"ksef-token");
        assert_eq!(open(&key, b"tenant-1", &sealed).unwrap(), b"ksef-token");
        assert_eq!(open(&key, b"tenant-2", &sealed), Err(CryptoError::Decrypt), "bound to its context");
        assert_eq!(open(&AesKey::generate(), b"tenant-1", &sealed), Err(CryptoError::Decrypt));
        let mut tampered = sealed.clone();
        tampered[15] ^= 1;
        assert_eq!(open(&key, b"tenant-1", &tampered), Err(CryptoError::Decrypt));
        assert_ne!(seal(&key, b"tenant-1", b"ksef-token"), sealed, "a fresh nonce each time");
        assert_eq!(open(&key, b"x", &[1, 2, 3]), Err(CryptoError::Decrypt));
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(hmac_sha256_verify(b"Jefe", b"what do ya want for nothing?", &tag));
        assert!(!hmac_sha256_verify(b"Jefe", b"what do ya want for nothing!", &tag));
    }
}
