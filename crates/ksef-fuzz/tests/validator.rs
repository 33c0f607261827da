//! Fuzzes the FA(2)/FA(3) validator (`ksef_fa::check`): every input gets a report, every finding says what
//! is wrong, the verdict agrees with the findings and with the parser, and the streamed schema pass with the
//! one replayed from a parsed tree.

use std::time::Duration;

use chrono::NaiveDate;
use ksef_fa::rules::Options;
use ksef_fa::{Severity, check};
use ksef_fuzz::Target;

/// The repository's own invoice, plus a minimal FA(2) and a document in no FA namespace.
const SEEDS: &[&str] = &[
    include_str!("../../../examples/invoice.xml"),
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Faktura xmlns=\"http://crd.gov.pl/wzor/2023/06/29/12648/\"><Naglowek>\
     <KodFormularza kodSystemowy=\"FA (2)\" wersjaSchemy=\"1-0E\">FA</KodFormularza><WariantFormularza>2</WariantFormularza></Naglowek></Faktura>",
    "<Faktura xmlns=\"urn:not-fa\"><Fa/></Faktura>",
];

#[test]
fn every_input_gets_a_report_whose_findings_say_what_is_wrong() {
    let mut seeds = ksef_fuzz::samples(&["fa3", "fa2", "invalid"]);
    seeds.extend(SEEDS.iter().map(|s| s.as_bytes().to_vec()));
    let target = Target { name: "validator", bound: Duration::from_secs(2), findings: env!("CARGO_TARGET_TMPDIR") };
    target.fuzz(&seeds, |input| {
        // Both settings of each option, chosen by the input so a saved input replays the same way.
        let received = (input.len() % 3 == 0).then(|| NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        let report = check(input, &Options { nip_checksums: input.len() % 2 == 0, received });
        for f in &report.findings {
            assert!(!f.message_pl.trim().is_empty() && !f.message_en.trim().is_empty() && !f.rule.is_empty(), "{f:?}");
        }
        assert_eq!(report.valid(), report.first_error().is_none());
        assert_eq!(report.valid(), !report.findings.iter().any(|f| f.severity == Severity::Error));
        if report.valid() {
            // Nothing valid escapes the parser or the namespace check.
            let text = std::str::from_utf8(input).expect("a valid invoice is UTF-8");
            assert!(ksef_core::xml::parse(text.strip_prefix('\u{feff}').unwrap_or(text)).is_ok(), "a valid invoice parses");
            assert!(report.version.is_some(), "a valid invoice has a version");
        }
        // Streamed or replayed from the parsed tree, the schema's findings are the same.
        let text = String::from_utf8_lossy(input);
        if let (Some(version), Ok(doc)) = (report.version, ksef_core::xml::parse(&text))
            && let Some(streamed) = version.validator().validate_text(&text)
        {
            assert_eq!(streamed, version.validator().validate(&doc), "streamed and replayed from the tree differ");
        }
    });
}

/// Found by this target: the date and time parser behind the schema's date facets slices the value by bytes, and
/// panics when a multi-byte character sits where the day's digits belong.
#[test]
fn a_date_with_a_multi_byte_character_for_its_day_gets_a_finding_not_a_panic() {
    let xml = "<Faktura xmlns=\"http://crd.gov.pl/wzor/2023/06/29/12648/\"><Naglowek><KodFormularza/><WariantFormularza/>\
               <DataWytworzeniaFa>2022-02-\u{20ac}</DataWytworzeniaFa></Naglowek></Faktura>";
    assert!(!check(xml.as_bytes(), &Options::default()).valid());
}

/// Found by a 10-minute run: an account number whose fourth byte is inside a multi-byte character panicked the
/// IBAN check.
#[test]
fn an_account_number_with_a_multi_byte_character_gets_findings_not_a_panic() {
    let invoice = ksef_fa::example::invoice("5265877635", "1111111111", "FV/IBAN", "2026-01-02", 1);
    let payment = "<Platnosc><RachunekBankowy><NrRB>PL9\u{10FFFF}1068552731823476708578737</NrRB></RachunekBankowy></Platnosc>";
    let hostile = invoice.replacen("</Fa>", &format!("{payment}</Fa>"), 1);
    let report = ksef_fa::check(hostile.as_bytes(), &ksef_fa::rules::Options::default());
    assert!(report.findings.iter().all(|f| f.kind != ksef_fa::Kind::Schema), "schema-valid, so the rules run: {:?}", report.findings);
    assert!(report.findings.iter().all(|f| !f.message_en.is_empty()));
}
