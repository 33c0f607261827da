//! Just enough DER to read what KSeF needs out of an X.509 certificate: the public key, serial and validity.
//!
//! A full X.509 stack is not needed to find three fields at fixed positions of `TBSCertificate`,
//! and this reader refuses anything that is not well-formed DER rather than guessing.

/// Why a certificate could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("malformed DER: {0}")]
pub struct DerError(&'static str);

/// One DER element: its tag, its whole encoding and its content.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    content: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const CONTEXT_0: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError("unexpected end of input"))?;
    if tag & 0x1F == 0x1F {
        return Err(DerError("multi-byte tags are not used in certificates"));
    }
    let (&first, rest) = rest.split_first().ok_or(DerError("missing length"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(DerError("unsupported length encoding"));
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(DerError("length runs past the end of input"));
    }
    let header = input.len() - rest.len();
    let tlv = Tlv { tag, whole: &input[..header + len], content: &rest[..len] };
    Ok((tlv, &rest[len..]))
}

fn expect<'a>(input: &'a [u8], tag: u8, what: &'static str) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(DerError(what));
    }
    Ok((tlv, rest))
}

/// The fields of a certificate KSeF cares about, borrowed from its DER.
#[derive(Debug, Clone, Copy)]
pub struct CertificateFields<'a> {
    /// The serial number's content octets (big-endian, possibly with a leading zero).
    pub serial: &'a [u8],
    /// The DER `SubjectPublicKeyInfo`, tag and length included.
    pub spki: &'a [u8],
    /// `notBefore` as written in the certificate (UTCTime or GeneralizedTime text).
    pub not_before: &'a str,
    /// `notAfter` as written in the certificate.
    pub not_after: &'a str,
}

/// Reads the serial, validity and public key of a DER X.509 certificate.
pub fn certificate_fields(cert_der: &[u8]) -> Result<CertificateFields<'_>, DerError> {
    let (cert, trailing) = expect(cert_der, SEQUENCE, "certificate is not a SEQUENCE")?;
    if !trailing.is_empty() {
        return Err(DerError("trailing bytes after the certificate"));
    }
    let (tbs, _) = expect(cert.content, SEQUENCE, "TBSCertificate is not a SEQUENCE")?;
    let mut rest = tbs.content;
    let (first, after) = read_tlv(rest)?;
    if first.tag == CONTEXT_0 {
        rest = after; // Explicit version.
    }
    let (serial, rest) = expect(rest, INTEGER, "serialNumber is not an INTEGER")?;
    let (_signature, rest) = expect(rest, SEQUENCE, "signature algorithm is not a SEQUENCE")?;
    let (_issuer, rest) = expect(rest, SEQUENCE, "issuer is not a SEQUENCE")?;
    let (validity, rest) = expect(rest, SEQUENCE, "validity is not a SEQUENCE")?;
    let (_subject, rest) = expect(rest, SEQUENCE, "subject is not a SEQUENCE")?;
    let (spki, _) = expect(rest, SEQUENCE, "subjectPublicKeyInfo is not a SEQUENCE")?;
    let (not_before, v) = read_tlv(validity.content)?;
    let (not_after, _) = read_tlv(v)?;
    for t in [not_before, not_after] {
        if t.tag != UTC_TIME && t.tag != GENERALIZED_TIME {
            return Err(DerError("validity is not a time"));
        }
    }
    Ok(CertificateFields {
        serial: serial.content,
        spki: spki.whole,
        not_before: time_text(not_before)?,
        not_after: time_text(not_after)?,
    })
}

fn time_text(t: Tlv<'_>) -> Result<&str, DerError> {
    std::str::from_utf8(t.content).map_err(|_| DerError("time is not ASCII"))
}

/// Reads a certificate time (`YYMMDDHHMMSSZ` UTCTime or `YYYYMMDDHHMMSSZ` GeneralizedTime).
pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let full = match text.len() {
        13 => {
            // RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
            let yy: u32 = text.get(..2)?.parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        15 => text.to_owned(),
        _ => return None,
    };
    let naive = chrono::NaiveDateTime::parse_from_str(full.strip_suffix('Z')?, "%Y%m%d%H%M%S").ok()?;
    Some(naive.and_utc())
}

/// The DER `SubjectPublicKeyInfo` of a DER X.509 certificate.
pub fn certificate_spki(cert_der: &[u8]) -> Result<&[u8], DerError> {
    certificate_fields(cert_der).map(|f| f.spki)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_in_short_and_long_form_are_read() {
        let (tlv, rest) = read_tlv(&[0x04, 0x02, 0xAA, 0xBB, 0xFF]).unwrap();
        assert_eq!((tlv.tag, tlv.content, rest), (0x04, &[0xAA, 0xBB][..], &[0xFF][..]));
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        let (tlv, rest) = read_tlv(&long).unwrap();
        assert_eq!((tlv.content.len(), rest.len(), tlv.whole.len()), (256, 0, 260));
    }

    #[test]
    fn certificate_times_in_both_encodings_are_read() {
        assert_eq!(parse_time("251231235959Z").unwrap().to_rfc3339(), "2025-12-31T23:59:59+00:00");
        assert_eq!(parse_time("991231235959Z").unwrap().to_rfc3339(), "1999-12-31T23:59:59+00:00");
        assert_eq!(parse_time("20500101000000Z").unwrap().to_rfc3339(), "2050-01-01T00:00:00+00:00");
        assert_eq!(parse_time("2050"), None);
    }

    #[test]
    fn truncated_or_garbage_input_is_an_error_not_a_panic() {
        for input in [&[][..], &[0x30], &[0x30, 0x05, 0x01], &[0x30, 0x85, 1, 2, 3, 4, 5], &[0x1F, 0x01, 0x00]] {
            assert!(certificate_fields(input).is_err(), "{input:?}");
        }
        assert!(certificate_fields(&[0x30, 0x00]).is_err());
    }
}
