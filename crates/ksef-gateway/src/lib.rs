//! The `ksef-gateway` executable's library: command-line interface, telemetry, and one module per command.
//!
//! The gateway's REST API joins this crate with its own issue; today the binary runs the offline KSeF emulator.

pub mod cli;
mod commands;
pub mod telemetry;
