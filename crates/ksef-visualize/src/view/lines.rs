//! The sections about what was sold: the lines (one table, or two past eight columns), the order of an advance
//! invoice and the VAT summary by rate.

use super::*;

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

pub(super) fn lines_section(invoice: &mut Map<String, Json>, kind: &str, currency: &str, discount_period: Option<String>) -> Option<Section> {
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
pub(super) fn with_currency(amount: &str, currency: &str) -> String {
    format!("{} {currency}", polish_number(amount, true)).trim_end().to_owned()
}

pub(super) fn order_section(invoice: &mut Map<String, Json>, currency: &str) -> Option<Section> {
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

pub(super) fn vat_summary_section(invoice: &mut Map<String, Json>) -> Option<Section> {
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
