//! The emulator's background workers, apart from its HTTP routes: what KSeF does after it has answered.
//!
//! Each finds its work in the store, not in memory, so whatever was accepted before a restart is finished after
//! it. Workers use the shared modules below the routes (`session`, `files`, `limits`, `upo`, `store`) and never
//! the routes themselves.

pub(crate) mod export;
pub(crate) mod ingest;
pub(crate) mod processing;
pub(crate) mod unpack;

use tokio::task::JoinHandle;

use crate::state::AppState;

/// Starts the workers that run over `state` (the ingest writer is started with the state, which holds it).
pub(crate) fn start(state: &AppState) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(processing::run(state.clone())),
        tokio::spawn(unpack::run(state.clone())),
        tokio::spawn(export::run(state.clone())),
    ]
}
