//! Tokenless, pre-signed downloads, standing in for the blob storage KSeF hands out URLs to: session UPO
//! pages, invoice UPOs and export parts. Every answer carries `x-ms-meta-hash`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use ksef_core::crypto::sha256_base64;
use ksef_wire::codes::invoice;
use ksef_wire::invoices::InvoicePackage;

use crate::error::EmuError;
use crate::extract::{KsefPath, KsefQuery};
use crate::presign::{Signature, verify};
use crate::routes::xml_with_hash;
use crate::state::AppState;

fn check(state: &AppState, path: &str, signature: &Signature) -> Result<(), EmuError> {
    verify(&state.keys.secret, "GET", path, signature, state.now())
}

/// `GET /storage/upo/{session}/{upoRef}.xml`.
pub(crate) async fn session_upo(
    State(state): State<AppState>,
    KsefPath((session, file)): KsefPath<(String, String)>,
    KsefQuery(signature): KsefQuery<Signature>,
) -> Result<Response, EmuError> {
    check(&state, &format!("/storage/upo/{session}/{file}"), &signature)?;
    let upo_ref = file.strip_suffix(".xml").ok_or(EmuError::StorageNotFound)?;
    let (content, hash) = state.db.upo_page(&session, upo_ref).await?.ok_or(EmuError::StorageNotFound)?;
    Ok(xml_with_hash(content, hash))
}

/// `GET /storage/invoice-upo/{session}/{invoiceRef}.xml`.
pub(crate) async fn invoice_upo(
    State(state): State<AppState>,
    KsefPath((session, file)): KsefPath<(String, String)>,
    KsefQuery(signature): KsefQuery<Signature>,
) -> Result<Response, EmuError> {
    check(&state, &format!("/storage/invoice-upo/{session}/{file}"), &signature)?;
    let invoice_ref = file.strip_suffix(".xml").ok_or(EmuError::StorageNotFound)?;
    let session_row = state.db.session_any(&session).await?.ok_or(EmuError::StorageNotFound)?;
    let row = state.db.invoice(&session, invoice_ref).await?.filter(|r| invoice::ACCEPTED.is(r.status.code)).ok_or(EmuError::StorageNotFound)?;
    let xml = crate::upo::invoice_upo(&state, &session_row, &row);
    let hash = sha256_base64(&xml);
    Ok(xml_with_hash(xml, hash))
}

/// `GET /storage/exports/{ref}/{partName}`: the encrypted part, streamed from disk.
pub(crate) async fn export_part(
    State(state): State<AppState>,
    KsefPath((reference, part_name)): KsefPath<(String, String)>,
    KsefQuery(signature): KsefQuery<Signature>,
) -> Result<Response, EmuError> {
    check(&state, &format!("/storage/exports/{reference}/{part_name}"), &signature)?;
    let export = state.db.export_any(&reference).await?.ok_or(EmuError::StorageNotFound)?;
    let package: InvoicePackage = export
        .package
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or(EmuError::StorageNotFound)?;
    let part = package.parts.iter().find(|p| p.part_name == part_name).ok_or(EmuError::StorageNotFound)?;
    let path = crate::files::export_part(&state, &reference, &part_name).ok_or(EmuError::StorageNotFound)?;
    let file = tokio::fs::File::open(&path).await.map_err(|_| EmuError::StorageNotFound)?;
    let mut response = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(file)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(part.encrypted_part_size));
    if let Ok(v) = HeaderValue::from_str(&part.encrypted_part_hash) {
        headers.insert("x-ms-meta-hash", v);
    }
    Ok(response)
}
