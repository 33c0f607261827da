//! Background processing, as KSeF does it after answering 202: verify each invoice, detect duplicates,
//! assign KSeF numbers, close expired sessions, and issue the collective UPO once a closed session is done.
//!
//! Work is found in the store, not in memory, so whatever was accepted before a restart is finished after it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ksef_core::crypto::sha256_base64;
use ksef_core::ids::{KsefNumber, ReferenceKind, ReferenceNumber};
use ksef_wire::datetime::to_warsaw;
use ksef_wire::invoices::{InvoiceMetadata, InvoiceMetadataBuyer, InvoiceMetadataSeller, InvoiceType};
use ksef_wire::InvoicingMode;
use ksef_wire::codes::{Status, invoice, session};
use ksef_wire::sessions::SessionType;

use crate::faults::FaultKind;
use crate::files::discard_batch_parts;
use crate::limits::MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT;
use crate::session::{no_invoices_sent, upload_timed_out};
use crate::state::AppState;
use crate::store::invoices::{InvoiceOutcome, PendingInvoice, ProcessedInvoice};
use crate::store::{InvoiceRow, PartyRole, SessionRow, StoredStatus};
use crate::upo::{UpoDocument, UpoPaging};
use crate::verify::{InvoiceFacts, RejectionKind, Verdict};

/// Invoices processed per transaction (each up to 3 MB, all held in memory at once).
const BATCH: i64 = 64;
/// How often idle workers look for work they were not woken for (expired sessions, delayed invoices).
const IDLE_POLL: Duration = Duration::from_millis(200);

/// After a wake-up, wait this long so that invoices arriving together are processed in one transaction.
const GATHER: Duration = Duration::from_millis(3);
/// How often open sessions are checked for having run out of time.
const EXPIRY_CHECK: Duration = Duration::from_secs(1);

/// Runs forever: processes invoices and finishes sessions whenever there is work.
pub(crate) async fn run(state: AppState) {
    let mut last_expiry_check = tokio::time::Instant::now();
    loop {
        let check_expiry = last_expiry_check.elapsed() >= EXPIRY_CHECK;
        if check_expiry {
            last_expiry_check = tokio::time::Instant::now();
        }
        match step(&state, check_expiry).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(err) => tracing::error!(error = ?err, "invoice processing failed; retrying"),
        }
        let delay = if state.config.processing_delay.is_zero() { IDLE_POLL } else { IDLE_POLL.min(state.config.processing_delay) };
        tokio::select! {
            () = state.invoices_waiting.notified() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One round of work; true if it did something (so there may be more).
async fn step(state: &AppState, check_expiry: bool) -> anyhow::Result<bool> {
    let ready_before = state.now() - chrono::Duration::from_std(state.config.processing_delay)?;
    let mut pending = state.db.pending_invoices(ready_before, BATCH).await?;
    // Fault injection (not part of KSeF): received invoices wait, reported as in processing, until the rule ends.
    if let Some(rule) = state.faults.background(FaultKind::HoldProcessing).filter(|_| !pending.is_empty()) {
        rule.hit();
        pending.clear();
    }
    // Read after the selection: permanent storage must never predate a high-water mark reported meanwhile.
    let now = state.now();
    let processed = !pending.is_empty();
    if processed {
        let verifier = state.verifier.clone();
        // Parsing is CPU work; keep it off the async workers.
        let outcomes = tokio::task::spawn_blocking(move || {
            // Each invoice its own instant, as in KSeF: exports cut at 10,000 continue from the last
            // permanent-storage date, which must not be shared by a whole batch.
            pending
                .into_iter()
                .enumerate()
                .map(|(i, p)| process_one(verifier.as_ref(), p, now + chrono::Duration::microseconds(2 * i as i64)))
                .collect::<Vec<_>>()
        })
        .await?;
        state.db.record_outcomes(outcomes, now).await?;
    }
    // A write even when nothing has expired, so only now and then.
    let expired = if check_expiry {
        state.forget_expired_sessions(now);
        let online = state.db.close_expired_sessions(SessionType::Online, &session::ONLINE_CLOSED.into(), now).await?;
        let batch = state.db.close_expired_sessions(SessionType::Batch, &upload_timed_out(), now).await?;
        for reference in &batch {
            discard_batch_parts(state, reference).await;
        }
        online.len() + batch.len()
    } else {
        0
    };
    let mut finished = false;
    let mut ready = state.db.sessions_ready_to_finish().await?;
    // Fault injection (not part of KSeF): closed sessions keep their status, without a UPO, until the rule ends.
    if let Some(rule) = state.faults.background(FaultKind::DelayUpo).filter(|_| !ready.is_empty()) {
        rule.hit();
        ready.clear();
    }
    for session in ready {
        finish_session(state, &session).await?;
        finished = true;
    }
    Ok(processed || expired > 0 || finished)
}

fn failed(status: Status, details: Vec<String>, invoice_number: Option<String>, mode: InvoicingMode) -> InvoiceOutcome {
    InvoiceOutcome::Failed { status: StoredStatus::from(status).with_details(details), invoice_number, invoicing_mode: mode }
}

/// The NIP a context acts for (an internal identifier's first ten digits).
fn context_nip(context_value: &str) -> &str {
    context_value.split('-').next().unwrap_or(context_value)
}

fn process_one(verifier: &dyn crate::verify::InvoiceVerifier, p: PendingInvoice, now: DateTime<Utc>) -> ProcessedInvoice {
    let mode = if p.offline_requested { InvoicingMode::Offline } else { InvoicingMode::Online };
    let outcome = match &p.content {
        None => failed(invoice::DECRYPTION_FAILED, vec!["Nie można odszyfrować faktury kluczem sesji.".into()], None, mode),
        Some(content) => match verifier.verify(&p.form, content) {
            Verdict::Rejected(r) => {
                let status = match r.kind {
                    RejectionKind::Schema => invoice::FILE_INVALID,
                    RejectionKind::Semantic => invoice::SEMANTIC_INVALID,
                };
                failed(status, r.details, r.invoice_number, mode)
            }
            Verdict::Accepted(facts) => accept(&p, content.len(), facts, now),
        },
    };
    ProcessedInvoice { reference_number: p.reference_number, session_reference: p.session_reference, outcome }
}

fn accept(p: &PendingInvoice, size: usize, facts: InvoiceFacts, now: DateTime<Utc>) -> InvoiceOutcome {
    let number = Some(facts.invoice_number.clone());
    let received_day = to_warsaw(p.invoicing_date).date_naive();
    // An invoice dated before the day it was received was issued offline, whatever the sender said.
    let mode = if p.offline_requested || facts.issue_date < received_day { InvoicingMode::Offline } else { InvoicingMode::Online };
    if size > MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT && !facts.has_attachment {
        let detail = format!("Faktura bez załączników ma {size} bajtów; dozwolony rozmiar to 1 MB.");
        return failed(invoice::FILE_INVALID, vec![detail], number, mode);
    }
    if facts.has_attachment && p.session_kind == SessionType::Online && p.hash_of_corrected.is_none() {
        let detail = "Faktury z załącznikami można wysyłać wyłącznie w sesji wsadowej.".to_owned();
        return failed(invoice::ATTACHMENT_NOT_ALLOWED, vec![detail], number, mode);
    }
    let ctx = context_nip(&p.context_value);
    let buyer_is_context = facts.buyer.value.as_deref() == Some(ctx);
    if facts.seller_nip.as_str() != ctx && !(facts.is_self_invoicing && buyer_is_context) {
        let detail = format!("Kontekst {} nie ma uprawnień do wystawiania faktur w imieniu {}.", p.context_value, facts.seller_nip);
        return failed(invoice::PERMISSION_SCOPE, vec![detail], number, mode);
    }
    if facts.issue_date > to_warsaw(now).date_naive() {
        let detail = format!("Data wystawienia faktury (P_1 = {}) jest późniejsza niż data przyjęcia.", facts.issue_date);
        return failed(invoice::SEMANTIC_INVALID, vec![detail], number, mode);
    }
    let Some(invoice_type) = InvoiceType::from_rodzaj_faktury(&facts.invoice_kind) else {
        let detail = format!("Nieznany rodzaj faktury '{}'.", facts.invoice_kind);
        return failed(invoice::FILE_INVALID, vec![detail], number, mode);
    };
    let ksef_number = KsefNumber::generate(&facts.seller_nip, to_warsaw(now).date_naive());
    // Permanent storage always comes after the KSeF number is given.
    let permanent = now + chrono::Duration::microseconds(1);
    let mut parties = vec![(PartyRole::Subject1, facts.seller_nip.to_string())];
    if let Some(buyer) = facts.buyer.value.clone().filter(|_| facts.buyer.kind == ksef_wire::invoices::BuyerIdentifierType::Nip) {
        parties.push((PartyRole::Subject2, buyer));
    }
    for third in &facts.third_subjects {
        if let Some(v) = &third.identifier.value {
            parties.push((PartyRole::Subject3, v.clone()));
        }
    }
    if let Some(a) = &facts.authorized_subject {
        parties.push((PartyRole::SubjectAuthorized, a.nip.clone()));
    }
    let metadata = InvoiceMetadata {
        ksef_number: ksef_number.to_string(),
        invoice_number: facts.invoice_number.clone(),
        issue_date: facts.issue_date,
        invoicing_date: p.invoicing_date,
        acquisition_date: now,
        permanent_storage_date: permanent,
        seller: InvoiceMetadataSeller { nip: facts.seller_nip.to_string(), name: facts.seller_name },
        buyer: InvoiceMetadataBuyer { identifier: facts.buyer, name: facts.buyer_name },
        net_amount: round2(facts.net_amount),
        gross_amount: round2(facts.gross_amount),
        vat_amount: round2(facts.vat_amount),
        currency: facts.currency,
        invoicing_mode: mode,
        invoice_type,
        form_code: p.form.clone(),
        is_self_invoicing: facts.is_self_invoicing,
        has_attachment: facts.has_attachment,
        invoice_hash: p.invoice_hash.clone(),
        hash_of_corrected_invoice: p.hash_of_corrected.clone(),
        third_subjects: (!facts.third_subjects.is_empty()).then_some(facts.third_subjects),
        authorized_subject: facts.authorized_subject,
    };
    InvoiceOutcome::Accepted {
        ksef_number: ksef_number.to_string(),
        acquisition_date: now,
        permanent_storage_date: permanent,
        invoicing_mode: mode,
        seller_nip: facts.seller_nip.to_string(),
        invoice_kind: facts.invoice_kind,
        invoice_number: facts.invoice_number,
        issue_date: facts.issue_date.to_string(),
        metadata: serde_json::to_string(&metadata).expect("metadata serializes"),
        parties,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

async fn finish_session(state: &AppState, session: &SessionRow) -> anyhow::Result<()> {
    let now = state.now();
    let accepted = state.db.accepted_invoices(&session.reference_number).await?;
    let (status, pages) = if session.invoice_count == 0 {
        (no_invoices_sent(), Vec::new())
    } else if accepted.is_empty() {
        (StoredStatus::from(session::NO_VALID_INVOICES), Vec::new())
    } else {
        let header = crate::upo::session_header(state, session);
        let per_page = state.config.upo_page_size.max(1);
        let chunks: Vec<&[InvoiceRow]> = accepted.chunks(per_page).collect();
        let mut pages = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.iter().enumerate() {
            let documents: Vec<UpoDocument> = chunk.iter().map(crate::upo::document).collect();
            let paging = UpoPaging {
                page: i + 1,
                pages: chunks.len(),
                first: i * per_page + 1,
                last: i * per_page + chunk.len(),
                total: accepted.len(),
            };
            let xml = crate::upo::render(&header, Some(paging), &documents, &state.keys.upo_signing);
            let reference = ReferenceNumber::generate(ReferenceKind::Upo, now.date_naive()).to_string();
            let hash = sha256_base64(&xml);
            pages.push((reference, xml, hash));
        }
        let processed = match session.kind {
            SessionType::Batch => session::BATCH_PROCESSED,
            SessionType::Online => session::ONLINE_PROCESSED,
        };
        (StoredStatus::from(processed), pages)
    };
    state.db.finish_session(&session.reference_number, &status, &pages, now).await?;
    tracing::info!(session.reference = %session.reference_number, status = status.code, upo.pages = pages.len(), "session finished");
    Ok(())
}
