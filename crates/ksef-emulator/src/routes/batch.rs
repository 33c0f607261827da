//! Batch sessions: open with the declared package, tokenless part uploads to pre-signed PUT URLs, and close,
//! which hands the package to the unpacking worker (`workers/unpack.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use futures_util::StreamExt as _;
use ksef_core::crypto::padded_len;
use ksef_core::ids::{ReferenceKind, ReferenceNumber};
use ksef_wire::codes::{ExceptionCode, session};
use ksef_wire::sessions::{OpenBatchSessionRequest, OpenBatchSessionResponse, PartUploadRequest, SessionType};

use crate::error::EmuError;
use crate::extract::{Caller, KsefJson, KsefPath, KsefQuery, reference};
use crate::files::{batch_part, discard_batch_parts};
use crate::limits::{MAX_BATCH_PACKAGE_BYTES, MAX_BATCH_PART_BYTES, MAX_BATCH_PARTS, UPLOAD_WINDOW_PER_PART};
use crate::presign::{Signature, verify};
use crate::routes::sessions::{WRITE, check_hash};
use crate::session::{decode_encryption, is_upload_timed_out, session_not_found, upload_timed_out};
use crate::state::AppState;
use crate::store::{BatchPackage, NewSession, StoredStatus};
use crate::verify::namespace_for;

fn part_size_error(detail: String) -> EmuError {
    EmuError::code(ExceptionCode::InvalidPartSize, [detail])
}

/// Checks the declared package; every finding of one kind is reported together.
fn check_package(req: &OpenBatchSessionRequest) -> Result<(), EmuError> {
    let file = &req.batch_file;
    if !(1..=MAX_BATCH_PACKAGE_BYTES as i64).contains(&file.file_size) {
        return Err(EmuError::validation([format!(
            "batchFile.fileSize musi być z zakresu 1-{MAX_BATCH_PACKAGE_BYTES}, podano {}.",
            file.file_size
        )]));
    }
    check_hash("batchFile.fileHash", &file.file_hash)?;
    let parts = &file.file_parts;
    if parts.is_empty() {
        return Err(EmuError::validation([
            "batchFile.fileParts musi zawierać co najmniej jedną część.".to_owned(),
        ]));
    }
    if parts.len() > MAX_BATCH_PARTS {
        return Err(EmuError::code(
            ExceptionCode::TooManyParts,
            [format!(
                "Zadeklarowano {} części; dozwolone jest najwyżej {MAX_BATCH_PARTS}.",
                parts.len()
            )],
        ));
    }
    let ordinals: BTreeSet<i32> = parts.iter().map(|p| p.ordinal_number).collect();
    if ordinals.len() != parts.len() || ordinals.iter().copied().ne(1..=parts.len() as i32) {
        return Err(EmuError::validation([format!(
            "Numery części muszą być kolejnymi liczbami od 1 do {} bez powtórzeń.",
            parts.len()
        )]));
    }
    for part in parts {
        check_hash(
            &format!("fileParts[{}].fileHash", part.ordinal_number),
            &part.file_hash,
        )?;
    }
    let max_encrypted = padded_len(MAX_BATCH_PART_BYTES as usize) as i64;
    let wrong: Vec<String> = parts
        .iter()
        .filter_map(|p| {
            if p.file_size < 16 || p.file_size > max_encrypted {
                Some(format!(
                    "Część {}: rozmiar {} B jest poza zakresem 16-{max_encrypted} B (najwyżej 100 MB przed zaszyfrowaniem).",
                    p.ordinal_number, p.file_size
                ))
            } else if p.file_size % 16 != 0 {
                Some(format!(
                    "Część {}: rozmiar {} B nie jest wielokrotnością 16 B, a więc nie jest wynikiem AES-256-CBC.",
                    p.ordinal_number, p.file_size
                ))
            } else {
                None
            }
        })
        .collect();
    if !wrong.is_empty() {
        return Err(EmuError::code(ExceptionCode::InvalidPartSize, wrong));
    }
    // Each part grows by 1 to 16 bytes of padding, so the parts must add up to the package plus that.
    let encrypted: i64 = parts.iter().map(|p| p.file_size).sum();
    let n = parts.len() as i64;
    if encrypted < file.file_size + n || encrypted > file.file_size + 16 * n {
        return Err(part_size_error(format!(
            "Części mają razem {encrypted} B, co nie odpowiada paczce {} B zaszyfrowanej w {n} częściach.",
            file.file_size
        )));
    }
    Ok(())
}

/// `POST /v2/sessions/batch` → 201 with one pre-signed PUT URL per declared part.
pub(crate) async fn open_batch(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<OpenBatchSessionRequest>,
) -> Result<(StatusCode, Json<OpenBatchSessionResponse>), EmuError> {
    caller.require_any(WRITE)?;
    if namespace_for(&req.form_code).is_none() {
        return Err(EmuError::validation([
            "Wskazany kod formularza nie jest wspierany w sesji wsadowej.".to_owned(),
        ]));
    }
    let (encrypted_key, iv) = decode_encryption(&state, &req.encryption)?;
    check_package(&req)?;
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::BatchSession, now.date_naive());
    let status = match state.unwrap_session_key(&encrypted_key, &iv) {
        Some(_) => StoredStatus::from(session::BATCH_OPEN),
        None => StoredStatus::from(session::KEY_DECRYPTION_FAILED),
    };
    let parts = req.batch_file.file_parts.len();
    let valid_until = now + UPLOAD_WINDOW_PER_PART * parts as i32;
    let op = state.db.auth_operation(&caller.auth_reference).await?;
    let session = NewSession {
        reference_number: reference.to_string(),
        kind: SessionType::Batch,
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
    };
    let mut declared = req.batch_file.file_parts;
    declared.sort_by_key(|p| p.ordinal_number);
    let package = BatchPackage {
        file_size: req.batch_file.file_size,
        file_hash: req.batch_file.file_hash,
        compression: req.batch_file.compression_type.unwrap_or_default(),
        offline_mode: req.offline_mode == Some(true),
        parts: declared,
    };
    state.db.insert_batch_session(&session, &package).await?;
    let part_upload_requests = package
        .parts
        .iter()
        .map(|p| PartUploadRequest {
            ordinal_number: p.ordinal_number,
            method: "PUT".to_owned(),
            url: state.presigned(
                "PUT",
                &upload_path(reference.as_str(), p.ordinal_number),
                valid_until,
            ),
            headers: BTreeMap::from([("x-ms-blob-type".to_owned(), "BlockBlob".to_owned())]),
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(OpenBatchSessionResponse {
            reference_number: reference.to_string(),
            part_upload_requests,
        }),
    ))
}

fn upload_path(session: &str, ordinal: i32) -> String {
    format!("/storage/batch/{session}/{ordinal}")
}

/// `PUT /storage/batch/{session}/{ordinal}`: one encrypted part, streamed to disk and made durable before 201.
///
/// Any size up to KSeF's largest part is stored; whether it matches the declaration is checked at close
/// (21157) and its hash in processing (405), as KSeF does.
pub(crate) async fn upload_part(
    State(state): State<AppState>,
    KsefPath((session_ref, ordinal)): KsefPath<(String, i32)>,
    KsefQuery(signature): KsefQuery<Signature>,
    body: Body,
) -> Result<StatusCode, EmuError> {
    verify(
        &state.keys.secret,
        "PUT",
        &upload_path(&session_ref, ordinal),
        &signature,
        state.now(),
    )?;
    let session = state
        .db
        .session_any(&session_ref)
        .await?
        .ok_or(EmuError::StorageNotFound)?;
    if !session::BATCH_OPEN.is(session.status.code) || session.valid_until < state.now() {
        return Err(EmuError::StorageDenied(format!(
            "session status {} takes no uploads",
            session.status.code
        )));
    }
    let package = state
        .db
        .batch_package(&session_ref)
        .await?
        .ok_or(EmuError::StorageNotFound)?;
    if !package.parts.iter().any(|p| p.ordinal_number == ordinal) {
        return Err(EmuError::StorageNotFound);
    }
    let path = batch_part(&state, &session_ref, ordinal);
    let dir = path
        .parent()
        .expect("a part lives in its session's directory")
        .to_owned();
    let limit = padded_len(MAX_BATCH_PART_BYTES as usize) as u64;
    let mut stream = body.into_data_stream();
    let file = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        tempfile::NamedTempFile::new_in(&dir)
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(anyhow::Error::from)?;
    let (std_file, temp_path) = file.into_parts();
    let mut out = tokio::fs::File::from_std(std_file);
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| EmuError::StorageRefused {
            code: "InvalidInput",
            message: format!("body: {e}"),
        })?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(EmuError::StorageRefused {
                code: "RequestBodyTooLarge",
                message: format!("A part may have at most {limit} bytes."),
            });
        }
        tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
            .await
            .map_err(anyhow::Error::from)?;
    }
    let mut std_file = out.into_std().await;
    tokio::task::spawn_blocking(move || std_file.flush().and_then(|()| std_file.sync_all()))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    // The session may have been closed (and its package unpacked) while the part streamed in: then it is too
    // late, and the part must not reappear beside a finished package.
    let still_open = state.db.session_any(&session_ref).await?.is_some_and(|s| session::BATCH_OPEN.is(s.status.code));
    if !still_open {
        return Err(EmuError::StorageDenied("the session was closed during the upload".into()));
    }
    // Renamed into place only once complete, so processing never reads half a part.
    temp_path
        .persist(&path)
        .map_err(|_| EmuError::StorageDenied("the session's parts are gone".into()))?;
    Ok(StatusCode::CREATED)
}

/// `POST /v2/sessions/batch/{ref}/close` → 204: checks that every declared part arrived whole, then queues
/// the package for processing.
pub(crate) async fn close_batch(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(session_ref): KsefPath<String>,
) -> Result<StatusCode, EmuError> {
    caller.require_any(WRITE)?;
    reference(&session_ref)?;
    let session = state
        .db
        .session(&session_ref, &caller.context.value)
        .await?
        .ok_or_else(|| session_not_found(&session_ref))?;
    let refuse = |code: i32| {
        EmuError::code(
            ExceptionCode::SessionStatusForbids,
            [format!("Status sesji {code} uniemożliwia jej zamknięcie.")],
        )
    };
    let timed_out = || {
        EmuError::code(
            ExceptionCode::UploadTimeout,
            ["Sesja anulowana, przekroczony czas wysyłki.".to_owned()],
        )
    };
    if session.kind != SessionType::Batch {
        return Err(refuse(session.status.code));
    }
    if is_upload_timed_out(&session.status) {
        return Err(timed_out());
    }
    if !session::BATCH_OPEN.is(session.status.code) {
        return Err(refuse(session.status.code));
    }
    let now = state.now();
    if session.valid_until < now {
        state
            .db
            .close_session(&session_ref, &upload_timed_out(), now)
            .await?;
        discard_batch_parts(&state, &session_ref).await;
        return Err(timed_out());
    }
    let package = state
        .db
        .batch_package(&session_ref)
        .await?
        .ok_or_else(|| session_not_found(&session_ref))?;
    for part in &package.parts {
        let n = part.ordinal_number;
        let size = match tokio::fs::metadata(batch_part(&state, &session_ref, n)).await {
            Ok(meta) => meta.len() as i64,
            Err(_) => {
                return Err(EmuError::code(
                    ExceptionCode::EmptyPackage,
                    [format!("Nie przesłano zadeklarowanej '{n}' części pliku.")],
                ));
            }
        };
        if size != part.file_size {
            return Err(part_size_error(format!(
                "Zadeklarowany rozmiar części '{n}' nie zgadza się z rzeczywistym."
            )));
        }
    }
    if !state
        .db
        .close_session(
            &session_ref,
            &session::PROCESSING.into(),
            now,
        )
        .await?
    {
        return Err(refuse(session.status.code));
    }
    state.batches_waiting.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
