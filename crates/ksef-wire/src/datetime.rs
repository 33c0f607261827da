//! KSeF's date-times: written as RFC 3339 in UTC with a `+00:00` offset, read from any ISO-8601 form.
//!
//! KSeF reads a date-time without an offset as Europe/Warsaw local time, so this module also knows
//! Poland's daylight-saving rule (last Sunday of March to last Sunday of October, switching at 01:00 UTC).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats a date-time the way our side of the protocol writes it: `2026-11-25T09:37:34.123456+00:00`.
pub fn format(value: &DateTime<Utc>) -> String {
    value.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Parses an ISO-8601 date-time with `Z`, an explicit offset, or none (then it is Europe/Warsaw time),
/// and with any number of fraction digits.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    // Four-digit years only: anything else is not a date KSeF could mean, and far years overflow arithmetic.
    if !text.as_bytes().get(..4).is_some_and(|y| y.iter().all(u8::is_ascii_digit)) {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc)).filter(|t| (1..=9999).contains(&t.year()));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, fmt) {
            return warsaw_local_to_utc(naive).filter(|t| (1..=9999).contains(&t.year()));
        }
    }
    None
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid first day of month");
    let mut day = first_of_next - Duration::days(1);
    while day.weekday() != Weekday::Sun {
        day -= Duration::days(1);
    }
    day
}

/// Poland's UTC offset in hours at the instant `utc`: 2 in summer time, 1 otherwise.
pub fn warsaw_offset_hours(utc: DateTime<Utc>) -> i32 {
    let year = utc.year();
    let start = Utc.from_utc_datetime(&last_sunday(year, 3).and_hms_opt(1, 0, 0).expect("01:00"));
    let end = Utc.from_utc_datetime(&last_sunday(year, 10).and_hms_opt(1, 0, 0).expect("01:00"));
    if utc >= start && utc < end { 2 } else { 1 }
}

/// The instant `utc` as Europe/Warsaw local time with its offset.
pub fn to_warsaw(utc: DateTime<Utc>) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(warsaw_offset_hours(utc) * 3600).expect("valid offset");
    utc.with_timezone(&offset)
}

/// Reads a Europe/Warsaw wall-clock time as an instant (an ambiguous autumn hour resolves to summer time);
/// `None` at the very ends of the representable range.
pub fn warsaw_local_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let summer = Utc.from_utc_datetime(&local.checked_sub_signed(Duration::hours(2))?);
    if warsaw_offset_hours(summer) == 2 {
        Some(summer)
    } else {
        Some(Utc.from_utc_datetime(&local.checked_sub_signed(Duration::hours(1))?))
    }
}

/// Serde adapter for a required date-time field.
pub fn serialize<S: Serializer>(value: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(value))
}

/// Serde adapter for a required date-time field.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not an ISO-8601 date-time")))
}

/// Serde adapter for an optional date-time field (`null` reads as absent).
pub mod option {
    use super::*;

    /// Writes `Some` as a date-time; `None` should be skipped by the field attribute.
    pub fn serialize<S: Serializer>(value: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&format(v)),
            None => s.serialize_none(),
        }
    }

    /// Reads a date-time, `null`, or nothing.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not an ISO-8601 date-time"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_form_clients_send_is_read() {
        let expect = utc("2026-11-25T09:37:36.734462Z");
        assert_eq!(parse("2026-11-25T09:37:36.734462Z"), Some(expect));
        assert_eq!(parse("2026-11-25T10:37:36.734462+01:00"), Some(expect));
        assert_eq!(parse("2026-11-25T09:37:36.7344620+00:00"), Some(expect));
        assert_eq!(parse("2026-11-25T09:37:34Z"), Some(utc("2026-11-25T09:37:34Z")));
        assert_eq!(parse("not a date"), None);
        assert_eq!(parse("-262143-01-01T00:00:00"), None, "no panic at the end of the range");
        assert_eq!(parse("+10000-01-01T00:00:00Z"), None);
    }

    #[test]
    fn a_date_time_without_offset_is_warsaw_time() {
        // November is winter time (UTC+1); July is summer time (UTC+2).
        assert_eq!(parse("2026-11-25T10:00:00"), Some(utc("2026-11-25T09:00:00Z")));
        assert_eq!(parse("2026-07-01T10:00:00.5"), Some(utc("2026-07-01T08:00:00.5Z")));
    }

    #[test]
    fn daylight_saving_switches_on_the_last_sundays_at_one_utc() {
        assert_eq!(warsaw_offset_hours(utc("2026-03-29T00:59:59Z")), 1);
        assert_eq!(warsaw_offset_hours(utc("2026-03-29T01:00:00Z")), 2);
        assert_eq!(warsaw_offset_hours(utc("2026-10-25T00:59:59Z")), 2);
        assert_eq!(warsaw_offset_hours(utc("2026-10-25T01:00:00Z")), 1);
        assert_eq!(to_warsaw(utc("2025-09-16T09:05:40.841Z")).to_rfc3339(), "2025-09-16T11:05:40.841+02:00");
    }

    #[test]
    fn written_date_times_carry_an_offset_and_read_back_exactly() {
        let t = utc("2026-11-25T09:37:36.734462Z");
        let text = format(&t);
        assert_eq!(text, "2026-11-25T09:37:36.734462+00:00");
        assert_eq!(parse(&text), Some(t));
    }
}
