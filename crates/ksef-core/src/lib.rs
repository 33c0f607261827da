//! KSeF primitives shared by our client and our emulator: the protocol's cryptography, its identifiers, its
//! environments and limits, and the one safe way to parse XML.
//!
//! Everything here is pure and synchronous. It knows nothing of HTTP, JSON or storage, so both sides of
//! the protocol compute hashes, keys and checksums with exactly the same code.

#![deny(missing_docs)]

pub mod calendar;
pub mod crypto;
pub mod der;
pub mod env;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod offline;
pub mod xml;

pub use crypto::CryptoError;
pub use env::Environment;
pub use ids::IdError;
