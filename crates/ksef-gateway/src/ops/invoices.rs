//! Invoices: sending one into a session (recorded first, so a retry never sends twice, then delivered by
//! `delivery.rs` however long KSeF fails), its status and the statuses of a whole session (as the outbox last
//! heard them from KSeF), downloading an invoice by KSeF number, and KSeF's public key.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ksef_client::wire::codes::{ExceptionCode, invoice as invoice_status};
use ksef_client::wire::sessions::SessionInvoiceStatusResponse;
use ksef_client::{EncryptedInvoice, KsefKeys};
use super::delivery::{self, Attempt};
use ksef_core::crypto::b64_decode;
use ksef_core::ids::KsefNumber;
// The 1 MB limit without attachments is KSeF's to apply: the gateway cannot tell without parsing.
use ksef_core::limits::MAX_INVOICE_BYTES;
use ksef_store::{DeliveryState, InvoiceInsert, InvoiceRecord, KeyMode, NewInvoice, SessionKind};

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
    /// How KSeF recorded it was issued: `Online` or `Offline`.
    pub invoicing_mode: Option<String>,
    /// Where the gateway is in delivering it (invoices sent through the gateway; not batch packages' invoices).
    pub delivery: Option<Delivery>,
}

/// The gateway's side of an invoice's way to KSeF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Queued, sending, sent (KSeF processing), accepted, rejected, or duplicate.
    pub state: DeliveryState,
    /// Sends tried.
    pub attempts: i64,
    /// Why the last attempt failed, while queued or after a refusal.
    pub last_error: Option<String>,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// A duplicate's original KSeF number (also given as `ksef_number`).
    pub original_ksef_number: Option<String>,
    /// Issued offline: its mode.
    pub offline_mode: Option<String>,
    /// Issued offline: the end of the last day it may reach KSeF.
    pub deadline: Option<DateTime<Utc>>,
    /// The KSeF session it went in, once sent (online, or a batch of the gateway's).
    pub ksef_session: Option<String>,
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

/// Checks plain XML as KSeF's pre-checks would (UTF-8, well-formed, no DTD), and reads its buyer's NIP on the
/// way (one streaming pass).
fn check_xml(xml: &[u8]) -> Result<Option<String>, OpError> {
    let text = std::str::from_utf8(xml).map_err(|_| OpError::refused(ErrorCode::InvoiceFormat, "the invoice is not UTF-8"))?;
    ksef_fa::parties::buyer_nip(text).map_err(|e| OpError::refused(ErrorCode::InvoiceFormat, format!("the invoice is not well-formed XML: {e}")))
}

/// Sends one invoice into the session `session_id`.
pub async fn send(ctx: &Context, tenant: &Tenant, session_id: &str, payload: SendPayload) -> Result<SentInvoice, OpError> {
    ctx.check_backlog(tenant)?;
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
    let (invoice, buyer_nip) = match (payload, session.key_mode) {
        (SendPayload::Encrypted { encrypted, invoice_hash, invoice_size }, KeyMode::Caller) => {
            check_plain_hash(&invoice_hash)?;
            check_size(usize::try_from(invoice_size).unwrap_or(0))?;
            if encrypted.is_empty() || encrypted.len() % 16 != 0 {
                return Err(OpError::refused(ErrorCode::InvoiceFormat, "encryptedInvoice is not AES-CBC ciphertext (whole 16-byte blocks)"));
            }
            (EncryptedInvoice { ciphertext: encrypted, invoice_hash, invoice_size }, None)
        }
        (SendPayload::Plain { xml }, KeyMode::Gateway) => {
            check_size(xml.len())?;
            let (key, iv) = super::open_gateway_key(ctx, session_id, session.sealed_key.as_deref(), session.iv.as_deref())?;
            // Parsing 3 MB is CPU work: on the pool, within the tenant's share.
            ctx.cpu
                .run(tenant, super::cpu::Job::Document, move || {
                    let buyer_nip = check_xml(&xml)?;
                    Ok((EncryptedInvoice::encrypt(&key, &iv, &xml), buyer_nip))
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
        lease_owner: Some(ctx.instance.to_string()),
        submission: None,
        buyer_nip,
    };
    match ctx.store.insert_invoice(&new).await.map_err(OpError::store(ErrorCode::InvoiceSave))? {
        InvoiceInsert::Inserted => {}
        // The same invoice again: it is on its way (or there); answer as the first time.
        InvoiceInsert::Existing(existing) => return Ok(SentInvoice { id: existing.id, created: from_micros(existing.created_at) }),
        InvoiceInsert::SessionClosed => return Err(OpError::conflict(ErrorCode::InvoiceSend, format!("session {session_id} is closed"))),
    }
    // Recorded: from here on the invoice is the gateway's to deliver. One attempt now, while the caller waits;
    // if KSeF fails, the outbox worker tries again and the caller is still answered with the invoice's id.
    let record = InvoiceRecord {
        id: new.id.clone(),
        tenant_id: new.tenant_id,
        session_id: new.session_id,
        invoice_hash: new.invoice_hash,
        invoice_size: new.invoice_size,
        state: DeliveryState::Sending,
        payload: None,
        ksef_reference: None,
        send_error: None,
        status: None,
        invoice_number: None,
        buyer_nip: new.buyer_nip.clone(),
        created_at: new.created_at,
        attempts: 1,
        next_attempt_at: None,
        lease_owner: new.lease_owner,
        ksef_session: Some(reference),
        original_ksef_number: None,
        offline_mode: None,
        deadline_at: None,
        hash_of_corrected: None,
        verify_first: false,
        batch_session: None,
        updated_at: new.created_at,
    };
    match delivery::attempt(ctx, tenant, &record, &invoice.request(), delivery::Known::Unchecked, delivery::Caller::Waiting).await? {
        Attempt::Sent | Attempt::Requeued => Ok(SentInvoice { id: new.id, created }),
        // KSeF refused the request itself: the invoice never entered the session, so it is forgotten.
        Attempt::Refused(err) => Err(OpError::ksef(ErrorCode::InvoiceSend, &err)),
    }
}

pub(crate) fn view(record: &InvoiceRecord) -> InvoiceView {
    let status = match (record.state, &record.status) {
        (_, Some(s)) => Status {
            code: s.code,
            description: s.description.clone(),
            details: s.details.clone(),
            extensions: s.extensions.as_deref().and_then(|e| serde_json::from_str::<BTreeMap<String, String>>(e).ok()).unwrap_or_default(),
        },
        (DeliveryState::Queued | DeliveryState::Sending, None) => Status {
            code: 0,
            description: "Faktura czeka na przekazanie do KSeF".to_owned(),
            details: match &record.send_error {
                Some(error) => vec![format!("The gateway delivers it as soon as KSeF takes it; last attempt: {error}")],
                None => vec!["The gateway is delivering it to KSeF".to_owned()],
            },
            extensions: BTreeMap::new(),
        },
        (DeliveryState::Rejected, None) => Status {
            code: 0,
            description: "KSeF odrzuciło wysyłkę faktury".to_owned(),
            details: vec![record.send_error.clone().unwrap_or_default()],
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
        ksef_number: s.and_then(|s| s.ksef_number.clone()).or_else(|| record.original_ksef_number.clone()),
        acquisition_date: s.and_then(|s| s.acquisition_date).map(from_micros),
        permanent_storage_date: s.and_then(|s| s.permanent_storage_date).map(from_micros),
        file_name: None,
        invoicing_mode: s.and_then(|s| s.invoicing_mode.clone()),
        delivery: Some(Delivery {
            state: record.state,
            attempts: record.attempts,
            last_error: record.send_error.clone(),
            next_attempt_at: record.next_attempt_at.filter(|_| record.state == DeliveryState::Queued).map(from_micros),
            original_ksef_number: record.original_ksef_number.clone(),
            offline_mode: record.offline_mode.clone(),
            deadline: record.deadline_at.map(from_micros),
            ksef_session: record.ksef_session.clone().filter(|_| record.state == DeliveryState::Sent || record.state.is_final()),
        }),
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
        invoicing_mode: answer.invoicing_mode.map(|m| m.as_str().to_owned()),
        delivery: None,
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

/// An invoice's status, as the outbox last heard it from KSeF (it polls until KSeF's verdict is in), so it is
/// answered while KSeF is down too.
pub async fn status(ctx: &Context, tenant: &Tenant, id: &str) -> Result<InvoiceView, OpError> {
    Ok(view(&owned_invoice(ctx, tenant, id).await?))
}

/// Every invoice of a session with its status. Online: the invoices sent through the gateway, from the store.
/// Batch: KSeF's listing itself, with each invoice's file name.
pub async fn session_invoices(ctx: &Context, tenant: &Tenant, session_id: &str) -> Result<Vec<InvoiceView>, OpError> {
    let (session, session_ref) = owned_session(ctx, tenant, session_id).await?;
    if session.kind == SessionKind::Batch {
        let ksef = tenant_ksef(ctx, tenant).await?;
        let listed = ksef.session_invoices(&session_ref).await.map_err(|e| OpError::ksef(ErrorCode::InvoiceStatus, &e))?;
        return Ok(listed.iter().map(batch_view).collect());
    }
    let records = ctx.store.session_invoices(session_id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?;
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
