//! The gateway's connection to KSeF: one typed client for the chosen KSeF, and one authenticated context
//! client per tenant, created on first use and kept, so access tokens are reused and refreshed per tenant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use ksef_client::{ContextClient, KsefClient, Credentials};

/// KSeF as the gateway sees it.
#[derive(Debug)]
pub struct Ksef {
    client: KsefClient,
    contexts: Mutex<HashMap<String, Arc<ContextClient>>>,
    health: Health,
    pauses: Mutex<HashMap<String, std::time::Instant>>,
}

/// Whether KSeF answered lately, as the outbox's sends found it (the gateway's own view; the Ministry's
/// announcements are not read).
#[derive(Debug, Default)]
pub struct Health {
    last_ok: AtomicI64,
    last_failure: AtomicI64,
}

impl Health {
    /// A call KSeF answered.
    pub fn ok(&self) {
        self.last_ok.store(chrono::Utc::now().timestamp_micros(), Ordering::Relaxed);
    }

    /// A call KSeF failed or did not answer.
    pub fn failed(&self) {
        self.last_failure.store(chrono::Utc::now().timestamp_micros(), Ordering::Relaxed);
    }

    /// True when the last call failed.
    pub fn unreachable(&self) -> bool {
        self.last_failure.load(Ordering::Relaxed) > self.last_ok.load(Ordering::Relaxed)
    }
}

impl Ksef {
    /// Talks to the KSeF API at `base_url`, sending `headers` with every request.
    pub fn new(base_url: &str, headers: Vec<(String, String)>) -> anyhow::Result<Ksef> {
        let options = ksef_client::ClientOptions { headers, ..ksef_client::ClientOptions::default() };
        Ok(Ksef { client: KsefClient::with_options(base_url, options)?, contexts: Mutex::new(HashMap::new()), health: Health::default(), pauses: Mutex::default() })
    }

    /// KSeF's reachability, as the outbox found it.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Holds back the outbox's calls for `tenant_id` for `wait`, as KSeF's 429 asked: its context's limit is spent,
    /// so its other invoices would only be refused too.
    pub fn pause(&self, tenant_id: &str, wait: std::time::Duration) {
        let until = std::time::Instant::now() + wait;
        let mut pauses = self.pauses.lock().expect("pause lock");
        let entry = pauses.entry(tenant_id.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// How long the outbox should still wait before calling KSeF for `tenant_id`, if at all.
    pub fn paused(&self, tenant_id: &str) -> Option<std::time::Duration> {
        let mut pauses = self.pauses.lock().expect("pause lock");
        let now = std::time::Instant::now();
        match pauses.get(tenant_id) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                pauses.remove(tenant_id);
                None
            }
            None => None,
        }
    }

    /// The unauthenticated client (public keys).
    pub fn client(&self) -> &KsefClient {
        &self.client
    }

    /// The context client of `tenant_id`, if one was made.
    pub fn cached(&self, tenant_id: &str) -> Option<Arc<ContextClient>> {
        self.contexts.lock().expect("context cache lock").get(tenant_id).cloned()
    }

    /// The context client of `tenant_id`, made with `credentials` unless one exists.
    pub fn context(&self, tenant_id: &str, credentials: Credentials) -> Arc<ContextClient> {
        let mut contexts = self.contexts.lock().expect("context cache lock");
        contexts
            .entry(tenant_id.to_owned())
            .or_insert_with(|| Arc::new(ContextClient::new(self.client.clone(), credentials)))
            .clone()
    }

    /// Forgets a tenant's client (after its KSeF token changed).
    pub fn forget(&self, tenant_id: &str) {
        self.contexts.lock().expect("context cache lock").remove(tenant_id);
    }
}
