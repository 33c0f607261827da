//! Temporary: one invoice rendered warm many times, for a profiler.
use ksef_visualize::Language;
use ksef_visualize::view::{self, Options};
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args[0].parse().unwrap();
    let xmls: Vec<Vec<u8>> = args[1..].iter().map(|p| std::fs::read(p).unwrap()).collect();
    let t = std::time::Instant::now();
    for i in 0..n {
        let xml = &xmls[i % xmls.len()];
        let v = view::build(xml, &Options::default()).unwrap();
        std::hint::black_box(ksef_pdf::render(&v, Language::PlEn, xml).unwrap());
    }
    println!("{:.2} ms per render", t.elapsed().as_secs_f64() * 1000.0 / n as f64);
}
