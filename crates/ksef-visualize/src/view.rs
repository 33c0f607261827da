//! The view model: what a visualization shows, in the official section order, with labels in both languages
//! and data formatted once (Polish numbers, `20 000,00`), so the HTML and PDF renderers only lay it out.
//!
//! It is built from the invoice's JSON form (`ksef_fa::json`, readable names, the same for FA(2) and FA(3)).
//! Each section takes the fields it shows out of that JSON; whatever no section took is shown at the end under
//! "Pozostałe dane", so no element of an invoice is ever dropped.

use chrono::NaiveDate;
use ksef_fa::Version;
use serde_json::{Map, Value as Json};

use crate::labels::{self, Label, text};
use crate::links::{self, Certificate, ContextType, Environment, LinkError, VerificationCode};
use crate::qr;

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
    let parsing = roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(text, parsing).map_err(|e| ViewError::Invoice(format!("not well-formed XML: {e}")))?;
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

/// Builds the view of a UPO (v4-2 or v4-3, per invoice or per session page): who received what, and the table of
/// documents with their KSeF numbers and hashes.
pub fn upo(xml: &[u8]) -> Result<View, ViewError> {
    let text = std::str::from_utf8(xml).map_err(|_| ViewError::Invoice("the UPO is not UTF-8".to_owned()))?;
    let parsing = roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(text, parsing).map_err(|e| ViewError::Invoice(format!("not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Potwierdzenie" || !root.tag_name().namespace().is_some_and(|ns| ns.starts_with("http://upo.schematy.mf.gov.pl/KSeF/")) {
        return Err(ViewError::Invoice("not a KSeF UPO (Potwierdzenie in the UPO namespace)".to_owned()));
    }
    fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        node.children().find(|c| c.tag_name().name() == name)
    }
    fn text_of(node: Option<roxmltree::Node<'_, '_>>) -> String {
        node.and_then(|n| n.text()).map(|t| t.trim().to_owned()).unwrap_or_default()
    }
    let field = |pl: &'static str, en: &'static str, value: String| Field { label: Label::new(pl, en), value: Value::Data(value) };
    let mut fields = vec![field("Nazwa pełna podmiotu, któremu doręczono dokument elektroniczny", "Entity the document was delivered to", text_of(child(root, "NazwaPodmiotuPrzyjmujacego")))];
    let reference = text_of(child(root, "NumerReferencyjnySesji"));
    fields.push(field("Numer referencyjny sesji", "Session reference number", reference.clone()));
    if let Some(auth) = child(root, "Uwierzytelnienie") {
        if let Some(context) = child(auth, "IdKontekstu").and_then(|c| c.children().find(roxmltree::Node::is_element)) {
            fields.push(field("Typ kontekstu", "Context type", context.tag_name().name().to_owned()));
            fields.push(field("Identyfikator kontekstu uwierzytelnienia", "Authentication context", text_of(Some(context))));
        }
        fields.push(field("Skrót dokumentu uwierzytelniającego", "Hash of the authentication document", text_of(child(auth, "SkrotDokumentuUwierzytelniajacego"))));
    }
    if let Some(description) = child(root, "OpisPotwierdzenia") {
        let of = |n: &str| text_of(child(description, n));
        fields.push(field("Strona dokumentu UPO / Całkowita liczba stron", "UPO page / pages", format!("{} / {}", of("Strona"), of("LiczbaStron"))));
        fields.push(field("Zakres dokumentów od / do", "Documents from / to", format!("{} / {}", of("ZakresDokumentowOd"), of("ZakresDokumentowDo"))));
        fields.push(field("Całkowita liczba dokumentów", "Number of documents", of("CalkowitaLiczbaDokumentow")));
    }
    fields.push(field("Nazwa pliku XSD struktury logicznej", "Schema file", text_of(child(root, "NazwaStrukturyLogicznej"))));
    fields.push(field("Kod formularza", "Form code", text_of(child(root, "KodFormularza"))));
    fields.retain(|f| f.value != Value::Data(String::new()));
    let columns: Vec<(&str, Label, bool)> = vec![
        ("NumerKSeFDokumentu", Label::new("Numer identyfikujący fakturę w KSeF", "KSeF number"), false),
        ("NumerFaktury", Label::new("Numer faktury", "Invoice number"), false),
        ("NipSprzedawcy", Label::new("NIP sprzedawcy", "Seller NIP"), false),
        ("DataWystawieniaFaktury", Label::new("Data wystawienia faktury", "Issue date"), false),
        ("DataPrzeslaniaDokumentu", Label::new("Data przesłania do KSeF", "Sent to KSeF"), false),
        ("DataNadaniaNumeruKSeF", Label::new("Data nadania numeru KSeF", "KSeF number assigned"), false),
        ("SkrotDokumentu", Label::new("Wartość funkcji skrótu złożonego dokumentu", "Document hash (SHA-256)"), false),
        ("TrybWysylki", Label::new("Tryb wysyłki", "Mode"), false),
    ];
    let rows: Vec<Row> = root
        .children()
        .filter(|c| c.tag_name().name() == "Dokument")
        .enumerate()
        .map(|(i, d)| {
            let mut cells = vec![Value::Data((i + 1).to_string())];
            cells.extend(columns.iter().map(|(name, ..)| Value::Data(text_of(child(d, name)))));
            Row::plain(cells)
        })
        .collect();
    let mut table_columns = vec![Column { label: text::NO, numeric: false }];
    table_columns.extend(columns.into_iter().map(|(_, label, numeric)| Column { label, numeric }));
    let sections = vec![
        Section { heading: Label::new("Informacja o dokumencie", "About the document"), blocks: vec![
            Block::Paragraphs(vec!["Dokument został zarejestrowany w systemie teleinformatycznym Ministerstwa Finansów".to_owned()]),
            Block::Fields(fields),
        ] },
        Section { heading: Label::new("Dokumenty", "Documents"), blocks: vec![Block::Table(Table { columns: table_columns, rows })] },
    ];
    Ok(View {
        document: "UPO",
        kind: Label::new("Urzędowe poświadczenie odbioru dokumentu elektronicznego KSeF", "Official acknowledgement of receipt (UPO)"),
        number_label: Label::new("Numer referencyjny sesji", "Session reference number"),
        number: reference,
        ksef_number: None,
        sections,
        codes: Vec::new(),
        system: None,
        date: root
            .descendants()
            .find(|n| n.tag_name().name() == "DataNadaniaNumeruKSeF" || n.tag_name().name() == "DataPrzeslaniaDokumentu")
            .and_then(|n| n.text())
            .and_then(|t| NaiveDate::parse_from_str(t.trim().get(..10)?, "%Y-%m-%d").ok()),
    })
}

fn code(heading: Label, help: Label, code: VerificationCode, gloss: Label) -> Code {
    let matrix = qr::matrix(&code.link).expect("verification links fit in a QR code");
    Code { heading, help, code, gloss, matrix }
}

// --- Sections -------------------------------------------------------------------------------------------------

fn correction_section(invoice: &mut Map<String, Json>) -> Option<Section> {
    let mut fields = Vec::new();
    if let Some(reason) = take_str(invoice, "correctionReason") {
        fields.push(data_field("correctionReason", reason));
    }
    if let Some(kind) = take_str(invoice, "correctionType") {
        fields.push(Field { label: field_label("correctionType"), value: words_or_data(labels::correction_type(&kind), kind) });
    }
    let mut blocks = Vec::new();
    if !fields.is_empty() {
        blocks.push(Block::Fields(fields));
    }
    for key in ["correctedPeriod", "correctNumber", "totalBefore", "advanceExchangeRateBefore"] {
        if let Some(value) = take_str(invoice, key) {
            blocks.push(Block::Fields(vec![data_field(key, format_value(key, &value))]));
        }
    }
    // Each corrected invoice: its issue date, number and KSeF number (or "outside KSeF"), and anything else.
    const KEYS: [&str; 3] = ["issueDate", "number", "ksefNumber"];
    let mut identified: Vec<_> = take_array(invoice, "correctedInvoices")
        .into_iter()
        .map(|item| {
            let mut item = item.as_object().cloned().unwrap_or_default();
            let mut values = KEYS.map(|key| take_str(&mut item, key).map(Value::Data));
            if take_str(&mut item, "outsideKsef").is_some() {
                values[2] = Some(Value::Words(text::OUTSIDE_KSEF));
            }
            item.remove("inKsef");
            (values, item)
        })
        .collect();
    if identified.len() > 2 {
        // Many corrected invoices (a collective discount): one row each, so none is squeezed into a narrow column.
        let mut columns = vec![Column { label: text::NO, numeric: false }];
        columns.extend(KEYS.map(|k| Column { label: field_label(k), numeric: false }));
        let rows = identified
            .iter()
            .enumerate()
            .map(|(i, (values, _))| {
                let mut cells = vec![Value::Data((i + 1).to_string())];
                cells.extend(values.iter().map(|v| v.clone().unwrap_or_else(|| Value::Data(String::new()))));
                Row::plain(cells)
            })
            .collect();
        blocks.push(Block::Group(text::CORRECTED_N, vec![Block::Table(Table { columns, rows })]));
        for (i, (_, rest)) in identified.iter().enumerate() {
            if !rest.is_empty() {
                blocks.push(Block::Group(text::CORRECTED_N.numbered(i + 1), generic(rest)));
            }
        }
    } else {
        let numbered = identified.len() > 1;
        let columns: Vec<Vec<Block>> = identified
            .drain(..)
            .enumerate()
            .map(|(i, (values, rest))| {
                let fields = KEYS.iter().zip(values).filter_map(|(k, v)| Some(Field { label: field_label(k), value: v? })).collect();
                let mut blocks = vec![Block::Fields(fields)];
                blocks.extend(generic(&rest));
                vec![Block::Group(if numbered { text::CORRECTED_N.numbered(i + 1) } else { text::CORRECTED_N }, blocks)]
            })
            .collect();
        match columns.len() {
            0 => {}
            // One corrected invoice reads best at full width, its values in line with the reason's.
            1 => blocks.extend(columns.into_iter().flatten()),
            _ => blocks.push(Block::Columns(columns)),
        }
    }
    (!blocks.is_empty()).then_some(Section { heading: text::CORRECTED, blocks })
}

/// A party: who it is (identifiers, name, and for Podmiot3 its role and share), then address, contacts, and the
/// rest in the official order (customer number, buyer id, taxpayer status, JST, GV).
/// `roles` reads its `Rola` (Podmiot3's and PodmiotUpowazniony's lists differ).
fn party(mut party: Map<String, Json>, roles: fn(&str) -> Option<Label>) -> Vec<Block> {
    let mut fields = Vec::new();
    for key in ["vatPrefix", "eori"] {
        if let Some(v) = take_str(&mut party, key) {
            fields.push(data_field(key, v));
        }
    }
    let mut identification = take_object(&mut party, "identification");
    for key in ["nip", "internalId", "euCountryCode", "euVatNumber", "countryCode", "taxId", "name"] {
        if let Some(v) = take_str(&mut identification, key) {
            fields.push(data_field(key, v));
        }
    }
    if take_str(&mut identification, "noTaxId").is_some() {
        fields.push(Field { label: field_label("noTaxId"), value: Value::Words(text::YES) });
    }
    if let Some(role) = take_str(&mut party, "role") {
        fields.push(Field { label: field_label("role"), value: words_or_data(roles(&role), role) });
    }
    if take_str(&mut party, "otherRole").is_some() {
        let description = take_str(&mut party, "otherRoleDescription").unwrap_or_default();
        fields.push(Field { label: field_label("otherRole"), value: Value::Data(description) });
    }
    if let Some(share) = take_str(&mut party, "share") {
        fields.push(data_field("share", format!("{} %", polish_number(&share, false))));
    }
    let mut blocks = vec![Block::Fields(fields)];
    blocks.extend(generic(&identification));
    for (key, heading) in [("address", text::ADDRESS), ("correspondenceAddress", text::CORRESPONDENCE), ("carrierAddress", text::ADDRESS)] {
        let mut address = take_object(&mut party, key);
        if address.is_empty() {
            continue;
        }
        let mut lines: Vec<Field> = ["line1", "line2"].iter().filter_map(|k| take_str(&mut address, k)).map(|v| Field { label: Label::new("", ""), value: Value::Data(v) }).collect();
        if let Some(country) = take_str(&mut address, "countryCode") {
            lines.push(Field { label: field_label("countryCode"), value: words_or_data(labels::country(&country), country) });
        }
        let mut group = vec![Block::Fields(lines)];
        group.extend(generic(&address));
        blocks.push(Block::Group(heading, group));
    }
    let contacts = take_array(&mut party, "contacts");
    if !contacts.is_empty() {
        let mut fields = Vec::new();
        for contact in &contacts {
            for key in ["email", "phone"] {
                if let Some(v) = str_of(contact.get(key)) {
                    fields.push(data_field(key, v.to_owned()));
                }
            }
        }
        blocks.push(Block::Group(text::CONTACT, vec![Block::Fields(fields)]));
    }
    let mut more = Vec::new();
    for key in ["customerNumber", "buyerId"] {
        if let Some(v) = take_str(&mut party, key) {
            more.push(data_field(key, v));
        }
    }
    if let Some(status) = take_str(&mut party, "taxpayerStatus") {
        more.push(Field { label: field_label("taxpayerStatus"), value: words_or_data(labels::taxpayer_status(&status), status) });
    }
    for key in ["localGovernmentUnit", "vatGroupMember"] {
        if let Some(flag) = take_str(&mut party, key) {
            let yes_no = if flag == "1" { text::YES } else { text::NO_WORD };
            more.push(Field { label: field_label(key), value: Value::Words(yes_no) });
        }
    }
    if !more.is_empty() {
        blocks.push(Block::Fields(more));
    }
    blocks.extend(generic(&party));
    blocks
}

fn parties_section(root: &mut Map<String, Json>, invoice: &mut Map<String, Json>) -> Section {
    let mut blocks = Vec::new();
    let seller = take_object(root, "seller");
    let buyer = take_object(root, "buyer");
    let seller_before = take_object(invoice, "sellerBefore");
    let buyers_before = take_array(invoice, "buyersBefore");
    if seller_before.is_empty() && buyers_before.is_empty() {
        blocks.push(Block::Columns(vec![vec![Block::Group(text::SELLER, party(seller, labels::party_role))], vec![Block::Group(text::BUYER, party(buyer, labels::party_role))]]));
    } else {
        // A correction of party data: each party's data after beside its data before, seller above buyer, both
        // at half width so their values line up.
        let (seller_heading, seller_side) = if seller_before.is_empty() {
            (text::SELLER, Vec::new())
        } else {
            (text::SELLER_AFTER, vec![Block::Group(text::SELLER_BEFORE, party(seller_before, labels::party_role))])
        };
        blocks.push(Block::Columns(vec![vec![Block::Group(seller_heading, party(seller, labels::party_role))], seller_side]));
        let before: Vec<Block> = buyers_before
            .into_iter()
            .map(|b| Block::Group(text::BUYER_BEFORE, party(b.as_object().cloned().unwrap_or_default(), labels::party_role)))
            .collect();
        let buyer_heading = if before.is_empty() { text::BUYER } else { text::BUYER_AFTER };
        blocks.push(Block::Columns(vec![vec![Block::Group(buyer_heading, party(buyer, labels::party_role))], before]));
    }
    // Other parties, then the authorised one, two to a row like seller and buyer.
    let others = take_array(root, "otherParties");
    let numbered = others.len() > 1;
    let mut groups: Vec<Block> = others
        .into_iter()
        .enumerate()
        .map(|(i, other)| {
            let heading = if numbered { text::OTHER_PARTY.numbered(i + 1) } else { text::OTHER_PARTY };
            Block::Group(heading, party(other.as_object().cloned().unwrap_or_default(), labels::party_role))
        })
        .collect();
    for authorized in take_array(root, "authorizedParty") {
        groups.push(Block::Group(text::AUTHORIZED_PARTY, party(authorized.as_object().cloned().unwrap_or_default(), labels::authorized_role)));
    }
    let mut groups = groups.into_iter();
    while let Some(first) = groups.next() {
        let mut row = vec![vec![first]];
        row.push(groups.next().into_iter().collect());
        blocks.push(Block::Columns(row));
    }
    Section { heading: Label::new("Podmioty", "Parties"), blocks }
}

fn details_section(invoice: &mut Map<String, Json>, kind: &str) -> Section {
    let mut fields = Vec::new();
    if let Some(date) = take_str(invoice, "issueDate") {
        fields.push(Field { label: text::ISSUE_DATE_LEGAL, value: Value::Data(date) });
    }
    if let Some(place) = take_str(invoice, "placeOfIssue") {
        fields.push(data_field("placeOfIssue", place));
    }
    if let Some(date) = take_str(invoice, "supplyDate") {
        // On an advance invoice P_6 is the day the payment came in (art. 106b ust. 1 pkt 4).
        let label = if matches!(kind, "ZAL" | "KOR_ZAL") { text::PAYMENT_RECEIVED } else { text::SUPPLY_DATE };
        fields.push(Field { label, value: Value::Data(date) });
    }
    let mut period = take_object(invoice, "period");
    if let (Some(from), Some(to)) = (take_str(&mut period, "from"), take_str(&mut period, "to")) {
        fields.push(Field { label: text::SUPPLY_PERIOD, value: Value::Data(format!("{from} – {to}")) });
    }
    if !period.is_empty() {
        invoice.insert("period".to_owned(), Json::Object(period));
    }
    for key in ["currency", "advanceExchangeRate", "warehouseDocuments"] {
        if let Some(v) = take_str(invoice, key) {
            fields.push(data_field(key, v));
        }
    }
    let mut blocks = vec![Block::Fields(fields)];
    for key in ["partialAdvances", "advanceInvoices"] {
        let items = take_array(invoice, key);
        if !items.is_empty() {
            blocks.push(Block::Group(field_label(key), vec![table_of(&items, &[])]));
        }
    }
    Section { heading: text::DETAILS, blocks }
}

/// Line-table columns in the official order: (key, numeric, in the first of two tables). The first table holds
/// what was sold and for how much, the second the identifiers.
const LINE_COLUMNS: &[(&str, bool, bool)] = &[
    ("number", false, true),
    ("uuid", false, true),
    ("name", false, true),
    ("unitNetPrice", true, true),
    ("unitGrossPrice", true, true),
    ("quantity", true, true),
    ("unit", false, true),
    ("discount", true, true),
    ("rate", false, true),
    ("ossRate", false, true),
    ("annex15", false, true),
    ("netAmount", true, true),
    ("grossAmount", true, true),
    ("vatAmount", true, true),
    ("exchangeRate", true, true),
    ("before", false, true),
    ("gtin", false, false),
    ("pkwiu", false, false),
    ("cn", false, false),
    ("pkob", false, false),
    ("exciseAmount", true, false),
    ("gtu", false, false),
    ("procedure", false, false),
    ("supplyDate", false, false),
    ("index", false, false),
];

/// More columns than this and the lines are shown as two tables keyed by Lp. (as the official visualization
/// does), so neither needs a font too small to read.
const MAX_LINE_COLUMNS: usize = 8;

/// The lines as one table, or as two (sale, then identifiers) when they would need more than
/// [`MAX_LINE_COLUMNS`] columns and at least two are identifiers. A column is there only when some line fills it.
fn lines_tables(lines: &[Json]) -> Vec<Table> {
    if lines.is_empty() {
        return Vec::new();
    }
    let present: Vec<(&str, bool, bool)> = LINE_COLUMNS.iter().copied().filter(|(k, ..)| lines.iter().any(|l| l.get(*k).is_some())).collect();
    let mut extra: Vec<String> = Vec::new();
    for line in lines {
        for key in line.as_object().into_iter().flat_map(|o| o.keys()) {
            if !LINE_COLUMNS.iter().any(|(k, ..)| k == key) && !extra.contains(key) {
                extra.push(key.clone());
            }
        }
    }
    let cell = |line: &Json, key: &str| -> Value {
        let v = scalar_text(line.get(key));
        match key {
            "rate" | "ossRate" if !v.is_empty() => Value::Data(labels::rate(&v)),
            "annex15" | "before" if v == "1" => Value::Words(text::YES),
            _ => Value::Data(format_value(key, &v)),
        }
    };
    let table = |keys: &[(&str, bool)], extra: &[String]| -> Table {
        let mut columns: Vec<Column> =
            keys.iter().map(|(k, numeric)| Column { label: if *k == "number" { text::NO } else { field_label(k) }, numeric: *numeric }).collect();
        columns.extend(extra.iter().map(|k| Column { label: field_label(k), numeric: false }));
        let rows = lines
            .iter()
            .map(|line| {
                let mut cells: Vec<Value> = keys.iter().map(|(k, _)| cell(line, k)).collect();
                cells.extend(extra.iter().map(|k| Value::Data(scalar_text(line.get(k)))));
                Row { cells, before: line.get("before").is_some(), summary: false }
            })
            .collect();
        Table { columns, rows }
    };
    let all: Vec<(&str, bool)> = present.iter().map(|(k, n, _)| (*k, *n)).collect();
    // A second table of a single column would stand apart for nothing; such a table stays whole.
    let identifiers = present.iter().filter(|(_, _, first)| !*first).count() + extra.len();
    if all.len() + extra.len() <= MAX_LINE_COLUMNS || identifiers < 2 {
        return vec![table(&all, &extra)];
    }
    let key_column = present.iter().filter(|(k, ..)| *k == "number").map(|(k, n, _)| (*k, *n));
    let first: Vec<(&str, bool)> = present.iter().filter(|(_, _, first)| *first).map(|(k, n, _)| (*k, *n)).collect();
    let second: Vec<(&str, bool)> = key_column.chain(present.iter().filter(|(_, _, first)| !*first).map(|(k, n, _)| (*k, *n))).collect();
    vec![table(&first, &[]), table(&second, &extra)]
}

fn lines_section(invoice: &mut Map<String, Json>, kind: &str, currency: &str, discount_period: Option<String>) -> Option<Section> {
    let lines = take_array(invoice, "lines");
    let total = take_str(invoice, "total");
    if lines.is_empty() && total.is_none() && discount_period.is_none() {
        return None;
    }
    let mut blocks = Vec::new();
    if !currency.is_empty() {
        blocks.push(Block::Fields(vec![Field { label: text::CURRENCY_NOTE, value: Value::Data(currency.to_owned()) }]));
    }
    if let Some(period) = discount_period {
        // A collective discount (art. 106j ust. 3): its lines, if any, only name the goods it covers.
        let mut discount = vec![Block::Fields(vec![
            Field { label: text::DISCOUNT_PERIOD, value: Value::Data(period) },
            Field { label: text::DISCOUNT_ALL, value: Value::Words(if lines.is_empty() { text::YES } else { text::NO_WORD }) },
        ])];
        if !lines.is_empty() {
            discount.push(Block::Group(text::DISCOUNT_GOODS, lines_tables(&lines).into_iter().map(Block::Table).collect()));
        }
        blocks.push(Block::Group(text::DISCOUNT, discount));
    } else if !lines.is_empty() {
        blocks.extend(lines_tables(&lines).into_iter().map(Block::Table));
    }
    if let Some(total) = total {
        let label = match kind {
            "KOR" | "KOR_ROZ" | "KOR_ZAL" => text::TOTAL_CORRECTION,
            "ROZ" => text::TOTAL_REMAINING,
            _ => text::TOTAL_DUE,
        };
        blocks.push(Block::Total(label, with_currency(&total, currency)));
    }
    Some(Section { heading: text::LINES, blocks })
}

/// `1234.5` and `PLN` as `1 234,50 PLN`.
fn with_currency(amount: &str, currency: &str) -> String {
    format!("{} {currency}", polish_number(amount, true)).trim_end().to_owned()
}

fn order_section(invoice: &mut Map<String, Json>, currency: &str) -> Option<Section> {
    let mut order = take_object(invoice, "order");
    if order.is_empty() {
        return None;
    }
    let lines = take_array(&mut order, "lines");
    let mut blocks: Vec<Block> = lines_tables(&lines).into_iter().map(Block::Table).collect();
    if let Some(value) = take_str(&mut order, "value") {
        blocks.push(Block::Total(text::ORDER_VALUE, with_currency(&value, currency)));
    }
    blocks.extend(generic(&order));
    Some(Section { heading: text::ORDER, blocks })
}

/// A VAT summary row: net key, VAT key, VAT-in-PLN key, the rate in Polish and in English.
type SummaryRow = (&'static str, Option<&'static str>, Option<&'static str>, &'static str, &'static str);

/// The VAT summary's rows, in the official order.
const SUMMARY: &[SummaryRow] = &[
    ("net23", Some("vat23"), Some("vat23Pln"), "23% lub 22%", "23% or 22%"),
    ("net8", Some("vat8"), Some("vat8Pln"), "8% lub 7%", "8% or 7%"),
    ("net5", Some("vat5"), Some("vat5Pln"), "5%", "5%"),
    ("netTaxi", Some("vatTaxi"), Some("vatTaxiPln"), "4% lub 3%", "4% or 3%"),
    ("netOss", Some("vatOss"), None, "OSS", "OSS"),
    ("net0Domestic", None, None, "0% - krajowe", "0% – domestic"),
    ("net0IntraEu", None, None, "0% - wdt", "0% – intra-EU supply"),
    ("net0Export", None, None, "0% - eksport", "0% – export"),
    ("netExempt", None, None, "zwolnione od podatku", "exempt"),
    ("netOutsidePoland", None, None, "np z wyłączeniem art. 100 ust 1 pkt 4 ustawy", "not taxable in Poland"),
    ("netEuServices", None, None, "np na podstawie art. 100 ust. 1 pkt 4 ustawy", "not taxable, art. 100(1)(4)"),
    ("netReverseCharge", None, None, "odwrotne obciążenie", "reverse charge"),
    ("netMargin", None, None, "marża", "margin scheme"),
];

fn vat_summary_section(invoice: &mut Map<String, Json>) -> Option<Section> {
    let mut rows = Vec::new();
    let mut with_pln = false;
    for (net_key, vat_key, pln_key, pl, en) in SUMMARY {
        let net = take_str(invoice, net_key);
        let vat = vat_key.and_then(|k| take_str(invoice, k));
        let pln = pln_key.and_then(|k| take_str(invoice, k));
        let Some(net) = net else {
            continue;
        };
        with_pln |= pln.is_some();
        let gross = match (ksef_fa::Amount::parse(net.trim()), vat.as_deref().map(|v| ksef_fa::Amount::parse(v.trim()))) {
            (Some(n), Some(Some(v))) => (n + v).to_string(),
            (Some(n), None) => n.to_string(),
            _ => String::new(),
        };
        rows.push((Label::new(pl, en), net, vat.unwrap_or_default(), gross, pln.unwrap_or_default()));
    }
    if rows.is_empty() {
        return None;
    }
    let mut columns = vec![
        Column { label: text::NO, numeric: false },
        Column { label: text::RATE, numeric: false },
        Column { label: text::NET, numeric: true },
        Column { label: text::TAX, numeric: true },
        Column { label: text::GROSS, numeric: true },
    ];
    if with_pln {
        columns.push(Column { label: text::TAX_PLN, numeric: true });
    }
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, (rate, net, vat, gross, pln))| {
            let mut cells = vec![
                Value::Data((i + 1).to_string()),
                Value::Words(rate),
                Value::Data(polish_number(&net, true)),
                Value::Data(polish_number(&vat, true)),
                Value::Data(polish_number(&gross, true)),
            ];
            if with_pln {
                cells.push(Value::Data(polish_number(&pln, true)));
            }
            Row::plain(cells)
        })
        .collect();
    Some(Section { heading: text::VAT_SUMMARY, blocks: vec![Block::Table(Table { columns, rows })] })
}

fn annotations_section(invoice: &mut Map<String, Json>) -> Option<Section> {
    let mut annotations = take_object(invoice, "annotations");
    if annotations.is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    let mut blocks = Vec::new();
    for key in ["cashAccounting", "selfBilling", "reverseCharge", "splitPayment", "triangular"] {
        if take_str(&mut annotations, key).as_deref() == Some("1") {
            notes.push(field_label(key));
        }
    }
    let mut exemption = take_object(&mut annotations, "exemption");
    if take_str(&mut exemption, "exempt").as_deref() == Some("1") {
        notes.push(Label::new(
            "Dostawa towarów lub świadczenie usług zwolnionych od podatku na podstawie art. 43 ust. 1, art. 113 ust. 1 i 9 albo przepisów wydanych na podstawie art. 82 ust. 3 lub na podstawie innych przepisów",
            "Supply of goods or services exempt from VAT (art. 43(1), art. 113(1) and (9) of the VAT Act, or other provisions)",
        ));
        let mut fields = Vec::new();
        for key in ["polishBasis", "directiveBasis", "otherBasis"] {
            if let Some(v) = take_str(&mut exemption, key) {
                fields.push(data_field(key, v));
            }
        }
        blocks.push(Block::Fields(fields));
    }
    exemption.remove("notExempt");
    let mut transport = take_object(&mut annotations, "newMeansOfTransport");
    if take_str(&mut transport, "supplied").as_deref() == Some("1") {
        notes.push(field_label("supplied"));
        if take_str(&mut transport, "art42_5").as_deref() == Some("1") {
            notes.push(Label::new(
                "Obowiązek, o którym mowa w art. 42 ust. 5 ustawy (VAT-22)",
                "The obligation under art. 42(5) of the VAT Act (VAT-22)",
            ));
        }
        let vehicles = take_array(&mut transport, "vehicles");
        if !vehicles.is_empty() {
            blocks.push(table_of(&vehicles, &[]));
        }
    }
    transport.remove("notSupplied");
    let mut margin = take_object(&mut annotations, "margin");
    if take_str(&mut margin, "applies").as_deref() == Some("1") {
        for key in ["travelAgency", "usedGoods", "worksOfArt", "antiques"] {
            if take_str(&mut margin, key).as_deref() == Some("1") {
                let l = field_label(key);
                notes.push(Label::owned(format!("Procedura marży – {}", l.pl), format!("Margin scheme – {}", l.en)));
            }
        }
    }
    margin.remove("notApplicable");
    // Anything left (an element a later schema adds) is shown rather than dropped.
    for (key, rest) in [("exemption", exemption), ("newMeansOfTransport", transport), ("margin", margin)] {
        if !rest.is_empty() {
            annotations.insert(key.to_owned(), Json::Object(rest));
        }
    }
    blocks.extend(generic(&annotations));
    if !notes.is_empty() {
        blocks.insert(0, Block::Notes(notes));
    }
    (!blocks.is_empty()).then_some(Section { heading: text::ANNOTATIONS, blocks })
}

/// `Dodatkowe informacje`: the TP, FP and excise-refund statements, then `DodatkowyOpis` as the official table
/// (Lp., Numer wiersza, Rodzaj informacji, Treść informacji).
fn additional_section(invoice: &mut Map<String, Json>) -> Option<Section> {
    let mut section = generic_section(text::ADDITIONAL, invoice, &["relatedParties", "receiptInvoice", "exciseRefund"]);
    let items = take_array(invoice, "additionalInfo");
    if items.is_empty() {
        return section;
    }
    let with_line = items.iter().any(|i| i.get("lineNumber").is_some());
    let mut columns = vec![Column { label: text::NO, numeric: false }];
    if with_line {
        columns.push(Column { label: field_label("lineNumber"), numeric: false });
    }
    columns.push(Column { label: field_label("key"), numeric: false });
    columns.push(Column { label: text::INFO_CONTENT, numeric: false });
    let rows = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut cells = vec![Value::Data((i + 1).to_string())];
            if with_line {
                cells.push(Value::Data(scalar_text(item.get("lineNumber"))));
            }
            cells.push(Value::Data(scalar_text(item.get("key"))));
            cells.push(Value::Data(scalar_text(item.get("value"))));
            Row::plain(cells)
        })
        .collect();
    let table = Block::Group(field_label("additionalInfo"), vec![Block::Table(Table { columns, rows })]);
    match &mut section {
        Some(section) => section.blocks.push(table),
        None => section = Some(Section { heading: text::ADDITIONAL, blocks: vec![table] }),
    }
    section
}

/// `Rozliczenie`: the charges and deductions (reason, amount), their sums, then what is to pay or to settle.
fn settlement_section(invoice: &mut Map<String, Json>, currency: &str) -> Option<Section> {
    let mut settlement = take_object(invoice, "settlement");
    if settlement.is_empty() {
        return None;
    }
    let mut blocks = Vec::new();
    for key in ["charges", "deductions"] {
        let items = take_array(&mut settlement, key);
        if !items.is_empty() {
            blocks.push(Block::Group(field_label(key), vec![table_of(&items, &["reason", "amount"])]));
        }
    }
    let sums: Vec<Field> = ["chargesTotal", "deductionsTotal"]
        .iter()
        .filter_map(|k| take_str(&mut settlement, k).map(|v| data_field(k, with_currency(&v, currency))))
        .collect();
    if !sums.is_empty() {
        blocks.push(Block::Fields(sums));
    }
    for (key, label) in [("toPay", text::TO_PAY), ("toSettle", text::TO_SETTLE)] {
        if let Some(v) = take_str(&mut settlement, key) {
            blocks.push(Block::Total(label, with_currency(&v, currency)));
        }
    }
    blocks.extend(generic(&settlement));
    Some(Section { heading: text::SETTLEMENT, blocks })
}

fn payment_section(invoice: &mut Map<String, Json>) -> Option<Section> {
    let mut payment = take_object(invoice, "payment");
    if payment.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    if take_str(&mut payment, "paid").as_deref() == Some("1") {
        fields.push(Field { label: Label::new("Informacja o płatności", "Payment status"), value: Value::Words(Label::new("Zapłacono", "Paid")) });
    }
    if take_str(&mut payment, "partialPayment").is_some() {
        fields.push(Field { label: Label::new("Informacja o płatności", "Payment status"), value: Value::Words(Label::new("Zapłata częściowa", "Partly paid")) });
    }
    if let Some(date) = take_str(&mut payment, "paymentDate") {
        fields.push(data_field("paymentDate", date));
    }
    if let Some(method) = take_str(&mut payment, "method") {
        fields.push(Field { label: field_label("method"), value: words_or_data(labels::payment_method(&method), method) });
    }
    if take_str(&mut payment, "otherMethod").is_some() {
        let description = take_str(&mut payment, "otherMethodDescription").unwrap_or_default();
        fields.push(Field { label: field_label("method"), value: Value::Data(format!("Płatność inna: {description}")) });
    }
    for key in ["paymentLink", "ipKsef"] {
        if let Some(v) = take_str(&mut payment, key) {
            fields.push(data_field(key, v));
        }
    }
    let mut blocks = vec![Block::Fields(fields)];
    let partial = take_array(&mut payment, "partialPayments");
    if !partial.is_empty() {
        blocks.push(Block::Group(field_label("partialPayments"), vec![table_of(&partial, &[])]));
    }
    let terms = take_array(&mut payment, "terms");
    if !terms.is_empty() {
        let rows: Vec<Field> = terms
            .iter()
            .map(|t| {
                let mut value = str_of(t.get("date")).unwrap_or_default().to_owned();
                if let Some(d) = t.get("description").and_then(Json::as_object) {
                    let words: Vec<String> = ["count", "unit", "startingEvent"].iter().filter_map(|k| str_of(d.get(*k))).map(str::to_owned).collect();
                    value = format!("{value} {}", words.join(" ")).trim().to_owned();
                }
                Field { label: field_label("terms"), value: Value::Data(value) }
            })
            .collect();
        blocks.push(Block::Fields(rows));
    }
    for key in ["bankAccounts", "factorBankAccounts"] {
        for account in take_array(&mut payment, key) {
            let mut account = account.as_object().cloned().unwrap_or_default();
            let mut fields = Vec::new();
            for k in ["number", "swift", "bankOwnAccount", "bankName", "description"] {
                if let Some(v) = take_str(&mut account, k) {
                    let (label, value) = match k {
                        "number" => (text::ACCOUNT_NUMBER, Value::Data(account_number(&v))),
                        "description" => (text::ACCOUNT_DESCRIPTION, Value::Data(v)),
                        "bankOwnAccount" => (field_label(k), words_or_data(labels::bank_own_account(&v), v)),
                        _ => (field_label(k), Value::Data(v)),
                    };
                    fields.push(Field { label, value });
                }
            }
            let mut group = vec![Block::Fields(fields)];
            group.extend(generic(&account));
            blocks.push(Block::Group(field_label(key), group));
        }
    }
    blocks.extend(generic(&payment));
    Some(Section { heading: text::PAYMENT, blocks })
}

/// A Polish account number (NRB, 26 digits, optionally as an IBAN with `PL`) grouped as banks print it:
/// `61 1090 1014 0000 0712 1981 2874`. Anything else is shown as given.
fn account_number(number: &str) -> String {
    let (country, digits) = number.strip_prefix("PL").map_or(("", number), |rest| ("PL", rest));
    if digits.len() != 26 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return number.to_owned();
    }
    let mut out = format!("{country}{}", &digits[..2]);
    for chunk in digits.as_bytes()[2..].chunks(4) {
        out.push(' ');
        out.push_str(std::str::from_utf8(chunk).expect("ASCII digits"));
    }
    out
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

fn footer_section(root: &mut Map<String, Json>) -> Option<Section> {
    let mut footer = take_object(root, "footer");
    if footer.is_empty() {
        return None;
    }
    let mut blocks = Vec::new();
    let registers = take_array(&mut footer, "registers");
    if !registers.is_empty() {
        blocks.push(Block::Group(field_label("registers"), vec![table_of(&registers, &["fullName", "krs", "regon", "bdo"])]));
    }
    let notes = take_array(&mut footer, "notes");
    let texts: Vec<String> = notes.iter().filter_map(|n| str_of(n.get("text"))).map(str::to_owned).collect();
    if !texts.is_empty() {
        blocks.push(Block::Group(field_label("notes"), vec![Block::Paragraphs(texts)]));
    }
    blocks.extend(generic(&footer));
    Some(Section { heading: text::FOOTER, blocks })
}

/// The attachment (`Zalacznik`): each data block with its title, metadata, text and tables laid out as tables
/// (column headers, rows, the table's total row).
fn attachment_section(root: &mut Map<String, Json>) -> Option<Section> {
    let mut attachment = take_object(root, "attachment");
    if attachment.is_empty() {
        return None;
    }
    let mut blocks = Vec::new();
    for (i, data_block) in take_array(&mut attachment, "dataBlocks").into_iter().enumerate() {
        let mut data_block = data_block.as_object().cloned().unwrap_or_default();
        let heading = take_str(&mut data_block, "title").map_or_else(|| field_label("dataBlocks").numbered(i + 1), |t| Label::owned(t.clone(), t));
        let mut inner = Vec::new();
        inner.extend(key_values(take_array(&mut data_block, "metadata")));
        let mut text = take_object(&mut data_block, "text");
        let paragraphs: Vec<String> = take_array(&mut text, "paragraphs").iter().map(|p| scalar_text(Some(p))).collect();
        if !paragraphs.is_empty() {
            inner.push(Block::Paragraphs(paragraphs));
        }
        inner.extend(generic(&text));
        for table in take_array(&mut data_block, "tables") {
            let mut table = table.as_object().cloned().unwrap_or_default();
            // The table's description is its caption; its metadata belongs under it, not to the table before.
            let caption = take_str(&mut table, "description");
            let mut parts: Vec<Block> = key_values(take_array(&mut table, "metadata")).into_iter().collect();
            let mut header = take_object(&mut table, "header");
            let header_columns = take_array(&mut header, "columns");
            let kinds: Vec<Option<String>> = header_columns.iter().map(|c| str_of(c.get("@type")).map(str::to_owned)).collect();
            let columns: Vec<Column> = header_columns
                .iter()
                .zip(&kinds)
                .map(|(c, kind)| {
                    let name = match c.get("header") {
                        Some(Json::Object(h)) => scalar_text(h.get("value")),
                        other => scalar_text(other),
                    };
                    Column { label: Label::owned(name.clone(), name), numeric: matches!(kind.as_deref(), Some("int" | "dec")) }
                })
                .collect();
            // Numbers in numeric columns are written the Polish way; anything else ("-") stays as it is.
            let cells = |row: &Json| -> Vec<Value> {
                let texts: Vec<String> = match row.get("cells") {
                    Some(Json::Array(cells)) => cells.iter().map(|c| scalar_text(Some(c))).collect(),
                    other => vec![scalar_text(other)],
                };
                texts
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| match kinds.get(i).and_then(Option::as_deref) {
                        Some("int" | "dec") => Value::Data(polish_number(&t, false)),
                        _ => Value::Data(t),
                    })
                    .collect()
            };
            let mut rows: Vec<Row> = take_array(&mut table, "rows").iter().map(|r| Row::plain(cells(r))).collect();
            if let Some(total) = table.remove("total") {
                let mut cells = cells(&total);
                if cells.first().is_none_or(|c| *c == Value::Data(String::new())) {
                    match cells.first_mut() {
                        Some(first) => *first = Value::Words(text::TABLE_SUMMARY),
                        None => cells.push(Value::Words(text::TABLE_SUMMARY)),
                    }
                }
                rows.push(Row { cells, before: false, summary: true });
            }
            let width = columns.len().max(rows.iter().map(|r| r.cells.len()).max().unwrap_or(0));
            let mut columns = columns;
            columns.resize(width, Column { label: Label::new("", ""), numeric: false });
            for row in rows.iter_mut().filter(|r| r.cells.len() > 1) {
                row.cells.resize(width, Value::Data(String::new()));
            }
            parts.push(Block::Table(Table { columns, rows }));
            parts.extend(generic(&table));
            match caption {
                Some(caption) => inner.push(Block::Group(Label::owned(caption.clone(), caption), parts)),
                None => inner.extend(parts),
            }
        }
        inner.extend(generic(&data_block));
        blocks.push(Block::Group(heading, inner));
    }
    blocks.extend(generic(&attachment));
    Some(Section { heading: text::ATTACHMENT, blocks })
}

/// `{key, value}` items (metadata) as fields named by their keys.
fn key_values(items: Vec<Json>) -> Option<Block> {
    let fields: Vec<Field> = items
        .iter()
        .map(|kv| {
            let key = scalar_text(kv.get("key"));
            Field { label: Label::owned(key.clone(), key), value: Value::Data(scalar_text(kv.get("value"))) }
        })
        .collect();
    (!fields.is_empty()).then_some(Block::Fields(fields))
}

fn generic_section(heading: Label, from: &mut Map<String, Json>, keys: &[&str]) -> Option<Section> {
    let mut taken = Map::new();
    for key in keys {
        if let Some(v) = from.remove(*key) {
            taken.insert((*key).to_owned(), v);
        }
    }
    if taken.is_empty() {
        return None;
    }
    // A single object under its section's own name shows its content directly.
    let blocks = match (taken.len(), taken.values().next()) {
        (1, Some(Json::Object(inner))) => generic(inner),
        _ => generic(&taken),
    };
    Some(Section { heading, blocks })
}

// --- Generic rendering ----------------------------------------------------------------------------------------

/// Any JSON subtree as blocks: scalars as fields, objects as groups, arrays of flat objects as tables.
fn generic(object: &Map<String, Json>) -> Vec<Block> {
    let mut fields = Vec::new();
    let mut notes = Vec::new();
    let mut blocks = Vec::new();
    for (key, value) in object {
        match value {
            Json::String(flag) if flag == "1" && labels::flag(key).is_some() => notes.extend(labels::flag(key)),
            Json::Object(inner) => blocks.push(Block::Group(field_label(key), generic(inner))),
            Json::Array(items) if items.iter().all(|i| !i.is_object()) => {
                let joined = items.iter().map(|i| scalar_text(Some(i))).collect::<Vec<_>>().join(", ");
                fields.push(data_field(key, joined));
            }
            Json::Array(items) if items.iter().all(|i| i.as_object().is_some_and(|o| o.values().all(|v| !v.is_object() && !v.is_array()))) => {
                blocks.push(Block::Group(field_label(key), vec![table_of(items, &[])]));
            }
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let inner = item.as_object().cloned().unwrap_or_default();
                    blocks.push(Block::Group(field_label(key).numbered(i + 1), generic(&inner)));
                }
            }
            scalar => fields.push(data_field(key, format_value(key, &scalar_text(Some(scalar))))),
        }
    }
    if !fields.is_empty() {
        blocks.insert(0, Block::Fields(fields));
    }
    if !notes.is_empty() {
        blocks.insert(0, Block::Notes(notes));
    }
    blocks
}

/// A table of flat objects: the columns named in `first` in that order, then any other in first-seen order.
fn table_of(items: &[Json], first: &[&str]) -> Block {
    let mut keys: Vec<String> = first.iter().filter(|k| items.iter().any(|i| i.get(**k).is_some())).map(|k| (*k).to_owned()).collect();
    for item in items {
        for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    let columns = keys.iter().map(|k| Column { label: field_label(k), numeric: is_amount(k) }).collect();
    let rows = items
        .iter()
        .map(|item| Row {
            cells: keys.iter().map(|k| Value::Data(format_value(k, &scalar_text(item.get(k))))).collect(),
            before: item.get("before").is_some(),
            summary: false,
        })
        .collect();
    Block::Table(Table { columns, rows })
}

// --- Helpers --------------------------------------------------------------------------------------------------

fn field_label(key: &str) -> Label {
    let key = key.trim_start_matches('@');
    labels::field(key).unwrap_or_else(|| Label::owned(key.to_owned(), key.to_owned()))
}

fn data_field(key: &str, value: String) -> Field {
    Field { label: field_label(key), value: Value::Data(value) }
}

fn words_or_data(words: Option<Label>, code: String) -> Value {
    words.map_or(Value::Data(code), Value::Words)
}

fn str_of(value: Option<&Json>) -> Option<&str> {
    value.and_then(Json::as_str)
}

fn scalar_text(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(Json::Array(items)) => items.iter().map(|i| scalar_text(Some(i))).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

fn take_str(object: &mut Map<String, Json>, key: &str) -> Option<String> {
    match object.remove(key)? {
        Json::String(s) => Some(s),
        Json::Array(items) if items.iter().all(Json::is_string) => Some(items.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(", ")),
        other => {
            object.insert(key.to_owned(), other);
            None
        }
    }
}

fn take_object(object: &mut Map<String, Json>, key: &str) -> Map<String, Json> {
    match object.remove(key) {
        Some(Json::Object(inner)) => inner,
        Some(other) => {
            object.insert(key.to_owned(), other);
            Map::new()
        }
        None => Map::new(),
    }
}

fn take_array(object: &mut Map<String, Json>, key: &str) -> Vec<Json> {
    match object.remove(key) {
        Some(Json::Array(items)) => items,
        Some(single @ Json::Object(_)) => vec![single],
        Some(other) => {
            object.insert(key.to_owned(), other);
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// Keys whose values are money (printed with two decimals at least).
fn is_amount(key: &str) -> bool {
    matches!(
        key,
        "netAmount" | "grossAmount" | "vatAmount" | "amount" | "total" | "totalBefore" | "unitNetPrice" | "unitGrossPrice" | "discount" | "exciseAmount" | "toPay" | "toSettle" | "chargesTotal" | "deductionsTotal"
    ) || ((key.starts_with("net") || key.starts_with("vat")) && key.len() > 3 && key.as_bytes()[3].is_ascii_alphanumeric() && !key.as_bytes()[3].is_ascii_lowercase())
}

fn format_value(key: &str, value: &str) -> String {
    if is_amount(key) {
        polish_number(value, true)
    } else if matches!(key, "quantity" | "count" | "share" | "exchangeRate" | "advanceExchangeRate" | "contractRate" | "kilometres") {
        polish_number(value, false)
    } else {
        value.to_owned()
    }
}

/// `20000.5` → `20 000,50` (no-break spaces between thousands, a decimal comma; money gets two decimals at
/// least). Text that is not a decimal is returned as it is.
pub fn polish_number(text: &str, money: bool) -> String {
    let trimmed = text.trim();
    if ksef_fa::Amount::parse(trimmed).is_none() {
        return text.to_owned();
    }
    let (sign, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => ("-", &trimmed[1..]),
        Some(b'+') => ("", &trimmed[1..]),
        _ => ("", trimmed),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let frac = if money && frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_owned() };
    if frac.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped},{frac}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_account_numbers_are_grouped_and_others_left_as_given() {
        assert_eq!(account_number("61109010140000071219812874"), "61 1090 1014 0000 0712 1981 2874");
        assert_eq!(account_number("PL61109010140000071219812874"), "PL61 1090 1014 0000 0712 1981 2874");
        assert_eq!(account_number("DE89370400440532013000"), "DE89370400440532013000");
    }

    #[test]
    fn numbers_are_written_the_polish_way() {
        assert_eq!(polish_number("20000", true), "20\u{a0}000,00");
        assert_eq!(polish_number("-1234567.5", true), "-1\u{a0}234\u{a0}567,50");
        assert_eq!(polish_number("0.123456", false), "0,123456");
        assert_eq!(polish_number("3", false), "3");
        assert_eq!(polish_number("n/a", true), "n/a");
    }
}
