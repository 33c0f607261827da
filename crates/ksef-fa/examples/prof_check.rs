//! Temporary: profile check.
fn main() {
    let dir = std::path::Path::new("/work/shared/fa/samples/fa3");
    let docs: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    let options = ksef_fa::rules::Options { nip_checksums: true, received: None };
    let v = ksef_fa::Version::Fa3.validator();
    let mut n = 0;
    let schema_only = std::env::var("SCHEMA").is_ok();
    let t = std::time::Instant::now();
    for _ in 0..3000 { for d in &docs { n += if schema_only { v.validate_text(d).unwrap().len() } else { ksef_fa::check(d.as_bytes(), &options).findings.len() }; } }
    eprintln!("{:.1} us per invoice", t.elapsed().as_secs_f64() * 1e6 / (3000.0 * docs.len() as f64));
    println!("{n}");
}
