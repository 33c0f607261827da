//! KSeF's checks of an invoice file before its schema: UTF-8 without a BOM, no other declared encoding, well-formed
//! XML with no DTD and no processing instructions, no discouraged Unicode characters, and the size limits
//! (1 MB, or 3 MB with an attachment).

use ksef_core::limits::{MAX_INVOICE_BYTES as MAX_BYTES_WITH_ATTACHMENT, MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT as MAX_BYTES};

use crate::validate::{Finding, Kind, Severity};

/// KSeF's prechecks, each named by the `rule` its findings carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precheck {
    /// Over 3 MB, or over 1 MB without an attachment.
    Size,
    /// A byte order mark.
    Bom,
    /// Not UTF-8.
    Utf8,
    /// Another encoding declared.
    Encoding,
    /// A discouraged character.
    Characters,
    /// Not well-formed XML (or a DTD, or beyond the parser's bounds).
    Xml,
    /// A processing instruction.
    ProcessingInstruction,
    /// The root element is in neither the FA(2) nor the FA(3) namespace.
    Namespace,
}

impl Precheck {
    /// The `rule` of its findings.
    pub fn rule(self) -> &'static str {
        match self {
            Precheck::Size => "size",
            Precheck::Bom => "bom",
            Precheck::Utf8 => "utf8",
            Precheck::Encoding => "encoding",
            Precheck::Characters => "characters",
            Precheck::Xml => "xml",
            Precheck::ProcessingInstruction => "processing-instruction",
            Precheck::Namespace => "namespace",
        }
    }

    /// Whether `finding` is this precheck's.
    pub fn found(self, finding: &Finding) -> bool {
        finding.kind == Kind::Precheck && finding.rule == self.rule()
    }
}

pub(crate) fn finding(check: Precheck, path: &str, line: u32, pl: String, en: String) -> Finding {
    Finding {
        kind: Kind::Precheck,
        severity: Severity::Error,
        rule: check.rule().to_owned(),
        path: path.to_owned(),
        line,
        message_pl: pl,
        message_en: en,
    }
}

/// The text of `bytes` if KSeF would read it at all, and every precheck finding.
pub fn text(bytes: &[u8]) -> (Option<&str>, Vec<Finding>) {
    let mut findings = Vec::new();
    if bytes.len() > MAX_BYTES_WITH_ATTACHMENT {
        findings.push(finding(
            Precheck::Size,
            "/",
            1,
            format!("Plik ma {} B; faktura może mieć najwyżej {MAX_BYTES_WITH_ATTACHMENT} B (3 MB, z załącznikiem).", bytes.len()),
            format!("The file has {} bytes; an invoice may have at most {MAX_BYTES_WITH_ATTACHMENT} (3 MB, with an attachment).", bytes.len()),
        ));
        return (None, findings);
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        findings.push(finding(
            Precheck::Bom,
            "/",
            1,
            "Plik zaczyna się od znacznika BOM; KSeF przyjmuje UTF-8 bez BOM.".to_owned(),
            "The file starts with a byte order mark; KSeF takes UTF-8 without a BOM.".to_owned(),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            findings.push(finding(
                Precheck::Utf8,
                "/",
                line_at(bytes, e.valid_up_to()),
                format!("Plik nie jest poprawnym UTF-8 (bajt {}).", e.valid_up_to()),
                format!("The file is not valid UTF-8 (at byte {}).", e.valid_up_to()),
            ));
            return (None, findings);
        }
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if let Some(declared) = declared_encoding(text).filter(|e| !e.eq_ignore_ascii_case("utf-8")) {
        findings.push(finding(
            Precheck::Encoding,
            "/",
            1,
            format!("Deklaracja XML podaje kodowanie '{declared}'; dozwolone jest tylko UTF-8."),
            format!("The XML declaration names the encoding '{declared}'; only UTF-8 is allowed."),
        ));
    }
    // Every discouraged character starts with one of these bytes; the text is mostly ASCII, so this is quick.
    // Chunks with none of those bytes are passed over without a branch per byte.
    let candidate = |b: &u8| matches!(b, 0x7F | 0xC2 | 0xEF | 0xF0..=0xF4);
    let candidates = text
        .as_bytes()
        .chunks(64)
        .enumerate()
        .filter(|(_, chunk)| chunk.iter().fold(false, |any, b| any | candidate(b)))
        .flat_map(|(n, chunk)| chunk.iter().enumerate().filter(|(_, b)| candidate(b)).map(move |(i, b)| (n * 64 + i, *b)));
    for (at, c) in candidates.filter_map(|(at, _)| text[at..].chars().next().map(|c| (at, c))) {
        if discouraged(c) {
            findings.push(finding(
                Precheck::Characters,
                "/",
                line_at(text.as_bytes(), at),
                format!("Niedozwolony znak U+{:04X}.", c as u32),
                format!("The discouraged character U+{:04X} is not allowed.", c as u32),
            ));
            break;
        }
    }
    (Some(text), findings)
}

/// Size and processing instructions (target and position), once the document has been read; `has_attachment`:
/// the root has a `Zalacznik`.
pub(crate) fn document(instructions: &[(&str, usize)], has_attachment: bool, size: usize, lines: &crate::validate::Lines<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (target, position) in instructions.iter().take(crate::validate::MAX_FINDINGS) {
        findings.push(finding(
            Precheck::ProcessingInstruction,
            "/",
            lines.row(*position),
            format!("Instrukcja przetwarzania <?{target} …?> jest niedozwolona."),
            format!("The processing instruction <?{target} …?> is not allowed."),
        ));
    }
    if instructions.len() > crate::validate::MAX_FINDINGS {
        findings.push(crate::validate::omitted_finding(crate::validate::Kind::Precheck, instructions.len() - crate::validate::MAX_FINDINGS));
    }
    if size > MAX_BYTES && !has_attachment {
        findings.push(finding(
            Precheck::Size,
            "/",
            1,
            format!("Faktura bez załącznika ma {size} B; dozwolone jest najwyżej {MAX_BYTES} B (1 MB)."),
            format!("An invoice without an attachment has {size} bytes; at most {MAX_BYTES} (1 MB) are allowed."),
        ));
    }
    findings
}

fn declared_encoding(text: &str) -> Option<&str> {
    let decl = text.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// The characters KSeF refuses: C1 controls but NEL, noncharacters U+FDD0–FDEF, and U+nFFFE/U+nFFFF.
fn discouraged(c: char) -> bool {
    let u = c as u32;
    (0x7F..=0x84).contains(&u) || (0x86..=0x9F).contains(&u) || (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

fn line_at(bytes: &[u8], at: usize) -> u32 {
    1 + bytes[..at.min(bytes.len())].iter().filter(|b| **b == b'\n').count() as u32
}
