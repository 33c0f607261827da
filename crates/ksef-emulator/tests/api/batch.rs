//! Batch sessions over the wire: packages built by hand (ZIP or tar.gz, split, each part encrypted), opened,
//! uploaded to pre-signed PUT URLs, closed and processed; and every way a package can be refused.

use std::io::Write as _;

use ksef_core::crypto::{AesKey, Iv, b64, decrypt_cbc, encrypt_cbc, sha256_base64};
use serde_json::{Value, json};

use crate::helpers::{SELLER, TestEmulator, invoice, spawn, spawn_with};

/// A package as the client declares it: the archive, its encrypted parts and the key.
struct Package {
    archive: Vec<u8>,
    parts: Vec<Vec<u8>>,
    key: AesKey,
    iv: Iv,
    compression: &'static str,
}

fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in files {
        if name.ends_with('/') {
            zip.add_directory(
                name.trim_end_matches('/'),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        } else {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(content).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

fn tar_gz_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, content.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn package(archive: Vec<u8>, part_size: usize, compression: &'static str) -> Package {
    let (key, iv) = (AesKey::generate(), Iv::generate());
    let parts = archive
        .chunks(part_size)
        .map(|chunk| encrypt_cbc(&key, &iv, chunk))
        .collect();
    Package {
        archive,
        parts,
        key,
        iv,
        compression,
    }
}

fn invoices(n: usize, prefix: &str) -> Vec<(String, Vec<u8>)> {
    (1..=n)
        .map(|i| {
            (
                format!("{prefix}-{i:03}.xml"),
                invoice(SELLER, &format!("{prefix}/{i}")).into_bytes(),
            )
        })
        .collect()
}

fn borrowed(files: &[(String, Vec<u8>)]) -> Vec<(&str, Vec<u8>)> {
    files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect()
}

impl TestEmulator {
    async fn open_batch_body(&self, p: &Package) -> Value {
        let (_, _, sym, sym_id) = self.keys().await;
        json!({
            "formCode": { "systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA" },
            "batchFile": {
                "fileSize": p.archive.len(),
                "fileHash": sha256_base64(&p.archive),
                "compressionType": p.compression,
                "fileParts": p.parts.iter().enumerate().map(|(i, part)| json!({
                    "ordinalNumber": i + 1, "fileSize": part.len(), "fileHash": sha256_base64(part),
                })).collect::<Vec<_>>(),
            },
            "encryption": {
                "encryptedSymmetricKey": b64(&sym.wrap(p.key.as_bytes()).unwrap()),
                "initializationVector": b64(p.iv.as_bytes()),
                "publicKeyId": sym_id,
            },
            "offlineMode": false,
        })
    }

    /// Opens a batch session for `body`; the reference and the upload URLs by ordinal.
    async fn open_batch(&self, access: &str, body: &Value) -> (String, Vec<String>) {
        let r = self
            .post("/v2/sessions/batch", Some(access), Some(body))
            .await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        let reference = v["referenceNumber"].as_str().unwrap().to_owned();
        assert!(reference.contains("-SB-"), "{reference}");
        let mut requests = v["partUploadRequests"].as_array().unwrap().clone();
        requests.sort_by_key(|r| r["ordinalNumber"].as_i64());
        for r in &requests {
            assert_eq!(r["method"], "PUT");
            assert_eq!(r["headers"]["x-ms-blob-type"], "BlockBlob");
        }
        (
            reference,
            requests
                .iter()
                .map(|r| r["url"].as_str().unwrap().to_owned())
                .collect(),
        )
    }

    async fn put(&self, url: &str, bytes: Vec<u8>) -> u16 {
        self.http
            .put(url)
            .header("x-ms-blob-type", "BlockBlob")
            .body(bytes)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn close_batch(&self, access: &str, reference: &str) -> reqwest::Response {
        self.post(
            &format!("/v2/sessions/batch/{reference}/close"),
            Some(access),
            None,
        )
        .await
    }

    /// Opens, uploads every part and closes; the session reference.
    async fn send_batch(&self, access: &str, p: &Package) -> String {
        let (reference, urls) = self
            .open_batch(access, &self.open_batch_body(p).await)
            .await;
        for (url, part) in urls.iter().zip(&p.parts) {
            assert_eq!(self.put(url, part.clone()).await, 201);
        }
        let r = self.close_batch(access, &reference).await;
        assert_eq!(r.status(), 204);
        reference
    }

    async fn all_invoices(&self, access: &str, reference: &str) -> Vec<Value> {
        let v: Value = self
            .get(
                &format!("/v2/sessions/{reference}/invoices?pageSize=1000"),
                Some(access),
            )
            .await
            .json()
            .await
            .unwrap();
        v["invoices"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_package_in_several_parts_gives_every_good_invoice_a_ksef_number_under_its_file_name() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let mut files = invoices(5, "B1");
    files.push(("broken.xml".to_owned(), b"<Faktura>not closed".to_vec()));
    let p = package(zip_of(&borrowed(&files)), 1500, "Zip");
    assert!(
        p.parts.len() >= 3,
        "the archive is split into several parts"
    );
    let reference = emu.send_batch(&access, &p).await;

    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(
        status["status"]["description"],
        "Sesja wsadowa przetworzona pomyślnie"
    );
    assert_eq!(status["invoiceCount"], 6);
    assert_eq!(status["successfulInvoiceCount"], 5);
    assert_eq!(status["failedInvoiceCount"], 1);
    let invoices = emu.all_invoices(&access, &reference).await;
    for (i, (name, content)) in files.iter().enumerate() {
        let inv = &invoices[i];
        assert_eq!(inv["ordinalNumber"], i as i64 + 1);
        assert_eq!(inv["invoiceFileName"], name.as_str());
        assert_eq!(inv["invoiceHash"], sha256_base64(content));
        if name == "broken.xml" {
            assert_eq!(inv["status"]["code"], 430, "{inv}");
        } else {
            assert_eq!(inv["status"]["code"], 200, "{inv}");
            assert!(inv["ksefNumber"].as_str().unwrap().starts_with(SELLER));
        }
    }
    // The collective UPO lists the accepted invoices.
    let page = &status["upo"]["pages"][0];
    let upo = emu
        .http
        .get(page["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for inv in invoices.iter().filter(|i| i["status"]["code"] == 200) {
        assert!(upo.contains(inv["ksefNumber"].as_str().unwrap()));
    }
    // Parts are not kept once the package is unpacked.
    assert!(!emu.dir.path().join("batch").join(&reference).exists());
}

#[tokio::test]
async fn a_tar_gz_package_is_processed_like_a_zip() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let files = invoices(3, "TG");
    let p = package(tar_gz_of(&borrowed(&files)), 100_000, "TarGz");
    let reference = emu.send_batch(&access, &p).await;
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(status["successfulInvoiceCount"], 3);
}

#[tokio::test]
async fn open_refuses_declarations_that_break_the_limits() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(1, "L"))), 100_000, "Zip");
    let valid = emu.open_batch_body(&p).await;
    fn part(n: i64, size: i64) -> Value {
        json!({ "ordinalNumber": n, "fileSize": size, "fileHash": sha256_base64(b"x") })
    }
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change, i64)> = vec![
        (
            "51 parts",
            Box::new(|b: &mut Value| {
                b["batchFile"]["fileSize"] = json!(51 * 1000);
                b["batchFile"]["fileParts"] =
                    json!((1..=51).map(|n| part(n, 1008)).collect::<Vec<_>>());
            }),
            21161,
        ),
        (
            "a part over 100 MB",
            Box::new(|b: &mut Value| {
                b["batchFile"]["fileSize"] = json!(100_000_001);
                b["batchFile"]["fileParts"] = json!([part(1, 100_000_016 + 16)]);
            }),
            21157,
        ),
        (
            "a part size that is not AES output",
            Box::new(|b: &mut Value| b["batchFile"]["fileParts"][0]["fileSize"] = json!(1001)),
            21157,
        ),
        (
            "parts that do not add up to the package",
            Box::new(|b: &mut Value| b["batchFile"]["fileSize"] = json!(5)),
            21157,
        ),
        (
            "a package over 5 GB",
            Box::new(|b: &mut Value| b["batchFile"]["fileSize"] = json!(5_000_000_001_i64)),
            21405,
        ),
        (
            "ordinals with a gap",
            Box::new(|b: &mut Value| b["batchFile"]["fileParts"][0]["ordinalNumber"] = json!(2)),
            21405,
        ),
        (
            "no parts",
            Box::new(|b: &mut Value| b["batchFile"]["fileParts"] = json!([])),
            21405,
        ),
        (
            "a hash that is not SHA-256",
            Box::new(|b: &mut Value| b["batchFile"]["fileHash"] = json!("abc")),
            21405,
        ),
        (
            "an online-only form",
            Box::new(|b: &mut Value| b["formCode"]["systemCode"] = json!("PEF (3)")),
            21405,
        ),
    ];
    for (what, change, expected) in cases {
        let mut body = valid.clone();
        change(&mut body);
        let (status, code, body) = TestEmulator::error_code(
            emu.post("/v2/sessions/batch", Some(&access), Some(&body))
                .await,
        )
        .await;
        assert_eq!((status, code), (400, expected), "{what}: {body}");
    }
    // The valid declaration itself opens.
    emu.open_batch(&access, &valid).await;
}

#[tokio::test]
async fn close_refuses_a_missing_part_and_a_part_of_the_wrong_size_until_they_are_right() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(4, "M"))), 1200, "Zip");
    let (reference, urls) = emu
        .open_batch(&access, &emu.open_batch_body(&p).await)
        .await;
    assert_eq!(emu.put(&urls[0], p.parts[0].clone()).await, 201);
    let (_, code, body) =
        TestEmulator::error_code(emu.close_batch(&access, &reference).await).await;
    assert_eq!(code, 21205, "{body}");
    assert!(
        body.to_string().contains("'2'"),
        "names the missing part: {body}"
    );

    for (url, part) in urls.iter().zip(&p.parts).skip(1) {
        assert_eq!(emu.put(url, part[..part.len() - 16].to_vec()).await, 201);
    }
    let (_, code, body) =
        TestEmulator::error_code(emu.close_batch(&access, &reference).await).await;
    assert_eq!(code, 21157, "{body}");

    // Uploading again replaces a part.
    for (url, part) in urls.iter().zip(&p.parts).skip(1) {
        assert_eq!(emu.put(url, part.clone()).await, 201);
    }
    assert_eq!(emu.close_batch(&access, &reference).await.status(), 204);
    assert_eq!(
        emu.wait_session(&access, &reference).await["status"]["code"],
        200
    );
    // A closed session takes no more parts and cannot be closed again.
    assert_eq!(emu.put(&urls[0], p.parts[0].clone()).await, 403);
    let (_, code, _) = TestEmulator::error_code(emu.close_batch(&access, &reference).await).await;
    assert_eq!(code, 21180);
}

#[tokio::test]
async fn a_corrupted_part_fails_the_session_with_405_and_no_invoice() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(3, "C"))), 1000, "Zip");
    let (reference, urls) = emu
        .open_batch(&access, &emu.open_batch_body(&p).await)
        .await;
    for (i, (url, part)) in urls.iter().zip(&p.parts).enumerate() {
        let mut bytes = part.clone();
        if i == 1 {
            bytes[5] ^= 0xff;
        }
        assert_eq!(emu.put(url, bytes).await, 201);
    }
    assert_eq!(emu.close_batch(&access, &reference).await.status(), 204);
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 405, "{status}");
    assert!(
        status["status"]["details"][0]
            .as_str()
            .unwrap()
            .contains("'2'"),
        "{status}"
    );
    assert_eq!(status["invoiceCount"], 0);
    assert!(emu.all_invoices(&access, &reference).await.is_empty());
}

#[tokio::test]
async fn a_wrong_package_hash_fails_the_session_with_405() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(2, "H"))), 100_000, "Zip");
    let mut body = emu.open_batch_body(&p).await;
    body["batchFile"]["fileHash"] = json!(sha256_base64(b"another archive"));
    let (reference, urls) = emu.open_batch(&access, &body).await;
    assert_eq!(emu.put(&urls[0], p.parts[0].clone()).await, 201);
    assert_eq!(emu.close_batch(&access, &reference).await.status(), 204);
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 405, "{status}");
}

#[tokio::test]
async fn a_part_that_does_not_decrypt_fails_the_session_with_435() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let mut p = package(zip_of(&borrowed(&invoices(1, "D"))), 100_000, "Zip");
    // Bytes of the right size that the session key does not decrypt (their padding is invalid).
    let garbage = (0u8..)
        .map(|seed| vec![seed; p.parts[0].len()])
        .find(|c| decrypt_cbc(&p.key, &p.iv, c).is_err())
        .unwrap();
    p.parts[0] = garbage;
    let reference = emu.send_batch(&access, &p).await;
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 435, "{status}");
}

#[tokio::test]
async fn a_package_with_a_folder_or_a_file_that_is_not_xml_fails_with_405_naming_them() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let mut files = invoices(2, "F");
    files.push(("notes.txt".to_owned(), b"hello".to_vec()));
    files.push(("sub/".to_owned(), Vec::new()));
    files.push((
        "sub/x.xml".to_owned(),
        invoice(SELLER, "F/sub").into_bytes(),
    ));
    let p = package(zip_of(&borrowed(&files)), 100_000, "Zip");
    let reference = emu.send_batch(&access, &p).await;
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 405, "{status}");
    let details = status["status"]["details"].to_string();
    for name in ["notes.txt", "sub", "sub/x.xml"] {
        assert!(details.contains(&format!("'{name}")), "{name} in {details}");
    }
}

#[tokio::test]
async fn a_package_that_is_not_an_archive_fails_with_430() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(b"this is not a zip file at all".repeat(10), 100_000, "Zip");
    let reference = emu.send_batch(&access, &p).await;
    assert_eq!(
        emu.wait_session(&access, &reference).await["status"]["code"],
        430
    );
}

#[tokio::test]
async fn more_invoices_than_a_session_allows_fail_the_package_with_420() {
    let emu = spawn_with(|c| c.max_invoices_per_session = 3).await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(4, "N"))), 100_000, "Zip");
    let reference = emu.send_batch(&access, &p).await;
    assert_eq!(
        emu.wait_session(&access, &reference).await["status"]["code"],
        420
    );
    let p = package(zip_of(&borrowed(&invoices(3, "N3"))), 100_000, "Zip");
    let reference = emu.send_batch(&access, &p).await;
    assert_eq!(
        emu.wait_session(&access, &reference).await["status"]["code"],
        200
    );
}

#[tokio::test]
async fn upload_urls_work_only_as_signed_and_only_for_the_session_owner_to_close() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(1, "S"))), 100_000, "Zip");
    let (reference, urls) = emu
        .open_batch(&access, &emu.open_batch_body(&p).await)
        .await;
    let tampered = urls[0].replace("sig=", "sig=A");
    assert_eq!(emu.put(&tampered, p.parts[0].clone()).await, 403);
    // The URL is for PUT: reading the part back is not possible.
    assert_eq!(
        emu.http
            .get(&urls[0])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        405
    );
    assert_eq!(emu.put(&urls[0], p.parts[0].clone()).await, 201);
    let other = emu.login(crate::helpers::BUYER).await;
    let (_, code, _) = TestEmulator::error_code(emu.close_batch(&other, &reference).await).await;
    assert_eq!(code, 21173);
    // An online close does not apply to a batch session.
    let r = emu
        .post(
            &format!("/v2/sessions/online/{reference}/close"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(TestEmulator::error_code(r).await.1, 21180);
}

#[tokio::test]
async fn a_batch_session_not_closed_within_its_upload_window_is_cancelled() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let p = package(zip_of(&borrowed(&invoices(1, "W"))), 100_000, "Zip");
    let (reference, urls) = emu
        .open_batch(&access, &emu.open_batch_body(&p).await)
        .await;
    assert_eq!(emu.put(&urls[0], p.parts[0].clone()).await, 201);
    // One part: a 20-minute window.
    emu.clock.advance(chrono::Duration::minutes(21));
    assert_eq!(emu.put(&urls[0], p.parts[0].clone()).await, 403);
    // The access token has expired too.
    let access = emu.login(SELLER).await;
    let (_, code, body) =
        TestEmulator::error_code(emu.close_batch(&access, &reference).await).await;
    assert_eq!(code, 21208, "{body}");
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!(status["status"]["code"], 440);
    assert_eq!(status["status"]["details"][0], "Przekroczono czas wysyłki");
}

#[tokio::test]
async fn an_invoice_over_3_mb_in_a_package_is_refused_on_its_own() {
    let emu = spawn().await;
    let access = emu.login(SELLER).await;
    let mut files = invoices(2, "X");
    // Well-formed and otherwise valid, but 3,000,001 bytes: a comment pads it.
    let mut big = invoice(SELLER, "X/big").into_bytes();
    let padding = 3_000_001 - big.len() - "<!---->".len();
    big.extend_from_slice(format!("<!--{}-->", "x".repeat(padding)).as_bytes());
    assert_eq!(big.len(), 3_000_001);
    files.push(("big.xml".to_owned(), big.clone()));
    let p = package(zip_of(&borrowed(&files)), 100_000_000, "Zip");
    let reference = emu.send_batch(&access, &p).await;
    let status = emu.wait_session(&access, &reference).await;
    assert_eq!((status["status"]["code"].as_i64(), status["successfulInvoiceCount"].as_i64()), (Some(200), Some(2)), "{status}");
    let listed = emu.all_invoices(&access, &reference).await;
    let refused = listed.iter().find(|i| i["invoiceFileName"] == "big.xml").unwrap();
    assert_eq!(refused["status"]["code"], 430, "{refused}");
    assert_eq!(refused["invoiceHash"], sha256_base64(&big), "the hash is of the whole file");
}
