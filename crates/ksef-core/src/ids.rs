//! KSeF's identifiers as types that parse: NIP, KSeF numbers, 36-character reference numbers and challenges.
//!
//! A value of one of these types has passed its format check, so code that holds one need not check again.
//! KSeF numbers carry a CRC-8 checksum (polynomial 0x07, init 0, no reflection, no final XOR) over their first
//! 32 characters; reference numbers we generate carry the same checksum over their first 33 characters.

use std::fmt;

use chrono::NaiveDate;

use crate::crypto::random_array;

/// Why an identifier was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Not a NIP: ten digits matching `[1-9]((\d[1-9])|([1-9]\d))\d{7}`.
    #[error("'{0}' is not a NIP (10 digits, not starting with 0)")]
    Nip(String),
    /// Not shaped like a KSeF number.
    #[error("'{0}' is not a KSeF number (NIP-YYYYMMDD-XXXXXXXXXXXX-CC)")]
    KsefNumberFormat(String),
    /// Shaped like a KSeF number, but its checksum is wrong.
    #[error("KSeF number '{0}' has a wrong checksum")]
    KsefNumberChecksum(String),
    /// Not a 36-character reference number.
    #[error("'{0}' is not a reference number (YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC)")]
    ReferenceNumber(String),
    /// Not a challenge.
    #[error("'{0}' is not a challenge (YYYYMMDD-CR-XXXXXXXXXX-XXXXXXXXXX-XX)")]
    Challenge(String),
    /// Not a PESEL: eleven digits whose third and fourth encode a month (plus 20, 40, 60 or 80 by century).
    #[error("'{0}' is not a PESEL (11 digits with a month in the 3rd and 4th)")]
    Pesel(String),
}

/// CRC-8 with polynomial 0x07, initial value 0, no reflection and no final XOR (CRC-8/SMBUS).
pub fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |mut crc, byte| {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
        crc
    })
}

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

fn parse_yyyymmdd(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A Polish tax identifier (NIP): ten digits, in the pattern KSeF's schemas use.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nip(String);

impl Nip {
    /// Parses a NIP by KSeF's pattern `[1-9]((\d[1-9])|([1-9]\d))\d{7}`. The checksum is a separate check,
    /// because KSeF enforces it only in production.
    pub fn parse(text: &str) -> Result<Nip, IdError> {
        let b = text.as_bytes();
        let ok = b.len() == 10
            && b.iter().all(u8::is_ascii_digit)
            && b[0] != b'0'
            && (b[1] != b'0' || b[2] != b'0');
        if ok { Ok(Nip(text.to_owned())) } else { Err(IdError::Nip(text.to_owned())) }
    }

    /// Whether the tenth digit is the weighted mod-11 checksum of the first nine.
    pub fn has_valid_checksum(&self) -> bool {
        const WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
        let digits: Vec<u32> = self.0.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = sum % 11;
        check != 10 && check == digits[9]
    }

    /// The ten digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PESEL, a person's national identification number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pesel(String);

impl Pesel {
    /// Parses a PESEL by KSeF's pattern: 11 digits, the 3rd and 4th a month 01–12 shifted by 20, 40, 60 or 80
    /// for other centuries. The checksum is a separate check, as with [`Nip`].
    pub fn parse(text: &str) -> Result<Pesel, IdError> {
        let b = text.as_bytes();
        let ok = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && {
            let month = u32::from(b[2] - b'0') * 10 + u32::from(b[3] - b'0');
            (1..=12).contains(&(month % 20))
        };
        if ok { Ok(Pesel(text.to_owned())) } else { Err(IdError::Pesel(text.to_owned())) }
    }

    /// Whether the eleventh digit is the weighted checksum of the first ten.
    pub fn has_valid_checksum(&self) -> bool {
        const WEIGHTS: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
        let digits: Vec<u32> = self.0.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        (10 - sum % 10) % 10 == digits[10]
    }

    /// The eleven digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pesel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pesel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pesel({})", self.0)
    }
}

impl fmt::Display for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nip({})", self.0)
    }
}

/// A KSeF number: `NNNNNNNNNN-YYYYMMDD-TTTTTTTTTTTT-CC`, seller NIP, acceptance date, technical part, CRC-8.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KsefNumber(String);

impl KsefNumber {
    /// Parses and checks a 35-character KSeF number, checksum included.
    pub fn parse(text: &str) -> Result<KsefNumber, IdError> {
        let format_err = || IdError::KsefNumberFormat(text.to_owned());
        let b = text.as_bytes();
        if !text.is_ascii() || b.len() != 35 || b[10] != b'-' || b[19] != b'-' || b[32] != b'-' {
            return Err(format_err());
        }
        Nip::parse(&text[..10]).map_err(|_| format_err())?;
        parse_yyyymmdd(&text[11..19]).ok_or_else(format_err)?;
        if !b[20..32].iter().copied().all(is_upper_hex) || !b[33..].iter().copied().all(is_upper_hex) {
            return Err(format_err());
        }
        if format!("{:02X}", crc8(&b[..32])) != text[33..] {
            return Err(IdError::KsefNumberChecksum(text.to_owned()));
        }
        Ok(KsefNumber(text.to_owned()))
    }

    /// A new KSeF number for an invoice of `seller` accepted on `date`, with a random technical part.
    pub fn generate(seller: &Nip, date: NaiveDate) -> KsefNumber {
        KsefNumber::with_technical_part(seller, date, random_array::<6>())
    }

    /// A KSeF number with a given 48-bit technical part.
    pub fn with_technical_part(seller: &Nip, date: NaiveDate, technical: [u8; 6]) -> KsefNumber {
        let body = format!("{}-{}-{}", seller, date.format("%Y%m%d"), hex_upper(&technical));
        let crc = crc8(body.as_bytes());
        KsefNumber(format!("{body}-{crc:02X}"))
    }

    /// The seller's NIP, the first ten characters.
    pub fn seller_nip(&self) -> &str {
        &self.0[..10]
    }

    /// The day the invoice was accepted.
    pub fn date(&self) -> NaiveDate {
        parse_yyyymmdd(&self.0[11..19]).expect("checked by parse")
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KsefNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KsefNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KsefNumber({})", self.0)
    }
}

/// The two-character type code inside a reference number (`SO` online session, `EE` invoice, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    /// `CR`: an authentication challenge.
    Challenge,
    /// `AU`: an authentication operation.
    Authentication,
    /// `SO`: an online session.
    OnlineSession,
    /// `SB`: a batch session.
    BatchSession,
    /// `EE`: an invoice inside a session.
    Invoice,
    /// `EU`: a UPO page.
    Upo,
    /// `EH`: an invoice export.
    Export,
    /// `EC`: a KSeF token.
    Token,
    /// `EG`: a permission operation.
    PermissionOperation,
    /// `EH`: a certificate enrollment (KSeF gives it the export's code).
    Enrollment,
}

impl ReferenceKind {
    /// The code as it appears in the reference number.
    pub fn code(self) -> &'static str {
        match self {
            ReferenceKind::Challenge => "CR",
            ReferenceKind::Authentication => "AU",
            ReferenceKind::OnlineSession => "SO",
            ReferenceKind::BatchSession => "SB",
            ReferenceKind::Invoice => "EE",
            ReferenceKind::Upo => "EU",
            ReferenceKind::Export => "EH",
            ReferenceKind::Token => "EC",
            ReferenceKind::PermissionOperation => "EG",
            ReferenceKind::Enrollment => "EH",
        }
    }
}

/// A 36-character KSeF reference number: `YYYYMMDD-TT-HHHHHHHHHH-HHHHHHHHHH-CC`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReferenceNumber(String);

impl ReferenceNumber {
    /// Parses the shape KSeF's schemas and the UPO XSD give. The checksum is not required, because several
    /// reference numbers in KSeF's own documentation lack a valid one; see [`ReferenceNumber::has_valid_checksum`].
    pub fn parse(text: &str) -> Result<ReferenceNumber, IdError> {
        let b = text.as_bytes();
        // Checked first, so the slices below always fall on character boundaries.
        let ok = text.is_ascii()
            && b.len() == 36
            && parse_yyyymmdd(&text[..8]).is_some()
            && b[8] == b'-'
            && b[9..11].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[11] == b'-'
            && b[12..22].iter().copied().all(is_upper_hex)
            && b[22] == b'-'
            && b[23..33].iter().copied().all(is_upper_hex)
            && b[33] == b'-'
            && b[34..].iter().copied().all(is_upper_hex);
        if ok { Ok(ReferenceNumber(text.to_owned())) } else { Err(IdError::ReferenceNumber(text.to_owned())) }
    }

    /// A new reference number of `kind` dated `date`, with 80 random bits and a CRC-8 checksum.
    pub fn generate(kind: ReferenceKind, date: NaiveDate) -> ReferenceNumber {
        let random = hex_upper(&random_array::<10>());
        let body = format!("{}-{}-{}-{}", date.format("%Y%m%d"), kind.code(), &random[..10], &random[10..]);
        let crc = crc8(body.as_bytes());
        ReferenceNumber(format!("{body}-{crc:02X}"))
    }

    /// Whether the last two characters are the CRC-8 of the first 33.
    pub fn has_valid_checksum(&self) -> bool {
        format!("{:02X}", crc8(&self.0.as_bytes()[..33])) == self.0[34..]
    }

    /// The two-character type code.
    pub fn kind_code(&self) -> &str {
        &self.0[9..11]
    }

    /// Whether the type code is `kind`'s.
    pub fn is(&self, kind: ReferenceKind) -> bool {
        self.kind_code() == kind.code()
    }

    /// The date part.
    pub fn date(&self) -> NaiveDate {
        parse_yyyymmdd(&self.0[..8]).expect("checked by parse")
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReferenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ReferenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReferenceNumber({})", self.0)
    }
}

/// An authentication challenge: `\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}`, 36 characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Challenge(ReferenceNumber);

impl Challenge {
    /// Parses a challenge by the pattern of KSeF's auth XSD.
    pub fn parse(text: &str) -> Result<Challenge, IdError> {
        let reference = ReferenceNumber::parse(text).map_err(|_| IdError::Challenge(text.to_owned()))?;
        if reference.is(ReferenceKind::Challenge) {
            Ok(Challenge(reference))
        } else {
            Err(IdError::Challenge(text.to_owned()))
        }
    }

    /// A new challenge dated `date`.
    pub fn generate(date: NaiveDate) -> Challenge {
        Challenge(ReferenceNumber::generate(ReferenceKind::Challenge, date))
    }

    /// The challenge as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Challenge({})", self.as_str())
    }
}

/// The plaintext a client encrypts to authenticate with a KSeF token: `"{token}|{timestampMs}"`.
pub fn ksef_token_plaintext(token: &str, challenge_timestamp_ms: i64) -> String {
    format!("{}|{}", token.trim(), challenge_timestamp_ms)
}

/// Splits a decrypted `"{token}|{timestampMs}"` at its last `|` (tokens themselves contain `|`).
pub fn split_ksef_token_plaintext(plain: &str) -> Option<(&str, i64)> {
    let (token, ts) = plain.rsplit_once('|')?;
    Some((token, ts.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &str = "5265877635-20250826-0100001AF629-AF";

    #[test]
    fn the_documented_ksef_number_validates() {
        let n = KsefNumber::parse(DOCUMENTED).unwrap();
        assert_eq!(n.seller_nip(), "5265877635");
        assert_eq!(n.date(), NaiveDate::from_ymd_opt(2025, 8, 26).unwrap());
    }

    #[test]
    fn every_ksef_number_from_the_official_examples_validates() {
        for n in [
            "5265877635-20250916-0200A0D6723E-C2",
            "5265877635-20250916-010040741B3E-46",
            "5265877635-20250626-010080DD2B5E-26",
        ] {
            KsefNumber::parse(n).unwrap();
        }
    }

    #[test]
    fn any_one_character_change_to_a_ksef_number_is_refused() {
        let alphabet = b"0123456789ABCDEF-a";
        for i in 0..DOCUMENTED.len() {
            for &c in alphabet {
                let mut bytes = DOCUMENTED.as_bytes().to_vec();
                if bytes[i] == c {
                    continue;
                }
                bytes[i] = c;
                let changed = String::from_utf8(bytes).unwrap();
                assert!(KsefNumber::parse(&changed).is_err(), "{changed} was accepted");
            }
        }
    }

    #[test]
    fn malformed_ksef_numbers_say_why() {
        assert_eq!(
            KsefNumber::parse("5265877635-20250826-0100001AF629-AE"),
            Err(IdError::KsefNumberChecksum("5265877635-20250826-0100001AF629-AE".into()))
        );
        for bad in ["", "526587763é-20250826-0100001AF629-A", "5265877635-20250230-0100001AF629-AF", "0265877635-20250826-0100001AF629-AF", "x"] {
            assert!(matches!(KsefNumber::parse(bad), Err(IdError::KsefNumberFormat(_))), "{bad}");
        }
    }

    #[test]
    fn generated_ksef_numbers_parse_and_carry_the_seller() {
        let nip = Nip::parse("5265877635").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        for _ in 0..100 {
            let n = KsefNumber::generate(&nip, date);
            assert_eq!(KsefNumber::parse(n.as_str()).unwrap(), n);
            assert_eq!(n.seller_nip(), "5265877635");
        }
        let fixed = KsefNumber::with_technical_part(&nip, NaiveDate::from_ymd_opt(2025, 8, 26).unwrap(), [0x01, 0x00, 0x00, 0x1A, 0xF6, 0x29]);
        assert_eq!(fixed.as_str(), DOCUMENTED);
    }

    #[test]
    fn reference_numbers_have_the_documented_shape_and_our_own_carry_a_checksum() {
        let r = ReferenceNumber::parse("20250625-SO-2C3E6C8000-B675CF5D68-07").unwrap();
        assert!(r.is(ReferenceKind::OnlineSession));
        assert!(r.has_valid_checksum());
        // A documented sample whose checksum does not hold still has the right shape.
        let sample = ReferenceNumber::parse("20250918-EU-2EBD6FA000-242EB9B66D-43").unwrap();
        assert!(!sample.has_valid_checksum());
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        for kind in [ReferenceKind::Invoice, ReferenceKind::Upo, ReferenceKind::Export, ReferenceKind::Authentication] {
            let g = ReferenceNumber::generate(kind, date);
            assert_eq!(g.as_str().len(), 36);
            assert!(g.has_valid_checksum() && g.is(kind));
            assert_eq!(ReferenceNumber::parse(g.as_str()).unwrap(), g);
        }
        for bad in ["2025062é-SO-0000000000-0000000000-0", "20250625-SO-2C3E6C8000-B675CF5D68-0", "20250625-so-2C3E6C8000-B675CF5D68-07", "20251325-SO-2C3E6C8000-B675CF5D68-07", "20250625-SO-2C3E6C8000-B675CF5D68_07"] {
            assert!(ReferenceNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenges_follow_the_auth_xsd_pattern() {
        let c = Challenge::parse("20250514-CR-226FB7B000-3ACF9BE4C0-10").unwrap();
        assert_eq!(c.as_str().len(), 36);
        assert!(Challenge::parse("20250625-SO-2C3E6C8000-B675CF5D68-07").is_err());
        let g = Challenge::generate(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap());
        assert!(g.as_str().starts_with("20260102-CR-"));
        Challenge::parse(g.as_str()).unwrap();
    }

    #[test]
    fn nip_pattern_and_checksum_are_separate_checks() {
        let nip = Nip::parse("5265877635").unwrap();
        assert!(nip.has_valid_checksum());
        assert!(!Nip::parse("5265877636").unwrap().has_valid_checksum());
        for bad in ["0265877635", "1005877635", "526587763", "52658776355", "52658776a5"] {
            assert!(Nip::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_plaintext_round_trips_even_though_tokens_contain_bars() {
        let token = "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|919f7044";
        let plain = ksef_token_plaintext(token, 1_752_236_636_015);
        assert_eq!(split_ksef_token_plaintext(&plain), Some((token, 1_752_236_636_015)));
        assert_eq!(split_ksef_token_plaintext("no-bar"), None);
    }
}
