//! Simple values: whitespace normalization, the lexical and value spaces of the built-in types the FA schemas
//! use, and the facets of each restriction step. Decimals are compared exactly, digit by digit, never as floats.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::pattern::Pattern;
use crate::schema::{Builtin, Facets, Schema, Variety, WhiteSpace};

/// Why a value does not belong to its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// Which check failed: `type`, `pattern`, `enumeration`, `length`, `digits`, `range`.
    pub rule: &'static str,
    /// In Polish.
    pub pl: String,
    /// In English.
    pub en: String,
}

fn error(rule: &'static str, pl: String, en: String) -> ValueError {
    ValueError { rule, pl, en }
}

/// Checks `raw` against simple type `ty` of `schema`; `patterns` holds every pattern of the schema.
pub fn check(schema: &Schema, patterns: &[Pattern], ty: usize, raw: &str) -> Result<(), ValueError> {
    let st = &schema.simple_types[ty];
    match &st.variety {
        Variety::Union(members) => {
            if members.iter().any(|m| check(schema, patterns, *m, raw).is_ok()) {
                Ok(())
            } else {
                Err(error(
                    "type",
                    format!("Wartość '{raw}' nie należy do żadnego z typów sumy {}.", st.name),
                    format!("'{raw}' is not a valid value of the union type '{}'.", st.name),
                ))
            }
        }
        Variety::Atomic { builtin, steps } => {
            let white_space = atomic_white_space(*builtin, steps);
            let value = normalize(raw, white_space);
            let parsed = match lexical(*builtin, &value) {
                Ok(parsed) => parsed,
                Err(why) => {
                    return Err(error(
                        "type",
                        format!("Wartość '{value}' nie jest poprawną wartością typu {} ({why}).", st.name),
                        format!("'{value}' is not a valid value of the atomic type '{}' ({why}).", st.name),
                    ));
                }
            };
            for step in steps {
                facets(*builtin, step, &value, &parsed, patterns)?;
            }
            Ok(())
        }
    }
}

/// Normalizes whitespace as `mode` says (borrowing when nothing changes, as is usual).
pub fn normalize<'a>(raw: &'a str, mode: WhiteSpace) -> Cow<'a, str> {
    match mode {
        WhiteSpace::Replace if raw.bytes().any(|c| matches!(c, b'\t' | b'\n' | b'\r')) => Cow::Owned(raw.replace(['\t', '\n', '\r'], " ")),
        WhiteSpace::Collapse if !collapsed(raw.as_bytes()) => {
            Cow::Owned(raw.split([' ', '\t', '\n', '\r']).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))
        }
        _ => Cow::Borrowed(raw),
    }
}

/// Whether `raw` is already collapsed: no tab or line end, no space at either end or next to another. One pass
/// over the bytes, as nearly every value is.
fn collapsed(raw: &[u8]) -> bool {
    // Most values (numbers, dates, codes) have no space at all: a test of every byte at once, without branches.
    if raw.iter().fold(true, |plain, &c| plain & (c > b' ')) {
        return true;
    }
    if raw.first() == Some(&b' ') || raw.last() == Some(&b' ') {
        return false;
    }
    let mut after_space = false;
    for &c in raw {
        match c {
            b'\t' | b'\n' | b'\r' => return false,
            b' ' if after_space => return false,
            b' ' => after_space = true,
            _ => after_space = false,
        }
    }
    true
}

/// The whitespace handling a built-in type implies.
pub fn default_white_space(builtin: Builtin) -> WhiteSpace {
    match builtin {
        Builtin::String => WhiteSpace::Preserve,
        Builtin::NormalizedString => WhiteSpace::Replace,
        _ => WhiteSpace::Collapse,
    }
}

/// The whitespace handling of simple type `ty` (of its atomic base, for unions: collapse).
pub fn white_space_of(schema: &Schema, ty: usize) -> WhiteSpace {
    match &schema.simple_types[ty].variety {
        Variety::Atomic { builtin, steps } => atomic_white_space(*builtin, steps),
        Variety::Union(_) => WhiteSpace::Collapse,
    }
}

/// The whitespace handling of an atomic type: its innermost step's that says one, else its built-in type's.
fn atomic_white_space(builtin: Builtin, steps: &[Facets]) -> WhiteSpace {
    steps.iter().rev().find_map(|s| s.white_space).unwrap_or(default_white_space(builtin))
}

/// Whether a string of `bytes` UTF-8 bytes (one to four per character) has a length the facets allow whatever
/// its characters: then they need not be counted, as for nearly every value.
fn length_surely_fits(f: &Facets, bytes: u64) -> bool {
    let (min, max) = (f.length.or(f.min_length), f.length.or(f.max_length));
    max.is_none_or(|max| bytes <= max) && min.is_none_or(|min| bytes.div_ceil(4) >= min)
}

/// Checks `value` of `builtin` (`parsed` as [`lexical`] read it) against one step's facets.
fn facets(builtin: Builtin, f: &Facets, value: &str, parsed: &Parsed<'_>, patterns: &[Pattern]) -> Result<(), ValueError> {
    if !f.pattern_ids.is_empty() && !f.pattern_ids.iter().any(|p| patterns[*p].is_match(value)) {
        let shown = f.patterns.join("' | '");
        return Err(error(
            "pattern",
            format!("Wartość '{value}' nie pasuje do wzorca '{shown}'."),
            format!("The value '{value}' is not accepted by the pattern '{shown}'."),
        ));
    }
    if !f.enumeration.is_empty() && !enumerated(builtin, f, value) {
        let set = f.enumeration.iter().map(|e| format!("'{e}'")).collect::<Vec<_>>().join(", ");
        let set = if set.len() > 300 { format!("{}… ({} wartości)", &set[..set.floor_char_boundary(300)], f.enumeration.len()) } else { set };
        return Err(error(
            "enumeration",
            format!("Wartość '{value}' nie należy do zbioru {{{set}}}."),
            format!("The value '{value}' is not an element of the set {{{set}}}."),
        ));
    }
    if is_string(builtin) && !length_surely_fits(f, value.len() as u64) {
        let length = value.chars().count() as u64;
        let bounds = [(f.length, f.length), (f.min_length, None), (None, f.max_length)];
        for (min, max) in bounds {
            if min.is_some_and(|m| length < m) || max.is_some_and(|m| length > m) {
                let (lo, hi) = (f.length.or(f.min_length).unwrap_or(0), f.length.or(f.max_length));
                let range = hi.map_or(format!("co najmniej {lo}"), |hi| format!("{lo}–{hi}"));
                let range_en = hi.map_or(format!("at least {lo}"), |hi| format!("{lo} to {hi}"));
                return Err(error(
                    "length",
                    format!("Wartość '{value}' ma {length} znaków; dozwolone: {range}."),
                    format!("The value '{value}' has {length} characters; allowed: {range_en}."),
                ));
            }
        }
    }
    if let Parsed::Number(d) = parsed {
        if let Some(total) = f.total_digits
            && d.total_digits() > total
        {
            return Err(error(
                "digits",
                format!("Wartość '{value}' ma więcej niż {total} cyfr."),
                format!("The value '{value}' has more digits than are allowed ('{total}')."),
            ));
        }
        if let Some(fraction) = f.fraction_digits
            && d.fraction.len() as u32 > fraction
        {
            return Err(error(
                "digits",
                format!("Wartość '{value}' ma więcej niż {fraction} cyfr po przecinku."),
                format!("The value '{value}' has more fractional digits than are allowed ('{fraction}')."),
            ));
        }
    }
    if f.min_inclusive.is_none() && f.max_inclusive.is_none() && f.min_exclusive.is_none() && f.max_exclusive.is_none() {
        return Ok(());
    }
    range(f, value, parsed)
}

/// Checks `value` (`parsed` as [`lexical`] read it) against the step's bounds.
fn range(f: &Facets, value: &str, parsed: &Parsed<'_>) -> Result<(), ValueError> {
    let checks: [RangeCheck<'_>; 4] = [
        (&f.min_inclusive, |o| o != Ordering::Less, "mniejsza niż dozwolone minimum", "is less than the minimum value allowed"),
        (&f.max_inclusive, |o| o != Ordering::Greater, "większa niż dozwolone maksimum", "is greater than the maximum value allowed"),
        (&f.min_exclusive, |o| o == Ordering::Greater, "nie większa niż", "must be greater than"),
        (&f.max_exclusive, |o| o == Ordering::Less, "nie mniejsza niż", "must be less than"),
    ];
    for ((bound, ok, pl, en), bound_instant) in checks.into_iter().zip(f.instants) {
        let Some(bound) = bound else { continue };
        // Dates compare as the instants read once; numbers exactly, as decimals.
        let order = match parsed {
            Parsed::Instant(instant) => bound_instant.and_then(|b| instant.partial_cmp(&b)),
            Parsed::Number(d) => Decimal::parse(bound).map(|b| d.cmp(&b)),
            Parsed::Other => None,
        };
        match order {
            Some(o) if ok(o) => {}
            _ => {
                return Err(error(
                    "range",
                    format!("Wartość '{value}' jest {pl} ('{bound}')."),
                    format!("The value '{value}' {en} ('{bound}')."),
                ));
            }
        }
    }
    Ok(())
}

/// A bound, whether a comparison with it passes, and how a failure reads in Polish and English.
type RangeCheck<'a> = (&'a Option<String>, fn(Ordering) -> bool, &'static str, &'static str);

fn is_string(b: Builtin) -> bool {
    matches!(b, Builtin::String | Builtin::NormalizedString | Builtin::Token | Builtin::AnyUri)
}

fn is_numeric(b: Builtin) -> bool {
    matches!(
        b,
        Builtin::Decimal
            | Builtin::Integer
            | Builtin::NonNegativeInteger
            | Builtin::PositiveInteger
            | Builtin::Long
            | Builtin::Int
            | Builtin::Short
            | Builtin::Byte
    )
}

/// Whether `value` is one of the enumeration (numbers by value; strings looked up in its table).
fn enumerated(builtin: Builtin, f: &Facets, value: &str) -> bool {
    // Written as listed is the usual case, for numbers too; only otherwise are numbers compared by value.
    f.enumerated.find(value).is_some()
        || is_numeric(builtin) && f.enumeration.iter().any(|e| same_value(builtin, e, value))
}

fn same_value(builtin: Builtin, a: &str, b: &str) -> bool {
    if is_numeric(builtin) {
        compare(builtin, a, b) == Some(Ordering::Equal)
    } else {
        a == b
    }
}

/// Orders two values of `builtin` (`None` when either is not one, or the order is undefined).
fn compare(builtin: Builtin, a: &str, b: &str) -> Option<Ordering> {
    match builtin {
        _ if is_numeric(builtin) => Some(Decimal::parse(a)?.cmp(&Decimal::parse(b)?)),
        Builtin::Date | Builtin::DateTime | Builtin::GYear => Some(instant(builtin, a)?.partial_cmp(&instant(builtin, b)?)?),
        _ => None,
    }
}

/// A value as its built-in type reads it, for the facets that compare it.
enum Parsed<'s> {
    /// A number.
    Number(Decimal<'s>),
    /// A date, date-time or year.
    Instant(f64),
    /// Anything else.
    Other,
}

/// Checks the lexical form (and the value space) of the built-in type; the value as it reads.
fn lexical(builtin: Builtin, v: &str) -> Result<Parsed<'_>, &'static str> {
    match builtin {
        Builtin::String | Builtin::NormalizedString | Builtin::Token | Builtin::AnyUri => return Ok(Parsed::Other),
        Builtin::Boolean => return matches!(v, "true" | "false" | "1" | "0").then_some(Parsed::Other).ok_or("not a boolean"),
        Builtin::Date | Builtin::DateTime | Builtin::GYear => return instant(builtin, v).map(Parsed::Instant).ok_or("not a valid date or time"),
        Builtin::Decimal => return Decimal::parse(v).map(Parsed::Number).ok_or("not a decimal number"),
        _ => {}
    }
    let d = Decimal::parse(v).filter(|d| !d.point).ok_or("not an integer")?;
    let within = |(lo, hi): &(Decimal<'_>, Decimal<'_>)| if d < *lo || d > *hi { Err("out of range") } else { Ok(()) };
    match builtin {
        Builtin::NonNegativeInteger if d.negative && !d.is_zero() => Err("negative"),
        Builtin::PositiveInteger if d.negative || d.is_zero() => Err("not positive"),
        Builtin::Long => within(&LONG),
        Builtin::Int => within(&INT),
        Builtin::Short => within(&SHORT),
        Builtin::Byte => within(&BYTE),
        _ => Ok(()),
    }?;
    Ok(Parsed::Number(d))
}

/// The value spaces of the bounded integer types, as decimals written out once rather than parsed per value.
const LONG: (Decimal<'static>, Decimal<'static>) = (Decimal::integer(true, "9223372036854775808"), Decimal::integer(false, "9223372036854775807"));
const INT: (Decimal<'static>, Decimal<'static>) = (Decimal::integer(true, "2147483648"), Decimal::integer(false, "2147483647"));
const SHORT: (Decimal<'static>, Decimal<'static>) = (Decimal::integer(true, "32768"), Decimal::integer(false, "32767"));
const BYTE: (Decimal<'static>, Decimal<'static>) = (Decimal::integer(true, "128"), Decimal::integer(false, "127"));

/// An exact decimal: sign, integer digits without leading zeros, fraction digits without trailing zeros, and
/// whether it was written with a decimal point (an integer may not be).
#[derive(Debug, Clone)]
struct Decimal<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
    point: bool,
}

impl<'a> Decimal<'a> {
    /// The integer with these `digits` (no leading zero), as [`Decimal::parse`] would read it.
    const fn integer(negative: bool, digits: &'a str) -> Decimal<'a> {
        Decimal { negative, integer: digits, fraction: "", point: false }
    }

    /// Parses the `xsd:decimal` lexical form.
    fn parse(text: &'a str) -> Option<Decimal<'a>> {
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        // Numbers are short: a byte loop beats a searcher's setup.
        let point = digits.bytes().position(|b| b == b'.');
        let (integer, fraction) = point.map_or((digits, ""), |at| (&digits[..at], &digits[at + 1..]));
        if (integer.is_empty() && fraction.is_empty())
            || !integer.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(Decimal { negative, integer: integer.trim_start_matches('0'), fraction: fraction.trim_end_matches('0'), point: point.is_some() })
    }

    fn is_zero(&self) -> bool {
        self.integer.is_empty() && self.fraction.is_empty()
    }

    fn total_digits(&self) -> u32 {
        (self.integer.len() + self.fraction.len()).max(1) as u32
    }

    fn magnitude_cmp(&self, other: &Decimal<'_>) -> Ordering {
        self.integer
            .len()
            .cmp(&other.integer.len())
            .then_with(|| self.integer.cmp(other.integer))
            .then_with(|| self.fraction.cmp(other.fraction))
    }
}

impl PartialEq for Decimal<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal<'_> {}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a_neg, b_neg) = (self.negative && !self.is_zero(), other.negative && !other.is_zero());
        match (a_neg, b_neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
        }
    }
}

/// A point in time in seconds of a date, date-time or year (timezone applied; without one, read as UTC).
pub(crate) fn instant(builtin: Builtin, v: &str) -> Option<f64> {
    match builtin {
        Builtin::DateTime => parse_date_time(v, true, true),
        Builtin::Date => parse_date_time(v, true, false),
        _ => parse_date_time(v, false, false),
    }
}

/// Seconds since 0000-01-01 of an `xsd:date` (`with_date`), `xsd:dateTime` (`with_time`) or `xsd:gYear`, if valid.
fn parse_date_time(v: &str, with_date: bool, with_time: bool) -> Option<f64> {
    let (negative, rest) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v),
    };
    let year_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let year_text = &rest[..year_end];
    if year_text.len() < 4 || (year_text.len() > 4 && year_text.starts_with('0')) {
        return None;
    }
    let year: i64 = year_text.parse().ok()?;
    if year == 0 {
        return None;
    }
    let year = if negative { -year } else { year };
    let mut rest = &rest[year_end..];
    let (mut month, mut day) = (1u32, 1u32);
    if with_date {
        let b = rest.as_bytes();
        if b.len() < 6 || b[0] != b'-' || b[3] != b'-' {
            return None;
        }
        // `get`, not indexing: the bytes checked above may be inside a multi-byte character.
        month = two_digits(rest.get(1..3)?)?;
        day = two_digits(rest.get(4..6)?)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        rest = rest.get(6..)?;
    }
    let mut seconds = 0f64;
    if with_time {
        let b = rest.as_bytes();
        if b.len() < 9 || b[0] != b'T' || b[3] != b':' || b[6] != b':' {
            return None;
        }
        let (h, m) = (two_digits(rest.get(1..3)?)?, two_digits(rest.get(4..6)?)?);
        let s = two_digits(rest.get(7..9)?)?;
        rest = rest.get(9..)?;
        let mut fraction = 0f64;
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            fraction = format!("0.{}", &after[..end]).parse().ok()?;
            rest = &after[end..];
        }
        let midnight_24 = h == 24 && m == 0 && s == 0 && fraction == 0.0;
        if !(h < 24 || midnight_24) || m > 59 || s > 59 {
            return None;
        }
        seconds = f64::from(h * 3600 + m * 60 + s) + fraction;
    }
    let offset = match rest {
        "" | "Z" => 0,
        tz => {
            let b = tz.as_bytes();
            if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
                return None;
            }
            let (h, m) = (two_digits(tz.get(1..3)?)?, two_digits(tz.get(4..6)?)?);
            if h > 14 || m > 59 || (h == 14 && m > 0) {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if b[0] == b'+' { minutes } else { -minutes }
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days as f64 * 86_400.0 + seconds - (offset * 60) as f64)
}

fn two_digits(s: &str) -> Option<u32> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_exactly_and_count_their_digits() {
        fn d(t: &str) -> Decimal<'_> {
            Decimal::parse(t).unwrap()
        }
        assert_eq!(d("2051.005").fraction.len(), 3);
        assert_eq!(d("00120.500").total_digits(), 4);
        assert!(d("-1") < d("0"));
        assert!(d("10") > d("9.99"));
        assert_eq!(d("1.0").cmp(&d("1")), Ordering::Equal);
        assert_eq!(d("-0").cmp(&d("0")), Ordering::Equal);
        assert!(Decimal::parse("1e5").is_none() && Decimal::parse("abc").is_none() && Decimal::parse(".").is_none());
    }

    #[test]
    fn bounded_integers_take_their_extremes_and_refuse_one_past_them() {
        for (builtin, lo, hi, below, above) in [
            (Builtin::Byte, "-128", "127", "-129", "128"),
            (Builtin::Short, "-32768", "32767", "-32769", "32768"),
            (Builtin::Int, "-2147483648", "2147483647", "-2147483649", "2147483648"),
            (Builtin::Long, "-9223372036854775808", "9223372036854775807", "-9223372036854775809", "9223372036854775808"),
        ] {
            assert!(lexical(builtin, lo).is_ok() && lexical(builtin, hi).is_ok(), "{builtin:?}");
            assert!(lexical(builtin, below).is_err() && lexical(builtin, above).is_err(), "{builtin:?}");
            assert!(lexical(builtin, &format!("+000{hi}")).is_ok() && lexical(builtin, "-0").is_ok(), "{builtin:?}");
        }
    }

    #[test]
    fn dates_are_real_calendar_days_and_times_order_across_zones() {
        assert!(parse_date_time("2024-02-29", true, false).is_some());
        assert!(parse_date_time("2026-02-30", true, false).is_none());
        assert!(parse_date_time("2025-09-01T00:00:00Z", true, true).is_some());
        assert!(parse_date_time("2025-09-01T25:00:00Z", true, true).is_none());
        let early = instant(Builtin::DateTime, "2025-08-31T23:59:59Z").unwrap();
        let bound = instant(Builtin::DateTime, "2025-09-01T00:00:00Z").unwrap();
        assert!(early < bound);
        assert_eq!(instant(Builtin::DateTime, "2025-09-01T02:00:00+02:00"), Some(bound));
    }

    #[test]
    fn whitespace_is_normalized_as_the_type_says() {
        assert_eq!(normalize("  a \n b  ", WhiteSpace::Collapse), "a b");
        assert_eq!(normalize("a\tb", WhiteSpace::Replace), "a b");
        assert_eq!(normalize(" a ", WhiteSpace::Preserve), " a ");
        assert_eq!(normalize("a  b", WhiteSpace::Collapse), "a b");
        assert_eq!(normalize("a b", WhiteSpace::Collapse), "a b");
        assert!(matches!(normalize("a b ż", WhiteSpace::Collapse), Cow::Borrowed(_)), "a collapsed value is not copied");
        assert_eq!(normalize(" a", WhiteSpace::Collapse), "a");
        assert_eq!(normalize("ż\r\nż", WhiteSpace::Replace), "ż  ż");
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let facets = |min, max| Facets { min_length: min, max_length: max, ..Facets::default() };
        let fits = |f: &Facets, v: &str| facets_check(f, v).is_ok();
        let at_most_3 = facets(None, Some(3));
        assert!(fits(&at_most_3, "żżż"), "six bytes, three characters");
        assert!(!fits(&at_most_3, "żżżż"));
        let at_least_2 = facets(Some(2), None);
        assert!(!fits(&at_least_2, "ż"), "two bytes, one character");
        assert!(fits(&at_least_2, "żż"));
        assert!(fits(&at_least_2, "😀😀"), "eight bytes, two characters");
        assert!(!fits(&at_least_2, "😀"));
        let exactly_2 = Facets { length: Some(2), ..Facets::default() };
        assert!(fits(&exactly_2, "żż") && fits(&exactly_2, "ab"));
        assert!(!fits(&exactly_2, "ż") && !fits(&exactly_2, "abc"));
    }

    fn facets_check(f: &Facets, value: &str) -> Result<(), ValueError> {
        facets(Builtin::String, f, value, &Parsed::Other, &[])
    }
}
