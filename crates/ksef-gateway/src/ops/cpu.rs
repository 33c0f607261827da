//! CPU-heavy work (parsing, validating, generating, rendering, packaging) off the async workers, on a bounded
//! pool with a share per tenant, so one tenant's documents can neither stall the server nor queue everyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::{OpError, Tenant};
use crate::errors::ErrorCode;

/// What kind of work a job is: PDFs take far more memory than anything else, so fewer run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Parsing, validating, generating, HTML, packaging.
    Document,
    /// Laying out a PDF.
    Pdf,
}

/// How much work runs at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuLimits {
    /// Jobs running at once, all tenants together.
    pub threads: usize,
    /// PDFs laid out at once, all tenants together.
    pub pdfs: usize,
    /// Jobs one tenant may have running or waiting; more are refused with 1905 at once.
    pub per_tenant: usize,
}

impl Default for CpuLimits {
    fn default() -> CpuLimits {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        CpuLimits { threads: cores, pdfs: cores.div_ceil(2), per_tenant: 2 }
    }
}

/// The pool.
#[derive(Debug)]
pub struct CpuPool {
    slots: Arc<Semaphore>,
    pdfs: Arc<Semaphore>,
    shares: TenantShares,
}

/// How many of something each tenant has going, each up to a bound; past it, 1905 at once.
#[derive(Debug)]
pub struct TenantShares {
    what: &'static str,
    per_tenant: usize,
    tenants: Arc<Mutex<HashMap<String, usize>>>,
}

impl TenantShares {
    /// At most `per_tenant` of `what` per tenant.
    pub fn new(what: &'static str, per_tenant: usize) -> TenantShares {
        TenantShares { what, per_tenant: per_tenant.max(1), tenants: Arc::default() }
    }

    /// One more for `tenant`, or 1905 when it has its share already.
    pub fn claim(&self, tenant: &str) -> Result<Share, OpError> {
        let mut tenants = self.tenants.lock().expect("tenant shares lock");
        let running = tenants.entry(tenant.to_owned()).or_insert(0);
        if *running >= self.per_tenant {
            return Err(OpError::refused(ErrorCode::TooManyRequests, format!("at most {} {} at once per tenant", self.per_tenant, self.what)));
        }
        *running += 1;
        Ok(Share { tenants: self.tenants.clone(), tenant: tenant.to_owned() })
    }
}

/// A tenant's claim on its share, given back when dropped.
#[derive(Debug)]
pub struct Share {
    tenants: Arc<Mutex<HashMap<String, usize>>>,
    tenant: String,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut tenants = self.tenants.lock().expect("tenant shares lock");
        if let Some(n) = tenants.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                tenants.remove(&self.tenant);
            }
        }
    }
}

impl CpuPool {
    /// A pool with `limits`.
    pub fn new(limits: CpuLimits) -> CpuPool {
        CpuPool {
            slots: Arc::new(Semaphore::new(limits.threads.max(1))),
            pdfs: Arc::new(Semaphore::new(limits.pdfs.max(1))),
            shares: TenantShares::new("document jobs (validate, generate, visualize, send, package)", limits.per_tenant),
        }
    }

    /// Runs `work` for `tenant` on a blocking thread once a slot is free; 1905 at once when the tenant already
    /// has its share running or waiting. The slot and the share are held until `work` ends, even if the
    /// request that asked for it is gone, so abandoned requests cannot push the pool past its bound.
    pub async fn run<T: Send + 'static>(
        &self,
        tenant: &Tenant,
        job: Job,
        work: impl FnOnce() -> Result<T, OpError> + Send + 'static,
    ) -> Result<T, OpError> {
        let share = self.shares.claim(&tenant.id)?;
        let pdf = match job {
            Job::Pdf => Some(self.pdfs.clone().acquire_owned().await.map_err(anyhow::Error::from)?),
            Job::Document => None,
        };
        let slot = self.slots.clone().acquire_owned().await.map_err(anyhow::Error::from)?;
        tokio::task::spawn_blocking(move || {
            let _held = (share, pdf, slot);
            work()
        })
        .await
        .map_err(|e| OpError::Internal(anyhow::anyhow!("a background job failed: {e}")))?
    }

}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> Tenant {
        Tenant { id: id.to_owned(), nip: "5265877635".to_owned() }
    }

    #[tokio::test]
    async fn a_tenant_past_its_share_is_refused_while_another_tenant_still_runs() {
        let pool = Arc::new(CpuPool::new(CpuLimits { threads: 2, pdfs: 1, per_tenant: 1 }));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(&tenant("a"), Job::Document, move || Ok(wait.recv().is_ok())).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = pool.run(&tenant("a"), Job::Document, || Ok(())).await;
        assert!(matches!(refused, Err(OpError::Refused { code: ErrorCode::TooManyRequests, .. })), "{refused:?}");
        assert_eq!(pool.run(&tenant("b"), Job::Document, || Ok(7)).await.unwrap(), 7);
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap());
        assert_eq!(pool.run(&tenant("a"), Job::Document, || Ok(1)).await.unwrap(), 1, "the share comes back when the job ends");
    }
}
