//! The gateway's connection to KSeF: one typed client for the chosen KSeF, and one authenticated context
//! client per tenant, created on first use and kept, so access tokens are reused and refreshed per tenant; and the
//! rate budget those clients draw from, kept in the database so that instances sharing it share the budget.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use ksef_client::{ContextClient, Credentials, KsefClient, Pacer, PacerFuture};
use ksef_core::limits::{RateGroup, RateLimit};

/// How long a call waits for room in its context's rate budget before it is put off (an invoice goes back in the
/// queue; a caller's request is answered 503 with the wait).
const PACING_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// KSeF as the gateway sees it.
#[derive(Debug)]
pub struct Ksef {
    client: KsefClient,
    contexts: Mutex<HashMap<String, Arc<ContextClient>>>,
    health: Health,
    pauses: Mutex<HashMap<String, std::time::Instant>>,
    pacer: Option<Arc<dyn Pacer>>,
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
        Ok(Ksef {
            client: KsefClient::with_options(base_url, options)?,
            contexts: Mutex::new(HashMap::new()),
            health: Health::default(),
            pauses: Mutex::default(),
            pacer: None,
        })
    }

    /// Keeps every context's calls within KSeF's published limits, counted by `pacer`.
    pub fn paced(mut self, pacer: Arc<dyn Pacer>) -> Ksef {
        self.pacer = Some(pacer);
        self
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
            .or_insert_with(|| {
                let client = ContextClient::new(self.client.clone(), credentials);
                Arc::new(match &self.pacer {
                    Some(pacer) => client.with_pacer(pacer.clone(), PACING_MAX_WAIT),
                    None => client,
                })
            })
            .clone()
    }

    /// Forgets a tenant's client (after its KSeF token changed).
    pub fn forget(&self, tenant_id: &str) {
        self.contexts.lock().expect("context cache lock").remove(tenant_id);
    }
}

/// The rate budget in the gateway's database, shared by every instance using it.
#[derive(Debug, Clone)]
pub struct SharedPacer {
    store: ksef_store::Store,
}

impl SharedPacer {
    /// Counts calls in `store`.
    pub fn new(store: ksef_store::Store) -> SharedPacer {
        SharedPacer { store }
    }
}

impl Pacer for SharedPacer {
    fn take<'a>(&'a self, context: &'a str, group: RateGroup, limit: RateLimit) -> PacerFuture<'a> {
        Box::pin(async move {
            let windows: Vec<(i64, u32)> =
                ksef_client::paced_windows(limit).into_iter().map(|(length, allowed)| (i64::try_from(length.as_micros()).unwrap_or(i64::MAX), allowed)).collect();
            if windows.is_empty() {
                return Ok(());
            }
            let now = chrono::Utc::now().timestamp_micros();
            match self.store.take_rate_slot(context, group.name(), now, &windows).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(wait)) => Err(std::time::Duration::from_micros(u64::try_from(wait).unwrap_or(0))),
                Err(err) => {
                    // The database failing must not stop delivery: KSeF's own 429 is the last word.
                    tracing::warn!(error = %err, "could not count a call against its context's rate budget; calling anyway");
                    Ok(())
                }
            }
        })
    }
}
