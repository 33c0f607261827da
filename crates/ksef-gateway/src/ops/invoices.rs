//! Invoices: sending one into a session (recorded first, so a retry never sends twice), its status, the
//! statuses of a whole session, downloading an invoice by KSeF number, and KSeF's public key.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use ksef_client::wire::codes::{ExceptionCode, invoice as invoice_status};
use ksef_client::wire::sessions::SessionInvoiceStatusResponse;
use ksef_client::{EncryptedInvoice, KsefKeys};
use ksef_core::crypto::{AesKey, Iv, b64_decode};
use ksef_core::ids::KsefNumber;
// The 1 MB limit without attachments is KSeF's to apply: the gateway cannot tell without parsing.
use ksef_core::limits::MAX_INVOICE_BYTES;
use ksef_store::{DeliveryState, InvoiceInsert, InvoiceRecord, InvoiceStatusUpdate, KeyMode, NewInvoice, SessionKind};

use super::sessions::owned_session;
use super::{Context, OpError, Status, Tenant, from_micros, micros, tenant_ksef};
use crate::errors::ErrorCode;

/// An invoice as a send request carries it.
#[derive(Debug, Clone)]
pub enum SendPayload {
    /// Encrypted by the caller under its own session key.
    Encrypted {
        /// The ciphertext.
        encrypted: Vec<u8>,
        /// Base64 SHA-256 of the plain invoice.
        invoice_hash: String,
        /// Plain size in bytes.
        invoice_size: i64,
    },
    /// Plain XML, for a session whose key the gateway holds.
    Plain {
        /// The exact bytes of the invoice file.
        xml: Vec<u8>,
    },
}

/// An invoice accepted by KSeF for processing (or found already sent).
#[derive(Debug, Clone)]
pub struct SentInvoice {
    /// Our id.
    pub id: String,
    /// When the gateway received it.
    pub created: DateTime<Utc>,
}

/// What the gateway knows of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceView {
    /// Our id.
    pub id: String,
    /// KSeF's status (or the gateway's, before KSeF has the invoice).
    pub status: Status,
    /// Position in the session.
    pub ordinal: Option<i64>,
    /// `P_2`.
    pub invoice_number: Option<String>,
    /// KSeF number.
    pub ksef_number: Option<String>,
    /// When KSeF gave the number.
    pub acquisition_date: Option<DateTime<Utc>>,
    /// When KSeF stored it for good.
    pub permanent_storage_date: Option<DateTime<Utc>>,
    /// Its file name inside a batch package.
    pub file_name: Option<String>,
}

fn check_plain_hash(invoice_hash: &str) -> Result<(), OpError> {
    let bytes = b64_decode(invoice_hash).map_err(|_| OpError::refused(ErrorCode::B64Decode, "invoiceHash is not base64"))?;
    if bytes.len() != 32 {
        return Err(OpError::refused(ErrorCode::InvoiceInput, "invoiceHash must be a SHA-256 digest (32 bytes, 44 base64 characters)"));
    }
    Ok(())
}

fn check_size(size: usize) -> Result<(), OpError> {
    if size == 0 {
        return Err(OpError::refused(ErrorCode::InvoiceInput, "the invoice is empty"));
    }
    if size > MAX_INVOICE_BYTES {
        return Err(OpError::refused(ErrorCode::InvoiceSize, format!("the invoice has {size} bytes; KSeF takes at most {MAX_INVOICE_BYTES}")));
    }
    Ok(())
}

/// Checks plain XML as KSeF's pre-checks would: UTF-8, well-formed, no DTD.
fn check_xml(xml: &[u8]) -> Result<(), OpError> {
    let text = std::str::from_utf8(xml).map_err(|_| OpError::refused(ErrorCode::InvoiceFormat, "the invoice is not UTF-8"))?;
    ksef_core::xml::parse(text)
        .map_err(|e| OpError::refused(ErrorCode::InvoiceFormat, format!("the invoice is not well-formed XML: {e}")))?;
    Ok(())
}

/// Sends one invoice into the session `session_id`.
pub async fn send(ctx: &Context, tenant: &Tenant, session_id: &str, payload: SendPayload) -> Result<SentInvoice, OpError> {
    let (session, reference) = owned_session(ctx, tenant, session_id).await?;
    if session.closed_at.is_some() {
        return Err(OpError::conflict(ErrorCode::InvoiceSend, format!("session {session_id} is closed")));
    }
    if session.kind == SessionKind::Batch {
        return Err(OpError::conflict(
            ErrorCode::InvoiceSend,
            format!("session {session_id} is a batch session: its invoices go in the package's parts, not one by one"),
        ));
    }
    let invoice = match (payload, session.key_mode) {
        (SendPayload::Encrypted { encrypted, invoice_hash, invoice_size }, KeyMode::Caller) => {
            check_plain_hash(&invoice_hash)?;
            check_size(usize::try_from(invoice_size).unwrap_or(0))?;
            if encrypted.is_empty() || encrypted.len() % 16 != 0 {
                return Err(OpError::refused(ErrorCode::InvoiceFormat, "encryptedInvoice is not AES-CBC ciphertext (whole 16-byte blocks)"));
            }
            EncryptedInvoice { ciphertext: encrypted, invoice_hash, invoice_size }
        }
        (SendPayload::Plain { xml }, KeyMode::Gateway) => {
            check_size(xml.len())?;
            let sealed = session.sealed_key.as_deref().ok_or_else(|| anyhow::anyhow!("session {session_id} lacks its key"))?;
            let key = AesKey::from_slice(&ctx.master_key.open(session_id, sealed)?).map_err(anyhow::Error::from)?;
            let iv = Iv::from_slice(session.iv.as_deref().unwrap_or_default()).map_err(anyhow::Error::from)?;
            // Parsing 3 MB is CPU work: on the pool, within the tenant's share.
            ctx.cpu
                .run(tenant, super::cpu::Job::Document, move || {
                    check_xml(&xml)?;
                    Ok(EncryptedInvoice::encrypt(&key, &iv, &xml))
                })
                .await?
        }
        (SendPayload::Encrypted { .. }, _) => {
            return Err(OpError::refused(
                ErrorCode::InvoiceFormat,
                "this session was opened without encryptionInfo: the gateway holds its key, so send the invoice in `plain`",
            ));
        }
        (SendPayload::Plain { .. }, _) => {
            return Err(OpError::refused(
                ErrorCode::InvoiceFormat,
                "this session was opened with your encryptionInfo: send the invoice `encrypted` under your key",
            ));
        }
    };

    let created = super::now();
    let new = NewInvoice {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.id.clone(),
        session_id: session_id.to_owned(),
        invoice_hash: invoice.invoice_hash.clone(),
        invoice_size: invoice.invoice_size,
        payload: invoice.ciphertext.clone(),
        created_at: micros(created),
    };
    let (id, created) = match ctx.store.insert_invoice(&new).await.map_err(OpError::store(ErrorCode::InvoiceSave))? {
        InvoiceInsert::Inserted => (new.id, created),
        // The same invoice again: KSeF has it (or is getting it); answer as the first time.
        InvoiceInsert::Existing(existing) if existing.state != DeliveryState::SendFailed => {
            return Ok(SentInvoice { id: existing.id, created: from_micros(existing.created_at) });
        }
        // A send that failed earlier is tried again, under the same id.
        InvoiceInsert::Existing(existing) => {
            ctx.store.retry_invoice_send(&existing.id, &invoice.ciphertext, micros(created)).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
            (existing.id, from_micros(existing.created_at))
        }
    };

    let ksef = tenant_ksef(ctx, tenant).await?;
    let sent = ksef.send_invoice(&reference, &invoice.request()).await;
    match sent {
        Ok(answer) => {
            ctx.store.mark_invoice_sent(&id, &answer.reference_number, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
            Ok(SentInvoice { id, created })
        }
        // KSeF refused the request itself: the invoice never entered the session, so it is forgotten.
        Err(err @ ksef_client::KsefError::Api { .. }) => {
            ctx.store.delete_refused_invoice(&id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
            Err(OpError::ksef(ErrorCode::InvoiceSend, &err))
        }
        // Unknown outcome or KSeF unavailable: kept, so sending it again retries it.
        Err(err) => {
            ctx.store.mark_invoice_send_failed(&id, &err.to_string(), micros(Utc::now())).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
            Err(OpError::ksef(ErrorCode::InvoiceSend, &err))
        }
    }
}

fn is_final(record: &InvoiceRecord) -> bool {
    record.status.as_ref().is_some_and(|s| i32::try_from(s.code).is_ok_and(|code| !invoice_status::in_progress(code)))
}

fn view(record: &InvoiceRecord) -> InvoiceView {
    let status = match (record.state, &record.status) {
        (_, Some(s)) => Status {
            code: s.code,
            description: s.description.clone(),
            details: s.details.clone(),
            extensions: s.extensions.as_deref().and_then(|e| serde_json::from_str::<BTreeMap<String, String>>(e).ok()).unwrap_or_default(),
        },
        (DeliveryState::SendFailed, None) => Status {
            code: 0,
            description: "Faktura nie została jeszcze przekazana do KSeF".to_owned(),
            details: vec![format!("Send it again to retry: {}", record.send_error.clone().unwrap_or_default())],
            extensions: BTreeMap::new(),
        },
        (_, None) => Status {
            code: i64::from(invoice_status::RECEIVED.code),
            description: invoice_status::RECEIVED.description.to_owned(),
            ..Status::default()
        },
    };
    let s = record.status.as_ref();
    InvoiceView {
        id: record.id.clone(),
        status,
        ordinal: s.and_then(|s| s.ordinal),
        invoice_number: s.and_then(|s| s.invoice_number.clone()),
        ksef_number: s.and_then(|s| s.ksef_number.clone()),
        acquisition_date: s.and_then(|s| s.acquisition_date).map(from_micros),
        permanent_storage_date: s.and_then(|s| s.permanent_storage_date).map(from_micros),
        file_name: None,
    }
}

fn update_from(answer: &SessionInvoiceStatusResponse) -> InvoiceStatusUpdate {
    InvoiceStatusUpdate {
        code: i64::from(answer.status.code),
        description: answer.status.description.clone(),
        details: answer.status.details.clone().unwrap_or_default(),
        extensions: answer.status.extensions.as_ref().map(|e| serde_json::to_string(e).expect("map serializes")),
        ordinal: Some(i64::from(answer.ordinal_number)),
        invoice_number: answer.invoice_number.clone(),
        ksef_number: answer.ksef_number.clone(),
        acquisition_date: answer.acquisition_date.map(micros),
        permanent_storage_date: answer.permanent_storage_date.map(micros),
    }
}

/// An invoice of a batch session as KSeF lists it; its id is KSeF's reference number (the gateway never had it).
fn batch_view(answer: &SessionInvoiceStatusResponse) -> InvoiceView {
    InvoiceView {
        id: answer.reference_number.clone(),
        status: Status {
            code: i64::from(answer.status.code),
            description: answer.status.description.clone(),
            details: answer.status.details.clone().unwrap_or_default(),
            extensions: answer.status.extensions.clone().unwrap_or_default(),
        },
        ordinal: Some(i64::from(answer.ordinal_number)),
        invoice_number: answer.invoice_number.clone(),
        ksef_number: answer.ksef_number.clone(),
        acquisition_date: answer.acquisition_date,
        permanent_storage_date: answer.permanent_storage_date,
        file_name: answer.invoice_file_name.clone(),
    }
}

async fn owned_invoice(ctx: &Context, tenant: &Tenant, id: &str) -> Result<InvoiceRecord, OpError> {
    let unknown = || OpError::refused(ErrorCode::InvoiceUnknown, format!("no invoice {id}"));
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(unknown());
    }
    let record = ctx.store.invoice(id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?.ok_or_else(unknown)?;
    // Another tenant's invoice is, to this tenant, no invoice at all.
    if record.tenant_id != tenant.id {
        return Err(unknown());
    }
    Ok(record)
}

/// An invoice's status: from the store once final, otherwise from KSeF.
pub async fn status(ctx: &Context, tenant: &Tenant, id: &str) -> Result<InvoiceView, OpError> {
    let mut record = owned_invoice(ctx, tenant, id).await?;
    let Some(invoice_ref) = record.ksef_reference.clone().filter(|_| !is_final(&record)) else {
        return Ok(view(&record));
    };
    let (_, session_ref) = owned_session(ctx, tenant, &record.session_id).await?;
    let ksef = tenant_ksef(ctx, tenant).await?;
    let answer = ksef.session_invoice(&session_ref, &invoice_ref).await.map_err(|e| OpError::ksef(ErrorCode::InvoiceStatus, &e))?;
    let update = update_from(&answer);
    ctx.store.update_invoice_status(id, &update, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
    record.status = Some(update);
    Ok(view(&record))
}

/// Every invoice of a session with its status. Online: the invoices sent through the gateway, those not final
/// refreshed from KSeF in one listing. Batch: KSeF's listing itself, with each invoice's file name.
pub async fn session_invoices(ctx: &Context, tenant: &Tenant, session_id: &str) -> Result<Vec<InvoiceView>, OpError> {
    let (session, session_ref) = owned_session(ctx, tenant, session_id).await?;
    if session.kind == SessionKind::Batch {
        let ksef = tenant_ksef(ctx, tenant).await?;
        let listed = ksef.session_invoices(&session_ref).await.map_err(|e| OpError::ksef(ErrorCode::InvoiceStatus, &e))?;
        return Ok(listed.iter().map(batch_view).collect());
    }
    let mut records = ctx.store.session_invoices(session_id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
    if records.iter().any(|r| r.ksef_reference.is_some() && !is_final(r)) {
        let ksef = tenant_ksef(ctx, tenant).await?;
        let listed = ksef.session_invoices(&session_ref).await.map_err(|e| OpError::ksef(ErrorCode::InvoiceStatus, &e))?;
        let by_reference: HashMap<String, SessionInvoiceStatusResponse> =
            listed.into_iter().map(|i| (i.reference_number.clone(), i)).collect();
        let now = micros(Utc::now());
        for record in records.iter_mut().filter(|r| !is_final(r)) {
            let Some(answer) = record.ksef_reference.as_ref().and_then(|r| by_reference.get(r)) else { continue };
            let update = update_from(answer);
            ctx.store.update_invoice_status(&record.id, &update, now).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
            record.status = Some(update);
        }
    }
    Ok(records.iter().map(view).collect())
}

/// The invoice with KSeF number `ksef_number`, exactly as stored in KSeF, if the tenant's context may see it.
pub async fn get(ctx: &Context, tenant: &Tenant, ksef_number: &str) -> Result<Vec<u8>, OpError> {
    KsefNumber::parse(ksef_number).map_err(|e| OpError::refused(ErrorCode::InvoiceUnknown, e.to_string()))?;
    let ksef = tenant_ksef(ctx, tenant).await?;
    match ksef.invoice(ksef_number).await {
        Ok(d) => Ok(d.bytes.to_vec()),
        Err(err) if err.has_code(ExceptionCode::InvoiceNotFound) => {
            Err(OpError::refused(ErrorCode::InvoiceUnknown, format!("KSeF has no invoice {ksef_number} visible to this tenant")))
        }
        Err(err) if err.has_code(ExceptionCode::InvoiceNotYetAvailable) => Err(OpError::conflict(
            ErrorCode::InvoiceUnknown,
            format!("KSeF has processed {ksef_number} but does not serve it yet; retry shortly"),
        )),
        Err(err) => Err(OpError::ksef(ErrorCode::InvoiceStatus, &err)),
    }
}

/// KSeF's public key for wrapping session keys: DER `SubjectPublicKeyInfo`.
pub async fn public_key(ctx: &Context) -> Result<Vec<u8>, OpError> {
    let certificates = ctx.ksef.client().public_key_certificates().await.map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let keys = KsefKeys::from_certificates(&certificates, Utc::now()).map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    Ok(keys.symmetric_key_encryption.key.spki_der().to_vec())
}
