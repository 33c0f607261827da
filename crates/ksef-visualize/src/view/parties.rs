//! The sections about who and when: the corrected invoice, the parties (seller, buyer, other and authorised
//! parties, with their data before a correction) and the invoice details.

use super::*;

pub(super) fn correction_section(invoice: &mut Map<String, Json>) -> Option<Section> {
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

pub(super) fn parties_section(root: &mut Map<String, Json>, invoice: &mut Map<String, Json>) -> Section {
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

pub(super) fn details_section(invoice: &mut Map<String, Json>, kind: &str) -> Section {
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
