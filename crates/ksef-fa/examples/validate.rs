//! Prints the schema findings of each file: `cargo run -p ksef-fa --example validate -- FILE…`.

fn main() {
    for file in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&file).expect("readable file");
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let version = doc.root_element().tag_name().namespace().and_then(ksef_fa::Version::from_namespace).unwrap_or(ksef_fa::Version::Fa3);
        let findings = version.validator().validate(&doc);
        println!("{file}: {} finding(s)", findings.len());
        for f in findings {
            println!("  {} line {} [{}] {}", f.path, f.line, f.rule, f.message_en);
        }
    }
}
