//! Serde types of the official KSeF 2.0 REST API (OpenAPI 2.9.0), shared by our client and our emulator.
//!
//! The types carry no logic beyond (de)serialization, so the two sides of the protocol cannot drift apart.
//! Field names follow the official camelCase exactly. Optional fields are `Option`s that also accept an
//! explicit JSON `null` (some clients send one for every unset field) and are omitted when we write `None`.
//! Date-times are written in UTC with an explicit offset and read in any ISO-8601 form KSeF accepts.
//! [`codes`] is the one catalogue of KSeF's exception and status codes with their descriptions.

#![deny(missing_docs)]

pub mod auth;
pub mod codes;
pub mod common;
pub mod credentials;
pub mod datetime;
mod enums;
pub mod errors;
pub mod invoices;
pub mod lighthouse;
pub mod permissions;
pub mod sessions;
pub mod testdata;

pub use common::*;
