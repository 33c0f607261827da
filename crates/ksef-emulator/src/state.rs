//! The state every handler and worker shares: configuration, store, keys, clock, verifier and wake-ups.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ksef_core::crypto::{AesKey, Iv};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::keys::KeyMaterial;
use crate::rate_limit::RateLimiter;
use crate::store::Db;
use crate::verify::InvoiceVerifier;

/// A session's symmetric key, unwrapped once and kept in memory (the store keeps only the wrapped form).
#[derive(Debug, Clone)]
pub(crate) struct SessionKey {
    pub(crate) key: AesKey,
    pub(crate) iv: Iv,
}

/// Shared state; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: EmulatorConfig,
    /// Base of handed-out URLs, without a trailing slash.
    pub(crate) public_url: String,
    pub(crate) db: Db,
    pub(crate) keys: KeyMaterial,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) verifier: Arc<dyn InvoiceVerifier>,
    pub(crate) invoices_waiting: Notify,
    pub(crate) exports_waiting: Notify,
    pub(crate) limiter: Option<RateLimiter>,
    session_keys: Mutex<HashMap<String, Arc<SessionKey>>>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub(crate) fn new(
        config: EmulatorConfig,
        public_url: String,
        db: Db,
        keys: KeyMaterial,
        clock: Arc<dyn Clock>,
        verifier: Arc<dyn InvoiceVerifier>,
    ) -> AppState {
        let limiter = RateLimiter::for_profile(config.rate_limits);
        AppState(Arc::new(Inner {
            config,
            public_url: public_url.trim_end_matches('/').to_owned(),
            db,
            keys,
            clock,
            verifier,
            invoices_waiting: Notify::new(),
            exports_waiting: Notify::new(),
            limiter,
            session_keys: Mutex::new(HashMap::new()),
        }))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Unwraps a client's wrapped AES key with the `SymmetricKeyEncryption` key; `None` if it is not a valid key.
    pub(crate) fn unwrap_session_key(&self, encrypted_key: &[u8], iv: &[u8]) -> Option<SessionKey> {
        let key = self.keys.symmetric_key_encryption.private.unwrap(encrypted_key).ok()?;
        Some(SessionKey { key: AesKey::from_slice(&key).ok()?, iv: Iv::from_slice(iv).ok()? })
    }

    /// The session's key, from memory or unwrapped from its stored form.
    pub(crate) fn session_key(&self, session: &str, encrypted_key: &[u8], iv: &[u8]) -> Option<Arc<SessionKey>> {
        if let Some(k) = self.session_keys.lock().expect("key cache lock").get(session) {
            return Some(k.clone());
        }
        let key = Arc::new(self.unwrap_session_key(encrypted_key, iv)?);
        self.session_keys.lock().expect("key cache lock").insert(session.to_owned(), key.clone());
        Some(key)
    }

    /// Forgets a closed session's key.
    pub(crate) fn forget_session_key(&self, session: &str) {
        self.session_keys.lock().expect("key cache lock").remove(session);
    }

    /// A pre-signed URL for `path` under the public base URL.
    pub(crate) fn presigned(&self, method: &str, path: &str, expires: DateTime<Utc>) -> String {
        crate::presign::sign(&self.keys.secret, &self.public_url, method, path, expires)
    }
}
