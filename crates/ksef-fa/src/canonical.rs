//! Canonical XML 1.0 (W3C, without comments) of a parsed invoice: `ksef_core::xml::c14n`, the workspace's one
//! canonicalizer, over the whole document.

use ksef_core::xml::c14n::{self, Method, Options};
use roxmltree::Document;

/// The canonical form of `doc`.
pub fn canonical(doc: &Document<'_>) -> String {
    c14n::document(doc, Method::Inclusive10, &Options::default())
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
