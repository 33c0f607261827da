//! PDFs read back by poppler (an independent reader): the invoice's data and labels are in the text, the XML is
//! attached unchanged, pages are numbered "Strona N z M", the file claims PDF/A-3b and is tagged, identical input
//! gives identical bytes, and every sample invoice renders in every language.

use std::path::Path;
use std::process::Command;

use ksef_visualize::Language;
use ksef_visualize::view::{self, Options};

fn example() -> String {
    ksef_fa::example::invoice("5265877635", "1111111111", "FV/2026/11/9", "2026-11-25", 3)
}

fn pdf_of(xml: &[u8], language: Language) -> Vec<u8> {
    let view = view::build(xml, &Options { ksef_number: Some("5265877635-20250826-0100001AF629-AF"), ..Options::default() }).unwrap();
    ksef_pdf::render(&view, language, xml).unwrap()
}

/// Runs a poppler tool on `pdf`; its standard output.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, pdf).unwrap();
    let output = Command::new(tool).args(args).arg(&file).args(if tool == "pdftotext" { &["-"][..] } else { &[][..] }).current_dir(dir.path()).output().expect("poppler-utils is installed");
    assert!(output.status.success(), "{tool}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_text_of_the_pdf_shows_the_invoices_data_and_labels_in_both_languages() {
    let xml = example();
    let pdf = pdf_of(xml.as_bytes(), Language::PlEn);
    assert_eq!(&pdf[..5], b"%PDF-");
    let text = poppler("pdftotext", &["-layout"], &pdf);
    for expected in ["FV/2026/11/9", "5265877635", "1111111111", "Sprzedawca", "Seller", "Nabywca", "Buyer", "Kwota należności ogółem", "5265877635-20250826-0100001AF629-AF", "Strona 1 z 1"] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    for polish in ["Usługa 1", "Szczegóły", "należności ogółem"] {
        assert!(text.contains(polish), "Polish diacritics survive extraction: {polish}\n{text}");
    }
}

#[test]
fn the_xml_is_attached_unchanged_and_the_file_is_tagged_pdf_a_3b() {
    let xml = example();
    let pdf = pdf_of(xml.as_bytes(), Language::Pl);
    let list = poppler("pdfdetach", &["-list"], &pdf);
    assert!(list.contains("faktura.xml"), "{list}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = dir.path().join("attached.xml");
    let status = Command::new("pdfdetach").args(["-save", "1", "-o"]).arg(&out).arg(&file).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(&out).unwrap(), xml.as_bytes(), "the attachment is the invoice's exact bytes");
    let info = poppler("pdfinfo", &[], &pdf);
    assert!(info.contains("Tagged:          yes"), "{info}");
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("pdfaid:part>3<") || raw.contains("pdfaid:part=\"3\""), "PDF/A-3 in the XMP metadata");
    let fonts = poppler("pdffonts", &[], &pdf);
    assert!(fonts.contains("DejaVuSans") && !fonts.lines().skip(2).any(|l| l.contains(" no  ") && l.contains("emb")), "{fonts}");
}

#[test]
fn identical_input_gives_identical_bytes() {
    let xml = example();
    assert_eq!(pdf_of(xml.as_bytes(), Language::En), pdf_of(xml.as_bytes(), Language::En));
}

/// A word's box as poppler reports it: (xMin, yMin, xMax, yMax, text).
type WordBox = (f64, f64, f64, f64, String);

/// Reads the word boxes of every page (`pdftotext -bbox`): the page size and its words.
fn word_boxes(pdf: &[u8]) -> Vec<((f64, f64), Vec<WordBox>)> {
    let html = poppler("pdftotext", &["-bbox"], pdf);
    let attribute = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[start..start + tag[start..].find('"').unwrap()].parse().unwrap()
    };
    let mut pages: Vec<((f64, f64), Vec<WordBox>)> = Vec::new();
    for piece in html.split('<').skip(1) {
        if piece.starts_with("page ") {
            pages.push(((attribute(piece, "width"), attribute(piece, "height")), Vec::new()));
        } else if piece.starts_with("word ") {
            let text = piece[piece.find('>').unwrap() + 1..].to_owned();
            let word = (attribute(piece, "xMin"), attribute(piece, "yMin"), attribute(piece, "xMax"), attribute(piece, "yMax"), text);
            pages.last_mut().expect("words are on pages").1.push(word);
        }
    }
    pages
}

/// Text that runs out of its cell into another's, or off the page: the layout defects a reader notices first.
fn layout_defects(pages: &[((f64, f64), Vec<WordBox>)]) -> Vec<String> {
    let mut defects = Vec::new();
    for (n, ((width, height), words)) in pages.iter().enumerate() {
        for (x0, y0, x1, y1, text) in words {
            if *x0 < 0.0 || *y0 < 0.0 || x1 > width || y1 > height {
                defects.push(format!("page {}: {text:?} leaves the page", n + 1));
            }
        }
        for (i, a) in words.iter().enumerate() {
            for b in &words[i + 1..] {
                if a.2.min(b.2) - a.0.max(b.0) > 1.0 && a.3.min(b.3) - a.1.max(b.1) > 1.0 {
                    defects.push(format!("page {}: {:?} overlaps {:?}", n + 1, a.4, b.4));
                }
            }
        }
    }
    defects
}

fn assert_no_word_overlaps_another_or_leaves_the_page(pdf: &[u8], name: &str) {
    let defects = layout_defects(&word_boxes(pdf));
    assert!(defects.is_empty(), "{name}:\n{}", defects.join("\n"));
}

#[test]
fn the_layout_check_sees_a_word_drawn_over_another_and_one_off_the_page() {
    let pdf = pdf_of(example().as_bytes(), Language::Pl);
    let mut pages = word_boxes(&pdf);
    assert!(pages[0].1.len() > 50 && pages[0].1.iter().any(|w| w.4 == "Sprzedawca"), "{} words", pages[0].1.len());
    assert!(layout_defects(&pages).is_empty());
    let mut shifted = pages[0].1[10].clone();
    shifted.0 += 2.0;
    shifted.2 += 2.0;
    pages[0].1.push(shifted);
    assert!(layout_defects(&pages).iter().any(|d| d.contains("overlaps")));
    pages[0].1.pop();
    let mut off = pages[0].1[11].clone();
    (off.0, off.2) = (pages[0].0.0 - 10.0, pages[0].0.0 + 5.0);
    (off.1, off.3) = (pages[0].0.1 - 3.0, pages[0].0.1 + 5.0);
    pages[0].1.push(off);
    assert_eq!(layout_defects(&pages).len(), 1, "{:?}", layout_defects(&pages));
    assert!(layout_defects(&pages)[0].contains("leaves the page"));
}

#[test]
fn every_sample_invoice_renders_in_every_language() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa/samples");
    if !dir.exists() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared is missing under CI=true");
        eprintln!("SKIP: ../shared/fa is missing");
        return;
    }
    let mut rendered = 0;
    for version in ["fa3", "fa2"] {
        for entry in std::fs::read_dir(dir.join(version)).unwrap() {
            let path = entry.unwrap().path();
            let xml = std::fs::read(&path).unwrap();
            let view = view::build(&xml, &Options::default()).unwrap();
            for language in [Language::Pl, Language::En, Language::PlEn] {
                let pdf = ksef_pdf::render(&view, language, &xml).unwrap_or_else(|e| panic!("{}: {language:?}: {e}", path.display()));
                assert_eq!(&pdf[..5], b"%PDF-");
                if language == Language::PlEn {
                    // The widest language: if anything overflows a cell or the page, it is here.
                    assert_no_word_overlaps_another_or_leaves_the_page(&pdf, &path.display().to_string());
                }
            }
            rendered += 1;
        }
    }
    assert!(rendered >= 61);
}

#[test]
fn a_upo_renders_landscape_with_its_xml_attached() {
    let upo = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ksef/upo-session-example.xml"));
    let Ok(upo) = upo else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared is missing under CI=true");
        eprintln!("SKIP: ../shared/ksef is missing");
        return;
    };
    let pdf = ksef_pdf::render(&view::upo(&upo).unwrap(), Language::Pl, &upo).unwrap();
    let text = poppler("pdftotext", &["-layout"], &pdf);
    assert!(text.contains("Urzędowe poświadczenie odbioru") && text.contains("5265877635-20250916-010040741B3E-46"), "{text}");
    assert!(poppler("pdfdetach", &["-list"], &pdf).contains("upo.xml"));
    let info = poppler("pdfinfo", &[], &pdf);
    assert!(info.contains("Page size:       841.89 x 595.27"), "A4 landscape: {info}");
}
