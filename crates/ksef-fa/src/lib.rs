//! FA(2) and FA(3) e-invoices: the official schemas compiled into data ([`schema`], made from the Ministry's
//! XSDs by [`xsd::compile`] and shipped in `schemas/`), a validator that agrees with them ([`Validator`]), and
//! [`check`], which runs KSeF's prechecks, the schema and the rules beyond it over an invoice file.

#![deny(missing_docs)]

pub mod amount;
mod automaton;
mod canonical;
mod elements;
mod ids;
pub mod codegen;
pub mod example;
pub mod generate;
pub mod json;
pub mod model;
pub mod names;
pub mod parties;
mod pattern;
pub mod precheck;
pub mod rules;
pub mod schema;
mod validate;
mod value;
pub mod xsd;

use std::sync::OnceLock;

use serde::Serialize;

pub use crate::amount::Amount;
pub use crate::canonical::canonical;
pub use ksef_core::xml::c14n::{escape_attribute, escape_text};
pub use crate::validate::{Finding, Kind, MAX_FINDINGS, Severity, Validator};

/// The FA(3) namespace.
pub const FA3_NAMESPACE: &str = "http://crd.gov.pl/wzor/2025/06/25/13775/";
/// The FA(2) namespace.
pub const FA2_NAMESPACE: &str = "http://crd.gov.pl/wzor/2023/06/29/12648/";

/// An invoice schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    /// FA(2), schema 1-0E.
    #[serde(rename = "FA(2)")]
    Fa2,
    /// FA(3), schema 1-0E.
    #[serde(rename = "FA(3)")]
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

/// What checking one invoice file found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The schema version, from the root element's namespace (`None` if it is neither).
    pub version: Option<Version>,
    /// Every finding: prechecks, then the schema's, then the rules' (run only on a schema-valid document).
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when no finding is an error.
    pub fn valid(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The first error, as KSeF would report it.
    pub fn first_error(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.severity == Severity::Error)
    }
}

/// Checks an invoice file as KSeF does (prechecks, then the schema of its version), and by the rules beyond the
/// schema, with `options`.
///
/// The document is read once, streamed through the validator ([`ksef_core::xml::pull`]); only a document the
/// streaming reader leaves to the full parser (malformed, or rare constructs) is parsed into a tree, which then
/// either says what is wrong or is replayed through the same validator.
pub fn check(bytes: &[u8], options: &rules::Options) -> Report {
    let (text, mut findings) = precheck::text(bytes);
    let Some(text) = text else { return Report { version: None, findings } };
    let lines = validate::Lines::of(text);
    let mut run = validate::Run::new(validate::Pick::ByNamespace, text.len());
    if ksef_core::xml::pull::read(text, &ksef_core::xml::XmlLimits::DEFAULT, &mut run).is_ok() {
        return finish(run, bytes.len(), findings, &lines, options);
    }
    drop(run);
    match ksef_core::xml::parse(text) {
        Ok(doc) => {
            let mut run = validate::Run::new(validate::Pick::ByNamespace, text.len());
            ksef_core::xml::pull::walk(&doc, &mut run);
            finish(run, bytes.len(), findings, &lines, options)
        }
        Err(e) => {
            let line = e.line();
            findings.push(precheck::finding(
                precheck::Precheck::Xml,
                "/",
                line,
                format!("Dokument nie jest poprawnym XML: {e}."),
                format!("The document is not well-formed XML: {e}."),
            ));
            Report { version: None, findings }
        }
    }
}

/// The report of a document of `size` bytes read through `run`: the findings so far, prechecks of the document,
/// then the rules' findings on a schema-valid one, then the schema's.
fn finish(mut run: validate::Run<'_, '_>, size: usize, mut findings: Vec<Finding>, lines: &validate::Lines<'_>, options: &rules::Options) -> Report {
    let instructions = std::mem::take(&mut run.instructions);
    let (schema, elements) = run.finish(lines);
    let Some(root) = elements.root() else { return Report { version: None, findings } };
    let has_attachment = root.children().any(|c| c.name() == "Zalacznik");
    findings.extend(precheck::document(&instructions, has_attachment, size, lines));
    let Some(version) = root.namespace().and_then(Version::from_namespace) else {
        findings.push(precheck::finding(
            precheck::Precheck::Namespace,
            &format!("/{}", root.name()),
            lines.row(root.position()),
            format!("Element główny nie należy do przestrzeni nazw FA(2) ani FA(3) ({}).", root.namespace().unwrap_or("brak")),
            format!("The root element is in neither the FA(2) nor the FA(3) namespace ({}).", root.namespace().unwrap_or("none")),
        ));
        return Report { version: None, findings };
    };
    if schema.is_empty() {
        findings.extend(rules::check(&elements, lines, options));
    }
    findings.extend(schema);
    Report { version: Some(version), findings }
}
