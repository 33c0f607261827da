//! Validation throughput over the sample corpus, against `xmllint --noout --schema` over the same files in the
//! same run, and generation throughput over our examples: `cargo bench -p ksef-fa --bench validate` (needs
//! `../shared/fa` and xmllint).
//!
//! Both sides validate every FA(3) sample (and FA(2) samples against FA(2)) `ROUNDS` times; xmllint gets every
//! file `ROUNDS` times on one command line per schema, so compiling its schema is paid once, as ours is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ROUNDS: usize = 30;
const TRIALS: usize = 7;

fn main() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa");
    if !shared.join("fa3/schemat.xsd").exists() {
        eprintln!("SKIP: ../shared/fa is missing");
        return;
    }
    let mut by_schema: Vec<(&str, Vec<PathBuf>)> = vec![("fa3", Vec::new()), ("fa2", Vec::new())];
    for (dir, files) in &mut by_schema {
        for entry in std::fs::read_dir(shared.join("samples").join(*dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
        files.sort();
    }
    let docs: Vec<(Vec<u8>, &str)> = by_schema
        .iter()
        .flat_map(|(schema, files)| files.iter().map(move |f| (std::fs::read(f).unwrap(), *schema)))
        .collect();
    let bytes: usize = docs.iter().map(|(d, _)| d.len()).sum();
    let count = docs.len();
    let options = ksef_fa::rules::Options { nip_checksums: true, received: None };

    // Warm up (the shipped schemas are compiled on first use).
    let _ = ksef_fa::check(&docs[0].0, &options);
    // One pass is a tenth of a second, so this VM's noise would swamp it: the three sides take turns `TRIALS`
    // times and each keeps its best.
    let (mut ours, mut schema_only, mut theirs) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..TRIALS {
        let started = Instant::now();
        let mut valid = 0;
        for _ in 0..ROUNDS {
            for (doc, _) in &docs {
                valid += usize::from(ksef_fa::check(doc, &options).findings.iter().all(|f| f.kind != ksef_fa::Kind::Schema));
            }
        }
        ours = ours.min(started.elapsed().as_secs_f64());
        assert_eq!(valid, count * ROUNDS, "every sample is schema-valid");

        // The schema alone (reading and the schema pass), what xmllint does.
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for (doc, schema) in &docs {
                let text = std::str::from_utf8(doc).unwrap();
                let version = if *schema == "fa3" { ksef_fa::Version::Fa3 } else { ksef_fa::Version::Fa2 };
                assert_eq!(version.validator().validate_text(text).map(|f| f.len()), Some(0));
            }
        }
        schema_only = schema_only.min(started.elapsed().as_secs_f64());

        let started = Instant::now();
        for (schema, files) in &by_schema {
            let repeated: Vec<&PathBuf> = (0..ROUNDS).flat_map(|_| files.iter()).collect();
            let status = Command::new("xmllint")
                .args(["--nonet", "--noout", "--schema"])
                .arg(shared.join(schema).join("schemat.xsd"))
                .args(repeated)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("xmllint runs");
            assert!(status.success(), "xmllint validates every sample");
        }
        theirs = theirs.min(started.elapsed().as_secs_f64());
    }

    let total_mb = (bytes * ROUNDS) as f64 / 1e6;
    let invoices = (count * ROUNDS) as f64;
    println!("{count} sample invoices, {:.2} MB, validated {ROUNDS} times (best of {TRIALS} trials each):", bytes as f64 / 1e6);
    println!("  ksef-fa check (prechecks, schema, rules): {:.1} MB/s, {:.0} invoices/s", total_mb / ours, invoices / ours);
    println!("  xmllint --noout --schema (schema only):   {:.1} MB/s, {:.0} invoices/s", total_mb / theirs, invoices / theirs);
    println!("  ksef-fa schema only (read + schema):       {:.1} MB/s, {:.0} invoices/s", total_mb / schema_only, invoices / schema_only);
    println!("  ratio: {:.1}x libxml2's throughput for check, {:.1}x for the schema alone (goal >= 5)", theirs / ours, theirs / schema_only);

    // Generation: every example request (one per invoice kind), computed, written and checked.
    let examples: Vec<serde_json::Value> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    let options = ksef_fa::rules::Options::default();
    let started = Instant::now();
    let rounds = 300;
    for _ in 0..rounds {
        for request in &examples {
            ksef_fa::generate::generate(request, "2026-11-25T10:00:00Z", &options).expect("the examples generate");
        }
    }
    let generated = (rounds * examples.len()) as f64 / started.elapsed().as_secs_f64();
    println!("generation ({} example requests, each checked as KSeF will): {generated:.0} invoices/s", examples.len());
}
