//! The `ksef-gateway` executable's library: the gateway's REST API (`api/`, `router.rs`) over operations
//! (`ops/`) and the operator's console (`console/`) that use KSeF (`ksef.rs`) and the store, started as a value (`startup.rs`) with background work apart (`workers/`: the outbox, expiry), plus the command line.

pub mod api;
pub mod cli;
mod commands;
pub mod console;
pub mod config;
pub mod errors;
pub mod files;
pub mod ksef;
pub mod ops;
pub mod router;
pub mod secrets;
pub mod startup;
pub mod telemetry;
mod workers;
