//! Sessions: opening an online one in KSeF for a tenant (with the caller's key or one the gateway holds),
//! and, for online and batch sessions alike, their status, closing, and UPO.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ksef_client::{KsefError, KsefKeys, SymmetricKey};
use ksef_client::wire::{EncryptionInfo, FormCode};
use ksef_core::crypto::b64;
use ksef_client::wire::codes::session as session_status;
use ksef_store::{KeyMode, NewSession, SessionKind, SessionRecord, SessionStatusUpdate};

use super::{Context, OpError, Status, Tenant, micros, tenant_ksef};
use crate::errors::ErrorCode;

/// The invoice schema a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceVersion {
    /// FA(2) (KSeF TEST only).
    V2,
    /// FA(3), the current schema.
    V3,
}

impl InvoiceVersion {
    /// Reads `v2` or `v3`.
    pub fn parse(text: &str) -> Result<InvoiceVersion, OpError> {
        match text {
            "v2" => Ok(InvoiceVersion::V2),
            "v3" => Ok(InvoiceVersion::V3),
            other => Err(OpError::refused(ErrorCode::InvoiceVersion, format!("invoiceVersion '{other}' is neither v2 nor v3"))),
        }
    }

    /// As written in our API.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceVersion::V2 => "v2",
            InvoiceVersion::V3 => "v3",
        }
    }

    pub(crate) fn form_code(self) -> FormCode {
        match self {
            InvoiceVersion::V2 => FormCode::fa2(),
            InvoiceVersion::V3 => FormCode::fa3(),
        }
    }
}

/// The caller's own session key, already wrapped with KSeF's public key (the gateway never sees it).
#[derive(Debug, Clone)]
pub struct CallerEncryption {
    /// RSA-OAEP-SHA256 of the AES-256 key.
    pub encrypted_key: Vec<u8>,
    /// The 16-byte IV.
    pub iv: Vec<u8>,
}

/// What KSeF is sent for the caller's own key: 1002 / 1003 unless its IV has 16 bytes and its wrapped key one
/// RSA block of KSeF's key.
pub(crate) fn caller_encryption(caller: &CallerEncryption, keys: &KsefKeys) -> Result<EncryptionInfo, OpError> {
    let modulus_len = keys.symmetric_key_encryption.key.modulus_len();
    if caller.iv.len() != 16 {
        return Err(OpError::refused(ErrorCode::AesIvLength, format!("initVector has {} bytes; AES-CBC needs 16", caller.iv.len())));
    }
    if caller.encrypted_key.len() != modulus_len {
        return Err(OpError::refused(
            ErrorCode::AesKeyLength,
            format!("encryptedKey has {} bytes; an AES-256 key wrapped with KSeF's RSA key has {modulus_len}", caller.encrypted_key.len()),
        ));
    }
    Ok(EncryptionInfo {
        encrypted_symmetric_key: b64(&caller.encrypted_key),
        initialization_vector: b64(&caller.iv),
        public_key_id: Some(keys.symmetric_key_encryption.public_key_id.clone()),
    })
}

/// A session just opened.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// Our id.
    pub id: String,
    /// When it was opened.
    pub created: DateTime<Utc>,
}

/// Opens an online session in KSeF. With `encryption`, invoices arrive encrypted under the caller's key;
/// without it the gateway makes the key, keeps it sealed, and encrypts the plain invoices it is given.
pub async fn open_online(
    ctx: &Context,
    tenant: &Tenant,
    version: InvoiceVersion,
    encryption: Option<CallerEncryption>,
) -> Result<OpenedSession, OpError> {
    let ksef = tenant_ksef(ctx, tenant).await?;
    let keys = ksef.keys().await.map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
    let id = uuid::Uuid::now_v7().to_string();
    let created = super::now();
    let (wire_encryption, record) = match encryption {
        Some(caller) => (caller_encryption(&caller, &keys)?, (None, None, KeyMode::Caller)),
        None => {
            let key = SymmetricKey::generate(&keys).map_err(|e| OpError::ksef(ErrorCode::KsefPublicKey, &e))?;
            let sealed = ctx.master_key.seal(&id, key.key.as_bytes());
            (key.encryption, (Some(sealed), Some(key.iv.as_bytes().to_vec()), KeyMode::Gateway))
        }
    };
    let (sealed_key, iv, key_mode) = record;
    let session = NewSession {
        encryption: Some(serde_json::to_string(&wire_encryption).map_err(anyhow::Error::from)?),
        managed: false,
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        invoice_version: version.as_str().to_owned(),
        kind: SessionKind::Online,
        key_mode,
        sealed_key,
        iv,
        created_at: micros(created),
    };
    let request = ksef_client::wire::sessions::OpenOnlineSessionRequest { form_code: version.form_code(), encryption: wire_encryption };
    let opening = ksef.open_online(&request);
    record_then_open(ctx, tenant, session, opening, |o| o.reference_number.clone()).await?;
    Ok(OpenedSession { id, created })
}

/// Records `session` before KSeF is asked, so nothing KSeF opens for us is unknown to the gateway; then runs
/// `opening` and keeps KSeF's reference number, or forgets the session if KSeF refused.
pub(crate) async fn record_then_open<T>(
    ctx: &Context,
    tenant: &Tenant,
    session: NewSession,
    opening: impl Future<Output = Result<T, KsefError>>,
    reference: impl Fn(&T) -> String,
) -> Result<T, OpError> {
    let id = session.id.clone();
    ctx.store.insert_session(&session).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    match opening.await {
        Ok(opened) if !reference(&opened).is_empty() => {
            let reference = reference(&opened);
            ctx.store.set_session_reference(&id, &reference).await.map_err(OpError::store(ErrorCode::SessionSave))?;
            tracing::info!(session.id = %id, session.reference = %reference, session.kind = session.kind.as_str(), tenant = %tenant.id, "session opened");
            Ok(opened)
        }
        Ok(_) => {
            let _ = ctx.store.delete_unopened_session(&id).await;
            Err(OpError::refused(ErrorCode::SessionRefNum, "KSeF opened the session without a reference number"))
        }
        Err(err) => {
            let _ = ctx.store.delete_unopened_session(&id).await;
            let code = match err {
                KsefError::AuthenticationFailed { .. } | KsefError::Unauthorized { .. } => ErrorCode::SessionToken,
                _ => ErrorCode::SessionOpen,
            };
            Err(OpError::ksef(code, &err))
        }
    }
}

/// A session of `tenant`: 1109 if there is none, 1110 if it is another tenant's.
pub(crate) async fn owned_session(ctx: &Context, tenant: &Tenant, id: &str) -> Result<(Arc<SessionRecord>, String), OpError> {
    let unknown = || OpError::refused(ErrorCode::SessionUnknown, format!("no session {id}"));
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(unknown());
    }
    let record = match ctx.open_session(id) {
        Some(record) => record,
        None => {
            let record = Arc::new(ctx.store.session(id).await.map_err(OpError::store(ErrorCode::SessionSave))?.ok_or_else(unknown)?);
            ctx.remember_open_session(record.clone());
            record
        }
    };
    // Another tenant's session is answered as one that does not exist, so ids cannot be probed for existence.
    if record.tenant_id != tenant.id {
        return Err(unknown());
    }
    let reference = record.ksef_reference.clone().ok_or_else(unknown)?;
    Ok((record, reference))
}

/// A session's state as KSeF reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    /// KSeF's status (100 open, 170 closed, 200 processed, 4xx failures).
    pub status: Status,
    /// Whether it is a batch session.
    pub batch: bool,
    /// Invoices received.
    pub invoice_count: Option<i64>,
    /// Invoices accepted.
    pub successful_invoice_count: Option<i64>,
    /// Invoices refused.
    pub failed_invoice_count: Option<i64>,
}

/// KSeF's answer to `GET /sessions/{reference}` for the tenant; a KSeF failure is reported as `code`.
async fn ksef_session_status(
    ctx: &Context,
    tenant: &Tenant,
    reference: &str,
    code: ErrorCode,
) -> Result<ksef_client::wire::sessions::SessionStatusResponse, OpError> {
    let ksef = tenant_ksef(ctx, tenant).await?;
    ksef.session_status(reference).await.map_err(|e| OpError::ksef(code, &e))
}

/// The session's current state, from KSeF (and recorded).
pub async fn status(ctx: &Context, tenant: &Tenant, id: &str) -> Result<SessionState, OpError> {
    let (record, reference) = owned_session(ctx, tenant, id).await?;
    let answer = ksef_session_status(ctx, tenant, &reference, ErrorCode::SessionStatus).await?;
    let update = SessionStatusUpdate {
        code: i64::from(answer.status.code),
        description: answer.status.description.clone(),
        details: answer.status.details.clone().unwrap_or_default(),
        invoice_count: answer.invoice_count.map(i64::from),
        successful_count: answer.successful_invoice_count.map(i64::from),
        failed_count: answer.failed_invoice_count.map(i64::from),
    };
    ctx.store.update_session_status(id, &update).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    Ok(SessionState {
        status: Status { code: update.code, description: update.description, details: update.details, extensions: Default::default() },
        batch: record.kind == SessionKind::Batch,
        invoice_count: update.invoice_count,
        successful_invoice_count: update.successful_count,
        failed_invoice_count: update.failed_count,
    })
}

/// Closes the session: it takes no more invoices, and is closed in KSeF once the invoices recorded before are
/// delivered (at once when they are). KSeF failing or unreachable only delays that; KSeF refusing the close (a
/// batch package missing parts) is answered, and the session stays open. Closing a closed session again is not an
/// error.
pub async fn close(ctx: &Context, tenant: &Tenant, id: &str) -> Result<bool, OpError> {
    let (record, _) = owned_session(ctx, tenant, id).await?;
    if record.closed_at.is_some() {
        return Ok(true);
    }
    let requested = ctx.store.request_session_close(id, micros(Utc::now())).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    ctx.forget_session(id);
    if !requested {
        return Ok(true);
    }
    tracing::info!(session.id = %id, tenant = %tenant.id, "session closed by the caller");
    if ctx.store.session_has_undelivered(id).await.map_err(OpError::store(ErrorCode::SessionSave))? {
        return Ok(true);
    }
    let record = ctx.store.session(id).await.map_err(OpError::store(ErrorCode::SessionSave))?.ok_or_else(|| anyhow::anyhow!("session {id} vanished"))?;
    match super::delivery::close_in_ksef(ctx, tenant, &record).await? {
        Ok(()) => Ok(true),
        Err(err) => match super::delivery::classify(&err) {
            super::delivery::Failure::Refused => {
                ctx.store.withdraw_session_close(id).await.map_err(OpError::store(ErrorCode::SessionSave))?;
                Err(OpError::ksef(ErrorCode::SessionClose, &err))
            }
            // KSeF is failing: the worker closes it later.
            _ => {
                ctx.store.defer_session(id, super::delivery::session_retry_at(&err)).await.map_err(OpError::store(ErrorCode::SessionSave))?;
                tracing::info!(session.id = %id, error = %err, "KSeF did not close the session yet; the outbox will");
                Ok(true)
            }
        },
    }
}

/// The session's collective UPO (its first page), once KSeF has issued it.
pub async fn upo(ctx: &Context, tenant: &Tenant, id: &str) -> Result<Vec<u8>, OpError> {
    let (record, reference) = owned_session(ctx, tenant, id).await?;
    if let Some(upo) = &record.upo {
        return Ok(upo.clone());
    }
    if record.closed_at.is_none() {
        return Err(OpError::conflict(ErrorCode::SessionNoUpo, "close the session first (ksefSessionClose); KSeF issues the UPO after"));
    }
    // The cached record may predate the close: what KSeF did since is in the store.
    let record = ctx.store.session(id).await.map_err(OpError::store(ErrorCode::SessionSave))?.ok_or_else(|| anyhow::anyhow!("session {id} vanished"))?;
    if let Some(upo) = &record.upo {
        return Ok(upo.clone());
    }
    if record.ksef_closed_at.is_none() {
        return Err(OpError::conflict(
            ErrorCode::SessionNoUpo,
            "the gateway is still delivering the session's invoices; KSeF closes it and issues the UPO after, retry shortly",
        ));
    }
    let _ = reference;
    fetch_upo(ctx, tenant, &record).await
}

/// Asks KSeF for the UPO of a session it closed, recording the session's status (so one that ended without a UPO
/// is not asked again) and the UPO once issued; 1107 while KSeF is still processing, or if there is none.
pub(crate) async fn fetch_upo(ctx: &Context, tenant: &Tenant, record: &SessionRecord) -> Result<Vec<u8>, OpError> {
    let reference = record.ksef_reference.clone().ok_or_else(|| anyhow::anyhow!("session {} has no KSeF reference", record.id))?;
    let answer = ksef_session_status(ctx, tenant, &reference, ErrorCode::SessionUpo).await?;
    let update = SessionStatusUpdate {
        code: i64::from(answer.status.code),
        description: answer.status.description.clone(),
        details: answer.status.details.clone().unwrap_or_default(),
        invoice_count: answer.invoice_count.map(i64::from),
        successful_count: answer.successful_invoice_count.map(i64::from),
        failed_count: answer.failed_invoice_count.map(i64::from),
    };
    ctx.store.update_session_status(&record.id, &update).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    let page = match (answer.status.code, answer.upo.and_then(|u| u.pages.into_iter().next())) {
        (code, Some(page)) if session_status::ONLINE_PROCESSED.is(code) => page,
        (code, _) if session_status::in_progress(code) => {
            return Err(OpError::conflict(ErrorCode::SessionNoUpo, format!("KSeF is still processing the session (status {code}); retry shortly")));
        }
        (code, _) => {
            return Err(OpError::conflict(
                ErrorCode::SessionNoUpo,
                format!("the session ended without a UPO: status {code} {}", answer.status.description),
            ));
        }
    };
    let ksef = tenant_ksef(ctx, tenant).await?;
    let upo = ksef.session_upo(&reference, &page.reference_number).await.map_err(|e| OpError::ksef(ErrorCode::SessionUpo, &e))?;
    ctx.store.set_session_upo(&record.id, &upo.bytes, chrono::Utc::now().timestamp_micros()).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    Ok(upo.bytes.to_vec())
}
