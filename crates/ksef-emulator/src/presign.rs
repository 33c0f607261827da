//! Pre-signed, time-limited URLs for tokenless downloads (UPO, export parts) and uploads (batch parts),
//! in the manner of the blob storage KSeF uses: `?se=<expiry>&sig=<HMAC>` on a path of ours.

use chrono::{DateTime, Utc};
use ksef_core::crypto::{b64url, b64url_decode, hmac_sha256, hmac_sha256_verify};
use serde::Deserialize;

use crate::error::EmuError;

/// The query string of a pre-signed URL.
#[derive(Debug, Deserialize)]
pub(crate) struct Signature {
    /// Expiry, Unix seconds.
    se: Option<i64>,
    /// HMAC-SHA256 of the method, path and expiry, base64url.
    sig: Option<String>,
}

fn signing_input(method: &str, path: &str, expires: i64) -> String {
    format!("{method}\n{path}\n{expires}")
}

/// A URL under `base` for `path` (which starts with `/`), usable with `method` until `expires`.
pub(crate) fn sign(secret: &[u8], base: &str, method: &str, path: &str, expires: DateTime<Utc>) -> String {
    let se = expires.timestamp();
    let sig = b64url(&hmac_sha256(secret, signing_input(method, path, se).as_bytes()));
    format!("{}{path}?se={se}&sig={sig}", base.trim_end_matches('/'))
}

/// Checks that `signature` was made by [`sign`] for this method and path and has not expired.
pub(crate) fn verify(
    secret: &[u8],
    method: &str,
    path: &str,
    signature: &Signature,
    now: DateTime<Utc>,
) -> Result<(), EmuError> {
    let (Some(se), Some(sig)) = (signature.se, signature.sig.as_deref()) else {
        return Err(EmuError::StorageDenied("unsigned URL".into()));
    };
    let tag = b64url_decode(sig).map_err(|_| EmuError::StorageDenied("malformed signature".into()))?;
    if !hmac_sha256_verify(secret, signing_input(method, path, se).as_bytes(), &tag) {
        return Err(EmuError::StorageDenied("signature mismatch".into()));
    }
    if now.timestamp() > se {
        return Err(EmuError::StorageDenied("URL expired".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Signature {
        let query = url.split_once('?').unwrap().1;
        let mut se = 0;
        let mut sig = String::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            match k {
                "se" => se = v.parse().unwrap(),
                "sig" => sig = v.to_owned(),
                _ => {}
            }
        }
        Signature { se: Some(se), sig: Some(sig) }
    }

    #[test]
    fn a_signed_url_works_for_its_path_until_it_expires() {
        let now = Utc::now();
        let url = sign(b"k", "http://storage.test:1/", "GET", "/storage/upo/a.xml", now + chrono::Duration::hours(1));
        assert!(url.starts_with("http://storage.test:1/storage/upo/a.xml?se="));
        let s = parse(&url);
        verify(b"k", "GET", "/storage/upo/a.xml", &s, now).unwrap();
        assert!(verify(b"k", "GET", "/storage/upo/b.xml", &s, now).is_err());
        assert!(verify(b"k", "PUT", "/storage/upo/a.xml", &s, now).is_err());
        assert!(verify(b"k", "GET", "/storage/upo/a.xml", &s, now + chrono::Duration::hours(2)).is_err());
        assert!(verify(b"k", "GET", "/storage/upo/a.xml", &Signature { se: None, sig: None }, now).is_err());
    }
}
