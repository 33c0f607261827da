//! Golden files: a few invoices rendered as HTML and compared byte for byte with `tests/golden/`, so any change
//! to what an invoice shows is seen in review. After an intended change, regenerate them with
//! `UPDATE_GOLDEN=1 cargo test -p ksef-visualize --test golden` and read the diff.

use std::path::{Path, PathBuf};

use ksef_visualize::view::{self, Options};
use ksef_visualize::{Language, html};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `page` with the golden file `name` (or writes it under `UPDATE_GOLDEN=1`).
fn check(name: &str, page: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, page).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", path.display()));
    if expected != page {
        // Where they part, with a little context either side (lines hold whole inline SVGs).
        let at = expected.bytes().zip(page.bytes()).position(|(a, b)| a != b).unwrap_or(expected.len().min(page.len()));
        let window = |text: &str| -> String {
            let start = text.floor_char_boundary(at.saturating_sub(80));
            let end = text.ceil_char_boundary((at + 80).min(text.len()));
            text[start..end].to_owned()
        };
        let line = expected[..at].lines().count();
        panic!(
            "{name} differs from its golden file at line {line}:\n  golden: {:?}\n  now:    {:?}\n(if intended, regenerate with UPDATE_GOLDEN=1)",
            window(&expected),
            window(page),
        );
    }
}

fn render(xml: &[u8], language: Language, ksef_number: Option<&str>) -> String {
    html::render(&view::build(xml, &Options { ksef_number, ..Options::default() }).unwrap(), language)
}

#[test]
fn the_example_invoice_renders_exactly_as_its_golden_files_in_each_language() {
    let xml = ksef_fa::example::invoice("5265877635", "1111111111", "FV/2026/11/7", "2026-11-25", 3);
    for (language, name) in [(Language::Pl, "example.pl.html"), (Language::En, "example.en.html"), (Language::PlEn, "example.pl_en.html")] {
        check(name, &render(xml.as_bytes(), language, Some("5265877635-20250826-0100001AF629-AF")));
    }
}

#[test]
fn official_examples_render_exactly_as_their_golden_files() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa/samples/fa3");
    if !samples.exists() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared is missing under CI=true");
        eprintln!("SKIP: ../shared/fa is missing");
        return;
    }
    for name in ["mf02_kor_price_decrease_before_after_rows", "mf07_kor_collective_discount_part_of_period", "mf10_zal_advance_two_buyers", "mf24_vat_zalacznik_energy_dash_cells"] {
        let xml = std::fs::read(samples.join(format!("{name}.xml"))).unwrap();
        check(&format!("{name}.pl_en.html"), &render(&xml, Language::PlEn, None));
    }
}
