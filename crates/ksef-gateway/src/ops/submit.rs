//! Sessionless submits (ours, beside the seed's sessions): one invoice handed to the gateway and answered with its
//! id at once. The gateway checks it, records it in a session of its own (opened in KSeF by the outbox when it has
//! invoices, closed once idle, its UPO fetched), and delivers it however long KSeF fails. An invoice issued offline
//! (offline24 by request or while KSeF is unreachable; the unavailability or failure mode while an announced
//! window is in force) gets its verification codes at once, and its legal deadline as soon as it is known, and is
//! delivered with `offlineMode`.

use chrono::{DateTime, NaiveDate, Utc};
use ksef_core::calendar::OfflineMode;
use ksef_core::crypto::{AesKey, Iv, sha256_base64};
use ksef_core::limits::MAX_INVOICE_BYTES;
use ksef_store::{InvoiceInsert, InvoiceRecord, KeyMode, NewInvoice, NewSession, SessionKind, SessionRecord, Submission};

use super::documents::{self, QrCode};
use super::sessions::InvoiceVersion;
use super::{Context, OpError, Tenant, from_micros, micros};
use crate::errors::ErrorCode;

/// How a submit asks for offline issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OfflineRequest {
    /// Online, unless KSeF is unreachable and the tenant can sign KOD II: then offline24.
    #[default]
    Auto,
    /// Online only: wait for KSeF however long it takes.
    Never,
    /// Issued offline in this mode.
    Mode(OfflineMode),
}

/// One invoice to submit.
#[derive(Debug, Clone)]
pub struct Submit {
    /// The exact bytes of the FA(2)/FA(3) file.
    pub xml: Vec<u8>,
    /// Offline issue.
    pub offline: OfflineRequest,
    /// A technical correction of a rejected offline invoice: the base64 SHA-256 of that invoice.
    pub hash_of_corrected: Option<String>,
}

/// An invoice issued offline: its mode, its deadline and its verification codes.
#[derive(Debug, Clone)]
pub struct OfflineIssue {
    /// Why it was issued offline.
    pub mode: OfflineMode,
    /// The last day (in Poland) on which it may reach KSeF; unknown while an announced window lasts.
    pub deadline: Option<NaiveDate>,
    /// KOD I (captioned `OFFLINE`).
    pub kod1: QrCode,
    /// KOD II, signed with the tenant's Offline certificate.
    pub kod2: Option<QrCode>,
}

/// A submit's answer.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The invoice's id (the same as `ksefInvoiceStatus` takes).
    pub id: String,
    /// When the gateway first received it.
    pub created: DateTime<Utc>,
    /// True when the same invoice (tenant, seller, kind, number) had been submitted before: this is that one.
    pub existing: bool,
    /// Set when issued offline.
    pub offline: Option<OfflineIssue>,
}

/// Seller NIP, kind, number and issue date, which identify an invoice to KSeF.
struct Identity {
    seller_nip: String,
    buyer_nip: Option<String>,
    kind: String,
    number: String,
    issue_date: NaiveDate,
}

fn identity(xml: &[u8]) -> Result<Identity, OpError> {
    let text = std::str::from_utf8(xml).map_err(anyhow::Error::from)?;
    let doc = ksef_core::xml::parse(text).map_err(anyhow::Error::from)?;
    let root = doc.root_element();
    let path = |names: &[&str]| -> Option<String> {
        let mut node = root;
        for name in names {
            node = node.children().find(|c| c.is_element() && c.tag_name().name() == *name)?;
        }
        node.text().map(|t| t.trim().to_owned())
    };
    let missing = |what: &str| OpError::refused(ErrorCode::InvoiceFormat, format!("the invoice has no {what}"));
    Ok(Identity {
        seller_nip: path(&["Podmiot1", "DaneIdentyfikacyjne", "NIP"]).ok_or_else(|| missing("seller NIP (Podmiot1/DaneIdentyfikacyjne/NIP)"))?,
        buyer_nip: path(&["Podmiot2", "DaneIdentyfikacyjne", "NIP"]).filter(|n| !n.is_empty()),
        kind: path(&["Fa", "RodzajFaktury"]).ok_or_else(|| missing("kind (Fa/RodzajFaktury)"))?,
        number: path(&["Fa", "P_2"]).ok_or_else(|| missing("number (Fa/P_2)"))?,
        issue_date: path(&["Fa", "P_1"]).and_then(|d| d.parse().ok()).ok_or_else(|| missing("issue date (Fa/P_1)"))?,
    })
}

/// The start of `day` in Poland, in µs.
pub(crate) fn start_of_day_in_poland(day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    micros(ksef_client::wire::datetime::warsaw_local_to_utc(midnight).unwrap_or_else(|| midnight.and_utc()))
}

/// The end of `day` in Poland, in µs.
pub(crate) fn end_of_day_in_poland(day: NaiveDate) -> i64 {
    start_of_day_in_poland(day.succ_opt().unwrap_or(day)) - 1
}

/// Submits one invoice: checked as KSeF will check it, recorded, and answered; KSeF gets it from the outbox.
pub async fn submit(ctx: &Context, tenant: &Tenant, submit: Submit) -> Result<Submitted, OpError> {
    ctx.check_backlog(tenant)?;
    if submit.xml.is_empty() {
        return Err(OpError::refused(ErrorCode::InvoiceInput, "the invoice is empty"));
    }
    if submit.xml.len() > MAX_INVOICE_BYTES {
        return Err(OpError::refused(ErrorCode::InvoiceSize, format!("the invoice has {} bytes; KSeF takes at most {MAX_INVOICE_BYTES}", submit.xml.len())));
    }
    let validated = documents::validate_for_ksef(ctx, tenant, bytes::Bytes::from(submit.xml.clone())).await?;
    let identity = identity(&submit.xml)?;
    let can_sign_kod2 = super::tenants::offline_certificate(ctx, &tenant.id).await?.is_some();
    let announced = super::announcements::active(ctx).await?;
    let (mode, announcement) = match submit.offline {
        OfflineRequest::Mode(OfflineMode::Offline24) => (Some(OfflineMode::Offline24), None),
        OfflineRequest::Mode(mode) => match announced {
            Some((active, announcement)) if active == mode => (Some(mode), Some(announcement)),
            _ => {
                return Err(OpError::refused(
                    ErrorCode::InvoiceInput,
                    format!("offline mode '{}' needs an announced KSeF {} in force (`ksef-gateway outage announce`)", mode.as_str(), mode.as_str()),
                ));
            }
        },
        OfflineRequest::Never => (None, None),
        // Issuing offline needs KOD II, which needs the tenant's Offline certificate.
        OfflineRequest::Auto if can_sign_kod2 => match announced {
            Some((mode, announcement)) => (Some(mode), Some(announcement)),
            None if ctx.ksef.health().unreachable() => (Some(OfflineMode::Offline24), None),
            None => (None, None),
        },
        OfflineRequest::Auto => (None, None),
    };
    if mode.is_some() && !can_sign_kod2 {
        return Err(OpError::refused(
            ErrorCode::InvoiceInput,
            "an invoice issued offline carries KOD II, signed with the tenant's Offline certificate, which it has none of (`ksef-gateway tenant enroll`)",
        ));
    }
    if submit.hash_of_corrected.is_some() && mode.is_none() {
        return Err(OpError::refused(ErrorCode::InvoiceInput, "a technical correction (hashOfCorrectedInvoice) is of an offline invoice: give offline"));
    }
    if let Some(hash) = &submit.hash_of_corrected {
        let bytes = ksef_core::crypto::b64_decode(hash).map_err(|_| OpError::refused(ErrorCode::B64Decode, "hashOfCorrectedInvoice is not base64"))?;
        if bytes.len() != 32 {
            return Err(OpError::refused(ErrorCode::InvoiceInput, "hashOfCorrectedInvoice must be a SHA-256 digest (32 bytes)"));
        }
    }
    let invoice_hash = sha256_base64(&submit.xml);
    // offline24 is due after the issue date; an announced window's invoices after the window ends, once it has.
    let deadline_at = match (&mode, &announcement) {
        (Some(_), Some(announcement)) => super::announcements::deadline_of(announcement),
        (Some(mode), None) => Some(end_of_day_in_poland(mode.deadline(identity.issue_date))),
        (None, _) => None,
    };
    let deadline = deadline_at.map(|at| ksef_client::wire::datetime::to_warsaw(from_micros(at)).date_naive());
    // A correction replaces a rejected invoice with the same number, so it is keyed by what it corrects too.
    let key = format!("{}|{}|{}|{}|{}", tenant.id, identity.seller_nip, identity.kind, identity.number, submit.hash_of_corrected.as_deref().unwrap_or(""));
    let submission = Submission {
        key,
        invoice_number: identity.number.clone(),
        offline_mode: mode.map(|m| m.as_str().to_owned()),
        deadline_at,
        hash_of_corrected: submit.hash_of_corrected.clone(),
        announcement_id: announcement.as_ref().map(|a| a.id.clone()),
    };
    let created = super::now();
    let (id, created, existing, mode, deadline) = 'recorded: {
        // A managed session may close between finding and recording: then the next one is used.
        for _ in 0..3 {
            let session = managed_session(ctx, tenant, validated.version).await?;
            let (key, iv) = super::open_gateway_key(ctx, &session.id, session.sealed_key.as_deref(), session.iv.as_deref())?;
            let encrypted = ksef_client::EncryptedInvoice::encrypt(&key, &iv, &submit.xml);
            let new = NewInvoice {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: tenant.id.clone(),
                session_id: session.id.clone(),
                invoice_hash: invoice_hash.clone(),
                invoice_size: encrypted.invoice_size,
                payload: encrypted.ciphertext,
                created_at: micros(created),
                lease_owner: None,
                submission: Some(submission.clone()),
                buyer_nip: identity.buyer_nip.clone(),
            };
            match ctx.store.insert_invoice(&new).await.map_err(OpError::store(ErrorCode::InvoiceSave))? {
                InvoiceInsert::Inserted => break 'recorded (new.id, created, false, mode, deadline),
                InvoiceInsert::Existing(existing) => {
                    if existing.invoice_hash != invoice_hash {
                        return Err(OpError::conflict(
                            ErrorCode::InvoiceSend,
                            format!(
                                "invoice {} of seller {} was submitted before with other content (id {}); a changed invoice needs a correction, not a resend",
                                identity.number, identity.seller_nip, existing.id
                            ),
                        ));
                    }
                    // Answered as it was recorded the first time, online or offline.
                    let mode = existing.offline_mode.as_deref().and_then(OfflineMode::parse);
                    let deadline = existing.deadline_at.map(|at| ksef_client::wire::datetime::to_warsaw(from_micros(at)).date_naive());
                    break 'recorded (existing.id.clone(), from_micros(existing.created_at), true, mode, deadline);
                }
                InvoiceInsert::SessionClosed => continue,
            }
        }
        return Err(anyhow::anyhow!("no open managed session could take the invoice").into());
    };
    ctx.wake_outbox();
    tracing::info!(invoice.id = %id, tenant = %tenant.id, existing, offline = mode.map(|m| m.as_str()), "invoice submitted");
    let offline = match mode {
        Some(mode) => {
            let (kod1, kod2) = documents::links(ctx, tenant, &identity.seller_nip, identity.issue_date, &invoice_hash, None).await?;
            Some(OfflineIssue { mode, deadline, kod1, kod2 })
        }
        None => None,
    };
    Ok(Submitted { id, created, existing, offline })
}

/// The tenant's open managed session for `version`, made if there is none (opened in KSeF later, by the outbox).
/// Submits racing to make one end up in the same one: the store holds one open per tenant and schema.
async fn managed_session(ctx: &Context, tenant: &Tenant, version: InvoiceVersion) -> Result<SessionRecord, OpError> {
    let save = || OpError::store(ErrorCode::SessionSave);
    for _ in 0..3 {
        if let Some(open) = ctx.store.open_managed_session(&tenant.id, version.as_str()).await.map_err(save())? {
            return Ok(open);
        }
        let id = uuid::Uuid::now_v7().to_string();
        let key = AesKey::generate();
        let iv = Iv::generate();
        let session = NewSession {
            id: id.clone(),
            tenant_id: tenant.id.clone(),
            invoice_version: version.as_str().to_owned(),
            kind: SessionKind::Online,
            key_mode: KeyMode::Gateway,
            sealed_key: Some(ctx.master_key.seal(&id, key.as_bytes())),
            iv: Some(iv.as_bytes().to_vec()),
            encryption: None,
            created_at: micros(super::now()),
            managed: true,
        };
        if ctx.store.insert_managed_session(&session).await.map_err(save())? {
            return ctx.store.session(&id).await.map_err(save())?.ok_or_else(|| anyhow::anyhow!("managed session {id} vanished").into());
        }
    }
    Err(anyhow::anyhow!("no managed session could be made for tenant {}", tenant.id).into())
}

/// A submitted invoice as the tenant sees it: [`super::invoices::status`] plus its session.
pub async fn invoice(ctx: &Context, tenant: &Tenant, id: &str) -> Result<(super::invoices::InvoiceView, String), OpError> {
    let view = super::invoices::status(ctx, tenant, id).await?;
    let record = ctx.store.invoice(id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?.ok_or_else(|| anyhow::anyhow!("invoice {id} vanished"))?;
    Ok((view, record.session_id))
}

/// The UPO of one invoice KSeF accepted (KSeF issues one per invoice beside the session's).
pub async fn invoice_upo(ctx: &Context, tenant: &Tenant, id: &str) -> Result<Vec<u8>, OpError> {
    super::invoices::status(ctx, tenant, id).await?;
    let record: InvoiceRecord = ctx.store.invoice(id).await.map_err(OpError::store(ErrorCode::InvoiceSave))?.ok_or_else(|| anyhow::anyhow!("invoice {id} vanished"))?;
    let (Some(session), Some(reference), ksef_store::DeliveryState::Accepted) = (record.ksef_session.as_deref(), record.ksef_reference.as_deref(), record.state) else {
        return Err(OpError::conflict(ErrorCode::SessionNoUpo, format!("invoice {id} is not accepted by KSeF yet ({})", record.state.as_str())));
    };
    let ksef = super::tenant_ksef(ctx, tenant).await?;
    let upo = ksef.invoice_upo(session, reference).await.map_err(|e| OpError::ksef(ErrorCode::SessionUpo, &e))?;
    Ok(upo.bytes.to_vec())
}
