//! Visualizations and verification codes end to end: every sample invoice renders in every language, the HTML
//! shows the invoice's data with the right labels, QR images decode back to their links, and KOD II signatures
//! verify with the certificate's public key (ours and OpenSSL's verifier).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ksef_core::Environment;
use ksef_visualize::links::{self, Certificate, ContextType};
use ksef_visualize::view::{self, Options};
use ksef_visualize::{Language, html, qr};

fn example() -> String {
    ksef_fa::example::invoice("5265877635", "1111111111", "FV/2026/11/7", "2026-11-25", 3)
}

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa/samples");
    if dir.exists() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared is missing under CI=true");
    eprintln!("SKIP: ../shared/fa is missing");
    None
}

/// An Offline certificate and its key, made here: (certificate DER, PKCS#8 DER).
fn offline_certificate(key: &ksef_core::offline::OfflineKey, serial: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let pkcs8 = key.pkcs8_der().unwrap();
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_slice()).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Offline 5265877635");
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
    let cert = params.self_signed(&key_pair).unwrap();
    (cert.der().to_vec(), pkcs8)
}

fn decode_png(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::One));
    let row = info.line_size;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if buf[y * row + x / 8] & (0x80 >> (x % 8)) != 0 { 255 } else { 0 });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (meta, content) = grids[0].decode().unwrap();
    // The format information's level bits: 00 is M, KSeF's level.
    assert_eq!(meta.ecc_level, 0, "error correction level M");
    content
}

#[test]
fn the_example_invoice_shows_its_data_with_labels_in_each_language() {
    let xml = example();
    let view = view::build(xml.as_bytes(), &Options { ksef_number: Some("5265877635-20250826-0100001AF629-AF"), ..Options::default() }).unwrap();
    let pl = html::render(&view, Language::Pl);
    let en = html::render(&view, Language::En);
    let both = html::render(&view, Language::PlEn);
    for page in [&pl, &en, &both] {
        for data in ["FV/2026/11/7", "5265877635", "1111111111", "2026-11-25", "5265877635-20250826-0100001AF629-AF"] {
            assert!(page.contains(data), "{data}");
        }
        assert!(page.contains("<svg"), "the QR code is inline");
    }
    // (The example seller's name begins with "Sprzedawca": only headings tell the languages apart.)
    assert!(pl.contains("<h3>Sprzedawca</h3>") && !pl.contains("Seller"));
    assert!(en.contains("<h3><span lang=\"en\">Seller</span></h3>") && en.contains("Total amount due") && !en.contains("<h3>Sprzedawca"));
    assert!(both.contains("Sprzedawca <span class=\"en\" lang=\"en\">/ Seller</span>"));
    assert!(pl.contains("<html lang=\"pl\">") && en.contains("<html lang=\"en\">"));
    // Amounts the Polish way, in every language: data is never translated.
    let total = ksef_fa::model::fa3::Faktura::from_xml(&xml).unwrap().invoice.total.amount();
    let polish = view::polish_number(&total.to_string(), true);
    assert!(polish.contains(',') && en.contains(&polish), "{polish}");
}

#[test]
fn every_sample_invoice_renders_in_every_language_showing_its_number_and_seller() {
    let Some(samples) = shared() else { return };
    let mut rendered = 0;
    for dir in ["fa3", "fa2"] {
        for entry in std::fs::read_dir(samples.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let xml = std::fs::read(&path).unwrap();
            let view = view::build(&xml, &Options::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let invoice = ksef_fa::model::Invoice::from_xml(std::str::from_utf8(&xml).unwrap()).unwrap();
            let (number, nip) = match &invoice {
                ksef_fa::model::Invoice::Fa3(f) => (f.invoice.number.clone(), f.seller.identification.nip.clone()),
                ksef_fa::model::Invoice::Fa2(f) => (f.invoice.number.clone(), f.seller.identification.nip.clone()),
            };
            for language in [Language::Pl, Language::En, Language::PlEn] {
                let page = html::render(&view, language);
                let mut escaped = String::new();
                html::escape(&number, &mut escaped);
                assert!(page.contains(&escaped) && page.contains(&nip), "{}: {language:?}", path.display());
            }
            // Every element is shown somewhere: nothing is left for the catch-all section in the samples.
            assert!(view.sections.iter().all(|s| s.heading.pl != "Pozostałe dane"), "{}", path.display());
            rendered += 1;
        }
    }
    assert!(rendered >= 61, "{rendered}");
}

#[test]
fn a_correction_shows_its_rows_before_and_after_and_the_corrected_invoice() {
    let Some(samples) = shared() else { return };
    let xml = std::fs::read(samples.join("fa3/mf02_kor_price_decrease_before_after_rows.xml")).unwrap();
    let page = html::render(&view::build(&xml, &Options::default()).unwrap(), Language::PlEn);
    assert!(page.contains("<tr class=\"before\">"), "the row before the correction is marked");
    assert!(page.contains("<th scope=\"col\">Stan przed"), "in a column of its own");
    for expected in ["Faktura korygująca", "Przyczyna korekty", "FV2026/02/150", "9999999999-20230908-8BEF280C8D35-4D", "1\u{a0}463,41", "Korekta kwoty należności ogółem"] {
        assert!(page.contains(expected), "{expected}");
    }
}

/// The sample's page in `pl_en`.
fn sample_page(samples: &Path, name: &str) -> String {
    let xml = std::fs::read(samples.join(name)).unwrap();
    html::render(&view::build(&xml, &Options::default()).unwrap(), Language::PlEn)
}

#[test]
fn a_collective_discount_lists_every_corrected_invoice_and_shows_a_discount_block_instead_of_lines() {
    let Some(samples) = shared() else { return };
    let page = sample_page(&samples, "fa3/mf07_kor_collective_discount_part_of_period.xml");
    for number in ["8BEF280C8D35-4D", "76B2B580D4DC-80", "4191312C0E57-09", "2B9266CEF3C4-DD", "16B99491C78B-3D", "D08FB95950BE-3E"] {
        assert!(page.contains(&format!("<td>9999999999-20230908-{number}</td>")), "{number} in its own table row");
    }
    for expected in ["Faktura korygująca zbiorcza (rabat)", "<h3>Rabat", "Okres, którego dotyczy rabat", "pierwsze półrocze 2026", "lodówka Zimnotech mk1"] {
        assert!(page.contains(expected), "{expected}");
    }
    let all = page.split("Rabat dotyczy wszystkich dostaw").nth(1).expect("whether the discount covers all deliveries");
    assert!(all[..all.find("</dd>").unwrap()].contains("NIE"), "a discount naming its goods covers only part of the deliveries");
}

#[test]
fn an_advance_invoice_dates_the_payment_and_states_its_order_value_with_the_currency() {
    let Some(samples) = shared() else { return };
    let page = sample_page(&samples, "fa3/mf10_zal_advance_two_buyers.xml");
    assert!(page.contains("Data otrzymania zapłaty") && !page.contains("Data dokonania lub zakończenia dostawy"), "P_6 of an advance invoice");
    let order = page.split("Wartość zamówienia").nth(1).expect("the order value");
    assert!(order[..order.find("</p>").unwrap()].contains("PLN"), "{}", &order[..200]);
}

#[test]
fn flags_read_as_sentences_countries_by_name_and_supply_periods_with_both_dates() {
    let Some(samples) = shared() else { return };
    let page = sample_page(&samples, "fa3/mf01_vat_sale_of_goods_paid_in_full.xml");
    assert!(page.contains("Faktura, o której mowa w art. 109 ust. 3d ustawy") || page.contains("Istniejące powiązania między nabywcą"), "FP/TP as a statement");
    assert!(page.contains("Polska <span class=\"en\" lang=\"en\">/ Poland</span>"), "the address's country by name");
    let period = sample_page(&samples, "fa3/mf09_vat_leasing_jst_gmina_school_recipient_zw.xml");
    assert!(period.contains("wykonania usługi (od – do)") && period.contains("<dd>2026-01-01 – 2026-01-01</dd>"), "OkresFa with both dates");
}

#[test]
fn attachment_tables_write_numbers_the_polish_way_and_mark_their_total_row() {
    let Some(samples) = shared() else { return };
    let page = sample_page(&samples, "fa3/mf24_vat_zalacznik_energy_dash_cells.xml");
    assert!(page.contains("<tr class=\"sum\"><td>Ogółem wartość - sprzedaż energii:</td>"), "the Suma row");
    assert!(page.contains("<td class=\"n\">18,00</td>") && !page.contains("<td class=\"n\">18.00</td>"), "decimal comma in dec cells");
}

#[test]
fn lines_needing_more_than_eight_columns_are_split_into_a_sale_table_and_an_identifier_table() {
    let Some(samples) = shared() else { return };
    let xml = std::fs::read(samples.join("fa3/c_ksef4dev_vat_complex_all_rates.xml")).unwrap();
    let view = view::build(&xml, &Options::default()).unwrap();
    let lines = view.sections.iter().find(|s| s.heading.pl == "Pozycje").unwrap();
    let tables: Vec<&view::Table> = lines.blocks.iter().filter_map(|b| if let view::Block::Table(t) = b { Some(t) } else { None }).collect();
    assert_eq!(tables.len(), 2);
    assert!(tables.iter().all(|t| t.columns[0].label.pl == "Lp." && t.rows.len() == tables[0].rows.len()), "both keyed by Lp., row for row");
    assert!(tables[1].columns.iter().any(|c| c.label.pl == "Indeks") && !tables[0].columns.iter().any(|c| c.label.pl == "Indeks"));
    assert!(tables[0].columns.iter().any(|c| c.label.pl == "Stawka podatku") && !tables[1].columns.iter().any(|c| c.label.pl == "Stawka podatku"));
}

#[test]
fn a_correction_of_buyer_data_shows_the_buyer_after_beside_the_buyer_before() {
    let Some(samples) = shared() else { return };
    let page = sample_page(&samples, "fa3/mf05_kor_buyer_name_podmiot2k.xml");
    let after = page.find("Nabywca – dane po korekcie").expect("the buyer after the correction");
    let before = page.find("Nabywca – dane przed korektą").expect("the buyer before the correction");
    assert!(after < before);
    assert!(page[after..before].contains("CeDeE s.c.") && page[before..].contains("CDE sp. j."), "each name on its side");
}

#[test]
fn additional_descriptions_are_the_official_table_with_line_numbers() {
    let Some(samples) = shared() else { return };
    let page = sample_page(&samples, "fa3/mf01_vat_sale_of_goods_paid_in_full.xml");
    let table = &page[page.find("Dodatkowy opis").expect("DodatkowyOpis")..];
    for header in ["Lp.", "Rodzaj informacji", "Treść informacji"] {
        assert!(table[..table.find("</thead>").unwrap()].contains(header), "{header}");
    }
}

#[test]
fn data_cannot_inject_markup() {
    let xml = example().replace("Sprzedawca Przykładowy", "<script>alert(1)</script> &amp; Spółka");
    let Ok(view) = view::build(xml.as_bytes(), &Options::default()) else { panic!("the example has the seller's name") };
    let page = html::render(&view, Language::Pl);
    assert!(!page.contains("<script>"));
}

#[test]
fn the_qr_image_decodes_back_to_the_link() {
    let hash = links::invoice_hash(example().as_bytes());
    let kod1 = links::kod1(Environment::Test, "5265877635", NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), &hash, None).unwrap();
    assert_eq!(decode_png(&qr::matrix(&kod1.link).unwrap().png(5)), kod1.link);
}

#[test]
fn kod2_is_signed_so_the_certificates_public_key_verifies_it() {
    let hash = links::invoice_hash(example().as_bytes());
    for key in [ksef_core::offline::OfflineKey::generate_p256().unwrap(), ksef_core::offline::OfflineKey::generate_rsa_2048().unwrap()] {
        let (cert_der, key_der) = offline_certificate(&key, &[0x01, 0xF2, 0x0A, 0x5D, 0x35, 0x2A, 0xE5, 0x90]);
        let certificate = Certificate::new(&cert_der, &key_der).unwrap();
        assert_eq!(certificate.serial(), "01F20A5D352AE590");
        let kod2 = links::kod2(Environment::Test, (ContextType::Nip, "5265877635"), "5265877635", &hash, &certificate).unwrap();
        assert_eq!(kod2.caption, "CERTYFIKAT");
        let (signed, signature) = kod2.link.trim_start_matches("https://").rsplit_once('/').unwrap();
        assert_eq!(signed, format!("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/{hash}"));
        let signature = ksef_core::crypto::b64url_decode(signature).unwrap();
        let spki = ksef_core::der::certificate_fields(&cert_der).unwrap().spki.to_vec();
        assert!(ksef_core::offline::verify(&spki, signed.as_bytes(), &signature));
        openssl_verifies(&cert_der, signed.as_bytes(), &signature, matches!(key, ksef_core::offline::OfflineKey::Rsa(_)));
        // The QR of the long KOD II link decodes too.
        assert_eq!(decode_png(&qr::matrix(&kod2.link).unwrap().png(4)), kod2.link);
    }
}

#[test]
fn a_kod2_link_verifies_with_its_certificate_and_not_once_changed_or_with_another() {
    use ksef_visualize::verify::{Evidence, Outcome, verify};
    let xml = example();
    let hash = links::invoice_hash(xml.as_bytes());
    let key = ksef_core::offline::OfflineKey::generate_p256().unwrap();
    let (cert_der, key_der) = offline_certificate(&key, &[0x4A, 0x11]);
    let certificate = Certificate::new(&cert_der, &key_der).unwrap();
    let kod2 = links::kod2(Environment::Test, (ContextType::Nip, "5265877635"), "5265877635", &hash, &certificate).unwrap();
    let evidence = Evidence { invoice: Some(xml.as_bytes()), certificate: Some(&cert_der), ksef_number: None };
    let report = verify(&kod2.link, &evidence);
    assert!(report.valid(), "{report:?}");
    let outcome = |r: &ksef_visualize::verify::Report, name: &str| r.checks.iter().find(|c| c.name == name).unwrap().outcome;
    assert_eq!(outcome(&report, "certificate.signature"), Outcome::Passed);
    assert_eq!(outcome(&report, "certificate.validity"), Outcome::Passed, "{report:?}");
    assert_eq!(outcome(&report, "invoice.hash"), Outcome::Passed);
    // The link pointed at another NIP: the signature no longer verifies (and the seller differs).
    let changed = kod2.link.replace("/Nip/5265877635/5265877635/", "/Nip/5265877635/7010002137/");
    let report = verify(&changed, &evidence);
    assert_eq!((outcome(&report, "certificate.signature"), outcome(&report, "invoice.seller")), (Outcome::Failed, Outcome::Failed));
    // Another certificate: neither its serial nor its key is the link's.
    let (other_der, _) = offline_certificate(&ksef_core::offline::OfflineKey::generate_p256().unwrap(), &[0x07]);
    let report = verify(&kod2.link, &Evidence { certificate: Some(&other_der), ..evidence });
    assert_eq!((outcome(&report, "certificate.serial"), outcome(&report, "certificate.signature")), (Outcome::Failed, Outcome::Failed));
    // No certificate: the signature is not judged, and without it a KOD II link proves nothing.
    let report = verify(&kod2.link, &Evidence { certificate: None, ..evidence });
    assert_eq!(outcome(&report, "certificate.signature"), Outcome::Skipped);
    assert!(!report.valid());
}

/// OpenSSL, an independent verifier: RSA-PSS with a 32-byte salt, or ECDSA with `r‖s` turned into DER.
fn openssl_verifies(cert_der: &[u8], message: &[u8], signature: &[u8], rsa: bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let cert = file("cert.der", cert_der);
    let message = file("message", message);
    let pubkey = dir.path().join("pub.pem");
    let status = std::process::Command::new("openssl").args(["x509", "-inform", "DER", "-in"]).arg(&cert).args(["-pubkey", "-noout", "-out"]).arg(&pubkey).status().unwrap();
    assert!(status.success());
    let signature = if rsa { signature.to_vec() } else { p1363_to_der(signature) };
    let sig = file("sig", &signature);
    let mut command = std::process::Command::new("openssl");
    command.args(["dgst", "-sha256", "-verify"]).arg(&pubkey).arg("-signature").arg(&sig);
    if rsa {
        command.args(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]);
    }
    let output = command.arg(&message).output().unwrap();
    assert!(output.status.success(), "openssl: {}", String::from_utf8_lossy(&output.stdout));
}

fn p1363_to_der(sig: &[u8]) -> Vec<u8> {
    let int = |half: &[u8]| {
        let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if trimmed.first().is_some_and(|b| b & 0x80 != 0) { vec![0] } else { vec![] };
        v.extend(if trimmed.is_empty() { vec![0] } else { trimmed });
        [vec![0x02, v.len() as u8], v].concat()
    };
    let body = [int(&sig[..32]), int(&sig[32..])].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

/// A session UPO as KSeF issues it (v4-3), written here: two invoices, a NIP context.
const UPO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3">
  <NazwaPodmiotuPrzyjmujacego>Ministerstwo Finansów</NazwaPodmiotuPrzyjmujacego>
  <NumerReferencyjnySesji>20261125-SO-2F3A4B5C6D-7E8F9A0B1C-D2</NumerReferencyjnySesji>
  <Uwierzytelnienie><IdKontekstu><Nip>5265877635</Nip></IdKontekstu><SkrotDokumentuUwierzytelniajacego>AAAA</SkrotDokumentuUwierzytelniajacego></Uwierzytelnienie>
  <OpisPotwierdzenia><Strona>1</Strona><LiczbaStron>1</LiczbaStron><ZakresDokumentowOd>1</ZakresDokumentowOd><ZakresDokumentowDo>2</ZakresDokumentowDo><CalkowitaLiczbaDokumentow>2</CalkowitaLiczbaDokumentow></OpisPotwierdzenia>
  <NazwaStrukturyLogicznej>Schemat_FA(3)_v1-0E.xsd</NazwaStrukturyLogicznej>
  <KodFormularza>FA (3)</KodFormularza>
  <Dokument><NipSprzedawcy>5265877635</NipSprzedawcy><NumerKSeFDokumentu>5265877635-20261125-0100001AF629-11</NumerKSeFDokumentu><NumerFaktury>FV/1</NumerFaktury><DataWystawieniaFaktury>2026-11-25</DataWystawieniaFaktury><DataPrzeslaniaDokumentu>2026-11-25T10:00:00+01:00</DataPrzeslaniaDokumentu><DataNadaniaNumeruKSeF>2026-11-25T10:00:01+01:00</DataNadaniaNumeruKSeF><SkrotDokumentu>abc=</SkrotDokumentu><TrybWysylki>Online</TrybWysylki></Dokument>
  <Dokument><NipSprzedawcy>5265877635</NipSprzedawcy><NumerKSeFDokumentu>5265877635-20261125-0200001AF629-22</NumerKSeFDokumentu><NumerFaktury>FV/2</NumerFaktury><DataWystawieniaFaktury>2026-11-25</DataWystawieniaFaktury><DataPrzeslaniaDokumentu>2026-11-25T10:00:02+01:00</DataPrzeslaniaDokumentu><DataNadaniaNumeruKSeF>2026-11-25T10:00:03+01:00</DataNadaniaNumeruKSeF><SkrotDokumentu>def=</SkrotDokumentu><TrybWysylki>Offline</TrybWysylki></Dokument>
</Potwierdzenie>"#;

#[test]
fn a_upo_shows_its_session_context_and_every_document() {
    let view = view::upo(UPO.as_bytes()).unwrap();
    let page = html::render(&view, Language::PlEn);
    for expected in ["Urzędowe poświadczenie odbioru dokumentu elektronicznego KSeF", "20261125-SO-2F3A4B5C6D-7E8F9A0B1C-D2", "5265877635-20261125-0200001AF629-22", "FV/2", "Offline", "Nip", "1 / 1", "Tryb wysyłki"] {
        assert!(page.contains(expected), "{expected}");
    }
    assert!(view.codes.is_empty());
    assert!(view::upo(example().as_bytes()).is_err(), "an invoice is not a UPO");
    if let Some(samples) = shared() {
        let official = std::fs::read(samples.join("../../ksef/upo-session-example.xml")).unwrap();
        let page = html::render(&view::upo(&official).unwrap(), Language::Pl);
        assert!(page.contains("5265877635-20250916-0200A0D6723E-C2") && page.contains("FA/XVQUD-9997622510/04/2027"));
    }
}
