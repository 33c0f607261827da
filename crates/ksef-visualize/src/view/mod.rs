//! The view model: what a visualization shows, in the official section order, with labels in both languages
//! and data formatted once (Polish numbers, `20 000,00`), so the HTML and PDF renderers only lay it out.
//!
//! It is built from the invoice's JSON form (`ksef_fa::json`, readable names, the same for FA(2) and FA(3)).
//! Each section takes the fields it shows out of that JSON; whatever no section took is shown at the end under
//! "Pozostałe dane", so no element of an invoice is ever dropped.

use chrono::NaiveDate;
use ksef_core::Environment;
use ksef_fa::Version;
use serde_json::{Map, Value as Json};

use crate::labels::{self, Label, text};
use crate::links::{self, Certificate, ContextType, LinkError, VerificationCode};
use crate::qr;

mod generic;
mod lines;
mod parties;
mod sections;
mod upo;

pub use generic::polish_number;
pub use upo::upo;
use generic::*;
use lines::*;
use parties::*;
use sections::*;

/// A value as shown: data (never translated) or words from the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text from the invoice, already formatted.
    Data(String),
    /// Words in the visualization's language.
    Words(Label),
}

/// A label and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What it is.
    pub label: Label,
    /// The value.
    pub value: Value,
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its header.
    pub label: Label,
    /// Right-aligned (amounts, quantities).
    pub numeric: bool,
}

/// A table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// One value per column; a single value in a table of several columns spans them all (a sub-heading row of
    /// an attachment table).
    pub cells: Vec<Value>,
    /// A correction's row as it was before (`StanPrzed`), drawn distinctly.
    pub before: bool,
    /// A table's summary row (an attachment table's `Suma`), drawn emphasized.
    pub summary: bool,
}

impl Row {
    /// An ordinary row.
    pub fn plain(cells: Vec<Value>) -> Row {
        Row { cells, before: false, summary: false }
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its columns (only those some row fills).
    pub columns: Vec<Column>,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Label–value pairs.
    Fields(Vec<Field>),
    /// A sub-heading and what is under it.
    Group(Label, Vec<Block>),
    /// Side-by-side columns (seller | buyer).
    Columns(Vec<Vec<Block>>),
    /// A table.
    Table(Table),
    /// Sentences (annotations that apply).
    Notes(Vec<Label>),
    /// A total, emphasized.
    Total(Label, String),
    /// Free text, paragraph by paragraph.
    Paragraphs(Vec<String>),
}

/// A section with its heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading.
    pub heading: Label,
    /// Its content.
    pub blocks: Vec<Block>,
}

/// A verification code block (KOD I or KOD II).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The heading.
    pub heading: Label,
    /// The sentence beside the code.
    pub help: Label,
    /// The link and its caption.
    pub code: VerificationCode,
    /// An English gloss of the caption (the caption itself stays Polish).
    pub gloss: Label,
    /// The QR code.
    pub matrix: qr::Matrix,
}

/// Everything a visualization shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// What the document is: `FA(2)`, `FA(3)` or `UPO`.
    pub document: &'static str,
    /// The invoice kind (or the document's title) in words.
    pub kind: Label,
    /// What `number` is (an invoice number, a session reference).
    pub number_label: Label,
    /// `P_2`.
    pub number: String,
    /// The KSeF number, when known.
    pub ksef_number: Option<String>,
    /// The sections, in the official order.
    pub sections: Vec<Section>,
    /// KOD I, then KOD II when there is one.
    pub codes: Vec<Code>,
    /// `SystemInfo`.
    pub system: Option<String>,
    /// The document's own date (an invoice's issue date, a UPO's first KSeF-number date): what a PDF states as
    /// its date, so identical input gives identical output.
    pub date: Option<NaiveDate>,
}

/// How to build a view.
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// The invoice's KSeF number, when it has one (the KOD I caption).
    pub ksef_number: Option<&'a str>,
    /// The invoice was issued offline: KOD I is captioned `OFFLINE`, and KOD II is added when `certificate` is.
    pub offline: bool,
    /// The QR host's environment (production when `None`).
    pub environment: Option<Environment>,
    /// The issuer's Offline certificate and the context it logs in with, for KOD II.
    pub certificate: Option<(&'a Certificate, ContextType, &'a str)>,
    /// Leave the verification codes out.
    pub without_codes: bool,
}

/// Why an invoice could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// Not well-formed XML, or not an FA(2)/FA(3) invoice.
    #[error("{0}")]
    Invoice(String),
    /// The verification links could not be made.
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// Builds the view of the invoice `xml` (its exact bytes: KOD I hashes them).
pub fn build(xml: &[u8], options: &Options<'_>) -> Result<View, ViewError> {
    let text = std::str::from_utf8(xml).map_err(|_| ViewError::Invoice("the invoice is not UTF-8".to_owned()))?;
    let doc = ksef_core::xml::parse(text).map_err(|e| ViewError::Invoice(format!("not well-formed XML: {e}")))?;
    let version = doc
        .root_element()
        .tag_name()
        .namespace()
        .and_then(Version::from_namespace)
        .ok_or_else(|| ViewError::Invoice("not an FA(2) or FA(3) invoice (root namespace)".to_owned()))?;
    let Json::Object(mut root) = ksef_fa::json::to_json(version.validator().schema(), &doc) else {
        return Err(ViewError::Invoice("the invoice has no content".to_owned()));
    };
    let mut invoice = take_object(&mut root, "invoice");
    let kind_code = str_of(invoice.get("kind")).unwrap_or("VAT").to_owned();
    let collective = invoice.contains_key("correctedPeriod") && kind_code == "KOR";
    // A collective discount's period belongs to its "Rabat" block, in place of the line table.
    let corrected_period = if collective { take_str(&mut invoice, "correctedPeriod") } else { None };
    let number = take_str(&mut invoice, "number").unwrap_or_default();
    let currency = str_of(invoice.get("currency")).unwrap_or_default().to_owned();
    invoice.remove("kind");
    let seller_nip = root.get("seller").and_then(|s| s.get("identification")).and_then(|i| str_of(i.get("nip"))).unwrap_or_default().to_owned();
    let issue_date = str_of(invoice.get("issueDate")).and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());

    let mut header = take_object(&mut root, "header");
    let system = take_str(&mut header, "system");
    let mut sections = Vec::new();
    sections.extend(correction_section(&mut invoice));
    sections.push(parties_section(&mut root, &mut invoice));
    sections.push(details_section(&mut invoice, &kind_code));
    sections.extend(lines_section(&mut invoice, &kind_code, &currency, corrected_period));
    sections.extend(order_section(&mut invoice, &currency));
    sections.extend(vat_summary_section(&mut invoice));
    sections.extend(annotations_section(&mut invoice));
    sections.extend(additional_section(&mut invoice));
    sections.extend(settlement_section(&mut invoice, &currency));
    sections.extend(payment_section(&mut invoice));
    sections.extend(generic_section(text::TRANSACTION, &mut invoice, &["transactionTerms"]));
    sections.extend(footer_section(&mut root));
    sections.extend(attachment_section(&mut root));
    // Whatever no section showed.
    header.retain(|k, _| !matches!(k.as_str(), "formCode" | "formVariant" | "createdAt"));
    let mut rest = Map::new();
    for (key, value) in [("header", header), ("invoice", invoice)] {
        if !value.is_empty() {
            rest.insert(key.to_owned(), Json::Object(value));
        }
    }
    rest.extend(root);
    if !rest.is_empty() {
        sections.push(Section { heading: text::OTHER_DATA, blocks: generic(&rest) });
    }
    for section in &mut sections {
        section.blocks = merge_fields(std::mem::take(&mut section.blocks));
    }

    let mut codes = Vec::new();
    if !options.without_codes {
        let env = options.environment.unwrap_or(Environment::Production);
        let date = issue_date.ok_or_else(|| ViewError::Invoice("the invoice has no issue date (P_1)".to_owned()))?;
        let hash = links::invoice_hash(xml);
        let ksef_number = if options.offline { None } else { options.ksef_number };
        let kod1 = links::kod1(env, &seller_nip, date, &hash, ksef_number)?;
        let gloss = if ksef_number.is_none() { text::OFFLINE_GLOSS } else { Label::new("", "") };
        codes.push(code(text::KOD1_HEADING, text::KOD1_HELP, kod1, gloss));
        if let (true, Some((certificate, context_type, context))) = (options.offline, options.certificate) {
            let kod2 = links::kod2(env, (context_type, context), &seller_nip, &hash, certificate)?;
            codes.push(code(text::KOD2_HEADING, text::KOD2_HELP, kod2, text::CERTIFICATE_GLOSS));
        }
    }
    Ok(View {
        document: version.name(),
        kind: labels::kind(&kind_code, collective),
        number_label: text::INVOICE_NUMBER,
        number,
        ksef_number: options.ksef_number.filter(|_| !options.offline).map(str::to_owned),
        sections,
        codes,
        system,
        date: issue_date,
    })
}

fn code(heading: Label, help: Label, code: VerificationCode, gloss: Label) -> Code {
    let matrix = qr::matrix(&code.link).expect("verification links fit in a QR code");
    Code { heading, help, code, gloss, matrix }
}

/// Adjacent label–value blocks as one, so their values line up and no gap falls between them.
fn merge_fields(blocks: Vec<Block>) -> Vec<Block> {
    let mut merged: Vec<Block> = Vec::with_capacity(blocks.len());
    for block in blocks {
        let block = match block {
            Block::Group(heading, inner) => Block::Group(heading, merge_fields(inner)),
            Block::Columns(columns) => Block::Columns(columns.into_iter().map(merge_fields).collect()),
            Block::Fields(fields) if fields.is_empty() => continue,
            other => other,
        };
        match (merged.last_mut(), block) {
            (Some(Block::Fields(previous)), Block::Fields(fields)) => previous.extend(fields),
            (_, block) => merged.push(block),
        }
    }
    merged
}
