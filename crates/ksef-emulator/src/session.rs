//! What the routes and the workers both know about sessions: the session key a request names, and the statuses
//! a session ends in when time runs out.

use ksef_core::crypto::b64_decode;
use ksef_wire::EncryptionInfo;
use ksef_wire::codes::{ExceptionCode, session};

use crate::error::EmuError;
use crate::state::AppState;
use crate::store::StoredStatus;

/// Checks a wrapped key's form and the key id it names, giving the wrapped key and the IV; the unwrap itself
/// happens later (a key that does not unwrap opens a session at 415, as in KSeF).
pub(crate) fn decode_encryption(state: &AppState, enc: &EncryptionInfo) -> Result<(Vec<u8>, Vec<u8>), EmuError> {
    if let Some(id) = enc.public_key_id.as_deref().filter(|id| *id != state.keys.symmetric_key_encryption.public_key_id) {
        return Err(EmuError::code(ExceptionCode::UnknownPublicKey, [format!("Klucz o identyfikatorze {id} nie jest wspierany.")]));
    }
    let key = b64_decode(&enc.encrypted_symmetric_key)
        .map_err(|_| EmuError::validation(["Pole encryptedSymmetricKey nie jest poprawnym Base64.".to_owned()]))?;
    let iv = b64_decode(&enc.initialization_vector)
        .map_err(|_| EmuError::validation(["Pole initializationVector nie jest poprawnym Base64.".to_owned()]))?;
    if iv.len() != 16 {
        return Err(EmuError::validation([format!("Wektor inicjujący musi mieć 16 bajtów, ma {}.", iv.len())]));
    }
    Ok((key, iv))
}

/// 440 for a batch session whose upload window closed before its close.
pub(crate) fn upload_timed_out() -> StoredStatus {
    StoredStatus::from(session::CANCELLED).with_details(vec![session::UPLOAD_TIME_EXCEEDED.to_owned()])
}

/// 440 for a session that ended with no invoices.
pub(crate) fn no_invoices_sent() -> StoredStatus {
    StoredStatus::from(session::CANCELLED).with_details(vec![session::NO_INVOICES_SENT.to_owned()])
}

/// Whether a stored status is [`upload_timed_out`].
pub(crate) fn is_upload_timed_out(status: &StoredStatus) -> bool {
    session::CANCELLED.is(status.code) && status.details.iter().any(|d| d == session::UPLOAD_TIME_EXCEEDED)
}

/// 21173 for a session that does not exist in the caller's context.
pub(crate) fn session_not_found(reference: &str) -> EmuError {
    EmuError::code(ExceptionCode::SessionNotFound, [format!("Sesja o numerze referencyjnym {reference} nie została znaleziona.")])
}
