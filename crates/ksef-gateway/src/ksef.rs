//! The gateway's connection to KSeF: one typed client for the chosen KSeF, and one authenticated context
//! client per tenant, created on first use and kept, so access tokens are reused and refreshed per tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ksef_client::{ContextClient, KsefClient, Credentials};

/// KSeF as the gateway sees it.
#[derive(Debug)]
pub struct Ksef {
    client: KsefClient,
    contexts: Mutex<HashMap<String, Arc<ContextClient>>>,
}

impl Ksef {
    /// Talks to the KSeF API at `base_url`, sending `headers` with every request.
    pub fn new(base_url: &str, headers: Vec<(String, String)>) -> anyhow::Result<Ksef> {
        let options = ksef_client::ClientOptions { headers, ..ksef_client::ClientOptions::default() };
        Ok(Ksef { client: KsefClient::with_options(base_url, options)?, contexts: Mutex::new(HashMap::new()) })
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
