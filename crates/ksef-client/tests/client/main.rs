//! The client against a real in-process emulator (and, for failure modes, against small stub servers).

mod batch;
mod certificates;
mod flow;
mod helpers;
mod resilience;
