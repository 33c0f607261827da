//! The typed FA(3)/FA(2) models: the shipped source is what the generator writes from the shipped schemas, and
//! an invoice read into the model has typed values, can be edited, and is written back as a valid document.

use ksef_fa::model::{Decimal, Invoice, fa3};
use ksef_fa::rules::Options;
use ksef_fa::{Amount, Version, check};

#[test]
fn the_shipped_models_are_what_the_generator_writes_from_the_shipped_schemas() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    for (version, file) in [(Version::Fa3, "fa3.rs"), (Version::Fa2, "fa2.rs")] {
        let shipped = std::fs::read_to_string(dir.join(file)).unwrap();
        let generated = ksef_fa::codegen::rust_model(version.validator().schema(), version.name());
        assert!(shipped == generated, "src/model/{file} is stale: run `cargo run -p ksef-fa --example gen_model`");
    }
}

#[test]
fn an_invoice_reads_into_typed_values_and_an_edit_is_written_back_as_a_valid_document() {
    let xml = ksef_fa::example::invoice("5265877635", "1111111111", "FV/1", "2026-11-25", 2);
    let mut invoice = fa3::Faktura::from_xml(&xml).unwrap();
    assert_eq!(invoice.seller.identification.nip, "5265877635");
    assert_eq!(invoice.invoice.issue_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
    assert_eq!(invoice.invoice.lines.len(), 2);
    let nets: Amount = invoice.invoice.lines.iter().filter_map(|l| l.net_amount.as_ref()).map(Decimal::amount).sum();
    assert_eq!(Some(nets), invoice.invoice.net23.as_ref().map(Decimal::amount));

    // Halve every line and recompute the totals with exact arithmetic.
    let half = Amount::parse("0.5").unwrap();
    let mut net = Amount::ZERO;
    for line in &mut invoice.invoice.lines {
        let halved = line.net_amount.as_ref().unwrap().amount().times(half).unwrap().round2();
        line.net_amount = Some(halved.into());
        line.quantity = line.quantity.as_ref().map(|q| q.amount().times(half).unwrap().into());
        net = net + halved;
    }
    let vat = net.times(Amount::parse("0.23").unwrap()).unwrap().round2();
    invoice.invoice.net23 = Some(net.into());
    invoice.invoice.vat23 = Some(vat.into());
    invoice.invoice.total = (net + vat).into();
    let written = invoice.to_xml();
    let report = check(written.as_bytes(), &Options::default());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(Invoice::from_xml(&written).unwrap(), Invoice::Fa3(Box::new(invoice)));
}

#[test]
fn documents_that_are_not_invoices_of_the_version_asked_for_are_refused_with_the_reason() {
    let xml = ksef_fa::example::invoice("5265877635", "1111111111", "FV/1", "2026-11-25", 1);
    assert!(matches!(ksef_fa::model::fa2::Faktura::from_xml(&xml), Err(ksef_fa::model::ModelError::Namespace { .. })));
    assert!(matches!(Invoice::from_xml("<a/>"), Err(ksef_fa::model::ModelError::Namespace { .. })));
    assert!(matches!(Invoice::from_xml("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"), Err(ksef_fa::model::ModelError::Xml(_))));
    let no_number = xml.replacen("<P_2>FV/1</P_2>", "", 1);
    match Invoice::from_xml(&no_number) {
        Err(ksef_fa::model::ModelError::Shape { message, .. }) => assert!(message.contains("number"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(Decimal::parse("1,5").is_none());
}
