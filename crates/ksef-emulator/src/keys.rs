//! The emulator's key material: one RSA-2048 key and self-signed certificate per published usage, a UPO
//! signing key, and a secret for tokens and pre-signed URLs. Made once, kept in `DATA_DIR/keys`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Duration, Utc};
use ksef_core::crypto::{RsaPrivateKey, random_array, sha256_base64};
use ksef_core::keys::PrivateKey;
use ksef_wire::PublicKeyCertificateUsage;

/// A key pair with the certificate the emulator publishes for it.
#[derive(Debug)]
pub(crate) struct PublishedKey {
    pub(crate) private: RsaPrivateKey,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) public_key_id: String,
    pub(crate) certificate_id: String,
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) valid_to: DateTime<Utc>,
    pub(crate) usage: Option<PublicKeyCertificateUsage>,
}

/// The emulator's certification authority: it issues KSeF certificates (Authentication and Offline).
#[derive(Debug)]
pub(crate) struct Authority {
    pub(crate) key: PrivateKey,
    pub(crate) certificate: ksef_xades::Certificate,
}

/// All of the emulator's secrets.
#[derive(Debug)]
pub(crate) struct KeyMaterial {
    pub(crate) token_encryption: PublishedKey,
    pub(crate) symmetric_key_encryption: PublishedKey,
    pub(crate) upo_signing: PublishedKey,
    pub(crate) authority: Authority,
    /// Signs JWTs and pre-signed URLs.
    pub(crate) secret: [u8; 32],
}

impl KeyMaterial {
    /// Loads the keys from `data_dir/keys`, making any that are missing.
    pub(crate) fn load_or_create(data_dir: &Path, now: DateTime<Utc>) -> anyhow::Result<KeyMaterial> {
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
        let secret_path = dir.join("secret.bin");
        let secret = match fs::read(&secret_path) {
            Ok(bytes) => bytes.try_into().map_err(|_| anyhow::anyhow!("{} is not 32 bytes", secret_path.display()))?,
            Err(_) => {
                let secret: [u8; 32] = random_array();
                write_private(&secret_path, &secret)?;
                secret
            }
        };
        Ok(KeyMaterial {
            token_encryption: load_key(&dir, "ksef-token-encryption", Some(PublicKeyCertificateUsage::KsefTokenEncryption), now)?,
            symmetric_key_encryption: load_key(
                &dir,
                "symmetric-key-encryption",
                Some(PublicKeyCertificateUsage::SymmetricKeyEncryption),
                now,
            )?,
            upo_signing: load_key(&dir, "upo-signing", None, now)?,
            authority: load_authority(&dir, now)?,
            secret,
        })
    }
}

/// The certification authority's key and certificate, made on first use (valid ten years).
fn load_authority(dir: &Path, now: DateTime<Utc>) -> anyhow::Result<Authority> {
    let (key_path, cert_path) = (dir.join("ca.key.der"), dir.join("ca.cert.der"));
    if let (Ok(key), Ok(cert)) = (fs::read(&key_path), fs::read(&cert_path)) {
        let key = PrivateKey::from_pkcs8(&key).with_context(|| format!("failed to read {}", key_path.display()))?;
        let certificate = ksef_xades::Certificate::from_der(&cert).with_context(|| format!("failed to read {}", cert_path.display()))?;
        return Ok(Authority { key, certificate });
    }
    let key = PrivateKey::generate_rsa_2048().context("failed to generate the CA key")?;
    let name = ksef_xades::x509::name(&[
        ksef_xades::x509::attribute(ksef_xades::oid::COMMON_NAME, "KSeF emulator certification authority (ksef-gateway)"),
        ksef_xades::x509::attribute(ksef_xades::oid::ORGANIZATION, "ksef-gateway"),
        ksef_xades::x509::attribute(ksef_xades::oid::COUNTRY, "PL"),
    ]);
    let spki = key.public_spki_der().context("the CA key's public half")?;
    let usage = ksef_xades::KeyUsage { key_cert_sign: true, ..Default::default() };
    let issue = ksef_xades::x509::Issue {
        subject: &name,
        spki: &spki,
        serial: &random_array::<8>(),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(3650),
        key_usage: usage,
        ca: true,
    };
    let der = ksef_xades::x509::issue(&issue, None, &key).context("failed to make the CA certificate")?;
    write_private(&key_path, &key.pkcs8_der().context("the CA key's PKCS#8")?)?;
    write_private(&cert_path, &der)?;
    Ok(Authority { key, certificate: ksef_xades::Certificate::from_der(&der).context("own CA certificate")? })
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).with_context(|| format!("failed to create {}", tmp.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("failed to write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("failed to move {} into place", path.display()))
}

fn load_key(
    dir: &Path,
    name: &str,
    usage: Option<PublicKeyCertificateUsage>,
    now: DateTime<Utc>,
) -> anyhow::Result<PublishedKey> {
    let key_path: PathBuf = dir.join(format!("{name}.key.der"));
    let cert_path: PathBuf = dir.join(format!("{name}.cert.der"));
    let private = match fs::read(&key_path) {
        Ok(der) => RsaPrivateKey::from_pkcs8_der(&der).with_context(|| format!("failed to read {}", key_path.display()))?,
        Err(_) => {
            let key = RsaPrivateKey::generate_2048().context("failed to generate an RSA key")?;
            write_private(&key_path, key.pkcs8_der())?;
            key
        }
    };
    let existing = fs::read(&cert_path).ok().filter(|der| cert_usable(der, &private, now));
    let cert_der = match existing {
        Some(der) => der,
        None => {
            // Re-certifying keeps the key, hence the publicKeyId, as KSeF does.
            let der = self_signed(&private, name, now)?;
            write_private(&cert_path, &der)?;
            der
        }
    };
    let fields = ksef_core::der::certificate_fields(&cert_der).context("own certificate is malformed")?;
    let valid_from = ksef_core::der::parse_time(fields.not_before).context("own certificate notBefore")?;
    let valid_to = ksef_core::der::parse_time(fields.not_after).context("own certificate notAfter")?;
    let public_key_id = private.public_key().public_key_id();
    Ok(PublishedKey {
        certificate_id: sha256_base64(&cert_der),
        private,
        cert_der,
        public_key_id,
        valid_from,
        valid_to,
        usage,
    })
}

fn cert_usable(der: &[u8], private: &RsaPrivateKey, now: DateTime<Utc>) -> bool {
    let Ok(fields) = ksef_core::der::certificate_fields(der) else { return false };
    let valid_to = ksef_core::der::parse_time(fields.not_after);
    fields.spki == private.public_key().spki_der() && valid_to.is_some_and(|t| t > now + Duration::days(1))
}

fn self_signed(private: &RsaPrivateKey, name: &str, now: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    let key_pair = rcgen::KeyPair::try_from(private.pkcs8_der()).context("rcgen refused our RSA key")?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, format!("Ministerstwo Finansów - emulator KSeF ({name})"));
    dn.push(rcgen::DnType::OrganizationName, "ksef-gateway emulator");
    dn.push(rcgen::DnType::CountryName, "PL");
    params.distinguished_name = dn;
    let from = now - Duration::days(1);
    let to = now + Duration::days(730);
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
    let serial: [u8; 8] = random_array();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[&[0x01], &serial[..]].concat()));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment, rcgen::KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key_pair).context("failed to self-sign a certificate")?;
    Ok(cert.der().to_vec())
}
