//! Where the emulator keeps files in its data directory: uploaded batch parts until their package is unpacked,
//! and built export packages. Routes and workers both find them here.

use std::path::PathBuf;

use crate::state::AppState;

/// The directory of a batch session's uploaded parts.
pub(crate) fn batch_dir(state: &AppState, session: &str) -> PathBuf {
    state.config.data_dir.join("batch").join(session)
}

/// Where an uploaded part is kept until its package is unpacked.
pub(crate) fn batch_part(state: &AppState, session: &str, ordinal: i32) -> PathBuf {
    batch_dir(state, session).join(format!("{ordinal}.part"))
}

/// Removes a session's uploaded parts (after unpacking, or when the upload window closed without a close).
pub(crate) async fn discard_batch_parts(state: &AppState, session: &str) {
    match tokio::fs::remove_dir_all(batch_dir(state, session)).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(error = %err, session.reference = %session, "could not remove the batch parts");
        }
        _ => {}
    }
}

/// The directory of an export's package.
pub(crate) fn export_dir(state: &AppState, reference: &str) -> PathBuf {
    state.config.data_dir.join("exports").join(reference)
}

/// Path of an export part file, if the name is one of ours (no path tricks).
pub(crate) fn export_part(state: &AppState, reference: &str, part_name: &str) -> Option<PathBuf> {
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') && !s.contains("..");
    (safe(reference) && safe(part_name)).then(|| export_dir(state, reference).join(part_name))
}
