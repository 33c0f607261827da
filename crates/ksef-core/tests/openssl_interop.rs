//! Our crypto against OpenSSL, an implementation we did not write: each direction of RSA-OAEP-SHA256,
//! AES-256-CBC with PKCS#7, and RSA-SHA256 signatures. Skips without the `openssl` command (fails under CI).

use std::path::Path;
use std::process::Command;

use ksef_core::crypto::{AesKey, Iv, RsaPrivateKey, decrypt_cbc, encrypt_cbc};

fn openssl_available() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "openssl is required under CI");
        eprintln!("SKIP: the openssl command is not installed");
    }
    ok
}

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const OAEP: [&str; 6] = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"];

#[test]
fn rsa_oaep_sha256_interoperates_with_openssl_both_ways() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let private = RsaPrivateKey::generate_2048().unwrap();
    std::fs::write(dir.path().join("key.der"), private.pkcs8_der()).unwrap();
    std::fs::write(dir.path().join("pub.der"), private.public_key().spki_der()).unwrap();
    let secret = AesKey::generate();

    std::fs::write(dir.path().join("ours.bin"), private.public_key().wrap(secret.as_bytes()).unwrap()).unwrap();
    let mut args = vec!["pkeyutl", "-decrypt", "-inkey", "key.der", "-keyform", "DER", "-in", "ours.bin"];
    args.extend(OAEP);
    assert_eq!(openssl(&args, dir.path()), secret.as_bytes(), "OpenSSL unwraps what we wrapped");

    std::fs::write(dir.path().join("plain.bin"), secret.as_bytes()).unwrap();
    let mut args = vec!["pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.der", "-keyform", "DER", "-in", "plain.bin"];
    args.extend(OAEP);
    let theirs = openssl(&args, dir.path());
    assert_eq!(private.unwrap(&theirs).unwrap(), secret.as_bytes(), "we unwrap what OpenSSL wrapped");
}

#[test]
fn aes_256_cbc_interoperates_with_openssl_both_ways() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = AesKey::generate();
    let iv = Iv::generate();
    let (k, v) = (hex(key.as_bytes()), hex(iv.as_bytes()));
    for len in [0usize, 1, 15, 16, 17, 6480, 100_000] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        std::fs::write(dir.path().join("ours.bin"), encrypt_cbc(&key, &iv, &plain)).unwrap();
        let out = openssl(&["enc", "-d", "-aes-256-cbc", "-K", &k, "-iv", &v, "-in", "ours.bin"], dir.path());
        assert_eq!(out, plain, "OpenSSL decrypts ours ({len} bytes)");
        std::fs::write(dir.path().join("plain.bin"), &plain).unwrap();
        let theirs = openssl(&["enc", "-aes-256-cbc", "-K", &k, "-iv", &v, "-in", "plain.bin"], dir.path());
        assert_eq!(decrypt_cbc(&key, &iv, &theirs).unwrap(), plain, "we decrypt OpenSSL's ({len} bytes)");
    }
}

#[test]
fn rsa_sha256_signatures_verify_with_openssl() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let private = RsaPrivateKey::generate_2048().unwrap();
    std::fs::write(dir.path().join("pub.der"), private.public_key().spki_der()).unwrap();
    std::fs::write(dir.path().join("msg"), b"<ds:SignedInfo/>").unwrap();
    std::fs::write(dir.path().join("sig"), private.sign_pkcs1_sha256(b"<ds:SignedInfo/>")).unwrap();
    let out = openssl(&["dgst", "-sha256", "-verify", "pub.der", "-keyform", "DER", "-signature", "sig", "msg"], dir.path());
    assert!(String::from_utf8_lossy(&out).contains("Verified OK"));
}
