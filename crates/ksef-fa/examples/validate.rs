//! Prints what checking each file finds: `cargo run -p ksef-fa --example validate -- FILE…`.

fn main() {
    for file in std::env::args().skip(1) {
        let bytes = std::fs::read(&file).expect("readable file");
        let report = ksef_fa::check(&bytes, &ksef_fa::rules::Options::default());
        println!("{file}: {:?} valid={} ({} findings)", report.version, report.valid(), report.findings.len());
        for f in report.findings {
            println!("  {:?}/{:?} {} line {} [{}] {}", f.kind, f.severity, f.path, f.line, f.rule, f.message_en);
        }
    }
}
