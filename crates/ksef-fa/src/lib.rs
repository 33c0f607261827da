//! FA(2) and FA(3) e-invoices: the official schemas compiled into data ([`schema`], made from the Ministry's
//! XSDs by [`xsd::compile`] and shipped in `schemas/`), and a validator that agrees with them ([`Validator`]).

#![deny(missing_docs)]

mod pattern;
pub mod schema;
mod validate;
mod value;
pub mod xsd;

use std::sync::OnceLock;

pub use crate::validate::{Finding, Validator};

/// The FA(3) namespace.
pub const FA3_NAMESPACE: &str = "http://crd.gov.pl/wzor/2025/06/25/13775/";
/// The FA(2) namespace.
pub const FA2_NAMESPACE: &str = "http://crd.gov.pl/wzor/2023/06/29/12648/";

/// An invoice schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// FA(2), schema 1-0E.
    Fa2,
    /// FA(3), schema 1-0E.
    Fa3,
}

impl Version {
    /// The version whose namespace is `namespace`.
    pub fn from_namespace(namespace: &str) -> Option<Version> {
        match namespace {
            FA3_NAMESPACE => Some(Version::Fa3),
            FA2_NAMESPACE => Some(Version::Fa2),
            _ => None,
        }
    }

    /// As KSeF names it: `FA(2)`, `FA(3)`.
    pub fn name(self) -> &'static str {
        match self {
            Version::Fa2 => "FA(2)",
            Version::Fa3 => "FA(3)",
        }
    }

    /// The validator of this version's official schema.
    pub fn validator(self) -> &'static Validator {
        static FA2: OnceLock<Validator> = OnceLock::new();
        static FA3: OnceLock<Validator> = OnceLock::new();
        let (cell, json) = match self {
            Version::Fa2 => (&FA2, include_str!("../schemas/fa2.json")),
            Version::Fa3 => (&FA3, include_str!("../schemas/fa3.json")),
        };
        cell.get_or_init(|| {
            let schema = serde_json::from_str(json).expect("the shipped schema is well-formed");
            Validator::new(schema).expect("the shipped schema's patterns translate")
        })
    }
}
