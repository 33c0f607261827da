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
        let findings = version.validator().validate_text(&text).expect("the streaming reader takes every sample");
        assert_eq!(version.validator().validate(&doc), findings, "{}: the tree replayed gives the same findings", file.display());
        if findings.is_empty() != theirs {
            let first = findings.first().map(|f| format!("{} line {}: {}", f.path, f.line, f.message_en)).unwrap_or_default();
            let lint = String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or_default().to_owned();
            disagreements.push(format!("{}: libxml2 {} ({lint}); ours {} ({first})", file.display(), theirs, findings.is_empty()));
        }
    }
    assert!(disagreements.is_empty(), "{} of {} samples disagree:\n{}", disagreements.len(), files.len(), disagreements.join("\n"));
}

/// A small deterministic generator, so a failing mutant can be made again.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

/// Values that probe types and facets: emptiness, whitespace, digits, signs, dates, enumerations, lengths.
const PROBES: &[&str] = &[
    "", " ", "X", "0", "-1", "1.234", "12.5", "00012", "1e3", "9999999999999999999", "2026-13-01", "2026-02-29",
    "2024-02-29", "2025-08-31T23:59:59Z", "2026-01-01T10:00:00", "PL", "pl", "ZZ", "23", "zw", "1", "2", "3", "true",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One mutant of `text`: an element dropped, duplicated, moved or renamed, or a value changed.
fn mutate(text: &str, rng: &mut Lcg) -> Option<String> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let elements: Vec<roxmltree::Node<'_, '_>> = doc.descendants().filter(|n| n.is_element()).skip(1).collect();
    let node = elements[rng.next(elements.len())];
    let range = node.range();
    let leaf = !node.children().any(|c| c.is_element());
    Some(match rng.next(6) {
        0 => format!("{}{}", &text[..range.start], &text[range.end..]),
        1 => format!("{}{}{}", &text[..range.end], &text[range.clone()], &text[range.end..]),
        2 => {
            let next = node.next_siblings().skip(1).find(|n| n.is_element())?;
            let r2 = next.range();
            format!("{}{}{}{}{}", &text[..range.start], &text[r2.clone()], &text[range.end..r2.start], &text[range.clone()], &text[r2.end..])
        }
        3 => {
            // Renamed: the start and end tags of the element get an extra letter.
            let name = node.tag_name().name();
            let inner = &text[range.clone()];
            let renamed = inner.replacen(&format!("<{name}"), &format!("<{name}X"), 1);
            let renamed = match renamed.rfind(&format!("</{name}>")) {
                Some(at) => format!("{}</{name}X>{}", &renamed[..at], &renamed[at + name.len() + 3..]),
                None => renamed,
            };
            format!("{}{renamed}{}", &text[..range.start], &text[range.end..])
        }
        4 if leaf => {
            let probe = PROBES[rng.next(PROBES.len())];
            let text_node = node.children().find(|c| c.is_text());
            let (start, end) = match text_node {
                Some(t) => (t.range().start, t.range().end),
                None => {
                    let close = text[range.clone()].rfind("</").map(|at| range.start + at)?;
                    (close, close)
                }
            };
            format!("{}{}{}", &text[..start], escape(probe), &text[end..])
        }
        _ => {
            let attr = node.attributes().next()?;
            let probe = PROBES[rng.next(PROBES.len())];
            let value_range = attr.range_value();
            format!("{}{}{}", &text[..value_range.start], escape(probe).replace('"', "&quot;"), &text[value_range.end..])
        }
    })
}

/// libxml2's verdict on each of `files` (validated in one run of xmllint per batch).
fn xmllint_verdicts(schema: &Path, files: &[PathBuf]) -> Vec<bool> {
    let mut verdicts = Vec::with_capacity(files.len());
    for batch in files.chunks(400) {
        let output = Command::new("xmllint").args(["--nonet", "--noout", "--schema"]).arg(schema).args(batch).output().expect("xmllint runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for file in batch {
            let name = file.display().to_string();
            let valid = stderr.lines().any(|l| l == format!("{name} validates"));
            let invalid = stderr.lines().any(|l| l == format!("{name} fails to validate"));
            assert!(valid != invalid, "xmllint gave no verdict on {name}");
            verdicts.push(valid);
        }
    }
    verdicts
}

#[test]
fn thousands_of_mutants_of_the_valid_samples_get_libxml2s_schema_verdict() {
    let Some(shared) = shared() else { return };
    let work = std::env::temp_dir().join(format!("ksef-fa-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut rng = Lcg(0x5EED_F00D);
    let mut by_version: Vec<(Version, Vec<PathBuf>)> = vec![(Version::Fa3, Vec::new()), (Version::Fa2, Vec::new())];
    for dir in ["fa3", "fa2"] {
        for entry in std::fs::read_dir(shared.join("samples").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Some(version) = version_of(&text) else { continue };
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            for i in 0..60 {
                let Some(mutant) = mutate(&text, &mut rng) else { continue };
                let file = work.join(format!("{stem}-{i}.xml"));
                std::fs::write(&file, mutant).unwrap();
                by_version.iter_mut().find(|(v, _)| *v == version).unwrap().1.push(file);
            }
        }
    }
    let (mut total, mut invalid, mut streamed_total) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for (version, files) in &by_version {
        let theirs = xmllint_verdicts(&xsd(&shared, *version), files);
        for (file, valid) in files.iter().zip(theirs) {
            let text = std::fs::read_to_string(file).unwrap();
            let doc = roxmltree::Document::parse(&text).unwrap();
            let findings = version.validator().validate(&doc);
            // Streamed where the reader takes the mutant (it leaves rare constructs to the tree): the same findings.
            if let Some(streamed) = version.validator().validate_text(&text) {
                streamed_total += 1;
                assert_eq!(streamed, findings, "{}: streamed and replayed from the tree", file.display());
            }
            total += 1;
            invalid += usize::from(!valid);
            if findings.is_empty() != valid {
                let first = findings.first().map(|f| format!("{} line {}: {}", f.path, f.line, f.message_en)).unwrap_or_default();
                disagreements.push(format!("{}: libxml2 says {}, ours {} {first}", file.display(), valid, findings.is_empty()));
            }
        }
    }
    eprintln!("{total} mutants, {invalid} invalid for libxml2, {streamed_total} streamed, {} disagreements", disagreements.len());
    assert!(total > 2000, "{total} mutants");
    assert!(streamed_total * 10 >= total * 9, "the streaming reader takes most mutants ({streamed_total} of {total})");
    assert!(disagreements.is_empty(), "{} of {total} mutants disagree:\n{}", disagreements.len(), disagreements.join("\n"));
    std::fs::remove_dir_all(&work).ok();
}

#[test]
fn the_ministrys_samples_have_no_errors_and_the_semantic_samples_get_theirs() {
    let Some(shared) = shared() else { return };
    let options = ksef_fa::rules::Options::default();
    for file in samples(&shared) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let report = ksef_fa::check(&std::fs::read(&file).unwrap(), &options);
        if name.starts_with("mf") {
            assert!(report.valid(), "{name}: {:?}", report.first_error());
        }
        if name.starts_with("sem01") {
            let first = report.first_error().expect("an error");
            assert_eq!((first.rule.as_str(), first.path.as_str()), ("nip-checksum", "/Faktura/Podmiot2/DaneIdentyfikacyjne/NIP"));
        }
        if name.starts_with("sem02") {
            assert!(report.valid(), "only a warning: {:?}", report.findings);
            assert!(report.findings.iter().any(|f| f.rule == "totals" && f.path == "/Faktura/Fa/P_15"), "{:?}", report.findings);
        }
    }
}

#[test]
fn the_canonical_form_is_libxml2s_canonical_xml() {
    let Some(shared) = shared() else { return };
    let mut compared = 0;
    for file in samples(&shared) {
        let text = std::fs::read_to_string(&file).unwrap();
        // xmllint --c14n keeps comments; the form KSeF's hash-free comparisons use drops them.
        if text.contains("<!--") {
            continue;
        }
        let Ok(doc) = roxmltree::Document::parse(&text) else { continue };
        let output = Command::new("xmllint").arg("--c14n").arg(&file).output().expect("xmllint runs");
        assert!(output.status.success(), "{}", file.display());
        assert_eq!(ksef_fa::canonical(&doc), String::from_utf8(output.stdout).unwrap(), "{}", file.display());
        compared += 1;
    }
    assert!(compared > 30, "{compared} samples compared");
}

#[test]
fn every_sample_goes_through_json_and_the_typed_model_back_to_a_valid_document_with_the_same_data() {
    let Some(shared) = shared() else { return };
    let work = std::env::temp_dir().join(format!("ksef-fa-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut written: Vec<(Version, PathBuf)> = Vec::new();
    for dir in ["fa3", "fa2"] {
        for entry in std::fs::read_dir(shared.join("samples").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let version = version_of(&text).unwrap();
            let schema = version.validator().schema();
            let doc = roxmltree::Document::parse(&text).unwrap();
            let json = ksef_fa::json::to_json(schema, &doc);
            let xml = ksef_fa::json::from_json(schema, &json).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            let again = roxmltree::Document::parse(&xml).unwrap();
            assert_eq!(ksef_fa::json::to_json(schema, &again), json, "{}: the same data", path.display());
            assert!(version.validator().validate(&again).is_empty(), "{}: schema-valid for us", path.display());
            // The typed model reads the same data and writes it back (what libxml2 checks below).
            let model = ksef_fa::model::Invoice::from_xml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let xml = model.to_xml();
            assert_eq!(ksef_fa::model::Invoice::from_xml(&xml).unwrap(), model, "{}: the model reads what it wrote", path.display());
            let again = roxmltree::Document::parse(&xml).unwrap();
            // Typed values (decimals, integers, dates) lose only the whitespace around them, which XSD collapses.
            assert_eq!(trimmed(ksef_fa::json::to_json(schema, &again)), trimmed(json.clone()), "{}: the model keeps the data", path.display());
            let out = work.join(path.file_name().unwrap());
            std::fs::write(&out, xml).unwrap();
            written.push((version, out));
        }
    }
    for version in [Version::Fa3, Version::Fa2] {
        let files: Vec<PathBuf> = written.iter().filter(|(v, _)| *v == version).map(|(_, f)| f.clone()).collect();
        let verdicts = xmllint_verdicts(&xsd(&shared, version), &files);
        let refused: Vec<&PathBuf> = files.iter().zip(&verdicts).filter(|(_, ok)| !**ok).map(|(f, _)| f).collect();
        assert!(refused.is_empty(), "libxml2 refuses regenerated {refused:?}");
    }
    assert!(written.len() >= 60, "{} samples", written.len());
    std::fs::remove_dir_all(&work).ok();
}

fn trimmed(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => serde_json::Value::String(s.trim().to_owned()),
        serde_json::Value::Array(items) => items.into_iter().map(trimmed).collect(),
        serde_json::Value::Object(map) => map.into_iter().map(|(k, v)| (k, trimmed(v))).collect(),
        other => other,
    }
}
