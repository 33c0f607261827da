//! Black-box tests of the gateway: the real server on port 0, its embedded emulator, spoken to over HTTP.

mod batch;
mod batches;
mod batch_cli;
mod console;
mod crash;
mod credentials;
mod documents;
mod errors;
mod events;
mod export_cli;
mod flow;
mod helpers;
mod hostile;
mod isolation;
mod ksef_faults;
mod operability;
mod outages;
mod pacing;
mod queries;
mod submit;
mod verify;
mod visual;
