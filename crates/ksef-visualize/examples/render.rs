//! Renders invoices as HTML: `cargo run -p ksef-visualize --example render -- LANG OUT_DIR FILE…` (a quick look
//! at the view; the gateway's `visualize` command is the real interface).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let language = ksef_visualize::Language::parse(&args[0]).expect("pl, en or pl_en");
    let out = std::path::Path::new(&args[1]);
    for file in &args[2..] {
        let xml = std::fs::read(file).unwrap();
        match ksef_visualize::view::build(&xml, &ksef_visualize::view::Options::default()) {
            Ok(view) => {
                let leftover: Vec<_> = view.sections.iter().filter(|s| s.heading.pl == "Pozostałe dane").collect();
                if !leftover.is_empty() {
                    println!("{file}: leftover {:?}", leftover);
                }
                let name = std::path::Path::new(file).file_stem().unwrap().to_string_lossy().to_string();
                std::fs::write(out.join(format!("{name}.html")), ksef_visualize::html::render(&view, language)).unwrap();
            }
            Err(e) => println!("{file}: ERROR {e}"),
        }
    }
}
