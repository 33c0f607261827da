//! Fuzzes the workspace's XML parser (`ksef_core::xml::parse`) and canonicalization: whatever parses has
//! canonical forms that parse again and are their own canonical forms.

use std::time::Duration;

use ksef_core::xml::c14n::{self, Method, Options};
use ksef_core::xml::{XmlLimits, parse, parse_with, pull};
use ksef_fuzz::{Target, head};

/// Built-in seeds, so the target has material without `../shared`.
const SEEDS: &[&str] = &[
    "<?xml version=\"1.0\"?>\n<!-- before --><r xmlns=\"urn:r\" xmlns:p=\"urn:p\" a=\"1\">\
     <p:e p:b='x &amp; y'>t<![CDATA[<c>]]></p:e><?pi d?><e/></r>\n<!-- after -->",
    "<a xml:lang=\"pl\" xml:space=\"preserve\"><b xmlns:q=\"urn:q\" q:x=\"&#9;&#10;\">\r\n &lt;tekst&gt; </b><c xmlns=\"\"/></a>",
    "<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"><Fa><P_15>123.45</P_15></Fa></Faktura>",
];

/// Canonical output may declare namespaces more often than its input (exclusive C14N repeats them where they
/// are used), so it is read again without the input's bounds on declarations.
const CANONICAL_LIMITS: XmlLimits =
    XmlLimits { max_bytes: usize::MAX, max_attributes: 4096, max_namespace_declarations: usize::MAX, max_nodes: u32::MAX, ..XmlLimits::DEFAULT };

/// Asserts that `canonical` parses and canonicalizes to itself.
fn fixed_point(canonical: &str, method: Method, options: &Options<'_>) {
    let again = parse_with(canonical, &CANONICAL_LIMITS).unwrap_or_else(|e| panic!("{method:?}: does not parse: {e}\n{}", head(canonical)));
    assert_eq!(c14n::document(&again, method, options), canonical, "{method:?}, comments {}: not a fixed point", options.comments);
}

#[test]
fn whatever_parses_canonicalizes_to_xml_that_is_its_own_canonical_form() {
    let mut seeds = ksef_fuzz::samples(&["fa3", "fa2", "invalid"]);
    seeds.extend(SEEDS.iter().map(|s| s.as_bytes().to_vec()));
    let target = Target { name: "xml", bound: Duration::from_secs(2), findings: env!("CARGO_TARGET_TMPDIR") };
    target.fuzz(&seeds, |input| {
        // The parser takes text; bytes that are not UTF-8 go in lossily so they still reach it.
        let text = String::from_utf8_lossy(input);
        let Ok(doc) = parse(&text) else { return };
        let methods = [(Method::Inclusive10, false), (Method::Inclusive11, true), (Method::Exclusive, false), (Method::Exclusive, true)];
        for (method, comments) in methods {
            let options = Options { comments, ..Options::default() };
            fixed_point(&c14n::document(&doc, method, &options), method, &options);
            // One element canonicalized in place, with what it inherits, stands alone as its own canonical form.
            if let Some(element) = doc.root_element().descendants().filter(|n| n.is_element()).nth(input.len() % 7) {
                fixed_point(&c14n::element(&doc, element, method, &options), method, &options);
            }
        }
    });
}

/// Found by this target: roxmltree (under `ksef_core::xml::parse`) took `<?xml\?>` as a processing instruction
/// named `xml`, which XML reserves; C14N wrote it back as `<?xml \?>`, which the same parser refused.
#[test]
fn a_processing_instruction_named_xml_is_refused_as_not_well_formed() {
    for text in ["<?xml\\?><r/>", "<?xml?><r/>", "<r><?xml?></r>"] {
        assert!(parse(text).is_err(), "{text} parses");
    }
}

/// Found by a 10-minute run: `<?xml\t?>` (a name, whitespace, no `version`) passed as a declaration.
#[test]
fn an_xml_declaration_without_a_version_is_refused() {
    for text in ["<?xml\t?><r/>", "<?xml encoding='UTF-8'?><r/>"] {
        assert!(parse(text).is_err(), "{text:?} parses");
    }
    assert!(parse("<?xml version=\"1.0\"?><r/>").is_ok());
}

/// Found by a 10-minute run: `<?xml\nversion?>` passed as a declaration. Only XML 1.0's production is one.
#[test]
fn only_a_declaration_of_the_xml_grammar_is_taken_as_one() {
    for text in ["<?xml\nversion?><r/>", "<?xml\rversion=\"1.0\"?><r/>", "<?xml version=1.0?><r/>", "<?xml version='2'?><r/>", "<?xml version='1.0' standalone='maybe'?><r/>"] {
        assert!(parse(text).is_err(), "{text:?} parses");
    }
    for text in ["<?xml version='1.0'?><r/>", "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\n<r/>"] {
        assert!(parse(text).is_ok(), "{text:?} is refused");
    }
}

/// Every event of a document as a line (adjacent text pieces joined), to compare the streaming reader with
/// the parsed tree. Namespaces are numbered in the order met, so a megabyte-long one is not written out again
/// in every element's line (which made the check, not the reader, slow on such inputs).
#[derive(Default)]
struct Events {
    lines: Vec<String>,
    /// Each namespace met, numbered by its place here.
    namespaces: Vec<String>,
}

impl Events {
    fn namespace(&mut self, namespace: Option<&str>) -> String {
        let Some(namespace) = namespace else { return "-".to_owned() };
        let n = self.namespaces.iter().position(|known| known == namespace).unwrap_or_else(|| {
            self.namespaces.push(namespace.to_owned());
            self.namespaces.len() - 1
        });
        format!("ns{n}")
    }
}

impl<'a> pull::Sink<'a> for Events {
    fn start(&mut self, tag: &pull::Start<'a, '_>) {
        let attributes: Vec<String> =
            tag.attributes.iter().map(|a| format!("{{{}}}{}={:?}", self.namespace(a.namespace), a.local, a.value)).collect();
        let namespace = self.namespace(tag.namespace);
        self.lines.push(format!("start {{{namespace}}}{} @{} [{}]", tag.local, tag.position, attributes.join(" ")));
    }
    fn text(&mut self, text: pull::Text<'a>) {
        let text = text.into_cow();
        match self.lines.last_mut() {
            Some(last) if last.starts_with("text ") => last.push_str(&text),
            _ => self.lines.push(format!("text {text}")),
        }
    }
    fn end(&mut self) {
        self.lines.push("end".to_owned());
    }
    fn instruction(&mut self, target: &'a str, position: usize) {
        self.lines.push(format!("pi {target} @{position}"));
    }
}

#[test]
fn what_the_streaming_reader_takes_the_parser_takes_and_reads_the_same() {
    let mut seeds = ksef_fuzz::samples(&["fa3", "fa2", "invalid"]);
    seeds.extend(SEEDS.iter().map(|s| s.as_bytes().to_vec()));
    let target = Target { name: "xml-pull", bound: Duration::from_secs(2), findings: env!("CARGO_TARGET_TMPDIR") };
    target.fuzz(&seeds, |input| {
        let text = String::from_utf8_lossy(input);
        let mut streamed = Events::default();
        if pull::read(&text, &XmlLimits::DEFAULT, &mut streamed).is_err() {
            return;
        }
        let doc = parse(&text).unwrap_or_else(|e| panic!("the reader took what the parser refuses ({e}):\n{}", head(&text)));
        let mut replayed = Events::default();
        pull::walk(&doc, &mut replayed);
        assert_eq!(streamed.lines, replayed.lines, "the reader and the tree differ:\n{}", head(&text));
        assert!(streamed.namespaces == replayed.namespaces, "the reader and the tree read different namespaces:\n{}", head(&text));
    });
}
