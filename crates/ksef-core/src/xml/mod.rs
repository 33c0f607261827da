//! The one way XML is parsed in this workspace (and, in [`c14n`], canonicalized): no DTD (so no entities to
//! expand), and the document's shape bounded in one linear pass before any tree is built.
//!
//! The pass exists because a tree builder pays more than linear time for some shapes: every attribute of an
//! element is compared with the others, and namespace declarations are copied into each element's scope. A
//! document of tens of thousands of attributes on one element costs seconds; with the bounds below it cannot.
//! The bounds are far above what any KSeF document (invoice, UPO, authentication request) needs.

use std::fmt;

pub mod c14n;
pub mod pull;

/// Bounds on a document's shape, checked before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most attributes on one element, namespace declarations included.
    pub max_attributes: usize,
    /// Most namespace declarations in the whole document.
    pub max_namespace_declarations: usize,
    /// Most nodes (elements, text, comments, processing instructions) in the tree.
    pub max_nodes: u32,
}

impl XmlLimits {
    /// For every document KSeF exchanges: invoices (3 MB), UPOs of 10,000 documents, signed requests.
    pub const DEFAULT: XmlLimits = XmlLimits {
        max_bytes: 32 * 1024 * 1024,
        max_depth: 64,
        max_attributes: 64,
        max_namespace_declarations: 4096,
        max_nodes: 4_000_000,
    };
}

impl Default for XmlLimits {
    fn default() -> XmlLimits {
        XmlLimits::DEFAULT
    }
}

/// Why a document was not parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// The document is larger or deeper, or has more attributes or declarations, than allowed.
    Limit {
        /// What was exceeded, in English.
        what: String,
        /// The 1-based line where it was exceeded.
        line: u32,
    },
    /// Not well-formed, or it has a DTD.
    Malformed(roxmltree::Error),
    /// Not well-formed in a way the parser would let through.
    NotWellFormed {
        /// What is wrong, in English.
        what: String,
        /// The 1-based line.
        line: u32,
    },
}

impl XmlError {
    /// The 1-based line the problem is on.
    pub fn line(&self) -> u32 {
        match self {
            XmlError::Limit { line, .. } | XmlError::NotWellFormed { line, .. } => *line,
            XmlError::Malformed(e) => e.pos().row,
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::Limit { what, line } | XmlError::NotWellFormed { what, line } => write!(f, "{what} at line {line}"),
            XmlError::Malformed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for XmlError {}

/// Parses `text` within [`XmlLimits::DEFAULT`].
pub fn parse(text: &str) -> Result<roxmltree::Document<'_>, XmlError> {
    parse_with(text, &XmlLimits::DEFAULT)
}

/// Whether `text` is well-formed XML within [`XmlLimits::DEFAULT`] (no DTD), read by the streaming reader
/// without a tree; only what that reader leaves to the full parser is parsed, to say what is wrong.
pub fn well_formed(text: &str) -> Result<(), XmlError> {
    struct Nothing;
    impl pull::Sink<'_> for Nothing {
        fn start(&mut self, _: &pull::Start<'_, '_>) {}
        fn text(&mut self, _: pull::Text<'_>) {}
        fn end(&mut self) {}
        fn instruction(&mut self, _: &str, _: usize) {}
    }
    read_or_walk(text, || Nothing).map(|_| ())
}

/// Streams `text` (within [`XmlLimits::DEFAULT`]) into a sink `make` makes; a document the streaming reader
/// leaves to the full parser is parsed, and its tree replayed into a fresh sink. The full parser's error says
/// what is wrong with a document it refuses too.
pub fn read_or_walk<S: for<'a> pull::Sink<'a>>(text: &str, make: impl Fn() -> S) -> Result<S, XmlError> {
    let mut sink = make();
    if pull::read(text, &XmlLimits::DEFAULT, &mut sink).is_ok() {
        return Ok(sink);
    }
    let doc = parse(text)?;
    let mut sink = make();
    pull::walk(&doc, &mut sink);
    Ok(sink)
}

/// Parses `text` within `limits`, refusing any DTD.
pub fn parse_with<'a>(text: &'a str, limits: &XmlLimits) -> Result<roxmltree::Document<'a>, XmlError> {
    check_shape(text, limits)?;
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: limits.max_nodes, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(XmlError::Malformed)?;
    // Whatever the parser took for a processing instruction named `xml` was not a declaration it understood.
    if let Some(pi) = doc.descendants().find(|n| n.pi().is_some_and(|pi| pi.target.eq_ignore_ascii_case("xml"))) {
        let what = "a processing instruction named `xml` that is not the XML declaration".to_owned();
        return Err(XmlError::NotWellFormed { what, line: doc.text_pos_at(pi.range().start).row });
    }
    Ok(doc)
}

/// Whether `body` (what follows `<?xml` up to `?>`) is an XML declaration: a version, then an optional encoding
/// and standalone declaration, in that order (XML 1.0, production 23).
fn declaration(body: &[u8]) -> bool {
    fn space(s: &[u8]) -> (&[u8], bool) {
        let n = s.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')).count();
        (&s[n..], n > 0)
    }
    // ` name="value"` (or single quotes), with the value checked by `valid`; the rest after it.
    fn attribute<'a>(s: &'a [u8], name: &[u8], valid: impl Fn(&[u8]) -> bool) -> Option<&'a [u8]> {
        let (s, spaced) = space(s);
        let s = s.strip_prefix(name).filter(|_| spaced)?;
        let s = space(s).0.strip_prefix(b"=")?;
        let s = space(s).0;
        let quote = *s.first().filter(|q| matches!(q, b'"' | b'\''))?;
        let end = s[1..].iter().position(|c| *c == quote)?;
        valid(&s[1..=end]).then(|| &s[end + 2..])
    }
    let version = |v: &[u8]| v.len() > 2 && v.starts_with(b"1.") && v[2..].iter().all(u8::is_ascii_digit);
    let encoding = |v: &[u8]| {
        v.first().is_some_and(u8::is_ascii_alphabetic) && v.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    };
    // A carriage return inside the declaration makes the parser take it for a processing instruction.
    if body.contains(&b'\r') {
        return false;
    }
    let Some(mut rest) = attribute(body, b"version", version) else { return false };
    if let Some(after) = attribute(rest, b"encoding", encoding) {
        rest = after;
    }
    if let Some(after) = attribute(rest, b"standalone", |v| v == b"yes" || v == b"no") {
        rest = after;
    }
    space(rest).0.is_empty()
}

/// Checks the limits in one pass over the markup. What is malformed is left for the parser to report.
pub fn check_shape(text: &str, limits: &XmlLimits) -> Result<(), XmlError> {
    let b = text.as_bytes();
    let exceeded = |what: String, at: usize| XmlError::Limit { what, line: line_at(b, at) };
    if b.len() > limits.max_bytes {
        return Err(exceeded(format!("the document has {} bytes, more than {}", b.len(), limits.max_bytes), 0));
    }
    let (mut i, mut depth, mut declarations) = (0usize, 0usize, 0usize);
    while let Some(offset) = b[i..].iter().position(|&c| c == b'<') {
        let start = i + offset;
        let rest = &b[start..];
        let skip_past = |end: &[u8], from: usize| find(b, end, from).map(|p| p + end.len());
        let next = if rest.starts_with(b"<!--") {
            skip_past(b"-->", start + 4)
        } else if rest.starts_with(b"<![CDATA[") {
            skip_past(b"]]>", start + 9)
        } else if rest.starts_with(b"<?") {
            // The parser is lax about processing instructions named `xml`: only a well-formed declaration, first
            // in the document, may use that name.
            let name_char = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b':') || *c >= 0x80;
            let target_end = rest[2..].iter().position(|c| !name_char(c)).map_or(rest.len(), |p| p + 2);
            if rest[2..target_end].eq_ignore_ascii_case(b"xml") {
                let first = b[..start].iter().all(|c| c.is_ascii_whitespace()) || &b[..start] == "\u{feff}".as_bytes();
                let body = find(b, b"?>", start).map(|end| &b[start + target_end..end]);
                let declares = first && &rest[2..target_end] == b"xml" && body.is_some_and(declaration);
                if !declares {
                    return Err(XmlError::NotWellFormed { what: "a processing instruction named `xml` that is not the XML declaration".to_owned(), line: line_at(b, start) });
                }
            }
            skip_past(b"?>", start + 2)
        } else if rest.starts_with(b"<!") {
            // A DTD: the parser refuses it.
            return Ok(());
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            Some(start + 2)
        } else {
            match start_tag(b, start + 1) {
                Some(tag) => {
                    if tag.attributes > limits.max_attributes {
                        return Err(exceeded(
                            format!("an element has {} attributes, more than {}", tag.attributes, limits.max_attributes),
                            start,
                        ));
                    }
                    declarations += tag.declarations;
                    if declarations > limits.max_namespace_declarations {
                        return Err(exceeded(
                            format!("the document declares more than {} namespaces", limits.max_namespace_declarations),
                            start,
                        ));
                    }
                    // An empty element is as deep as any other; it just closes at once.
                    if depth + 1 > limits.max_depth {
                        return Err(exceeded(format!("elements are nested deeper than {}", limits.max_depth), start));
                    }
                    if !tag.empty {
                        depth += 1;
                    }
                    Some(tag.end)
                }
                None => None,
            }
        };
        match next {
            Some(n) => i = n,
            // Unterminated markup: malformed, which the parser reports with its position.
            None => return Ok(()),
        }
    }
    Ok(())
}

struct StartTag {
    /// Just past the closing `>`.
    end: usize,
    attributes: usize,
    declarations: usize,
    /// `<a/>`.
    empty: bool,
}

/// Reads a start tag whose name begins at `i`; `None` if it never ends.
fn start_tag(b: &[u8], mut i: usize) -> Option<StartTag> {
    let (mut attributes, mut declarations) = (0, 0);
    // The element's name.
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        match b.get(i)? {
            b'>' => return Some(StartTag { end: i + 1, attributes, declarations, empty: false }),
            b'/' => {
                return (b.get(i + 1) == Some(&b'>')).then_some(StartTag { end: i + 2, attributes, declarations, empty: true });
            }
            _ => {}
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'>' && b[i] != b'/' {
            i += 1;
        }
        let name = &b[name_start..i];
        if name.is_empty() {
            // Malformed (`<a =...`): stop here and let the parser say so.
            return None;
        }
        attributes += 1;
        if name == b"xmlns" || name.starts_with(b"xmlns:") {
            declarations += 1;
        }
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let quote = *b.get(i)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        i += 1 + b[i + 1..].iter().position(|&c| c == quote)? + 1;
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(haystack.get(from..)?, needle).map(|p| p + from)
}

fn line_at(b: &[u8], at: usize) -> u32 {
    1 + b[..at.min(b.len())].iter().filter(|&&c| c == b'\n').count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> XmlLimits {
        XmlLimits { max_bytes: 10_000, max_depth: 4, max_attributes: 3, max_namespace_declarations: 4, max_nodes: 100 }
    }

    #[test]
    fn ordinary_documents_parse() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- <not a=\"tag\"> -->\n<a xmlns=\"urn:x\" b='1>2' c=\"&quot;\"><b/><![CDATA[<c d=1>]]><c>t</c></a>";
        let doc = parse_with(xml, &limits()).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "a");
        assert_eq!(doc.root_element().attribute("b"), Some("1>2"));
    }

    #[test]
    fn too_many_attributes_are_refused_with_their_line() {
        let err = parse_with("<a>\n<b w='1' x='2' y='3' z='4'/></a>", &limits()).unwrap_err();
        assert!(matches!(err, XmlError::Limit { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("4 attributes"), "{err}");
    }

    #[test]
    fn depth_and_namespace_declarations_are_bounded() {
        assert!(parse_with("<a><a><a><a/></a></a></a>", &limits()).is_ok());
        assert!(matches!(parse_with("<a><a><a><a><a/></a></a></a></a>", &limits()), Err(XmlError::Limit { .. })));
        let many = "<r>".to_owned() + &"<e xmlns:p='urn:p'/>".repeat(5) + "</r>";
        assert!(matches!(parse_with(&many, &limits()), Err(XmlError::Limit { .. })));
        assert!(matches!(parse_with(&"x".repeat(10_001), &limits()), Err(XmlError::Limit { .. })));
    }

    #[test]
    fn dtds_and_broken_markup_are_the_parsers_to_refuse() {
        let dtd = "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>";
        assert!(matches!(parse(dtd), Err(XmlError::Malformed(roxmltree::Error::DtdDetected))));
        for broken in ["<a b='1></a>", "<a", "<a b=1/>", "<!-- never ends"] {
            assert!(matches!(parse(broken), Err(XmlError::Malformed(_))), "{broken}");
        }
    }

    #[test]
    fn well_formedness_is_read_without_a_tree_and_explained_by_the_parser() {
        assert!(well_formed("<a xmlns='urn:a'><b c='1'>t</b></a>").is_ok());
        // The streaming reader leaves an undeclared default namespace to the parser, which takes it.
        assert!(well_formed("<a><b xmlns=''/></a>").is_ok());
        assert!(matches!(well_formed("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(well_formed("<!DOCTYPE a><a/>"), Err(XmlError::Malformed(roxmltree::Error::DtdDetected))));
    }

    #[test]
    fn a_wide_element_is_refused_in_linear_time() {
        let attributes: String = (0..200_000).map(|i| format!(" a{i}='x'")).collect();
        let xml = format!("<r{attributes}/>");
        assert!(matches!(parse(&xml), Err(XmlError::Limit { .. })));
    }
}
