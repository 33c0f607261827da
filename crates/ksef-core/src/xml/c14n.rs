//! Canonical XML of a parsed document or of one element in place: inclusive C14N 1.0 and 1.1, exclusive C14N,
//! each with or without comments, optionally leaving out subtrees (an enveloped signature).
//!
//! Canonicalizing an element "in place" means as the signature specifications do it for a same-document
//! reference: the element keeps the namespace declarations (and, for inclusive C14N, the `xml:*` attributes) it
//! inherits from its ancestors, so a signer that digested it inside its document and a verifier agree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use roxmltree::{Document, Node, NodeId, NodeType};

/// Which canonicalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Canonical XML 1.0 (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`).
    Inclusive10,
    /// Canonical XML 1.1 (`http://www.w3.org/2006/12/xml-c14n11`).
    Inclusive11,
    /// Exclusive XML Canonicalization 1.0 (`http://www.w3.org/2001/10/xml-exc-c14n#`).
    Exclusive,
}

impl Method {
    /// The method and whether comments are kept, from its algorithm URI.
    pub fn from_uri(uri: &str) -> Option<(Method, bool)> {
        Some(match uri {
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" => (Method::Inclusive10, false),
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" => (Method::Inclusive10, true),
            "http://www.w3.org/2006/12/xml-c14n11" => (Method::Inclusive11, false),
            "http://www.w3.org/2006/12/xml-c14n11#WithComments" => (Method::Inclusive11, true),
            "http://www.w3.org/2001/10/xml-exc-c14n#" => (Method::Exclusive, false),
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => (Method::Exclusive, true),
            _ => return None,
        })
    }

    /// The algorithm URI (without comments).
    pub fn uri(self) -> &'static str {
        match self {
            Method::Inclusive10 => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            Method::Inclusive11 => "http://www.w3.org/2006/12/xml-c14n11",
            Method::Exclusive => "http://www.w3.org/2001/10/xml-exc-c14n#",
        }
    }
}

/// How to canonicalize.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// Keep comments.
    pub comments: bool,
    /// Exclusive C14N only: prefixes treated as in inclusive C14N (`#default` for the default namespace).
    pub inclusive_prefixes: Vec<&'a str>,
    /// Subtrees left out (the enveloped signature).
    pub exclude: Vec<NodeId>,
}

/// The canonical form of the whole document `doc` by `method`.
pub fn document(doc: &Document<'_>, method: Method, options: &Options<'_>) -> String {
    let mut out = String::with_capacity(doc.input_text().len());
    let prefixes = distinct(&options.inclusive_prefixes);
    let writer = Writer { doc, method, options, inclusive_prefixes: &prefixes };
    let mut after_element = false;
    for node in doc.root().children() {
        if options.exclude.contains(&node.id()) {
            continue;
        }
        match node.node_type() {
            NodeType::Element => {
                writer.element(node, &Rendered::default(), None, &mut out);
                after_element = true;
            }
            NodeType::PI | NodeType::Comment if node.is_pi() || options.comments => {
                // Outside the document element: a line break after each one before it, before each one after it.
                if after_element {
                    out.push('\n');
                }
                writer.leaf(node, &mut out);
                if !after_element {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out
}

/// The canonical form of `element` in place, with what it inherits from its ancestors.
pub fn element(doc: &Document<'_>, element: Node<'_, '_>, method: Method, options: &Options<'_>) -> String {
    let mut out = String::new();
    let prefixes = distinct(&options.inclusive_prefixes);
    Writer { doc, method, options, inclusive_prefixes: &prefixes }.element(element, &Rendered::default(), None, &mut out);
    out
}

/// `prefixes` without repeats (a signature may list one many times; each element looks at every one).
fn distinct<'a>(prefixes: &[&'a str]) -> Vec<&'a str> {
    let mut out = prefixes.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// The namespaces in scope at an element (without the implicit `xml`): prefix (`""` for the default) → URI.
type Scope<'a> = BTreeMap<&'a str, &'a str>;

/// Namespace declarations already written by output ancestors: prefix (`""` for the default) → URI.
#[derive(Debug, Clone, Default)]
struct Rendered<'a>(BTreeMap<&'a str, &'a str>);

struct Writer<'d, 'input, 'o> {
    doc: &'d Document<'input>,
    method: Method,
    options: &'o Options<'o>,
    inclusive_prefixes: &'o [&'o str],
}

impl<'d, 'input: 'd> Writer<'d, 'input, '_> {
    /// The qualified name as written in the source (roxmltree resolves namespaces and keeps no prefixes).
    fn written_name(&self, node: Node<'d, 'input>) -> &'d str {
        let text = &self.doc.input_text()[node.range()];
        let end = text[1..].find(|c: char| c.is_whitespace() || c == '>' || c == '/').map_or(text.len(), |i| i + 1);
        &self.doc.input_text()[node.range().start + 1..node.range().start + end]
    }

    /// The prefixes an element's own start tag declares (`""` for the default namespace), read from the
    /// source: roxmltree gives only the namespaces in scope, and rebuilding those at every element would cost
    /// elements × declarations.
    fn own_declarations(&self, node: Node<'d, 'input>) -> Vec<&'d str> {
        let text = &self.doc.input_text()[node.range()];
        let bytes = text.as_bytes();
        let mut declared = Vec::new();
        // Past the name, then attribute after attribute until the tag ends.
        let mut i = 1 + self.written_name(node).len();
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' || bytes[i] == b'/' {
                return declared;
            }
            let start = i;
            while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let attribute = &text[start..i];
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\'' {
                i += 1;
            }
            let Some(&quote) = bytes.get(i) else { return declared };
            i += 1;
            while i < bytes.len() && bytes[i] != quote {
                i += 1;
            }
            i += 1;
            if attribute == "xmlns" {
                declared.push("");
            } else if let Some(prefix) = attribute.strip_prefix("xmlns:")
                && prefix != "xml"
            {
                declared.push(prefix);
            }
        }
    }

    /// `parent` (`None` at the apex) updated with what `node` declares itself.
    fn scope<'s>(&self, node: Node<'d, 'input>, parent: Option<&'s Scope<'d>>, own: &[&'d str]) -> Cow<'s, Scope<'d>> {
        match parent {
            None => Cow::Owned(
                node.namespaces().filter(|ns| ns.name() != Some("xml")).map(|ns| (ns.name().unwrap_or(""), ns.uri())).collect(),
            ),
            Some(parent) if own.is_empty() => Cow::Borrowed(parent),
            Some(parent) => {
                let mut scope = parent.clone();
                for prefix in own {
                    match node.lookup_namespace_uri(if prefix.is_empty() { None } else { Some(prefix) }) {
                        Some(uri) if !uri.is_empty() => scope.insert(prefix, uri),
                        _ => scope.remove(prefix),
                    };
                }
                Cow::Owned(scope)
            }
        }
    }

    fn element(&self, node: Node<'d, 'input>, rendered: &Rendered<'d>, parent_scope: Option<&Scope<'d>>, out: &mut String) {
        let apex = parent_scope.is_none();
        let name = self.written_name(node);
        out.push('<');
        out.push_str(name);

        let own = self.own_declarations(node);
        let in_scope = self.scope(node, parent_scope, &own);
        let attributes: Vec<(&'d str, &'d str, &'d str, &'d str)> = node
            .attributes()
            .map(|a| (a.namespace().unwrap_or(""), a.name(), &self.doc.input_text()[a.range_qname()], a.value()))
            .collect();
        let candidates: Vec<&str> = match self.method {
            // Below the apex an element that declares nothing has its parent's scope, all of it rendered already.
            Method::Inclusive10 | Method::Inclusive11 if !apex && own.is_empty() => Vec::new(),
            Method::Inclusive10 | Method::Inclusive11 => {
                let mut all: Vec<&str> = in_scope.keys().copied().collect();
                // A default namespace an ancestor declared and this element is out of.
                if !in_scope.contains_key("") {
                    all.push("");
                }
                all
            }
            Method::Exclusive => {
                let mut used = vec![prefix_of(name)];
                used.extend(attributes.iter().map(|a| prefix_of(a.2)).filter(|p| !p.is_empty() && *p != "xml"));
                for p in self.inclusive_prefixes {
                    used.push(if *p == "#default" { "" } else { p });
                }
                used
            }
        };
        let mut declarations: Vec<(&str, &str)> = Vec::new();
        for prefix in candidates {
            let uri = in_scope.get(prefix).copied().unwrap_or("");
            let already = rendered.0.get(prefix).copied();
            let needed = if uri.is_empty() {
                // Only the default namespace can be undeclared, and only where an ancestor declared it.
                prefix.is_empty() && already.is_some_and(|u| !u.is_empty())
            } else {
                already != Some(uri)
            };
            if needed && !declarations.iter().any(|(p, _)| *p == prefix) {
                declarations.push((prefix, uri));
            }
        }
        declarations.sort();
        let mut rendered_here = Cow::Borrowed(rendered);
        for (prefix, uri) in &declarations {
            if prefix.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(prefix);
                out.push_str("=\"");
            }
            escape_attribute(uri, out);
            out.push('"');
            rendered_here.to_mut().0.insert(prefix, uri);
        }

        let mut attributes = attributes;
        if apex && self.method != Method::Exclusive {
            attributes.extend(self.inherited_xml_attributes(node, &attributes));
        }
        attributes.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, qname, value) in attributes {
            out.push(' ');
            out.push_str(qname);
            out.push_str("=\"");
            escape_attribute(value, out);
            out.push('"');
        }
        out.push('>');
        for child in node.children() {
            if self.options.exclude.contains(&child.id()) {
                continue;
            }
            match child.node_type() {
                NodeType::Element => self.element(child, &rendered_here, Some(&in_scope), out),
                NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
                NodeType::PI => self.leaf(child, out),
                NodeType::Comment if self.options.comments => self.leaf(child, out),
                _ => {}
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }

    /// `xml:*` attributes of ancestors that an element canonicalized on its own carries (inclusive C14N: all of
    /// them in 1.0; `xml:lang` and `xml:space` in 1.1), unless it has its own.
    fn inherited_xml_attributes(
        &self,
        node: Node<'d, 'input>,
        own: &[(&'d str, &'d str, &'d str, &'d str)],
    ) -> Vec<(&'d str, &'d str, &'d str, &'d str)> {
        const XML: &str = "http://www.w3.org/XML/1998/namespace";
        let mut found: Vec<(&'d str, &'d str, &'d str, &'d str)> = Vec::new();
        for ancestor in node.ancestors().skip(1).filter(Node::is_element) {
            for a in ancestor.attributes().filter(|a| a.namespace() == Some(XML)) {
                let inherited = self.method == Method::Inclusive10 || matches!(a.name(), "lang" | "space");
                let shadowed = own.iter().any(|o| o.0 == XML && o.1 == a.name()) || found.iter().any(|f| f.1 == a.name());
                if inherited && !shadowed {
                    found.push((XML, a.name(), &self.doc.input_text()[a.range_qname()], a.value()));
                }
            }
        }
        found
    }

    fn leaf(&self, node: Node<'d, 'input>, out: &mut String) {
        match node.node_type() {
            NodeType::PI => {
                if let Some(pi) = node.pi() {
                    out.push_str("<?");
                    out.push_str(pi.target);
                    if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(' ');
                        out.push_str(value);
                    }
                    out.push_str("?>");
                }
            }
            NodeType::Comment => {
                out.push_str("<!--");
                out.push_str(node.text().unwrap_or_default());
                out.push_str("-->");
            }
            _ => {}
        }
    }
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

/// Appends `text` escaped as canonical XML writes character data.
pub fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Appends `text` escaped as canonical XML writes an attribute value (in double quotes).
pub fn escape_attribute(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "<?xml version=\"1.0\"?>\n<!-- head -->\n<r xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:u=\"urn:unused\" xml:lang=\"pl\">\n  <a:e b=\"2\" a:c=\"1\" >t&amp;x<!-- in --></a:e>\n  <f xmlns=\"\"><g/></f>\n</r>";

    fn parsed() -> Document<'static> {
        crate::xml::parse(DOC).unwrap()
    }

    #[test]
    fn a_whole_document_canonicalizes_as_the_specification_shows() {
        let doc = parsed();
        let c = document(&doc, Method::Inclusive10, &Options::default());
        assert_eq!(
            c,
            "<r xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:u=\"urn:unused\" xml:lang=\"pl\">\n  <a:e b=\"2\" a:c=\"1\">t&amp;x</a:e>\n  <f xmlns=\"\"><g></g></f>\n</r>"
        );
        let with = document(&doc, Method::Inclusive10, &Options { comments: true, ..Options::default() });
        assert!(with.starts_with("<!-- head -->\n<r"), "{with}");
        assert!(with.contains("t&amp;x<!-- in --></a:e>"), "{with}");
    }

    #[test]
    fn an_element_in_place_keeps_what_it_inherits_and_exclusive_keeps_only_what_it_uses() {
        let doc = parsed();
        let e = doc.descendants().find(|n| n.tag_name().name() == "e").unwrap();
        assert_eq!(
            element(&doc, e, Method::Inclusive10, &Options::default()),
            "<a:e xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:u=\"urn:unused\" b=\"2\" xml:lang=\"pl\" a:c=\"1\">t&amp;x</a:e>"
        );
        assert_eq!(element(&doc, e, Method::Exclusive, &Options::default()), "<a:e xmlns:a=\"urn:a\" b=\"2\" a:c=\"1\">t&amp;x</a:e>");
        let f = doc.descendants().find(|n| n.tag_name().name() == "f").unwrap();
        assert_eq!(element(&doc, f, Method::Exclusive, &Options::default()), "<f><g></g></f>");
        let with_default = Options { inclusive_prefixes: vec!["#default", "u"], ..Options::default() };
        assert_eq!(element(&doc, e, Method::Exclusive, &with_default), "<a:e xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:u=\"urn:unused\" b=\"2\" a:c=\"1\">t&amp;x</a:e>");
    }

    #[test]
    fn excluded_subtrees_are_left_out() {
        let doc = parsed();
        let f = doc.descendants().find(|n| n.tag_name().name() == "f").unwrap();
        let c = document(&doc, Method::Exclusive, &Options { exclude: vec![f.id()], ..Options::default() });
        assert_eq!(c, "<r xmlns=\"urn:d\" xml:lang=\"pl\">\n  <a:e xmlns:a=\"urn:a\" b=\"2\" a:c=\"1\">t&amp;x</a:e>\n  \n</r>");
    }

    /// Outputs of `xmllint --c14n` and `--exc-c14n` for a document that redeclares and undeclares namespaces
    /// below its root (where each element's scope is carried from its parent's, not rebuilt).
    #[test]
    fn nested_declarations_canonicalize_as_libxml2_does() {
        let source = "<r xmlns=\"urn:d\" xmlns:a=\"urn:a\"><a:x><b xmlns:a=\"urn:a2\" xmlns:c=\"urn:c\"><c:y a:z=\"1\"><e xmlns=\"\"><f xmlns=\"urn:f\"><g/></f></e></c:y></b><h xmlns:a=\"urn:a\"/></a:x><i xmlns:a=\"urn:a\"><a:j/></i></r>";
        let doc = crate::xml::parse(source).unwrap();
        assert_eq!(
            document(&doc, Method::Inclusive10, &Options::default()),
            "<r xmlns=\"urn:d\" xmlns:a=\"urn:a\"><a:x><b xmlns:a=\"urn:a2\" xmlns:c=\"urn:c\"><c:y a:z=\"1\"><e xmlns=\"\"><f xmlns=\"urn:f\"><g></g></f></e></c:y></b><h></h></a:x><i><a:j></a:j></i></r>"
        );
        assert_eq!(
            document(&doc, Method::Exclusive, &Options::default()),
            "<r xmlns=\"urn:d\"><a:x xmlns:a=\"urn:a\"><b><c:y xmlns:a=\"urn:a2\" xmlns:c=\"urn:c\" a:z=\"1\"><e xmlns=\"\"><f xmlns=\"urn:f\"><g></g></f></e></c:y></b><h></h></a:x><i><a:j xmlns:a=\"urn:a\"></a:j></i></r>"
        );
        let y = doc.descendants().find(|n| n.tag_name().name() == "y").unwrap();
        assert_eq!(
            element(&doc, y, Method::Inclusive10, &Options::default()),
            "<c:y xmlns=\"urn:d\" xmlns:a=\"urn:a2\" xmlns:c=\"urn:c\" a:z=\"1\"><e xmlns=\"\"><f xmlns=\"urn:f\"><g></g></f></e></c:y>"
        );
    }

}
