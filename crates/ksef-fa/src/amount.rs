//! Exact decimal amounts for invoice arithmetic: an integer count of 10⁻⁸, the finest fraction the FA schemas
//! allow, so sums and roundings never go through floating point.

use std::fmt;
use std::str::FromStr;

/// An exact amount: an integer count of 10⁻⁸.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i128);

const SCALE: i128 = 100_000_000;

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// `n` grosze (hundredths).
    pub fn cents(n: i128) -> Amount {
        Amount(n * SCALE / 100)
    }

    /// Parses an `xsd:decimal` lexical form (`-1.50`, `+3`, `.5`; at most 8 significant fraction digits and
    /// 20 integer digits); `None` for anything else, exponents included.
    pub fn parse(text: &str) -> Option<Amount> {
        let (negative, digits) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        // Trailing zeros are not part of the value (`1.500000000` is 1.5).
        let frac = frac.trim_end_matches('0');
        let all_digits = int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
        if (int.is_empty() && digits.len() <= 1) || int.len() > 20 || frac.len() > 8 || !all_digits || digits.bytes().filter(|&b| b == b'.').count() > 1 {
            return None;
        }
        // At most 28 digits in all, far inside an i128; the fraction padded to 8 digits with zeros.
        let fraction = frac.bytes().chain(std::iter::repeat(b'0')).take(8);
        let value = int.bytes().chain(fraction).fold(0i128, |value, digit| value * 10 + i128::from(digit - b'0'));
        Some(Amount(if negative { -value } else { value }))
    }

    /// The absolute value.
    pub fn abs(self) -> Amount {
        Amount(self.0.abs())
    }

    /// The product, truncated to 10⁻⁸; `None` on overflow.
    pub fn times(self, other: Amount) -> Option<Amount> {
        Some(Amount(self.0.checked_mul(other.0)? / SCALE))
    }

    /// Rounded half away from zero to grosze.
    pub fn round2(self) -> Amount {
        let unit = SCALE / 100;
        let rounded = (self.0.abs() + unit / 2) / unit * unit;
        Amount(if self.0 < 0 { -rounded } else { rounded })
    }

    /// True below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The integer part and the fraction as 8 digits, without the sign (for formatting).
    pub fn parts(self) -> (u128, u32) {
        let v = self.0.unsigned_abs();
        (v / SCALE as u128, (v % SCALE as u128) as u32)
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, other: Amount) -> Amount {
        Amount(self.0 + other.0)
    }
}

impl std::ops::Sub for Amount {
    type Output = Amount;
    fn sub(self, other: Amount) -> Amount {
        Amount(self.0 - other.0)
    }
}

impl std::ops::Neg for Amount {
    type Output = Amount;
    fn neg(self) -> Amount {
        Amount(-self.0)
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |a, b| a + b)
    }
}

/// At least two fraction digits, more only when the value has them (`4.50`, `2051.005`).
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let (int, frac) = self.parts();
        let frac = format!("{frac:08}");
        let frac = frac.trim_end_matches('0');
        let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_owned() };
        write!(f, "{sign}{int}.{frac}")
    }
}

/// The amount is not an `xsd:decimal` within the FA schemas' digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal amount: {0:?}")]
pub struct AmountError(pub String);

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Amount, AmountError> {
        Amount::parse(s.trim()).ok_or_else(|| AmountError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_print_as_in_invoices() {
        let a = Amount::parse("2051.005").unwrap();
        assert_eq!(a.to_string(), "2051.005");
        assert_eq!(Amount::parse("0.1").unwrap() + Amount::parse("0.2").unwrap(), Amount::parse("0.3").unwrap());
        assert_eq!(Amount::parse("-12.345").unwrap().round2().to_string(), "-12.35");
        assert_eq!(Amount::parse("3").unwrap().times(Amount::parse("1.5").unwrap()).unwrap().to_string(), "4.50");
        assert!(Amount::parse("1e3").is_none() && Amount::parse("1.123456789").is_none());
    }

    #[test]
    fn every_xsd_decimal_form_parses_and_nothing_else_does() {
        for (text, value) in [("+3", "3.00"), (".5", "0.50"), ("-0.5", "-0.50"), ("5.", "5.00"), ("1.500000000", "1.50"), ("007", "7.00"), ("-12345678901234567890.12345678", "-12345678901234567890.12345678")] {
            assert_eq!(Amount::parse(text).map(|a| a.to_string()).as_deref(), Some(value), "{text}");
        }
        for text in ["", "-", "+", ".", "1.2.3", "1,5", " 1", "--1", "1e3", "0x10"] {
            assert_eq!(Amount::parse(text), None, "{text:?}");
        }
    }
}
