//! Throughput of our AES-256-CBC and SHA-256 path, printed beside `openssl speed` run on the same machine.
//!
//! Run with `cargo bench -p ksef-core --bench crypto`. Each figure is the best of several passes over 64 MiB
//! on one core, processed as KSeF data is: 1 MiB messages (the largest plain invoice) for one-shot
//! calls, 1 MiB chunks for streams. MB means 10^6 bytes, as `openssl speed` counts.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use ksef_core::crypto::{AesKey, CbcEncryptor, Iv, Sha256, decrypt_cbc_in_place, encrypt_cbc, sha256};

const SIZE: usize = 64 * 1024 * 1024;
const PASSES: usize = 5;
const MESSAGE: usize = 1 << 20;

fn best_mb_per_s(mut pass: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..PASSES {
        let started = Instant::now();
        pass();
        best = best.min(started.elapsed().as_secs_f64());
    }
    SIZE as f64 / 1e6 / best
}

/// `openssl speed -evp ALG` at 16 KiB blocks, in MB/s, if openssl is installed.
fn openssl(args: &[&str], row: &str) -> Option<f64> {
    let out = Command::new("openssl").arg("speed").args(["-seconds", "2"]).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.to_ascii_lowercase().starts_with(row))?;
    let last = line.split_whitespace().last()?.trim_end_matches('k');
    Some(last.parse::<f64>().ok()? / 1000.0)
}

fn report(name: &str, ours: f64, reference: Option<f64>, reference_name: &str) {
    match reference {
        Some(r) => println!("{name:<34} {ours:>8.0} MB/s   {reference_name} {r:>6.0} MB/s   ratio {:.2}", ours / r),
        None => println!("{name:<34} {ours:>8.0} MB/s   ({reference_name} unavailable)"),
    }
}

fn main() {
    let key = AesKey::generate();
    let iv = Iv::generate();
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
    let encrypted: Vec<Vec<u8>> = data.chunks(MESSAGE).map(|m| encrypt_cbc(&key, &iv, m)).collect();

    let encrypt = best_mb_per_s(|| {
        for message in data.chunks(MESSAGE) {
            black_box(encrypt_cbc(&key, &iv, black_box(message)));
        }
    });
    let streaming = best_mb_per_s(|| {
        let mut enc = CbcEncryptor::new(&key, &iv);
        let mut out = Vec::with_capacity(MESSAGE + 16);
        for chunk in data.chunks(MESSAGE) {
            out.clear();
            enc.update(chunk, &mut out);
            black_box(&out);
        }
        out.clear();
        enc.finish(&mut out);
    });
    // Decryption works in place on a fresh copy of the ciphertext; the copying is kept out of the timing.
    let mut decrypt = 0f64;
    for _ in 0..PASSES {
        let mut copies = encrypted.clone();
        let started = Instant::now();
        for message in &mut copies {
            decrypt_cbc_in_place(&key, &iv, black_box(message)).expect("decrypts");
        }
        decrypt = decrypt.max(SIZE as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    let hash = best_mb_per_s(|| {
        black_box(sha256(black_box(&data)));
    });
    let hash_streaming = best_mb_per_s(|| {
        let mut h = Sha256::default();
        for chunk in data.chunks(MESSAGE) {
            h.update(chunk);
        }
        black_box(h.finish());
    });

    let aes_ref = openssl(&["-evp", "aes-256-cbc"], "aes-256-cbc");
    let aes_dec_ref = openssl(&["-decrypt", "-evp", "aes-256-cbc"], "aes-256-cbc");
    let sha_ref = openssl(&["-evp", "sha256"], "sha256");
    println!("KSeF crypto path vs OpenSSL on this machine (one core, {} MiB, best of {PASSES})", SIZE >> 20);
    report("AES-256-CBC encrypt (1 MiB messages)", encrypt, aes_ref, "openssl");
    report("AES-256-CBC encrypt (streaming)", streaming, aes_ref, "openssl");
    report("AES-256-CBC decrypt (in place)", decrypt, aes_dec_ref, "openssl");
    report("SHA-256 (one shot)", hash, sha_ref, "openssl");
    report("SHA-256 (streaming)", hash_streaming, sha_ref, "openssl");
}
