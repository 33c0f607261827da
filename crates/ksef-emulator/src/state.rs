//! The state every handler and worker shares: configuration, store, keys, clock, verifier and wake-ups.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ksef_core::crypto::{AesKey, Iv};
use ksef_wire::codes::session;
use ksef_wire::sessions::SessionType;
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

/// What a send needs to know about its session and which never changes while the session is open.
#[derive(Debug)]
pub(crate) struct SendingSession {
    pub(crate) context_value: String,
    pub(crate) online: bool,
    pub(crate) valid_until: DateTime<Utc>,
    /// `None` when the client's key does not unwrap (the session is then in status 415).
    pub(crate) key: Option<SessionKey>,
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
    pub(crate) batches_waiting: Notify,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) ingest: crate::workers::ingest::Ingest,
    /// Fault rules (not part of KSeF), shared with whoever holds the emulator's handle.
    pub(crate) faults: crate::faults::Faults,
    /// What the Latarnia announces.
    pub(crate) lighthouse: Arc<crate::lighthouse::Lighthouse>,
    /// Open sessions by reference number, so a send needs no lookup in the store.
    sending: Mutex<HashMap<String, Arc<SendingSession>>>,
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
        ingest: crate::workers::ingest::Ingest,
    ) -> anyhow::Result<AppState> {
        let limiter = RateLimiter::for_profile(config.rate_limits);
        let faults = crate::faults::Faults::default();
        for rule in &config.faults {
            faults.add(rule.clone()).map_err(|e| anyhow::anyhow!("fault rule {rule} refused: {e}"))?;
        }
        Ok(AppState(Arc::new(Inner {
            config,
            public_url: public_url.trim_end_matches('/').to_owned(),
            db,
            keys,
            clock,
            verifier,
            invoices_waiting: Notify::new(),
            exports_waiting: Notify::new(),
            batches_waiting: Notify::new(),
            limiter,
            ingest,
            faults,
            lighthouse: Arc::default(),
            sending: Mutex::new(HashMap::new()),
        })))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Unwraps a client's wrapped AES key with the `SymmetricKeyEncryption` key; `None` if it is not a valid key.
    pub(crate) fn unwrap_session_key(&self, encrypted_key: &[u8], iv: &[u8]) -> Option<SessionKey> {
        let key = self.keys.symmetric_key_encryption.private.unwrap(encrypted_key).ok()?;
        Some(SessionKey { key: AesKey::from_slice(&key).ok()?, iv: Iv::from_slice(iv).ok()? })
    }

    /// Remembers a session for sending.
    pub(crate) fn remember_session(&self, reference: &str, session: SendingSession) -> Arc<SendingSession> {
        let session = Arc::new(session);
        self.sending.lock().expect("session cache lock").insert(reference.to_owned(), session.clone());
        session
    }

    /// The session `reference` of context `context_value`, from memory or from the store.
    pub(crate) async fn sending_session(
        &self,
        reference: &str,
        context_value: &str,
    ) -> Result<Option<Arc<SendingSession>>, sqlx::Error> {
        let cached = self.sending.lock().expect("session cache lock").get(reference).cloned();
        if let Some(s) = cached {
            return Ok((s.context_value == context_value).then_some(s));
        }
        let Some(row) = self.db.session(reference, context_value).await? else { return Ok(None) };
        let session = SendingSession {
            context_value: row.context_value,
            online: row.kind == SessionType::Online,
            valid_until: row.valid_until,
            key: self.unwrap_session_key(&row.encrypted_key, &row.iv),
        };
        // Only open online sessions take sends; a batch session's key stays out of memory.
        if session::ONLINE_OPEN.is(row.status.code) && session.online {
            return Ok(Some(self.remember_session(reference, session)));
        }
        Ok(Some(Arc::new(session)))
    }

    /// Forgets every session whose time is up (their keys leave memory).
    pub(crate) fn forget_expired_sessions(&self, now: DateTime<Utc>) {
        self.sending.lock().expect("session cache lock").retain(|_, s| s.valid_until >= now);
    }

    /// Forgets a session that no longer takes invoices.
    pub(crate) fn forget_session(&self, reference: &str) {
        self.sending.lock().expect("session cache lock").remove(reference);
    }

    /// A pre-signed URL for `path` under the public base URL.
    pub(crate) fn presigned(&self, method: &str, path: &str, expires: DateTime<Utc>) -> String {
        crate::presign::sign(&self.keys.secret, &self.public_url, method, path, expires)
    }
}
