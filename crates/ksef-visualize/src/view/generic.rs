//! Any JSON subtree as blocks (what no section shows by name), and the helpers every section takes its fields
//! out of the invoice with: labels, values, Polish numbers.

use super::*;

/// Any JSON subtree as blocks: scalars as fields, objects as groups, arrays of flat objects as tables.
pub(super) fn generic(object: &Map<String, Json>) -> Vec<Block> {
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
pub(super) fn table_of(items: &[Json], first: &[&str]) -> Block {
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

pub(super) fn field_label(key: &str) -> Label {
    let key = key.trim_start_matches('@');
    labels::field(key).unwrap_or_else(|| Label::owned(key.to_owned(), key.to_owned()))
}

pub(super) fn data_field(key: &str, value: String) -> Field {
    Field { label: field_label(key), value: Value::Data(value) }
}

pub(super) fn words_or_data(words: Option<Label>, code: String) -> Value {
    words.map_or(Value::Data(code), Value::Words)
}

pub(super) fn str_of(value: Option<&Json>) -> Option<&str> {
    value.and_then(Json::as_str)
}

pub(super) fn scalar_text(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(Json::Array(items)) => items.iter().map(|i| scalar_text(Some(i))).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

pub(super) fn take_str(object: &mut Map<String, Json>, key: &str) -> Option<String> {
    match object.remove(key)? {
        Json::String(s) => Some(s),
        Json::Array(items) if items.iter().all(Json::is_string) => Some(items.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(", ")),
        other => {
            object.insert(key.to_owned(), other);
            None
        }
    }
}

pub(super) fn take_object(object: &mut Map<String, Json>, key: &str) -> Map<String, Json> {
    match object.remove(key) {
        Some(Json::Object(inner)) => inner,
        Some(other) => {
            object.insert(key.to_owned(), other);
            Map::new()
        }
        None => Map::new(),
    }
}

pub(super) fn take_array(object: &mut Map<String, Json>, key: &str) -> Vec<Json> {
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

pub(super) fn format_value(key: &str, value: &str) -> String {
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
