//! Canonical XML 1.0 (W3C, without comments) of a parsed document: no XML declaration, elements written out
//! as start and end tags, each namespace declaration where it first comes into scope (default first, then by
//! prefix), attributes ordered by namespace URI and local name, and text and attribute values escaped as the
//! specification prescribes. Comments are dropped; processing instructions are kept.

use roxmltree::{Document, Node, NodeType};

/// The canonical form of `doc`.
pub fn canonical(doc: &Document<'_>) -> String {
    let mut out = String::with_capacity(doc.input_text().len());
    let mut first = true;
    for node in doc.root().children() {
        match node.node_type() {
            NodeType::Element => {
                element(doc, node, &mut out);
                first = false;
            }
            NodeType::PI => {
                // Before the document element a PI is followed by a line break, after it preceded by one.
                if !first {
                    out.push('\n');
                }
                pi(node, &mut out);
                if first {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out
}

/// The qualified name as written in the source (roxmltree keeps namespaces resolved, not prefixes).
fn written_name<'a>(doc: &Document<'a>, node: Node<'_, 'a>) -> &'a str {
    let text = &doc.input_text()[node.range()];
    let end = text[1..].find(|c: char| c.is_whitespace() || c == '>' || c == '/').map_or(text.len(), |i| i + 1);
    &text[1..end]
}

fn element(doc: &Document<'_>, node: Node<'_, '_>, out: &mut String) {
    let name = written_name(doc, node);
    out.push('<');
    out.push_str(name);
    // Namespace declarations in scope here but not in the parent element (with the same value).
    let parent = node.parent().filter(Node::is_element);
    let mut declarations: Vec<(&str, &str)> = node
        .namespaces()
        .filter(|ns| ns.name() != Some("xml"))
        .filter(|ns| !parent.is_some_and(|p| p.namespaces().any(|pn| pn.name() == ns.name() && pn.uri() == ns.uri())))
        .map(|ns| (ns.name().unwrap_or(""), ns.uri()))
        .collect();
    // A default namespace in the parent that this element undeclares.
    if node.namespaces().all(|ns| ns.name().is_some())
        && parent.is_some_and(|p| p.namespaces().any(|pn| pn.name().is_none() && !pn.uri().is_empty()))
    {
        declarations.push(("", ""));
    }
    declarations.sort();
    for (prefix, uri) in declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
    }
    let mut attributes: Vec<(&str, &str, &str, &str)> = node
        .attributes()
        .map(|a| (a.namespace().unwrap_or(""), a.name(), &doc.input_text()[a.range_qname()], a.value()))
        .collect();
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
        match child.node_type() {
            NodeType::Element => element(doc, child, out),
            NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
            NodeType::PI => pi(child, out),
            _ => {}
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn pi(node: Node<'_, '_>, out: &mut String) {
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

    fn c14n(xml: &str) -> String {
        canonical(&Document::parse(xml).unwrap())
    }

    #[test]
    fn the_specifications_rules_hold() {
        // Declaration and comments go, empty elements open and close, attributes are ordered, and namespace
        // declarations appear once, where they come into scope.
        let xml = "<?xml version=\"1.0\"?>\n<!--c--><a xmlns=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" b:y=\"2\" x='&quot;'><e/><b:f xmlns:b=\"urn:b\">t&amp;&gt;</b:f></a>";
        assert_eq!(
            c14n(xml),
            "<a xmlns=\"urn:a\" xmlns:b=\"urn:b\" x=\"&quot;\" z=\"1\" b:y=\"2\"><e></e><b:f>t&amp;&gt;</b:f></a>"
        );
        assert_eq!(c14n("<a xmlns=\"urn:a\"><b xmlns=\"\"/></a>"), "<a xmlns=\"urn:a\"><b xmlns=\"\"></b></a>");
        assert_eq!(c14n("<a t=\"x&#9;y\">&#13;</a>"), "<a t=\"x&#x9;y\">&#xD;</a>");
    }
}
