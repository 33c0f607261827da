//! Online sessions: open, send, close, statuses, invoice lists, and UPO downloads with a token.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use ksef_core::crypto::{b64_decode, b64url, b64url_decode, decrypt_cbc_in_place, sha256_base64};
use ksef_wire::codes::{ExceptionCode, invoice, session};
use ksef_core::ids::{KsefNumber, ReferenceKind, ReferenceNumber};
use ksef_wire::TokenPermission as P;
use ksef_wire::sessions::{
    CommonSessionStatus, OpenOnlineSessionRequest, OpenOnlineSessionResponse, SendInvoiceRequest, SendInvoiceResponse,
    SessionInvoiceStatusResponse, SessionInvoicesResponse, SessionStatusResponse, SessionType, SessionsQueryResponse,
    SessionsQueryResponseItem, UpoPageResponse, UpoResponse,
};
use ksef_wire::InvoiceStatusInfo;
use serde::Deserialize;

use crate::error::EmuError;
use crate::faults::FaultKind;
use crate::extract::{Caller, KsefJson, KsefPath, KsefQuery, QueryPairs, reference};
use crate::limits::{MAX_INVOICE_BYTES, ONLINE_SESSION_LIFETIME};
use crate::routes::xml_with_hash;
use crate::session::{decode_encryption, session_not_found};
use crate::state::{AppState, SendingSession};
use crate::store::{InvoiceRow, NewInvoice, NewSession, SessionListFilter, SessionRow, StoredStatus};
use crate::store::invoices::AddRefused;
use crate::verify::namespace_for;

/// Permissions that allow sending.
pub(crate) const WRITE: &[P] = &[P::InvoiceWrite, P::EnforcementOperations];
/// Permissions that allow reading session statuses.
const READ_STATUS: &[P] = &[P::InvoiceWrite, P::Introspection, P::EnforcementOperations];

/// `POST /v2/sessions/online` → 201.
pub(crate) async fn open_online(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<OpenOnlineSessionRequest>,
) -> Result<impl IntoResponse, EmuError> {
    caller.require_any(WRITE)?;
    if namespace_for(&req.form_code).is_none() {
        return Err(EmuError::validation(["Wskazany kod formularza nie jest wspierany.".to_owned()]));
    }
    let (encrypted_key, iv) = decode_encryption(&state, &req.encryption)?;
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::OnlineSession, now.date_naive());
    // A key that does not unwrap still opens the session, which then reports status 415, as KSeF does.
    let key = state.unwrap_session_key(&encrypted_key, &iv);
    let status = match key {
        Some(_) => StoredStatus::from(session::ONLINE_OPEN),
        None => StoredStatus::from(session::KEY_DECRYPTION_FAILED),
    };
    let valid_until = now + ONLINE_SESSION_LIFETIME;
    let op = state.db.auth_operation(&caller.auth_reference).await?;
    state
        .db
        .insert_session(&NewSession {
            reference_number: reference.to_string(),
            kind: SessionType::Online,
            context_type: caller.context.kind.as_str().to_owned(),
            context_value: caller.context.value.clone(),
            auth_reference: caller.auth_reference.clone(),
            token_reference: op.and_then(|o| o.token_reference),
            form: req.form_code,
            encrypted_key,
            iv,
            status,
            created_at: now,
            valid_until,
        })
        .await?;
    if key.is_some() {
        let sending = SendingSession { context_value: caller.context.value.clone(), online: true, valid_until, key };
        state.remember_session(reference.as_str(), sending);
    }
    Ok((StatusCode::CREATED, Json(OpenOnlineSessionResponse { reference_number: reference.to_string(), valid_until })))
}

pub(crate) fn check_hash(field: &str, value: &str) -> Result<(), EmuError> {
    match b64_decode(value) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err(EmuError::validation([format!("Pole {field} musi być skrótem SHA-256 w Base64 (44 znaki).")])),
    }
}

fn size_mismatch() -> EmuError {
    EmuError::code(ExceptionCode::InvalidFileSize, ["Długość treści nie zgadza się z rozmiarem pliku.".to_owned()])
}

fn hash_mismatch() -> EmuError {
    EmuError::code(ExceptionCode::InvalidFileHash, ["Skrót treści nie zgadza się ze skrótem pliku.".to_owned()])
}

/// `POST /v2/sessions/online/{ref}/invoices` → 202: checks sizes and hashes, decrypts, records, queues.
pub(crate) async fn send_invoice(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(session_ref): KsefPath<String>,
    KsefJson(req): KsefJson<SendInvoiceRequest>,
) -> Result<impl IntoResponse, EmuError> {
    caller.require_any(WRITE)?;
    reference(&session_ref)?;
    check_hash("invoiceHash", &req.invoice_hash)?;
    check_hash("encryptedInvoiceHash", &req.encrypted_invoice_hash)?;
    if let Some(h) = &req.hash_of_corrected_invoice {
        check_hash("hashOfCorrectedInvoice", h)?;
        if req.offline_mode != Some(true) {
            return Err(EmuError::validation(["Korekta techniczna wymaga offlineMode = true.".to_owned()]));
        }
    }
    if req.invoice_size < 1 || req.encrypted_invoice_size < 1 {
        return Err(EmuError::validation(["Rozmiary invoiceSize i encryptedInvoiceSize muszą być dodatnie.".to_owned()]));
    }
    if req.invoice_size > MAX_INVOICE_BYTES as i64 {
        return Err(EmuError::validation([format!("Rozmiar faktury przekracza dozwolone {MAX_INVOICE_BYTES} bajtów.")]));
    }
    let session =
        state.sending_session(&session_ref, &caller.context.value).await?.ok_or_else(|| session_not_found(&session_ref))?;
    let refuse = |code: i32| {
        EmuError::code(ExceptionCode::SessionStatusForbids, [format!("Status sesji {code} uniemożliwia wysyłkę faktur.")])
    };
    if !session.online {
        return Err(EmuError::code(
            ExceptionCode::SessionStatusForbids,
            ["Do sesji wsadowej faktury przesyła się w paczce, nie pojedynczo.".to_owned()],
        ));
    }
    if session.valid_until < state.now() {
        state.forget_session(&session_ref);
        return Err(refuse(session::ONLINE_CLOSED.code));
    }
    // The status itself is checked when the invoice is recorded, in the same transaction.
    let Some(key) = session.key.as_ref() else { return Err(refuse(session::KEY_DECRYPTION_FAILED.code)) };
    let encrypted = b64_decode(&req.encrypted_invoice_content)
        .map_err(|_| EmuError::validation(["Pole encryptedInvoiceContent nie jest poprawnym Base64.".to_owned()]))?;
    if encrypted.len() as i64 != req.encrypted_invoice_size {
        return Err(size_mismatch());
    }
    if sha256_base64(&encrypted) != req.encrypted_invoice_hash {
        return Err(hash_mismatch());
    }
    // Ciphertext that does not decrypt is accepted and fails processing with status 435, as in KSeF.
    let mut plain = encrypted;
    let content = match decrypt_cbc_in_place(&key.key, &key.iv, &mut plain) {
        Ok(()) => {
            if plain.len() as i64 != req.invoice_size {
                return Err(size_mismatch());
            }
            if sha256_base64(&plain) != req.invoice_hash {
                return Err(hash_mismatch());
            }
            Some(plain)
        }
        Err(_) => None,
    };
    let now = state.now();
    let invoice_ref = ReferenceNumber::generate(ReferenceKind::Invoice, now.date_naive());
    let added = state
        .ingest
        .add(NewInvoice {
                reference_number: invoice_ref.to_string(),
                session_reference: session_ref.clone(),
                invoice_hash: req.invoice_hash,
                invoice_size: req.invoice_size,
                content,
                invoicing_date: now,
                offline_requested: req.offline_mode == Some(true),
                hash_of_corrected: req.hash_of_corrected_invoice,
                file_name: None,
            })
        .await?;
    match added {
        Ok(_) => {}
        Err(AddRefused::Full) => {
            return Err(EmuError::code(
                ExceptionCode::SessionInvoiceLimit,
                [format!(
                    "Sesja o numerze referencyjnym {session_ref} osiągnęła dozwolony limit liczby faktur {}.",
                    state.config.max_invoices_per_session
                )],
            ));
        }
        Err(AddRefused::NotOpen(code)) => return Err(refuse(code)),
        Err(AddRefused::NoSession) => return Err(session_not_found(&session_ref)),
    }
    state.invoices_waiting.notify_one();
    Ok((StatusCode::ACCEPTED, Json(SendInvoiceResponse { reference_number: invoice_ref.to_string() })))
}

/// `POST /v2/sessions/online/{ref}/close` → 204; the UPO follows asynchronously.
pub(crate) async fn close_online(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(session_ref): KsefPath<String>,
) -> Result<StatusCode, EmuError> {
    caller.require_any(WRITE)?;
    reference(&session_ref)?;
    let session = state.db.session(&session_ref, &caller.context.value).await?.ok_or_else(|| session_not_found(&session_ref))?;
    let closed = session.kind == SessionType::Online
        && state.db.close_session(&session_ref, &session::ONLINE_CLOSED.into(), state.now()).await?;
    if !closed {
        return Err(EmuError::code(ExceptionCode::SessionStatusForbids, [format!("Status sesji {} uniemożliwia jej zamknięcie.", session.status.code)]));
    }
    state.forget_session(&session_ref);
    state.invoices_waiting.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

async fn owned_session(state: &AppState, caller: &Caller, session_ref: &str) -> Result<SessionRow, EmuError> {
    caller.require_any(READ_STATUS)?;
    reference(session_ref)?;
    state.db.session(session_ref, &caller.context.value).await?.ok_or_else(|| session_not_found(session_ref))
}

fn upo_pages(state: &AppState, session: &str, references: Vec<String>) -> UpoResponse {
    let expires = state.now() + Duration::from_std(state.config.download_url_ttl).unwrap_or(Duration::hours(72));
    UpoResponse {
        pages: references
            .into_iter()
            .map(|r| UpoPageResponse {
                download_url: state.presigned("GET", &format!("/storage/upo/{session}/{r}.xml"), expires),
                reference_number: r,
                download_url_expiration_date: expires,
            })
            .collect(),
    }
}

/// `GET /v2/sessions/{ref}`.
pub(crate) async fn session_status(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(session_ref): KsefPath<String>,
) -> Result<Json<SessionStatusResponse>, EmuError> {
    let s = owned_session(&state, &caller, &session_ref).await?;
    let open = session::ONLINE_OPEN.is(s.status.code);
    // Pages are read after the status; show them only with the status that says they are complete.
    let pages = if session::ONLINE_PROCESSED.is(s.status.code) { state.db.upo_page_references(&s.reference_number).await? } else { Vec::new() };
    Ok(Json(SessionStatusResponse {
        status: s.status.to_wire(),
        date_created: s.created_at,
        date_updated: s.updated_at,
        valid_until: open.then_some(s.valid_until),
        upo: (!pages.is_empty()).then(|| upo_pages(&state, &s.reference_number, pages)),
        invoice_count: Some(s.invoice_count),
        successful_invoice_count: Some(s.successful_count),
        // An open session without failures reports null, as KSeF does.
        failed_invoice_count: (!(open && s.failed_count == 0)).then_some(s.failed_count),
    }))
}

/// The wire form of one invoice of a session.
pub(crate) fn invoice_status(state: &AppState, row: InvoiceRow) -> SessionInvoiceStatusResponse {
    let accepted = invoice::ACCEPTED.is(row.status.code);
    // Under fault injection's `holdProcessing` (not part of KSeF), a received invoice reads as KSeF reports one
    // it is still working on.
    let held = invoice::RECEIVED.is(row.status.code) && state.faults.background(FaultKind::HoldProcessing).is_some();
    let status = if held { StoredStatus::from(invoice::PROCESSING) } else { row.status };
    let expires = state.now() + Duration::from_std(state.config.download_url_ttl).unwrap_or(Duration::hours(72));
    let upo_url = accepted.then(|| {
        state.presigned("GET", &format!("/storage/invoice-upo/{}/{}.xml", row.session_reference, row.reference_number), expires)
    });
    SessionInvoiceStatusResponse {
        ordinal_number: row.ordinal,
        invoice_number: row.invoice_number,
        ksef_number: row.ksef_number,
        reference_number: row.reference_number,
        invoice_hash: row.invoice_hash,
        invoice_file_name: row.file_name,
        acquisition_date: row.acquisition_date,
        invoicing_date: row.invoicing_date,
        permanent_storage_date: row.permanent_storage_date,
        upo_download_url: upo_url,
        upo_download_url_expiration_date: accepted.then_some(expires),
        invoicing_mode: Some(row.invoicing_mode),
        status: InvoiceStatusInfo {
            code: status.code,
            description: status.description,
            details: (!status.details.is_empty()).then_some(status.details),
            extensions: row.extensions,
        },
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageQuery {
    page_size: Option<i64>,
}

fn page_size(q: &PageQuery) -> Result<i64, EmuError> {
    let size = q.page_size.unwrap_or(10);
    if !(10..=1000).contains(&size) {
        return Err(EmuError::validation([format!("pageSize musi być z zakresu 10-1000, podano {size}.")]));
    }
    Ok(size)
}

/// Reads `x-continuation-token`: our tokens are base64url of `o{ordinal}` (sessions lists use `s{offset}`).
pub(crate) fn continuation(headers: &HeaderMap, prefix: char) -> Result<i64, EmuError> {
    let Some(value) = headers.get("x-continuation-token") else { return Ok(0) };
    let bad = || EmuError::code(ExceptionCode::InvalidContinuationToken, []);
    let text = value.to_str().map_err(|_| bad())?;
    let decoded = b64url_decode(text.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    decoded.strip_prefix(prefix).and_then(|n| n.parse::<i64>().ok()).filter(|n| *n >= 0).ok_or_else(bad)
}

pub(crate) fn continuation_token(prefix: char, position: i64) -> String {
    b64url(format!("{prefix}{position}").as_bytes())
}

async fn invoice_page(
    state: AppState,
    caller: Caller,
    session_ref: String,
    headers: HeaderMap,
    query: PageQuery,
    failed_only: bool,
) -> Result<Json<SessionInvoicesResponse>, EmuError> {
    let s = owned_session(&state, &caller, &session_ref).await?;
    let size = page_size(&query)?;
    let after = i32::try_from(continuation(&headers, 'o')?).map_err(|_| EmuError::code(ExceptionCode::InvalidContinuationToken, []))?;
    let mut rows = state.db.session_invoices(&s.reference_number, after, size + 1, failed_only).await?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let next = more.then(|| continuation_token('o', i64::from(rows.last().map_or(0, |r| r.ordinal))));
    Ok(Json(SessionInvoicesResponse {
        continuation_token: next,
        invoices: rows.into_iter().map(|r| invoice_status(&state, r)).collect(),
    }))
}

/// `GET /v2/sessions/{ref}/invoices`.
pub(crate) async fn session_invoices(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(session_ref): KsefPath<String>,
    KsefQuery(query): KsefQuery<PageQuery>,
    headers: HeaderMap,
) -> Result<Json<SessionInvoicesResponse>, EmuError> {
    invoice_page(state, caller, session_ref, headers, query, false).await
}

/// `GET /v2/sessions/{ref}/invoices/failed`.
pub(crate) async fn failed_invoices(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(session_ref): KsefPath<String>,
    KsefQuery(query): KsefQuery<PageQuery>,
    headers: HeaderMap,
) -> Result<Json<SessionInvoicesResponse>, EmuError> {
    invoice_page(state, caller, session_ref, headers, query, true).await
}

fn invoice_not_found(invoice_ref: &str) -> EmuError {
    EmuError::validation([format!("Faktura o numerze referencyjnym {invoice_ref} nie została znaleziona w sesji.")])
}

/// `GET /v2/sessions/{ref}/invoices/{invRef}`.
pub(crate) async fn session_invoice(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath((session_ref, invoice_ref)): KsefPath<(String, String)>,
) -> Result<Json<SessionInvoiceStatusResponse>, EmuError> {
    // The checks of `owned_session`, in its order, with the invoice read in the same query.
    caller.require_any(READ_STATUS)?;
    reference(&session_ref)?;
    let found = state.db.owned_invoice(&session_ref, &caller.context.value, &invoice_ref).await?.ok_or_else(|| session_not_found(&session_ref))?;
    reference(&invoice_ref)?;
    let row = found.ok_or_else(|| invoice_not_found(&invoice_ref))?;
    Ok(Json(invoice_status(&state, row)))
}

/// `GET /v2/sessions/{ref}/upo/{upoRef}`.
pub(crate) async fn session_upo(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath((session_ref, upo_ref)): KsefPath<(String, String)>,
) -> Result<Response, EmuError> {
    let s = owned_session(&state, &caller, &session_ref).await?;
    reference(&upo_ref)?;
    let (content, hash) = state.db.upo_page(&s.reference_number, &upo_ref).await?.ok_or_else(|| {
        EmuError::code(ExceptionCode::UpoNotFound, [format!("UPO o numerze referencyjnym {upo_ref} dla sesji {session_ref} nie zostało znalezione.")])
    })?;
    Ok(xml_with_hash(content, hash))
}

fn invoice_upo_response(state: &AppState, session: &SessionRow, row: Option<InvoiceRow>, what: String) -> Result<Response, EmuError> {
    let row = row.filter(|r| invoice::ACCEPTED.is(r.status.code)).ok_or_else(|| {
        EmuError::code(ExceptionCode::UpoNotFound, [format!("UPO {what} i numerze referencyjnym sesji {} nie zostało znalezione.", session.reference_number)])
    })?;
    let xml = crate::upo::invoice_upo(state, session, &row);
    let hash = sha256_base64(&xml);
    Ok(xml_with_hash(xml, hash))
}

/// `GET /v2/sessions/{ref}/invoices/{invRef}/upo`.
pub(crate) async fn invoice_upo_by_reference(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath((session_ref, invoice_ref)): KsefPath<(String, String)>,
) -> Result<Response, EmuError> {
    let s = owned_session(&state, &caller, &session_ref).await?;
    reference(&invoice_ref)?;
    let row = state.db.invoice(&s.reference_number, &invoice_ref).await?;
    invoice_upo_response(&state, &s, row, format!("faktury o numerze referencyjnym {invoice_ref}"))
}

/// `GET /v2/sessions/{ref}/invoices/ksef/{ksefNumber}/upo`.
pub(crate) async fn invoice_upo_by_ksef_number(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath((session_ref, ksef_number)): KsefPath<(String, String)>,
) -> Result<Response, EmuError> {
    let s = owned_session(&state, &caller, &session_ref).await?;
    KsefNumber::parse(&ksef_number).map_err(|e| EmuError::validation([e.to_string()]))?;
    let row = state.db.invoice_by_ksef_number(&s.reference_number, &ksef_number).await?;
    invoice_upo_response(&state, &s, row, format!("o numerze KSeF {ksef_number}"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionsQuery {
    session_type: Option<SessionType>,
    page_size: Option<i64>,
    reference_number: Option<String>,
    date_created_from: Option<String>,
    date_created_to: Option<String>,
    date_closed_from: Option<String>,
    date_closed_to: Option<String>,
    date_modified_from: Option<String>,
    date_modified_to: Option<String>,
}

fn common_status_codes(status: CommonSessionStatus) -> Vec<i32> {
    use ksef_wire::codes::session as s;
    match status {
        CommonSessionStatus::InProgress => vec![s::ONLINE_OPEN.code, s::PROCESSING.code, s::ONLINE_CLOSED.code],
        CommonSessionStatus::Succeeded => vec![s::ONLINE_PROCESSED.code],
        CommonSessionStatus::Failed => s::FAILED_CODES.to_vec(),
        CommonSessionStatus::Cancelled => vec![s::CANCELLED.code],
    }
}

fn query_date(name: &str, value: Option<&String>) -> Result<Option<chrono::DateTime<chrono::Utc>>, EmuError> {
    value
        .map(|v| ksef_wire::datetime::parse(v).ok_or_else(|| EmuError::validation([format!("{name}: '{v}' nie jest datą.")])))
        .transpose()
}

/// `GET /v2/sessions`.
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    KsefQuery(q): KsefQuery<SessionsQuery>,
    QueryPairs(pairs): QueryPairs,
    headers: HeaderMap,
) -> Result<Json<SessionsQueryResponse>, EmuError> {
    // `statuses` is a list, sent as repeated keys (`statuses=InProgress&statuses=Failed`): any of them.
    let mut status_codes = Vec::new();
    for text in pairs.all("statuses") {
        let status = CommonSessionStatus::parse(text).ok_or_else(|| EmuError::validation([format!("Nieznany status sesji '{text}'.")]))?;
        status_codes.extend(common_status_codes(status));
    }
    caller.require_any(READ_STATUS)?;
    let kind = q.session_type.ok_or_else(|| EmuError::validation(["Parametr sessionType jest wymagany.".to_owned()]))?;
    let size = page_size(&PageQuery { page_size: q.page_size })?;
    let offset = continuation(&headers, 's')?;
    let filter = SessionListFilter {
        kind,
        reference_number: q.reference_number.clone(),
        created_from: query_date("dateCreatedFrom", q.date_created_from.as_ref())?,
        created_to: query_date("dateCreatedTo", q.date_created_to.as_ref())?,
        closed_from: query_date("dateClosedFrom", q.date_closed_from.as_ref())?,
        closed_to: query_date("dateClosedTo", q.date_closed_to.as_ref())?,
        updated_from: query_date("dateModifiedFrom", q.date_modified_from.as_ref())?,
        updated_to: query_date("dateModifiedTo", q.date_modified_to.as_ref())?,
        status_codes,
    };
    let mut rows = state.db.list_sessions(&caller.context.value, &filter, offset, size + 1).await?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    Ok(Json(SessionsQueryResponse {
        continuation_token: more.then(|| continuation_token('s', offset + size)),
        sessions: rows
            .into_iter()
            .map(|s| SessionsQueryResponseItem {
                valid_until: session::ONLINE_OPEN.is(s.status.code).then_some(s.valid_until),
                reference_number: s.reference_number,
                status: s.status.to_wire(),
                date_created: s.created_at,
                date_updated: s.updated_at,
                total_invoice_count: s.invoice_count,
                successful_invoice_count: s.successful_count,
                failed_invoice_count: s.failed_count,
            })
            .collect(),
    }))
}
