//! The master key that seals secrets at rest (tenants' KSeF tokens, session keys the gateway holds).
//!
//! It comes from configuration (`master_key`, base64) or, failing that, from `DATA_DIR/master.key`, made on
//! first start with mode 0600. Each sealed value is bound to the record it belongs to.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use ksef_core::crypto::{AesKey, b64_decode, open, seal};

/// The key sealing secrets at rest. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(AesKey);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// From configuration when given, else from (or into) `data_dir/master.key`.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<MasterKey> {
        if let Some(text) = configured {
            let bytes = b64_decode(text.trim()).context("master_key is not base64")?;
            return Ok(MasterKey(AesKey::from_slice(&bytes).context("master_key must be 32 bytes")?));
        }
        let path = data_dir.join("master.key");
        if let Ok(bytes) = std::fs::read(&path) {
            return Ok(MasterKey(AesKey::from_slice(&bytes).with_context(|| format!("{} is not a 32-byte key", path.display()))?));
        }
        std::fs::create_dir_all(data_dir).with_context(|| format!("failed to create {}", data_dir.display()))?;
        let key = AesKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&path).with_context(|| format!("failed to create {}", path.display()))?;
        file.write_all(key.as_bytes()).and_then(|()| file.sync_all()).with_context(|| format!("failed to write {}", path.display()))?;
        tracing::warn!(path = %path.display(), "generated a master key; keep it safe and back it up with the database");
        Ok(MasterKey(key))
    }

    /// A key for tests.
    pub fn generate() -> MasterKey {
        MasterKey(AesKey::generate())
    }

    /// Seals `secret`, bound to `context` (the id of the record it belongs to).
    pub fn seal(&self, context: &str, secret: &[u8]) -> Vec<u8> {
        seal(&self.0, context.as_bytes(), secret)
    }

    /// Opens what [`MasterKey::seal`] made for the same context.
    pub fn open(&self, context: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        open(&self.0, context.as_bytes(), sealed).context("a sealed secret does not open with this master key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_master_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load(None, dir.path()).unwrap();
        let sealed = first.seal("tenant-1", b"secret");
        let again = MasterKey::load(None, dir.path()).unwrap();
        assert_eq!(again.open("tenant-1", &sealed).unwrap(), b"secret");
        assert!(format!("{first:?}").contains("redacted"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(MasterKey::load(Some("not base64!"), dir.path()).is_err());
        assert!(MasterKey::load(Some("AAAA"), dir.path()).is_err(), "three bytes are not a key");
    }
}
