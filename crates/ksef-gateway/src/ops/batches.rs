//! Delivery of a long queue as KSeF batches. KSeF lets a context send 180 invoices an hour online but open 60
//! batch sessions an hour of up to 10,000 invoices each, so a tenant's backlog of sessionless submits (after an
//! outage, say) goes as one package: claimed into a batch session of ours, decrypted from their own sessions' keys,
//! zipped, encrypted under a fresh key, uploaded, and closed by the outbox like any session. Their statuses come
//! from KSeF's list of the batch, matched by hash.
//!
//! What KSeF did not take goes online: a batch that never reached KSeF (or was never closed, which KSeF cancels)
//! gives its invoices back to the queue; one that ended without some of them sends those online.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use ksef_client::wire::codes::session as session_status;
use ksef_client::{BatchPackager, SymmetricKey};
use ksef_core::crypto::{AesKey, Iv, decrypt_cbc, sha256_base64};
use ksef_core::limits::MAX_INVOICES_PER_SESSION;
use ksef_store::{BatchQueue, InvoiceRecord, KeyMode, NewSession, SessionKind, SessionRecord};

use super::sessions::{InvoiceVersion, record_then_open};
use super::{Context, OpError, Tenant, micros, tenant_ksef};
use crate::errors::ErrorCode;

/// Most bytes of invoices in one batch (they are decrypted in memory to be packaged).
const MAX_BATCH_BYTES: i64 = 200_000_000;
/// Parts uploaded at once.
const UPLOAD_CONCURRENCY: usize = 4;
/// How long invoices a batch gave back wait before they are claimed again.
const GIVEN_BACK_WAIT: Duration = Duration::from_secs(5);

fn save() -> impl FnOnce(ksef_store::StoreError) -> OpError {
    OpError::store(ErrorCode::InvoiceSave)
}

/// Sends the oldest invoices of `queue` as one batch; how many went. Invoices a failure left undelivered are given
/// back to the queue (to a later batch, or online).
pub(crate) async fn send(ctx: &Context, tenant: &Tenant, queue: &BatchQueue) -> Result<usize, OpError> {
    let version = InvoiceVersion::parse(&queue.invoice_version)?;
    let now = super::now();
    let session = NewSession {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.id.clone(),
        invoice_version: version.as_str().to_owned(),
        kind: SessionKind::Batch,
        key_mode: KeyMode::Gateway,
        // The package is encrypted before the session opens; its key is of no use after.
        sealed_key: None,
        iv: None,
        encryption: None,
        managed: false,
        created_at: micros(now),
    };
    let batch = session.id.clone();
    let claimed = ctx
        .store
        .claim_batch(&ctx.instance, &batch, queue, micros(now), MAX_INVOICES_PER_SESSION as i64, MAX_BATCH_BYTES)
        .await
        .map_err(save())?;
    if claimed.is_empty() {
        return Ok(0);
    }
    match deliver(ctx, tenant, version, queue.offline, session, &claimed).await {
        Ok(()) => Ok(claimed.len()),
        Err(err) => {
            // Nothing of it was closed in KSeF: an open batch session is cancelled by KSeF, unprocessed.
            give_back(ctx, &batch, None, &err.to_string(), false).await?;
            Err(err)
        }
    }
}

async fn deliver(ctx: &Context, tenant: &Tenant, version: InvoiceVersion, offline: bool, session: NewSession, claimed: &[InvoiceRecord]) -> Result<(), OpError> {
    let batch = session.id.clone();
    let files = plain_invoices(ctx, claimed).await?;
    let ksef = tenant_ksef(ctx, tenant).await?;
    let keys = ksef.keys().await.map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let key = SymmetricKey::generate(&keys).map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let work = tempfile::tempdir().map_err(|e| anyhow::anyhow!("no folder for the batch's parts: {e}"))?;
    let (dir, aes, iv) = (work.path().to_owned(), key.key.clone(), key.iv);
    let packaged = ctx
        .cpu
        .run(tenant, super::cpu::Job::Document, move || {
            let files = files.into_iter().map(|(name, xml)| Ok((name, std::io::Cursor::new(xml))));
            BatchPackager::default().package(files, &aes, &iv, &dir).map_err(|e| OpError::from(anyhow::anyhow!("packaging a batch: {e}")))
        })
        .await?;
    let opening = ksef.open_batch_session(version.form_code(), &packaged, &key, offline);
    let opened = record_then_open(ctx, tenant, session, opening, |b| b.reference_number.clone()).await?;
    ctx.store.set_batch_reference(&batch, &opened.reference_number).await.map_err(save())?;
    opened.upload(ksef.client(), &packaged.parts, UPLOAD_CONCURRENCY, |_| {}).await.map_err(|e| OpError::ksef(ErrorCode::InvoiceSend, &e))?;
    // Recorded as sent, and its close asked for in the same transaction (then made by the outbox's session work
    // like any session the gateway closes: retried, paced, its UPO fetched). Closed only if every invoice is still
    // this batch's: one another instance took over meanwhile (this one stalled past its lease) may be on its way
    // again, and a batch never closed is cancelled by KSeF, unprocessed, so nothing reaches KSeF twice.
    let now = micros(Utc::now());
    let next_poll = super::delivery::at(now, Duration::from_secs(1));
    let sent = ctx.store.mark_batch_sent(&batch, now, next_poll, claimed.len() as u64).await.map_err(save())?;
    if sent != claimed.len() as u64 {
        tracing::warn!(session.id = %batch, sent, claimed = claimed.len(), "invoices of a batch were taken over before it was closed; it is left for KSeF to cancel");
        return Ok(());
    }
    tracing::info!(session.id = %batch, session.reference = %opened.reference_number, invoices = sent, parts = packaged.parts.len(),
        tenant = %tenant.id, "a queue of invoices sent to KSeF as a batch");
    Ok(())
}

/// The claimed invoices in clear, named by their ids, each opened with its own session's key and checked against
/// its hash.
async fn plain_invoices(ctx: &Context, claimed: &[InvoiceRecord]) -> Result<Vec<(String, Vec<u8>)>, OpError> {
    let mut keys: HashMap<String, (AesKey, Iv)> = HashMap::new();
    let mut files = Vec::with_capacity(claimed.len());
    for record in claimed {
        if !keys.contains_key(&record.session_id) {
            let session = ctx.store.session(&record.session_id).await.map_err(save())?;
            let session = session.ok_or_else(|| anyhow::anyhow!("session {} is gone", record.session_id))?;
            keys.insert(record.session_id.clone(), super::open_gateway_key(ctx, &session.id, session.sealed_key.as_deref(), session.iv.as_deref())?);
        }
        let (key, iv) = &keys[&record.session_id];
        let payload = record.payload.as_deref().ok_or_else(|| anyhow::anyhow!("invoice {} has no content left to send", record.id))?;
        let xml = decrypt_cbc(key, iv, payload).map_err(|e| anyhow::anyhow!("invoice {}: {e}", record.id))?;
        if sha256_base64(&xml) != record.invoice_hash {
            return Err(anyhow::anyhow!("invoice {} does not match its hash", record.id).into());
        }
        files.push((format!("{}.xml", record.id), xml));
    }
    Ok(files)
}

/// Where a batch stands in KSeF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// KSeF will process none of it: never opened, or never closed (KSeF cancels it).
    NotTaken,
    /// Closed and being processed: its invoices' statuses are yet to come.
    Pending,
    /// Processed (or failed): KSeF's list says which invoices it took.
    Final,
}

/// Where batch session `batch` (ours) stands: from our record, and KSeF's status once it was opened.
pub(crate) async fn fate(ctx: &Context, tenant: &Tenant, batch: &SessionRecord) -> Result<Fate, OpError> {
    let Some(reference) = batch.ksef_reference.as_deref() else { return Ok(Fate::NotTaken) };
    // Thousands of invoices polled in slices of a few hundred: one read of a pending batch serves them a while.
    let seen_pending = ctx.batch_fates.lock().expect("batch fates lock").get(&batch.id).copied();
    if seen_pending.is_some_and(|at| at.elapsed() < PENDING_KEPT) {
        return Ok(Fate::Pending);
    }
    let ksef = tenant_ksef(ctx, tenant).await?;
    let status = ksef.session_status(reference).await.map_err(|e| OpError::ksef(ErrorCode::SessionStatus, &e))?;
    let code = status.status.code;
    let fate = if code == session_status::BATCH_OPEN.code {
        // Open: closing is still to come if it was asked for; if not, nobody will close it.
        if batch.closed_at.is_some() { Fate::Pending } else { Fate::NotTaken }
    } else if session_status::in_progress(code) {
        Fate::Pending
    } else {
        Fate::Final
    };
    let mut fates = ctx.batch_fates.lock().expect("batch fates lock");
    fates.retain(|_, at| at.elapsed() < PENDING_KEPT);
    if fate == Fate::Pending {
        fates.insert(batch.id.clone(), std::time::Instant::now());
    }
    Ok(fate)
}

/// How long a batch KSeF was processing is taken to be still processing without asking again.
const PENDING_KEPT: Duration = Duration::from_millis(1500);

/// Gives invoices of batch `batch` back to the queue (`id`: that one only): `online` when KSeF ended the batch
/// without them, so they go online rather than in another batch.
pub(crate) async fn give_back(ctx: &Context, batch: &str, id: Option<&str>, why: &str, online: bool) -> Result<u64, OpError> {
    let now = micros(Utc::now());
    let given = ctx.store.unbatch(batch, id, why, super::delivery::at(now, GIVEN_BACK_WAIT), now, online).await.map_err(save())?;
    if given > 0 {
        tracing::info!(session.id = %batch, invoices = given, why, "invoices of a batch back in the queue");
    }
    Ok(given)
}
