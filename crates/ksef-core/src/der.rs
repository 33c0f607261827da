//! Just enough DER for KSeF's certificates: a strict reader (elements, object identifiers, times, the fields of
//! `TBSCertificate` KSeF needs) and a writer ([`write`]) for the few structures the workspace builds itself
//! (certificate requests, the emulator's certificates).
//!
//! The reader refuses anything that is not well-formed DER rather than guessing.

/// Why a certificate could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("malformed DER: {0}")]
pub struct DerError(pub &'static str);

/// One DER element: its tag, its whole encoding and its content.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The tag byte.
    pub tag: u8,
    /// Tag, length and content.
    pub whole: &'a [u8],
    /// The content octets.
    pub content: &'a [u8],
}

/// `BOOLEAN`.
pub const BOOLEAN: u8 = 0x01;
/// `INTEGER`.
pub const INTEGER: u8 = 0x02;
/// `BIT STRING`.
pub const BIT_STRING: u8 = 0x03;
/// `OCTET STRING`.
pub const OCTET_STRING: u8 = 0x04;
/// `NULL`.
pub const NULL: u8 = 0x05;
/// `OBJECT IDENTIFIER`.
pub const OID: u8 = 0x06;
/// `UTF8String`.
pub const UTF8_STRING: u8 = 0x0C;
/// `PrintableString`.
pub const PRINTABLE_STRING: u8 = 0x13;
/// `IA5String`.
pub const IA5_STRING: u8 = 0x16;
/// `UTCTime`.
pub const UTC_TIME: u8 = 0x17;
/// `GeneralizedTime`.
pub const GENERALIZED_TIME: u8 = 0x18;
/// `SEQUENCE`.
pub const SEQUENCE: u8 = 0x30;
/// `SET`.
pub const SET: u8 = 0x31;
/// `[0]`, constructed.
pub const CONTEXT_0: u8 = 0xA0;
/// `[3]`, constructed.
pub const CONTEXT_3: u8 = 0xA3;

/// Reads one element off the front of `input`.
pub fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
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

/// Reads one element with `tag` off the front of `input`; `what` names it in the error.
pub fn expect<'a>(input: &'a [u8], tag: u8, what: &'static str) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
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

/// Every element of a `SEQUENCE` or `SET` content.
pub fn elements(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// An object identifier's content octets as dotted text (`2.5.4.97`).
pub fn oid_text(content: &[u8]) -> Result<String, DerError> {
    let (&first, rest) = content.split_first().ok_or(DerError("empty object identifier"))?;
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut pending = false;
    for &b in std::iter::once(&first).chain(rest) {
        if value > u64::MAX >> 7 {
            return Err(DerError("object identifier arc too large"));
        }
        value = (value << 7) | u64::from(b & 0x7F);
        pending = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, b) = if value < 40 { (0, value) } else if value < 80 { (1, value - 40) } else { (2, value - 80) };
                arcs.extend([a, b]);
            } else {
                arcs.push(value);
            }
            value = 0;
            pending = false;
        }
    }
    if pending {
        return Err(DerError("object identifier ends mid-arc"));
    }
    Ok(arcs.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// The text of a directory string (UTF8String, PrintableString, IA5String, TeletexString read as Latin-1,
/// BMPString), or `None` for another type.
pub fn string_value(tlv: Tlv<'_>) -> Option<String> {
    match tlv.tag {
        UTF8_STRING | PRINTABLE_STRING | IA5_STRING | 0x12 | 0x1A => std::str::from_utf8(tlv.content).ok().map(str::to_owned),
        0x14 => Some(tlv.content.iter().map(|&b| b as char).collect()),
        0x1E => {
            let units: Vec<u16> = tlv.content.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// The attributes of a distinguished name (`Name`'s content), in order: object identifier and value (values of
/// types [`string_value`] does not read come as lowercase hex of their content).
pub fn name_attributes(name_content: &[u8]) -> Result<Vec<(String, String)>, DerError> {
    let mut out = Vec::new();
    for rdn in elements(name_content)? {
        if rdn.tag != SET {
            return Err(DerError("a relative distinguished name is not a SET"));
        }
        for atv in elements(rdn.content)? {
            let (oid, rest) = expect(atv.content, OID, "an attribute type is not an OBJECT IDENTIFIER")?;
            let (value, _) = read_tlv(rest)?;
            let text = string_value(value).unwrap_or_else(|| value.content.iter().map(|b| format!("{b:02x}")).collect());
            out.push((oid_text(oid.content)?, text));
        }
    }
    Ok(out)
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

/// Writing DER: each function returns one whole element.
pub mod write {
    use super::*;

    /// An element with `tag` around `content`.
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(content.len() + 6);
        out.push(tag);
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    /// A `SEQUENCE` of already encoded elements.
    pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
        tlv(SEQUENCE, &parts.concat())
    }

    /// A `SET` of already encoded elements (sorted, as DER requires).
    pub fn set(parts: &[&[u8]]) -> Vec<u8> {
        let mut sorted: Vec<&[u8]> = parts.to_vec();
        sorted.sort();
        tlv(SET, &sorted.concat())
    }

    /// A non-negative `INTEGER` from its big-endian magnitude.
    pub fn unsigned(magnitude: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
        let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
        if content[0] & 0x80 != 0 {
            content.insert(0, 0);
        }
        tlv(INTEGER, &content)
    }

    /// An `OBJECT IDENTIFIER` from dotted text; panics on text that is not one (they are constants here).
    pub fn oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().expect("an object identifier arc")).collect();
        assert!(arcs.len() >= 2, "an object identifier has two arcs at least");
        let mut content = Vec::new();
        for arc in std::iter::once(arcs[0] * 40 + arcs[1]).chain(arcs[2..].iter().copied()) {
            let mut groups = vec![(arc & 0x7F) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                groups.push(0x80 | (rest & 0x7F) as u8);
                rest >>= 7;
            }
            content.extend(groups.into_iter().rev());
        }
        tlv(OID, &content)
    }

    /// A `BIT STRING` of whole bytes.
    pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
        let mut content = vec![0u8];
        content.extend_from_slice(bytes);
        tlv(BIT_STRING, &content)
    }

    /// A time: `UTCTime` up to 2049, `GeneralizedTime` after, as RFC 5280 requires.
    pub fn time(t: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
        use chrono::Datelike as _;
        if t.year() < 2050 {
            tlv(UTC_TIME, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
        } else {
            tlv(GENERALIZED_TIME, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
        }
    }

    /// An explicitly tagged element (`[n]`, constructed).
    pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
        tlv(0xA0 | n, inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_identifiers_and_integers_round_trip() {
        for oid in ["2.5.4.97", "1.2.840.113549.1.1.11", "1.2.840.10045.3.1.7", "0.9.2342.19200300.100.1.1"] {
            let der = write::oid(oid);
            let (tlv, _) = read_tlv(&der).unwrap();
            assert_eq!(oid_text(tlv.content).unwrap(), oid);
        }
        assert_eq!(write::unsigned(&[0x00, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(write::tlv(0x04, &[1; 200])[..3], [0x04, 0x81, 200]);
    }

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
