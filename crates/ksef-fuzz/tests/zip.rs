//! Fuzzes reading a batch ZIP (`ksef_client::check_zip`, then `BatchPackager::package_zip` on what it accepts):
//! mutated archives never panic, take bounded time, and what is packaged is what was checked.

use std::io::Write;
use std::time::Duration;

use ksef_client::{BatchPackager, check_zip};
use ksef_core::crypto::{AesKey, Iv};
use ksef_fuzz::Target;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// A ZIP of `files`, each stored or deflated.
fn zip_of(files: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in files {
        zip.start_file(*name, SimpleFileOptions::default().compression_method(method)).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn seeds() -> Vec<Vec<u8>> {
    let invoice = include_bytes!("../../../examples/invoice.xml").as_slice();
    let mut samples = ksef_fuzz::samples(&["fa3", "fa2"]);
    samples.truncate(12);
    let mut seeds = Vec::new();
    for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
        seeds.push(zip_of(&[("invoice.xml", invoice)], method));
        seeds.push(zip_of(&[("a.xml", invoice), ("b.XML", b"<a/>"), ("dir/c.xml", b""), ("d.txt", b"x")], method));
        let names: Vec<String> = (0..samples.len()).map(|i| format!("{i}.xml")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(String::as_str).zip(samples.iter().map(Vec::as_slice)).collect();
        if !files.is_empty() {
            seeds.push(zip_of(&files, method));
        }
    }
    seeds
}

#[test]
fn mutated_zips_are_read_in_bounded_time_and_packaged_as_checked() {
    let dir = std::env::temp_dir().join(format!("ksef-fuzz-zip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (path, parts) = (dir.join("batch.zip"), dir.join("parts"));
    let (key, iv) = (AesKey::generate(), Iv::generate());
    let target = Target { name: "zip", bound: Duration::from_secs(2), findings: env!("CARGO_TARGET_TMPDIR") };
    target.fuzz(&seeds(), |input| {
        // check_zip reads a file, as the CLI does.
        std::fs::write(&path, input).unwrap();
        let Ok(check) = check_zip(&path) else { return };
        assert!(!check.names.is_empty() || !check.problems.is_empty(), "an empty ZIP passes");
        if !check.problems.is_empty() {
            return;
        }
        assert!(check.names.iter().all(|n| n.to_ascii_lowercase().ends_with(".xml") && !n.contains('/')), "{:?}", check.names);
        // What passed the check is packaged (entries inflated, each within its declared size) or refused.
        std::fs::create_dir_all(&parts).unwrap();
        if let Ok(packaged) = BatchPackager::default().package_zip(&path, &key, &iv, &parts) {
            assert_eq!(packaged.file_names, check.names);
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
