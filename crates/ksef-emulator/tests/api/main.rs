//! Black-box tests of the emulator: a real server on port 0, spoken to over HTTP.

mod auth;
mod batch;
mod errors;
mod exports;
mod faults;
mod helpers;
mod invoices;
mod persistence;
mod schema;
mod sessions;
mod tls;
mod xades;
