//! `ksef_fa::check` on our own example invoice and edits of it: KSeF's prechecks, the schema, and the rules
//! beyond it, each finding with its kind, severity, rule and path.

use ksef_fa::rules::Options;
use ksef_fa::{Kind, Severity, Version, check};

const INVOICE: &str = include_str!("../../../examples/invoice.xml");

fn rules(report: &ksef_fa::Report) -> Vec<(&str, Kind, Severity)> {
    report.findings.iter().map(|f| (f.rule.as_str(), f.kind, f.severity)).collect()
}

#[test]
fn the_example_invoice_is_a_valid_fa3_invoice() {
    let report = check(INVOICE.as_bytes(), &Options::default());
    assert_eq!(report.version, Some(Version::Fa3));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn files_ksef_refuses_before_reading_them_are_prechecks() {
    let with_bom = [&[0xEF, 0xBB, 0xBF][..], INVOICE.as_bytes()].concat();
    assert_eq!(rules(&check(&with_bom, &Options::default()))[0], ("bom", Kind::Precheck, Severity::Error));
    let latin2 = INVOICE.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-2\"", 1);
    assert_eq!(rules(&check(latin2.as_bytes(), &Options::default()))[0].0, "encoding");
    let with_pi = INVOICE.replacen("<Faktura", "<?xml-stylesheet href=\"a.xsl\"?>\n<Faktura", 1);
    assert_eq!(rules(&check(with_pi.as_bytes(), &Options::default()))[0].0, "processing-instruction");
    let control = INVOICE.replacen("<P_2>", "<P_2>\u{0085}", 1).replacen("\u{0085}", "\u{0090}", 1);
    assert!(rules(&check(control.as_bytes(), &Options::default())).iter().any(|r| r.0 == "characters"));
    assert_eq!(rules(&check(b"\xff\xfe<a/>", &Options::default()))[0].0, "utf8");
    assert_eq!(rules(&check(b"<Faktura>", &Options::default()))[0].0, "xml");
    let dtd = format!("<!DOCTYPE Faktura [<!ENTITY x \"y\">]>{}", INVOICE.split_once("?>").unwrap().1);
    assert_eq!(rules(&check(dtd.as_bytes(), &Options::default()))[0].0, "xml", "no DTDs");
    let other = INVOICE.replace("http://crd.gov.pl/wzor/2025/06/25/13775/", "urn:other");
    assert_eq!(rules(&check(other.as_bytes(), &Options::default()))[0].0, "namespace");
    let padded = INVOICE.replacen("<Faktura", &format!("<!--{}-->\n<Faktura", "x".repeat(1_000_001)), 1);
    assert_eq!(rules(&check(padded.as_bytes(), &Options::default()))[0].0, "size", "over 1 MB without an attachment");
}

#[test]
fn rules_beyond_the_schema_report_errors_ksef_enforces_and_warnings_it_does_not() {
    let bad_nip = INVOICE.replacen("<NIP>1111111111</NIP>", "<NIP>1234567890</NIP>", 1);
    let report = check(bad_nip.as_bytes(), &Options::default());
    assert!(!report.valid());
    let first = report.first_error().unwrap();
    assert_eq!((first.rule.as_str(), first.kind, first.path.as_str()), ("nip-checksum", Kind::Semantic, "/Faktura/Podmiot2/DaneIdentyfikacyjne/NIP"));
    assert!(first.message_pl.contains("1234567890") && first.message_en.contains("1234567890"));
    // KSeF's test environment does not check NIP checksums.
    assert!(check(bad_nip.as_bytes(), &Options { nip_checksums: false, received: None }).valid());

    let received = chrono::NaiveDate::from_ymd_opt(2000, 1, 1);
    let early = check(INVOICE.as_bytes(), &Options { nip_checksums: true, received });
    assert_eq!(early.first_error().map(|f| f.rule.as_str()), Some("issue-date"));

    let wrong_total = regex_replace(INVOICE, "<P_15>", "</P_15>", "99999.99");
    let report = check(wrong_total.as_bytes(), &Options::default());
    assert!(report.valid(), "a wrong total is a warning: {:?}", report.findings);
    assert!(report.findings.iter().any(|f| f.rule == "totals" && f.severity == Severity::Warning));
}

#[test]
fn schema_findings_come_with_the_path_and_every_problem() {
    let broken = regex_replace(&regex_replace(INVOICE, "<P_1>", "</P_1>", "2026-02-30"), "<KodWaluty>", "</KodWaluty>", "PLNX");
    let report = check(broken.as_bytes(), &Options::default());
    let schema: Vec<&str> = report.findings.iter().filter(|f| f.kind == Kind::Schema).map(|f| f.path.as_str()).collect();
    assert_eq!(schema, ["/Faktura/Fa/KodWaluty", "/Faktura/Fa/P_1"]);
    assert!(report.findings.iter().all(|f| f.kind == Kind::Schema), "rules run only on a schema-valid document");
}

/// `text` with the content between the first `open` and the next `close` replaced by `value`.
fn regex_replace(text: &str, open: &str, close: &str, value: &str) -> String {
    let start = text.find(open).unwrap() + open.len();
    let end = start + text[start..].find(close).unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}

/// The warnings (rule names) checking `xml` gives, asserting it is schema-valid and has no errors.
fn warnings(xml: &str) -> Vec<String> {
    let report = check(xml.as_bytes(), &Options::default());
    assert!(report.valid(), "{:?}", report.first_error());
    report.findings.iter().map(|f| f.rule.clone()).collect()
}

#[test]
fn rates_call_for_their_annotations() {
    let exempt = INVOICE.replacen("<P_12>23</P_12>", "<P_12>zw</P_12>", 1);
    assert!(warnings(&exempt).contains(&"annotations".to_owned()));
    let reverse = INVOICE.replacen("<P_12>23</P_12>", "<P_12>oo</P_12>", 1);
    assert!(warnings(&reverse).contains(&"annotations".to_owned()));
    assert!(!warnings(INVOICE).contains(&"annotations".to_owned()));
}

#[test]
fn simplified_invoices_are_small_and_totals_are_not_negative() {
    let upr = regex_replace(&INVOICE.replacen("<RodzajFaktury>VAT</RodzajFaktury>", "<RodzajFaktury>UPR</RodzajFaktury>", 1), "<P_15>", "</P_15>", "999.00");
    assert!(warnings(&upr).contains(&"simplified".to_owned()));
    let negative = regex_replace(INVOICE, "<P_15>", "</P_15>", "-123.00");
    assert!(warnings(&negative).contains(&"amounts".to_owned()));
}

#[test]
fn bank_accounts_settlements_and_supply_dates_are_checked() {
    let with_payment = |account: &str| {
        INVOICE.replacen(
            "</FaWiersz>\n  </Fa>",
            &format!("</FaWiersz>\n    <Platnosc><FormaPlatnosci>6</FormaPlatnosci><RachunekBankowy><NrRB>{account}</NrRB></RachunekBankowy></Platnosc>\n  </Fa>"),
            1,
        )
    };
    assert!(warnings(&with_payment("PL61109010140000071219812875")).contains(&"bank-account".to_owned()));
    assert!(!warnings(&with_payment("61109010140000071219812874")).contains(&"bank-account".to_owned()));
    let settlement = INVOICE.replacen(
        "</FaWiersz>\n  </Fa>",
        "</FaWiersz>\n    <Rozliczenie><Obciazenia><Kwota>10.00</Kwota><Powod>Kaucja</Powod></Obciazenia><SumaObciazen>20.00</SumaObciazen></Rozliczenie>\n  </Fa>",
        1,
    );
    assert!(warnings(&settlement).contains(&"settlement".to_owned()));
    let both_dates = INVOICE.replacen("<NrWierszaFa>1</NrWierszaFa>", "<NrWierszaFa>1</NrWierszaFa>\n      <P_6A>2026-11-24</P_6A>", 1);
    assert!(warnings(&both_dates).contains(&"supply-date".to_owned()));
}

/// Found by fuzzing: 150,000 processing instructions took 141 s, each finding's line looked up from the start of
/// the document. Now a report lists at most `MAX_FINDINGS` of each kind, and says how many it left out.
#[test]
fn a_document_with_a_finding_per_node_gets_a_bounded_report_that_counts_the_rest() {
    let invoice = ksef_fa::example::invoice("5265877635", "1111111111", "FV/PI", "2026-01-02", 3_000);
    // A processing instruction before every element of the header (prechecks), and a wrong quantity and rate on
    // each of 3,000 lines (the schema).
    let hostile = invoice.replacen("<Naglowek>", &format!("{}<Naglowek>", "<?pi x?>".repeat(20_000)), 1);
    let hostile = hostile.replace("<P_8B>1</P_8B>", "<P_8B>x</P_8B>").replace("<P_12>23</P_12>", "<P_12>24</P_12>");
    let report = check(hostile.as_bytes(), &Options::default());
    for kind in [Kind::Precheck, Kind::Schema] {
        let findings: Vec<_> = report.findings.iter().filter(|f| f.kind == kind).collect();
        assert_eq!(findings.len(), ksef_fa::MAX_FINDINGS + 1, "{kind:?}");
        let last = findings.last().unwrap();
        assert_eq!(last.rule, "findings-limit", "{kind:?}");
        assert!(last.message_en.contains("more findings"), "{}", last.message_en);
    }
}
