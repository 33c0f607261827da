//! Rendering speed over the sample corpus: milliseconds per HTML invoice, and per PDF page and invoice warm (one
//! process rendering one invoice after another), the part of a PDF that does not grow with its pages, whole
//! processes rendering one invoice each (cold), and peak memory
//! (`cargo bench -p ksef-pdf --bench render`; needs `../shared/fa`). Goals: ≤ 1 ms per HTML invoice; PDF ≤ 10 ms
//! per page warm, < 5 ms per document besides its pages, ≤ 25 ms per invoice cold. The reference for the cold
//! figure is the `ksef-gateway visualize` binary already built in the same target directory (not built here),
//! timed in the same run on the same invoices; it is whatever revision was built last, so its build time is
//! printed with it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ksef_visualize::Language;
use ksef_visualize::view::{self, Options};

/// Set in a child of this bench: render the invoice at this path once, print the peak RSS and exit.
const COLD_CHILD: &str = "KSEF_PDF_BENCH_COLD";
/// Warm passes over the corpus; each invoice's best pass counts, so another process's burst does not.
const WARM_PASSES: usize = 3;
/// Cold processes per invoice (the best counts), and how many invoices.
const COLD_PASSES: usize = 3;
const COLD_INVOICES: usize = 20;

fn main() {
    if let Some(path) = std::env::var_os(COLD_CHILD) {
        let xml = std::fs::read(path).expect("the invoice");
        let view = view::build(&xml, &Options::default()).expect("a view");
        std::hint::black_box(ksef_pdf::render(&view, Language::PlEn, &xml).expect("a PDF"));
        println!("{}", peak_rss_mib().unwrap_or(0.0));
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa/samples");
    if !dir.exists() {
        eprintln!("SKIP: ../shared/fa is missing");
        return;
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for version in ["fa3", "fa2"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join(version)).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        files.extend(names);
    }
    let invoices: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    // Warm up: fonts parsed, template parsed once.
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

    // PDF warm: every invoice in turn (never the same one twice in a row, so nothing is merely replayed from
    // typst's cache), view included; each invoice's best pass.
    let pdf_run = |language: Language| {
        let mut best = vec![(0, f64::MAX); invoices.len()];
        for _ in 0..WARM_PASSES {
            for (xml, best) in invoices.iter().zip(&mut best) {
                let started = Instant::now();
                let view = view::build(xml, &Options::default()).unwrap();
                let pages = ksef_pdf::render_pdf(&view, language, xml).unwrap().pages;
                *best = (pages, best.1.min(started.elapsed().as_secs_f64() * 1000.0));
            }
        }
        best
    };
    let pl_en = pdf_run(Language::PlEn);
    let (pages, pdf_ms) = totals(&pl_en);
    let (pl_pages, pl_ms) = totals(&pdf_run(Language::Pl));
    let mut one_page: Vec<f64> = pl_en.iter().filter(|(p, _)| *p == 1).map(|(_, ms)| *ms).collect();
    one_page.sort_by(f64::total_cmp);
    let (fixed_ms, line_ms, fit) = example_fit();

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
    let warm_rss = peak_rss_mib();

    let cold_files = &files[..COLD_INVOICES.min(files.len())];
    let ours = cold(cold_files, |file| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.env(COLD_CHILD, file);
        command
    });
    let gateway = std::env::current_exe().unwrap().parent().and_then(Path::parent).map(|release| release.join("ksef-gateway")).filter(|g| g.exists());
    let reference = gateway.as_ref().map(|g| {
        let out = tempfile::NamedTempFile::new().unwrap();
        let timing = cold(cold_files, |file| {
            let mut command = Command::new(g);
            command.args(["visualize", "--format", "pdf", "--lang", "pl_en", "-o"]).arg(out.path()).arg(file);
            command
        });
        let built = std::fs::metadata(g).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).map_or_else(String::new, |age| format!(", built {} min ago", age.as_secs() / 60));
        (timing, built)
    });

    let n = invoices.len() as f64;
    println!("{} sample invoices, pl_en unless said, view and QR codes included:", invoices.len());
    println!("  HTML: {html_ms:.3} ms per invoice (goal <= 1 ms): view without codes {view_ms:.3} ms, codes {:.3} ms, writing {write_ms:.3} ms", html_ms - view_ms - write_ms);
    println!(
        "  PDF:  {pages} pages, {:.1} ms per page, {:.1} ms per invoice (goal <= 10 ms per page: {:.2}x the goal)",
        pdf_ms / pages as f64,
        pdf_ms / n,
        pdf_ms / pages as f64 / 10.0
    );
    println!("  PDF in pl: {pl_pages} pages, {:.1} ms per page", pl_ms / pl_pages as f64);
    println!(
        "  PDF fixed part: {fixed_ms:.1} ms per document + {line_ms:.2} ms per invoice line (the example invoice by lines: {fit}); one-page samples: median {:.1} ms, fastest {:.1} ms (goal < 5 ms fixed: {:.2}x the goal)",
        median(&one_page),
        one_page.first().copied().unwrap_or(f64::NAN),
        fixed_ms / 5.0
    );
    println!("  PDF on {threads} threads: {:.1} ms per page of throughput", parallel_s * 1000.0 / pages as f64);
    println!("  PDF warm, peak RSS of this process: {}", warm_rss.map_or("unknown".into(), |m| format!("{m:.0} MiB")));
    match ours {
        Some((ms, rss)) => println!(
            "  PDF cold, one process per invoice ({} invoices, best of {COLD_PASSES}): median {ms:.1} ms, peak RSS {rss:.0} MiB (goal <= 25 ms: {:.2}x the goal)",
            cold_files.len(),
            ms / 25.0
        ),
        None => println!("  PDF cold: the bench could not run itself as a child"),
    }
    match (reference, ours) {
        (Some((Some((theirs, _)), built)), Some((ms, _))) => {
            println!("  reference: ksef-gateway visualize --format pdf, same invoices{built}: median {theirs:.1} ms; ratio {:.2}", ms / theirs)
        }
        (Some((None, _)), _) => println!("  reference: ksef-gateway visualize failed; no ratio"),
        _ => println!("  reference: no ksef-gateway binary beside this bench (not built here); no ratio"),
    }
}

/// Pages and milliseconds, summed.
fn totals(per_invoice: &[(usize, f64)]) -> (usize, f64) {
    per_invoice.iter().fold((0, 0.0), |(p, ms), (pages, t)| (p + pages, ms + t))
}

fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A least-squares line of time against invoice lines over the example invoice with 1 to 200 lines (1 to 4
/// pages): its intercept is what a document costs besides its content. Lines, not pages, drive the time (a page
/// of lines costs several of a page of parties and notes). The sizes are rendered in turn, best of five passes.
fn example_fit() -> (f64, f64, String) {
    let sizes = [1usize, 40, 80, 120, 160, 200];
    let invoices: Vec<String> = sizes.iter().map(|&lines| ksef_fa::example::invoice("5265877635", "1111111111", &format!("FV/{lines}"), "2026-11-25", lines)).collect();
    let mut best = vec![(0, f64::MAX); sizes.len()];
    for _ in 0..5 {
        for (xml, best) in invoices.iter().zip(&mut best) {
            let started = Instant::now();
            let view = view::build(xml.as_bytes(), &Options::default()).unwrap();
            let pages = ksef_pdf::render_pdf(&view, Language::PlEn, xml.as_bytes()).unwrap().pages;
            *best = (pages, best.1.min(started.elapsed().as_secs_f64() * 1000.0));
        }
    }
    let n = sizes.len() as f64;
    let mean_lines = sizes.iter().sum::<usize>() as f64 / n;
    let mean_ms = best.iter().map(|(_, t)| t).sum::<f64>() / n;
    let covariance: f64 = sizes.iter().zip(&best).map(|(&l, (_, t))| (l as f64 - mean_lines) * (t - mean_ms)).sum();
    let variance: f64 = sizes.iter().map(|&l| (l as f64 - mean_lines).powi(2)).sum();
    let slope = covariance / variance;
    let points = best.iter().zip(sizes).map(|((p, t), lines)| format!("{lines}: {p} p {t:.1} ms")).collect::<Vec<_>>().join(", ");
    (mean_ms - slope * mean_lines, slope, points)
}

/// The median over `files` of each one's best whole-process time, and the largest peak RSS a child reported
/// (MiB; 0 when it reports none); `None` if a process failed.
fn cold(files: &[PathBuf], command: impl Fn(&Path) -> Command) -> Option<(f64, f64)> {
    let mut times = Vec::new();
    let mut rss: f64 = 0.0;
    for file in files {
        let mut best = Duration::MAX;
        for _ in 0..COLD_PASSES {
            let started = Instant::now();
            let output = command(file).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
            best = best.min(started.elapsed());
            if !output.status.success() {
                return None;
            }
            rss = rss.max(String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0.0));
        }
        times.push(best.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Some((median(&times), rss))
}

/// This process's peak resident set (VmHWM), in MiB, where /proc tells it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}
