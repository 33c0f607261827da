//! Writes the typed models `src/model/fa3.rs` and `src/model/fa2.rs` from the shipped compiled schemas:
//! `cargo run -p ksef-fa --example gen_model`.

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    for (version, file) in [(ksef_fa::Version::Fa3, "fa3.rs"), (ksef_fa::Version::Fa2, "fa2.rs")] {
        let source = ksef_fa::codegen::rust_model(version.validator().schema(), version.name());
        std::fs::write(dir.join(file), &source)?;
        println!("{file}: {} lines", source.lines().count());
    }
    Ok(())
}
