//! Fuzzes invoice generation from JSON (`ksef_fa::generate::generate`): mutated JSON text that still parses,
//! then mutated in its structure, never panics, and whatever it generates passes `ksef_fa::check`.

use std::time::Duration;

use ksef_fa::generate::generate;
use ksef_fa::rules::Options;
use ksef_fa::{Version, check};
use ksef_fuzz::{Rng, Target, head};
use serde_json::{Value, json};

/// The generation examples shipped in `examples/`.
const SEEDS: &[&str] = &[
    include_str!("../../../examples/generate-vat.json"),
    include_str!("../../../examples/generate-kor.json"),
    include_str!("../../../examples/generate-zal.json"),
    include_str!("../../../examples/generate-kor_zal.json"),
    include_str!("../../../examples/generate-roz.json"),
    include_str!("../../../examples/generate-upr.json"),
    include_str!("../../../examples/generate-kor_roz.json"),
];

/// The FA(3) sample invoices as JSON with readable names (what `generate` takes).
fn sample_requests() -> Vec<Vec<u8>> {
    let schema = Version::Fa3.validator().schema();
    let samples = ksef_fuzz::samples(&["fa3"]);
    let docs = samples.iter().map(|xml| ksef_core::xml::parse(std::str::from_utf8(xml).unwrap()).unwrap());
    docs.map(|doc| serde_json::to_vec_pretty(&ksef_fa::json::to_json(schema, &doc)).unwrap()).collect()
}

/// Values at the edges: numbers beyond `f64` and `i64`, negative zero, empty and huge strings, wrong types.
fn extreme(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!("99999999999999999999999999.99"),
        1 => json!("-0"),
        2 => json!(""),
        3 => json!("x".repeat(100_000)),
        4 => json!(-1),
        5 => json!(1.7976931348623157e308),
        6 => json!(u64::MAX),
        7 => json!(null),
        8 => json!([]),
        _ => json!({}),
    }
}

/// One change somewhere in `value`: a key dropped, a leaf or an array element replaced by an extreme value,
/// or an array element repeated.
fn mutate(value: &mut Value, rng: &mut Rng) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
            match rng.below(4) {
                0 => drop(map.shift_remove(&key)),
                1 => map[&key] = extreme(rng),
                _ => mutate(&mut map[&key], rng),
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            match rng.below(4) {
                0 => items.push(items[i].clone()),
                1 => items[i] = extreme(rng),
                _ => mutate(&mut items[i], rng),
            }
        }
        _ => *value = extreme(rng),
    }
}

#[test]
fn generation_never_panics_and_what_it_generates_passes_the_validator() {
    let mut seeds = sample_requests();
    seeds.extend(SEEDS.iter().map(|s| s.as_bytes().to_vec()));
    let target = Target { name: "generate", bound: Duration::from_secs(2), findings: env!("CARGO_TARGET_TMPDIR") };
    let options = Options { nip_checksums: false, received: None };
    target.fuzz(&seeds, |input| {
        let Ok(mut request) = serde_json::from_slice::<Value>(input) else { return };
        // Structural changes drawn from the input itself, so a saved input replays exactly.
        let mut rng = Rng::from_input(input);
        for _ in 0..rng.below(4) {
            mutate(&mut request, &mut rng);
        }
        let Ok(generated) = generate(&request, "2026-11-25T10:00:00Z", &options) else { return };
        assert!(generated.report.valid(), "{:?}", generated.report.findings);
        let report = check(generated.xml.as_bytes(), &options);
        assert!(report.valid(), "the generated invoice fails the check: {:?}\n{}", report.first_error(), head(&generated.xml));
    });
}

/// Found by this target (the same date parser as the validator's finding, reached through the generated XML).
#[test]
fn an_issue_date_with_a_multi_byte_character_is_refused_not_a_panic() {
    let mut request: Value = serde_json::from_str(SEEDS[0]).unwrap();
    request["invoice"]["issueDate"] = json!("2025-12-0\u{20ac}");
    assert!(generate(&request, "2026-11-25T10:00:00Z", &Options::default()).is_err());
}
