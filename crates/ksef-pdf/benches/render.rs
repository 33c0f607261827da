//! Rendering speed over the sample corpus: milliseconds per HTML invoice and per PDF page, in `pl_en`
//! (`cargo bench -p ksef-pdf --bench render`; needs `../shared/fa`). Goals: ≤ 1 ms per HTML invoice, ≤ 15 ms per
//! PDF page.

use std::path::Path;
use std::time::Instant;

use ksef_visualize::Language;
use ksef_visualize::view::{self, Options};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa/samples");
    if !dir.exists() {
        eprintln!("SKIP: ../shared/fa is missing");
        return;
    }
    let mut invoices: Vec<Vec<u8>> = Vec::new();
    for version in ["fa3", "fa2"] {
        for entry in std::fs::read_dir(dir.join(version)).unwrap() {
            invoices.push(std::fs::read(entry.unwrap().path()).unwrap());
        }
    }
    // Warm up: fonts parsed, template compiled once.
    let first = view::build(&invoices[0], &Options::default()).unwrap();
    ksef_pdf::render(&first, Language::PlEn, &invoices[0]).unwrap();

    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        for xml in &invoices {
            let view = view::build(xml, &Options::default()).unwrap();
            std::hint::black_box(ksef_visualize::html::render(&view, Language::PlEn));
        }
    }
    let html_ms = started.elapsed().as_secs_f64() * 1000.0 / (rounds * invoices.len()) as f64;
    // Where the HTML time goes: the view without codes, the codes (QR encoding), and the HTML writing.
    let per = |f: &dyn Fn(&[u8])| {
        let started = Instant::now();
        for _ in 0..rounds {
            for xml in &invoices {
                f(xml);
            }
        }
        started.elapsed().as_secs_f64() * 1000.0 / (rounds * invoices.len()) as f64
    };
    let bare = Options { without_codes: true, ..Options::default() };
    let view_ms = per(&|xml| {
        std::hint::black_box(view::build(xml, &bare).unwrap());
    });
    let views: Vec<_> = invoices.iter().map(|xml| view::build(xml, &Options::default()).unwrap()).collect();
    let started = Instant::now();
    for _ in 0..rounds {
        for v in &views {
            std::hint::black_box(ksef_visualize::html::render(v, Language::PlEn));
        }
    }
    let write_ms = started.elapsed().as_secs_f64() * 1000.0 / (rounds * invoices.len()) as f64;

    let pdf_run = |language: Language| {
        let started = Instant::now();
        let mut pages = 0;
        for xml in &invoices {
            let view = view::build(xml, &Options::default()).unwrap();
            pages += ksef_pdf::render_pdf(&view, language, xml).unwrap().pages;
        }
        (pages, started.elapsed().as_secs_f64())
    };
    let (pages, pdf_s) = pdf_run(Language::PlEn);
    let (pl_pages, pl_s) = pdf_run(Language::Pl);
    // Throughput with one renderer per core: a gateway renders requests side by side.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let invoices = &invoices;
            scope.spawn(move || {
                for xml in invoices.iter().skip(t).step_by(threads) {
                    let view = view::build(xml, &Options::default()).unwrap();
                    std::hint::black_box(ksef_pdf::render(&view, Language::PlEn, xml).unwrap());
                }
            });
        }
    });
    let parallel_s = started.elapsed().as_secs_f64();
    println!("{} sample invoices, pl_en unless said, view and QR codes included:", invoices.len());
    println!("  HTML: {html_ms:.3} ms per invoice (goal <= 1 ms): view without codes {view_ms:.3} ms, codes {:.3} ms, writing {write_ms:.3} ms", html_ms - view_ms - write_ms);
    println!("  PDF:  {pages} pages, {:.1} ms per page, {:.1} ms per invoice (goal <= 15 ms per page)", pdf_s * 1000.0 / pages as f64, pdf_s * 1000.0 / invoices.len() as f64);
    println!("  PDF in pl: {pl_pages} pages, {:.1} ms per page", pl_s * 1000.0 / pl_pages as f64);
    println!("  PDF on {threads} threads: {:.1} ms per page of throughput", parallel_s * 1000.0 / pages as f64);
}
