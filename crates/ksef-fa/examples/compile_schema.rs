//! Compiles an XSD into the JSON form `ksef-fa` ships: `cargo run -p ksef-fa --example compile_schema -- XSD ROOT OUT`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [xsd, root, out] = args.as_slice() else {
        return Err("usage: compile_schema XSD ROOT OUT.json".into());
    };
    let schema = ksef_fa::xsd::compile(std::path::Path::new(xsd), root)?;
    std::fs::write(out, serde_json::to_string_pretty(&schema)? + "\n")?;
    println!("{out}: {} simple types, {} complex types", schema.simple_types.len(), schema.complex_types.len());
    Ok(())
}
