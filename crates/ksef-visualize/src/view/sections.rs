//! The sections after the VAT summary: annotations, additional information, settlement, payment, the footer
//! and the attachment.

use super::*;

pub(super) fn annotations_section(invoice: &mut Map<String, Json>) -> Option<Section> {
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
pub(super) fn additional_section(invoice: &mut Map<String, Json>) -> Option<Section> {
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
pub(super) fn settlement_section(invoice: &mut Map<String, Json>, currency: &str) -> Option<Section> {
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

pub(super) fn payment_section(invoice: &mut Map<String, Json>) -> Option<Section> {
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
pub(super) fn account_number(number: &str) -> String {
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

pub(super) fn footer_section(root: &mut Map<String, Json>) -> Option<Section> {
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
pub(super) fn attachment_section(root: &mut Map<String, Json>) -> Option<Section> {
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

pub(super) fn generic_section(heading: Label, from: &mut Map<String, Json>, keys: &[&str]) -> Option<Section> {
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
