//! Against the official material in `../shared/fa` (CI always has it; elsewhere these tests skip with a
//! message, and under `CI=true` they fail): the shipped schemas are exactly what the Ministry's XSDs compile
//! to, and on every sample invoice our schema verdict is libxml2's (`xmllint --noout --schema`).

use std::path::{Path, PathBuf};
use std::process::Command;

use ksef_fa::Version;

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa");
    if dir.join("fa3/schemat.xsd").exists() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared/fa is missing under CI=true");
    eprintln!("SKIP: ../shared/fa is missing (it ships beside the repository in CI)");
    None
}

fn xsd(shared: &Path, version: Version) -> PathBuf {
    shared.join(match version {
        Version::Fa2 => "fa2/schemat.xsd",
        Version::Fa3 => "fa3/schemat.xsd",
    })
}

#[test]
fn the_shipped_schemas_are_what_the_official_xsds_compile_to() {
    let Some(shared) = shared() else { return };
    for (version, shipped) in [(Version::Fa3, include_str!("../schemas/fa3.json")), (Version::Fa2, include_str!("../schemas/fa2.json"))] {
        let compiled = ksef_fa::xsd::compile(&xsd(&shared, version), "Faktura").unwrap();
        let shipped: ksef_fa::schema::Schema = serde_json::from_str(shipped).unwrap();
        assert!(
            compiled == shipped,
            "schemas/{:?}.json differs from the official XSD; regenerate it with the compile_schema example",
            version
        );
    }
}

fn samples(shared: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["fa3", "fa2", "invalid"] {
        for entry in std::fs::read_dir(shared.join("samples").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn version_of(text: &str) -> Option<Version> {
    let options = roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(text, options).ok()?;
    Version::from_namespace(doc.root_element().tag_name().namespace()?)
}

#[test]
fn every_sample_invoice_gets_libxml2s_schema_verdict() {
    let Some(shared) = shared() else { return };
    let mut disagreements = Vec::new();
    let files = samples(&shared);
    assert!(files.len() >= 70, "the samples are there ({})", files.len());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let version = version_of(&text).unwrap_or(Version::Fa3);
        let output = Command::new("xmllint").args(["--nonet", "--noout", "--schema"]).arg(xsd(&shared, version)).arg(file).output().expect("xmllint (libxml2-utils) is installed");
        let theirs = output.status.success();
        let options = roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() };
        let doc = roxmltree::Document::parse_with_options(&text, options).unwrap();
        let findings = version.validator().validate(&doc);
        if findings.is_empty() != theirs {
            let first = findings.first().map(|f| format!("{} line {}: {}", f.path, f.line, f.message_en)).unwrap_or_default();
            let lint = String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or_default().to_owned();
            disagreements.push(format!("{}: libxml2 {} ({lint}); ours {} ({first})", file.display(), theirs, findings.is_empty()));
        }
    }
    assert!(disagreements.is_empty(), "{} of {} samples disagree:\n{}", disagreements.len(), files.len(), disagreements.join("\n"));
}
