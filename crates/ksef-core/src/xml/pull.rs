//! A streaming reader for the common shape of KSeF documents: it hands elements, text and processing
//! instructions to a [`Sink`] as it meets them, with no tree, so a validator can check a document in one pass.
//!
//! It reads a strict subset of XML exactly (ASCII names, the five predefined entities and character
//! references, comments, CDATA, namespaces) and answers [`Unsupported`] for anything else, malformed or merely
//! rare (a DTD, a non-ASCII name, a limit of [`XmlLimits`] reached, an `xml` prefix declared): the caller then
//! parses with [`super::parse_with`], which says what is wrong, and may replay the tree with [`walk`]. So the
//! reader never accepts a document the full parser refuses, and on what it accepts it gives the same names,
//! values and text (tested against roxmltree by `ksef-fuzz`).

use std::borrow::Cow;

use super::{XmlLimits, find};

/// The namespace the `xml` prefix is bound to.
const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations, which nothing may be bound to.
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

/// The reader met something it leaves to the full parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported;

/// An attribute of a start tag (namespace declarations are not attributes), its value normalized as XML says
/// (references resolved, each whitespace character a space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Its namespace, if prefixed.
    pub namespace: Option<&'a str>,
    /// Its local name.
    pub local: &'a str,
    /// Its normalized value.
    pub value: Cow<'a, str>,
}

/// A start tag.
#[derive(Debug)]
pub struct Start<'a, 'b> {
    /// The element's namespace.
    pub namespace: Option<&'a str>,
    /// The element's local name.
    pub local: &'a str,
    /// Its attributes, in document order.
    pub attributes: &'b [Attribute<'a>],
    /// The byte offset of its `<`.
    pub position: usize,
}

/// A piece of character data, normalized (line ends as `\n`, references resolved) only when asked: the
/// whitespace between elements, most of a document's text, is never copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text<'a> {
    /// Whitespace alone (the indentation between tags), as written: carriage returns, if any, still to be
    /// normalized. The reader knows it is blank, so a sink need not look at it again.
    Blank(&'a str),
    /// As written, and as read.
    Plain(&'a str),
    /// As written, with carriage returns still to be normalized.
    LineEnds(&'a str),
    /// Already normalized.
    Decoded(String),
}

impl<'a> Text<'a> {
    /// The text as XML reads it.
    pub fn into_cow(self) -> Cow<'a, str> {
        match self {
            Text::Plain(s) => Cow::Borrowed(s),
            Text::Blank(s) if !s.contains('\r') => Cow::Borrowed(s),
            Text::Blank(s) | Text::LineEnds(s) => Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n")),
            Text::Decoded(s) => Cow::Owned(s),
        }
    }

    /// Whether it is empty or only whitespace (as `str::trim` sees it), without normalizing it.
    pub fn is_blank(&self) -> bool {
        let s = match self {
            Text::Blank(_) => return true,
            Text::Plain(s) | Text::LineEnds(s) => s,
            Text::Decoded(s) => s.as_str(),
        };
        s.bytes().all(|c| c.is_ascii_whitespace()) || s.trim().is_empty()
    }
}

/// What receives a document's content, in document order.
pub trait Sink<'a> {
    /// An element starts.
    fn start(&mut self, tag: &Start<'a, '_>);
    /// Character data of the open element (text or CDATA), in pieces.
    fn text(&mut self, text: Text<'a>);
    /// The open element ends.
    fn end(&mut self);
    /// A processing instruction (not the XML declaration) at `position`.
    fn instruction(&mut self, target: &'a str, position: usize);
}

/// Reads `text` into `sink`. On [`Unsupported`] the sink has seen part of the document and should be discarded.
pub fn read<'a>(text: &'a str, limits: &XmlLimits, sink: &mut impl Sink<'a>) -> Result<(), Unsupported> {
    let b = text.as_bytes();
    if b.len() > limits.max_bytes || !plain_characters(b) {
        return Err(Unsupported);
    }
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    // Only a space after `<?xml`: the full parser takes other whitespace there for a processing instruction.
    if b[i..].starts_with(b"<?xml ") {
        let end = find(b, b"?>", i + 5).ok_or(Unsupported)?;
        if !super::declaration(&b[i + 5..end]) {
            return Err(Unsupported);
        }
        i = end + 2;
    }
    let mut r = Reader { text, b, limits, open: Vec::new(), default: None, bindings: Vec::new(), attributes: Vec::new(), raw: Vec::new(), nodes: 1, declarations: 0, root_done: false };
    r.content(i, sink)
}

/// Replays a parsed document into `sink`, as [`read`] would have given it.
pub fn walk<'a>(doc: &'a roxmltree::Document<'a>, sink: &mut impl Sink<'a>) {
    let mut attributes = Vec::new();
    for node in doc.root().children() {
        visit(node, &mut attributes, sink);
    }
}

/// One node and, for an element, its content; as deep as the document, which [`XmlLimits`] bounded.
fn visit<'a>(node: roxmltree::Node<'a, 'a>, attributes: &mut Vec<Attribute<'a>>, sink: &mut impl Sink<'a>) {
    if let Some(pi) = node.pi() {
        sink.instruction(pi.target, node.range().start);
    } else if node.is_text() {
        match node.text_storage() {
            Some(roxmltree::StringStorage::Borrowed(s)) => sink.text(Text::Plain(s)),
            Some(owned) => sink.text(Text::Decoded(owned.as_str().to_owned())),
            None => {}
        }
    } else if node.is_element() {
        attributes.clear();
        attributes.extend(node.attributes().map(|a| Attribute {
            namespace: a.namespace(),
            local: a.name(),
            value: match a.value_storage() {
                roxmltree::StringStorage::Borrowed(s) => Cow::Borrowed(*s),
                owned => Cow::Owned(owned.as_str().to_owned()),
            },
        }));
        sink.start(&Start { namespace: node.tag_name().namespace(), local: node.tag_name().name(), attributes, position: node.range().start });
        for child in node.children() {
            visit(child, attributes, sink);
        }
        sink.end();
    }
}

struct Reader<'a, 'l> {
    text: &'a str,
    b: &'a [u8],
    limits: &'l XmlLimits,
    /// Open elements: qualified name, how many bindings they declared, and the default namespace around them.
    open: Vec<(&'a str, usize, Option<&'a str>)>,
    /// The default namespace in scope (also in `bindings`; kept apart because nearly every name takes it).
    default: Option<&'a str>,
    /// Namespace bindings in scope, innermost last: prefix (`""` for the default) and namespace.
    bindings: Vec<(&'a str, &'a str)>,
    attributes: Vec<Attribute<'a>>,
    /// The current tag's attributes as written: qualified name split at its colon (prefix `""` if none), and
    /// raw value.
    raw: Vec<(&'a str, (&'a str, &'a str), &'a str)>,
    /// Nodes so far, the document node included (the full parser counts it against the same limit).
    nodes: u32,
    declarations: usize,
    root_done: bool,
}

impl<'a> Reader<'a, '_> {
    fn content(&mut self, mut i: usize, sink: &mut impl Sink<'a>) -> Result<(), Unsupported> {
        let b = self.b;
        while i < b.len() {
            // Most character data is the indentation between tags: whitespace up to the next `<`, taken in one
            // short loop where other text costs two searches.
            let blank = skip_space(b, i);
            let lt = if b.get(blank) == Some(&b'<') { blank } else { memchr::memchr(b'<', &b[blank..]).map_or(b.len(), |p| p + blank) };
            if lt > i {
                self.character_data(&self.text[i..lt], lt == blank, sink)?;
            }
            if lt == b.len() {
                break;
            }
            self.count()?;
            let rest = &b[lt..];
            i = if rest.starts_with(b"<!--") {
                let end = find(b, b"--", lt + 4).ok_or(Unsupported)?;
                // `--` may only end a comment, and `--->` is not an end.
                if b.get(end + 2) != Some(&b'>') {
                    return Err(Unsupported);
                }
                end + 3
            } else if rest.starts_with(b"<![CDATA[") {
                if self.open.is_empty() {
                    return Err(Unsupported);
                }
                let end = find(b, b"]]>", lt + 9).ok_or(Unsupported)?;
                let cdata = &self.text[lt + 9..end];
                sink.text(if cdata.contains('\r') { Text::LineEnds(cdata) } else { Text::Plain(cdata) });
                end + 3
            } else if rest.starts_with(b"<?") {
                let target_end = name_end(b, lt + 2);
                let target = &self.text[lt + 2..target_end];
                if target.is_empty() || target.eq_ignore_ascii_case("xml") || target.contains(':') || !starts_name(b[lt + 2]) {
                    return Err(Unsupported);
                }
                let end = find(b, b"?>", target_end).ok_or(Unsupported)?;
                if end > target_end && !is_space(b[target_end]) {
                    return Err(Unsupported);
                }
                sink.instruction(target, lt);
                end + 2
            } else if rest.starts_with(b"<!") {
                return Err(Unsupported);
            } else if rest.starts_with(b"</") {
                self.end_tag(lt, sink)?
            } else {
                self.start_tag(lt, sink)?
            };
        }
        if self.open.is_empty() && self.root_done { Ok(()) } else { Err(Unsupported) }
    }

    fn count(&mut self) -> Result<(), Unsupported> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes { Err(Unsupported) } else { Ok(()) }
    }

    /// Character data `raw`; `blank` if it is known to be whitespace alone (then it is passed on unsearched, as
    /// [`Text::Blank`]).
    fn character_data(&mut self, raw: &'a str, blank: bool, sink: &mut impl Sink<'a>) -> Result<(), Unsupported> {
        if self.open.is_empty() {
            // Outside the root element only whitespace may stand.
            return if blank || raw.bytes().all(is_space) { Ok(()) } else { Err(Unsupported) };
        }
        self.count()?;
        if blank {
            sink.text(Text::Blank(raw));
            return Ok(());
        }
        let bytes = raw.as_bytes();
        // One pass for the three bytes that matter, none of which most text has.
        let (mut references, mut carriage_returns) = (false, false);
        for at in memchr::memchr3_iter(b']', b'&', b'\r', bytes) {
            match bytes[at] {
                b']' if bytes[at..].starts_with(b"]]>") => return Err(Unsupported),
                b'&' => references = true,
                b'\r' => carriage_returns = true,
                _ => {}
            }
        }
        let text = match (references, carriage_returns) {
            (false, false) => Text::Plain(raw),
            (false, true) => Text::LineEnds(raw),
            (true, false) => Text::Decoded(decode(raw, false)?),
            // The full parser normalizes a carriage return next to a reference its own way (found by fuzzing:
            // `\r&#13;`): left to it, to agree.
            (true, true) => return Err(Unsupported),
        };
        sink.text(text);
        Ok(())
    }

    fn end_tag(&mut self, lt: usize, sink: &mut impl Sink<'a>) -> Result<usize, Unsupported> {
        let b = self.b;
        let (open, declared, default) = self.open.pop().ok_or(Unsupported)?;
        // The name must be the open element's: compared in place, not scanned first.
        let after_name = lt + 2 + open.len();
        if !b[lt + 2..].starts_with(open.as_bytes()) || b.get(after_name).is_some_and(|c| NAME_BYTES[usize::from(*c)]) {
            return Err(Unsupported);
        }
        let mut i = skip_space(b, after_name);
        if b.get(i) != Some(&b'>') {
            return Err(Unsupported);
        }
        i += 1;
        self.bindings.truncate(self.bindings.len() - declared);
        self.default = default;
        if self.open.is_empty() {
            self.root_done = true;
        }
        sink.end();
        Ok(i)
    }

    fn start_tag(&mut self, lt: usize, sink: &mut impl Sink<'a>) -> Result<usize, Unsupported> {
        let (b, text) = (self.b, self.text);
        if self.root_done || self.open.len() + 1 > self.limits.max_depth {
            return Err(Unsupported);
        }
        let (mut i, colon) = qname_end(b, lt + 1)?;
        let qname = &text[lt + 1..i];
        let (prefix, local) = split_at(text, lt + 1, colon, i);
        self.raw.clear();
        let empty = loop {
            let spaced = skip_space(b, i);
            match b.get(spaced) {
                Some(b'>') => break { i = spaced + 1; false },
                Some(b'/') if b.get(spaced + 1) == Some(&b'>') => break { i = spaced + 2; true },
                // Attributes are separated by whitespace.
                Some(_) if spaced > i => {}
                _ => return Err(Unsupported),
            }
            let (at, colon) = qname_end(b, spaced)?;
            let name = &text[spaced..at];
            let mut j = skip_space(b, at);
            if b.get(j) != Some(&b'=') {
                return Err(Unsupported);
            }
            j = skip_space(b, j + 1);
            let quote = *b.get(j).filter(|q| **q == b'"' || **q == b'\'').ok_or(Unsupported)?;
            let close = b[j + 1..].iter().position(|&c| c == quote).ok_or(Unsupported)? + j + 1;
            let value = &text[j + 1..close];
            if value.contains('<') || self.raw.iter().any(|(n, _, _)| *n == name) {
                return Err(Unsupported);
            }
            self.raw.push((name, split_at(text, spaced, colon, at), value));
            if self.raw.len() > self.limits.max_attributes {
                return Err(Unsupported);
            }
            i = close + 1;
        };
        // Namespace declarations first: they apply to the tag's own name and attributes.
        let (mut declared, outer_default) = (0, self.default);
        for &(name, _, value) in &self.raw {
            let prefix = if name == "xmlns" {
                // roxmltree reads an undeclared default namespace as `Some("")`: left to it, to agree.
                if value.is_empty() {
                    return Err(Unsupported);
                }
                ""
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                if prefix == "xml" || prefix == "xmlns" || value.is_empty() {
                    return Err(Unsupported);
                }
                prefix
            } else {
                continue;
            };
            if value.contains('&') || value.bytes().any(is_space) || value == XML_NAMESPACE || value == XMLNS_NAMESPACE {
                return Err(Unsupported);
            }
            self.bindings.push((prefix, value));
            if prefix.is_empty() {
                self.default = Some(value);
            }
            declared += 1;
            self.declarations += 1;
        }
        if self.declarations > self.limits.max_namespace_declarations {
            return Err(Unsupported);
        }
        let namespace = self.resolve(prefix, true)?;
        self.attributes.clear();
        for &(name, (prefix, local), value) in &self.raw {
            if name == "xmlns" || prefix == "xmlns" {
                continue;
            }
            let namespace = if prefix.is_empty() { None } else { self.resolve(prefix, false)? };
            if namespace.is_some() && self.attributes.iter().any(|a| a.local == local && a.namespace == namespace) {
                return Err(Unsupported);
            }
            if value.contains('&') && value.contains('\r') {
                return Err(Unsupported);
            }
            let value = if value.bytes().any(|c| c == b'&' || c == b'\t' || c == b'\n' || c == b'\r') {
                Cow::Owned(decode(value, true)?)
            } else {
                Cow::Borrowed(value)
            };
            self.attributes.push(Attribute { namespace, local, value });
        }
        sink.start(&Start { namespace, local, attributes: &self.attributes, position: lt });
        if empty {
            self.bindings.truncate(self.bindings.len() - declared);
            self.default = outer_default;
            if self.open.is_empty() {
                self.root_done = true;
            }
            sink.end();
        } else {
            self.open.push((qname, declared, outer_default));
        }
        Ok(i)
    }

    /// The namespace of `prefix` (`""`: the default one, which attributes do not take).
    fn resolve(&self, prefix: &str, element: bool) -> Result<Option<&'a str>, Unsupported> {
        if prefix.is_empty() {
            return Ok(if element { self.default } else { None });
        }
        if prefix == "xml" {
            return Ok(Some(XML_NAMESPACE));
        }
        if prefix == "xmlns" {
            return Err(Unsupported);
        }
        match self.bindings.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, namespace)) => Ok(Some(namespace)),
            None => Err(Unsupported),
        }
    }
}

/// No character XML forbids (C0 controls but tab, line feed and carriage return; U+FFFE, U+FFFF), so the
/// reader need not check characters one by one. The text is UTF-8 already.
fn plain_characters(b: &[u8]) -> bool {
    // Branch-free per chunk, so it vectorizes; U+FFFE and U+FFFF start with 0xEF, which is rare.
    let controls = b.chunks(64).any(|chunk| chunk.iter().fold(false, |bad, &c| bad | (c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r')));
    let nonchars = memchr::memchr_iter(0xEF, b).any(|at| b.get(at + 1) == Some(&0xBF) && matches!(b.get(at + 2), Some(0xBE | 0xBF)));
    !controls && !nonchars
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    i
}

fn starts_name(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

/// The ASCII bytes a name may hold, as a table: names are most of what the reader scans.
const NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b':' || b == b'-' || b == b'.';
        c += 1;
    }
    table
};

/// Past the ASCII name starting at `i` (a tag's name: what follows it is checked by the caller).
fn name_end(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..].iter().position(|&c| !NAME_BYTES[usize::from(c)]).map_or(b.len(), |p| p + i)
}

/// Past the ASCII qualified name starting at `i`, and where its colon is, in one pass over it: at most one
/// colon, not at either end, and each part starting as a name does (a non-ASCII name is left to the full parser).
fn qname_end(b: &[u8], i: usize) -> Result<(usize, Option<usize>), Unsupported> {
    match b.get(i) {
        Some(&c) if starts_name(c) && c != b':' => {}
        _ => return Err(Unsupported),
    }
    let mut colon = None;
    let mut end = i + 1;
    while let Some(&c) = b.get(end) {
        if !NAME_BYTES[usize::from(c)] {
            break;
        }
        if c == b':' {
            if colon.is_some() {
                return Err(Unsupported);
            }
            colon = Some(end);
        }
        end += 1;
    }
    if let Some(at) = colon
        && !(at + 1 < end && starts_name(b[at + 1]))
    {
        return Err(Unsupported);
    }
    Ok((end, colon))
}

/// The prefix (`""` if none) and local part of the name `text[start..end]` with its colon at `colon`.
fn split_at(text: &str, start: usize, colon: Option<usize>, end: usize) -> (&str, &str) {
    match colon {
        Some(at) => (&text[start..at], &text[at + 1..end]),
        None => ("", &text[start..end]),
    }
}

/// Text or an attribute value with references resolved and line ends normalized; in an attribute (`value`),
/// each whitespace character then becomes a space, as XML normalizes attributes without a DTD.
fn decode(raw: &str, value: bool) -> Result<String, Unsupported> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find(['&', '\r', '\t', '\n']) {
        out.push_str(&rest[..at]);
        let c = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        match c {
            b'&' => {
                let end = rest.find(';').ok_or(Unsupported)?;
                let name = &rest[..end];
                rest = &rest[end + 1..];
                out.push(match name {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "apos" => '\'',
                    "quot" => '"',
                    _ => character_reference(name)?,
                });
            }
            b'\r' => {
                rest = rest.strip_prefix('\n').unwrap_or(rest);
                out.push(if value { ' ' } else { '\n' });
            }
            _ => out.push(if value { ' ' } else { c as char }),
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `#60` or `#x3C`: an XML character.
fn character_reference(name: &str) -> Result<char, Unsupported> {
    let code = if let Some(hex) = name.strip_prefix("#x") {
        if hex.is_empty() || hex.len() > 6 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Unsupported);
        }
        u32::from_str_radix(hex, 16).map_err(|_| Unsupported)?
    } else if let Some(decimal) = name.strip_prefix('#') {
        if decimal.is_empty() || decimal.len() > 7 || !decimal.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Unsupported);
        }
        decimal.parse().map_err(|_| Unsupported)?
    } else {
        return Err(Unsupported);
    };
    let xml_char = matches!(code, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF);
    if xml_char { char::from_u32(code).ok_or(Unsupported) } else { Err(Unsupported) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event as a line, for comparing the reader with the tree.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl<'a> Sink<'a> for Log {
        fn start(&mut self, tag: &Start<'a, '_>) {
            let attributes: Vec<String> = tag.attributes.iter().map(|a| format!("{{{:?}}}{}={:?}", a.namespace, a.local, a.value)).collect();
            self.0.push(format!("start {{{:?}}}{} @{} [{}]", tag.namespace, tag.local, tag.position, attributes.join(" ")));
        }
        fn text(&mut self, text: Text<'a>) {
            let text = text.into_cow();
            match self.0.last_mut() {
                Some(last) if last.starts_with("text ") => last.push_str(&text),
                _ => self.0.push(format!("text {text}")),
            }
        }
        fn end(&mut self) {
            self.0.push("end".to_owned());
        }
        fn instruction(&mut self, target: &'a str, position: usize) {
            self.0.push(format!("pi {target} @{position}"));
        }
    }

    fn both(xml: &str) -> (Result<Vec<String>, Unsupported>, Option<Vec<String>>) {
        let mut read_log = Log::default();
        let read = read(xml, &XmlLimits::DEFAULT, &mut read_log).map(|()| read_log.0);
        let tree = super::super::parse(xml).ok().map(|doc| {
            let mut log = Log::default();
            walk(&doc, &mut log);
            log.0
        });
        (read, tree)
    }

    #[test]
    fn the_reader_and_the_tree_agree_on_ordinary_documents() {
        for xml in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a xmlns=\"urn:x\" xmlns:p='urn:p' b='1&gt;2' p:c=\"&#x41;\t&quot;\n\" d=\"e\r\nf\"><!-- c --><b/>x<![CDATA[<y>]]>&amp;z\n<p:d>t</p:d><?pi data?></a>\n<!-- after -->",
            "<a><b xmlns='urn:b'><c/></b><d xmlns:q='urn:q'><q:e q:f='1' f='2'/></d></a>",
            "\u{feff}<a>  </a>",
            "<a\n b = \"1\" ></a >",
            "<a>\r\n <b>x\r\ny\rz</b>\r\n<![CDATA[p\r\nq]]></a>",
        ] {
            let (read, tree) = both(xml);
            assert_eq!(read.as_ref().ok(), tree.as_ref(), "{xml}");
        }
    }

    #[test]
    fn what_the_reader_does_not_take_is_left_to_the_parser() {
        for xml in [
            "<!DOCTYPE a><a/>",
            "<a>&x;</a>",
            "<a b='1' b='2'/>",
            "<a xmlns:p='urn:p' xmlns:q='urn:p' p:b='1' q:b='2'/>",
            "<a><b></a></b>",
            "<a>x]]>y</a>",
            "<a><!-- x -- y --></a>",
            "<a/><b/>",
            "x<a/>",
            "<a><?xml version='1.0'?></a>",
            "<p:a/>",
            "<a><b xmlns=''/></a>",
            "<?xml\nversion=\"1.0\"?><a/>",
            "<a>\r&#13;</a>",
            "<a b='\r&#13;'/>",
            "<a b=1/>",
            "<a b='1'c='2'/>",
            "<a>\u{1}</a>",
            "<a>&#0;</a>",
            "<ä/>",
            "<a",
            "",
        ] {
            let (read, tree) = both(xml);
            assert_eq!(read, Err(Unsupported), "{xml}: {tree:?}");
        }
    }

    #[test]
    fn limits_are_kept() {
        let limits = XmlLimits { max_bytes: 1000, max_depth: 2, max_attributes: 2, max_namespace_declarations: 1, max_nodes: 10 };
        let mut log = Log::default();
        assert!(read("<a><b/></a>", &limits, &mut log).is_ok());
        for xml in ["<a><b><c/></b></a>", "<a b='1' c='2' d='3'/>", "<a xmlns:p='urn:p'><b xmlns:q='urn:q'/></a>", &"<a>".repeat(11)] {
            assert_eq!(read(xml, &limits, &mut Log::default()), Err(Unsupported), "{xml}");
        }
        // At the node limit the reader and the parser agree (both count the document node).
        for n in 0..14 {
            let xml = format!("{}<r/>", "<!---->".repeat(n));
            if read(&xml, &limits, &mut Log::default()).is_ok() {
                assert!(super::super::parse_with(&xml, &limits).is_ok(), "{n} comments: the reader took what the parser refuses");
            }
        }
    }
}
