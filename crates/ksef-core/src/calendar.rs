//! Polish business days and the legal deadlines of invoices issued offline: by the next business day after
//! issue (offline24), the business day after a KSeF unavailability ends, or the seventh business day after a KSeF
//! failure ends (art. 106nda, 106nh and 106nf of the VAT Act).

use chrono::{Datelike as _, Duration, NaiveDate, Weekday};

/// Why an invoice was issued outside KSeF, which decides how long it may take to reach KSeF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfflineMode {
    /// Offline24: the taxpayer's choice, available at any time; due the next business day after issue.
    Offline24,
    /// An unavailability of KSeF the Ministry announced; due the business day after it ends.
    Unavailability,
    /// A failure of KSeF the Ministry announced; due within seven business days after it ends.
    Failure,
}

impl OfflineMode {
    /// As our API and store write it.
    pub fn as_str(self) -> &'static str {
        match self {
            OfflineMode::Offline24 => "offline24",
            OfflineMode::Unavailability => "unavailability",
            OfflineMode::Failure => "failure",
        }
    }

    /// Reads [`Self::as_str`]'s form.
    pub fn parse(text: &str) -> Option<OfflineMode> {
        match text {
            "offline24" => Some(OfflineMode::Offline24),
            "unavailability" => Some(OfflineMode::Unavailability),
            "failure" => Some(OfflineMode::Failure),
            _ => None,
        }
    }

    /// The last day (in Poland) on which the invoice may still be sent to KSeF. `from` is the issue date for
    /// offline24, and the day the unavailability or failure ended for the others.
    pub fn deadline(self, from: NaiveDate) -> NaiveDate {
        match self {
            OfflineMode::Offline24 | OfflineMode::Unavailability => add_business_days(from, 1),
            OfflineMode::Failure => add_business_days(from, 7),
        }
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

/// Whether `date` is a public holiday in Poland (the Act on public holidays; Christmas Eve since 2025).
pub fn is_public_holiday(date: NaiveDate) -> bool {
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1) | (1, 6) | (5, 1) | (5, 3) | (8, 15) | (11, 1) | (11, 11) | (12, 25) | (12, 26)
    ) || (date.year() >= 2025 && (date.month(), date.day()) == (12, 24));
    if fixed {
        return true;
    }
    let easter = easter_sunday(date.year());
    // Easter Sunday and Monday, Pentecost Sunday (49 days after Easter), Corpus Christi (60 days after).
    [0, 1, 49, 60].iter().any(|days| easter + Duration::days(*days) == date)
}

/// Whether `date` is a business day: Monday to Friday, not a public holiday.
pub fn is_business_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(date)
}

/// The `n`th business day after `date` (`n` = 1: the next one).
pub fn add_business_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day += Duration::days(1);
        if is_business_day(day) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn easter_falls_on_the_known_dates() {
        for (year, easter) in [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"), (2038, "2038-04-25")] {
            assert_eq!(easter_sunday(year), d(easter), "{year}");
        }
    }

    #[test]
    fn movable_and_fixed_holidays_are_not_business_days() {
        for holiday in ["2026-04-06", "2026-06-04", "2026-05-01", "2026-05-03", "2026-11-11", "2026-12-24", "2026-12-25", "2027-01-06"] {
            assert!(is_public_holiday(d(holiday)), "{holiday}");
            assert!(!is_business_day(d(holiday)), "{holiday}");
        }
        assert!(!is_public_holiday(d("2024-12-24")), "Christmas Eve became a holiday in 2025");
        assert!(is_business_day(d("2026-12-04")));
        assert!(!is_business_day(d("2026-12-05")), "a Saturday");
    }

    #[test]
    fn offline24_is_due_the_next_business_day_across_weekends_and_holidays() {
        assert_eq!(OfflineMode::Offline24.deadline(d("2026-12-03")), d("2026-12-04"));
        assert_eq!(OfflineMode::Offline24.deadline(d("2026-12-04")), d("2026-12-07"), "Friday → Monday");
        assert_eq!(OfflineMode::Offline24.deadline(d("2026-12-23")), d("2026-12-28"), "24–27 December are not business days");
        assert_eq!(OfflineMode::Offline24.deadline(d("2026-04-03")), d("2026-04-07"), "over Easter Monday");
        assert_eq!(OfflineMode::Unavailability.deadline(d("2026-06-03")), d("2026-06-05"), "over Corpus Christi");
    }

    #[test]
    fn a_failure_leaves_seven_business_days() {
        assert_eq!(OfflineMode::Failure.deadline(d("2026-12-18")), d("2026-12-31"));
        assert_eq!(OfflineMode::parse("failure"), Some(OfflineMode::Failure));
        assert_eq!(OfflineMode::parse("online"), None);
    }
}
