//! KSeF primitives shared by our client and our emulator: the protocol's cryptography and its identifiers.
//!
//! Everything here is pure and synchronous. It knows nothing of HTTP, JSON or storage, so both sides of
//! the protocol compute hashes, keys and checksums with exactly the same code.

#![deny(missing_docs)]

pub mod crypto;
pub mod der;
pub mod ids;
pub mod offline;

pub use crypto::CryptoError;
pub use ids::IdError;
