//! Schema validation of a parsed document against a compiled [`Schema`]: element order and cardinality
//! (sequences, choices, occurrence bounds), text and attribute values, fixed values. Every finding is
//! reported, with its path and line, not only the first; within one element's children, matching stops at the
//! first child that does not fit, as schema validators do.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use regex::Regex;
use roxmltree::{Document, Node};
use serde::Serialize;

use crate::schema::{Content, ElementDecl, Particle, Schema, Term, TypeRef, Variety};
use crate::value;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Which stage found a problem: KSeF's checks of the file, the schema, or the rules beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Encoding, size, forbidden constructs: KSeF refuses the file before schema validation (430).
    Precheck,
    /// The official XSD (KSeF: 430).
    Schema,
    /// Rules beyond the XSD (KSeF: 450 for those it enforces).
    Semantic,
}

/// Whether a finding makes the invoice invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// KSeF refuses such an invoice.
    Error,
    /// Likely wrong (tax law, internal consistency), but KSeF does not document refusing it.
    Warning,
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which stage found it.
    pub kind: Kind,
    /// Whether it makes the invoice invalid.
    pub severity: Severity,
    /// What kind of check failed, e.g. `xsd:content`, `xsd:pattern`, `nip-checksum`.
    pub rule: String,
    /// Where: `/Faktura/Fa/FaWiersz[2]/P_12` (an index only where an element repeats).
    pub path: String,
    /// The line of the element, from 1.
    pub line: u32,
    /// What is wrong, in Polish.
    pub message_pl: String,
    /// What is wrong, in English.
    pub message_en: String,
}

/// A compiled schema ready to validate with: its patterns compiled once.
#[derive(Debug)]
pub struct Validator {
    schema: Schema,
    patterns: HashMap<String, Regex>,
}

impl Validator {
    /// Prepares `schema`; fails if one of its patterns cannot be translated exactly.
    pub fn new(schema: Schema) -> Result<Validator, String> {
        let mut patterns = HashMap::new();
        for st in &schema.simple_types {
            if let Variety::Atomic { steps, .. } = &st.variety {
                for pattern in steps.iter().flat_map(|s| &s.patterns) {
                    if !patterns.contains_key(pattern) {
                        let translated = crate::pattern::translate(pattern)?;
                        let re = Regex::new(&translated).map_err(|e| format!("pattern '{pattern}': {e}"))?;
                        patterns.insert(pattern.clone(), re);
                    }
                }
            }
        }
        Ok(Validator { schema, patterns })
    }

    /// The schema validated against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Every schema finding in `doc` (none: the document is valid).
    pub fn validate(&self, doc: &Document<'_>) -> Vec<Finding> {
        let mut run = Run { v: self, doc, findings: Vec::new() };
        let root = doc.root_element();
        let decl = &self.schema.root;
        let path = format!("/{}", root.tag_name().name());
        if root.tag_name().name() != decl.name || root.tag_name().namespace() != decl.namespace.as_deref() {
            run.finding(
                root,
                &path,
                "xsd:root",
                format!("Element główny {{{}}}{} nie jest zadeklarowany w schemacie (oczekiwano {{{}}}{}).", root.tag_name().namespace().unwrap_or(""), root.tag_name().name(), self.schema.namespace, decl.name),
                format!("No matching global declaration available for the validation root {{{}}}{}.", root.tag_name().namespace().unwrap_or(""), root.tag_name().name()),
            );
        } else {
            run.element(root, decl, &path);
        }
        run.findings
    }
}

struct Run<'v, 'd, 'input> {
    v: &'v Validator,
    doc: &'d Document<'input>,
    findings: Vec<Finding>,
}

fn qname(node: Node<'_, '_>) -> String {
    node.tag_name().name().to_owned()
}

impl<'v> Run<'v, '_, '_> {
    fn finding(&mut self, node: Node<'_, '_>, path: &str, rule: &str, pl: String, en: String) {
        let line = self.doc.text_pos_at(node.range().start).row;
        self.findings.push(Finding {
            kind: Kind::Schema,
            severity: Severity::Error,
            rule: rule.to_owned(),
            path: path.to_owned(),
            line,
            message_pl: pl,
            message_en: en,
        });
    }

    fn element(&mut self, node: Node<'_, '_>, decl: &'v ElementDecl, path: &str) {
        let name = qname(node);
        match decl.ty {
            TypeRef::Simple(ty) => {
                self.attributes(node, &[], path);
                if self.no_child_elements(node, path, &name) {
                    self.text_value(node, ty, decl.fixed.as_deref(), path, &name);
                }
            }
            TypeRef::Complex(ty) => {
                let ct = &self.v.schema.complex_types[ty];
                self.attributes(node, &ct.attributes, path);
                match &ct.content {
                    Content::Empty => {
                        if self.no_child_elements(node, path, &name) && !text_of(node).trim().is_empty() {
                            self.finding(node, path, "xsd:content", format!("Element '{name}' musi być pusty."), format!("Element '{name}': The element must be empty."));
                        }
                    }
                    Content::Simple(st) => {
                        if self.no_child_elements(node, path, &name) {
                            self.text_value(node, *st, decl.fixed.as_deref(), path, &name);
                        }
                    }
                    Content::Elements(particle) => self.children(node, particle, path, &name),
                }
            }
        }
    }

    /// False (with a finding) if `node` has child elements although its type allows only text.
    fn no_child_elements(&mut self, node: Node<'_, '_>, path: &str, name: &str) -> bool {
        if node.children().any(|c| c.is_element()) {
            self.finding(
                node,
                path,
                "xsd:content",
                format!("Element '{name}' może zawierać tylko tekst, nie elementy."),
                format!("Element '{name}': Element content is not allowed, because the content type is a simple type definition."),
            );
            return false;
        }
        true
    }

    fn text_value(&mut self, node: Node<'_, '_>, ty: usize, fixed: Option<&str>, path: &str, name: &str) {
        let text = text_of(node);
        if let Err(e) = value::check(&self.v.schema, &self.v.patterns, ty, &text) {
            self.finding(node, path, &format!("xsd:{}", e.rule), format!("Element '{name}': {}", e.pl), format!("Element '{name}': {}", e.en));
            return;
        }
        if let Some(fixed) = fixed {
            let mode = value::white_space_of(&self.v.schema, ty);
            if value::normalize(&text, mode) != value::normalize(fixed, mode) {
                self.finding(
                    node,
                    path,
                    "xsd:fixed",
                    format!("Element '{name}': wartość musi być równa '{fixed}'."),
                    format!("Element '{name}': The value does not match the fixed value constraint '{fixed}'."),
                );
            }
        }
    }

    fn attributes(&mut self, node: Node<'_, '_>, declared: &'v [crate::schema::AttributeDecl], path: &str) {
        let name = qname(node);
        for attr in node.attributes() {
            if attr.namespace() == Some(XSI) {
                continue;
            }
            let Some(decl) = declared.iter().find(|d| d.name == attr.name() && attr.namespace().is_none()) else {
                let shown = attr.name();
                self.finding(
                    node,
                    path,
                    "xsd:attribute",
                    format!("Element '{name}': atrybut '{shown}' jest niedozwolony."),
                    format!("Element '{name}', attribute '{shown}': The attribute '{shown}' is not allowed."),
                );
                continue;
            };
            if let Err(e) = value::check(&self.v.schema, &self.v.patterns, decl.ty, attr.value()) {
                self.finding(
                    node,
                    path,
                    &format!("xsd:{}", e.rule),
                    format!("Element '{name}', atrybut '{}': {}", decl.name, e.pl),
                    format!("Element '{name}', attribute '{}': {}", decl.name, e.en),
                );
            } else if let Some(fixed) = &decl.fixed {
                let mode = value::white_space_of(&self.v.schema, decl.ty);
                if value::normalize(attr.value(), mode) != value::normalize(fixed, mode) {
                    self.finding(
                        node,
                        path,
                        "xsd:fixed",
                        format!("Element '{name}', atrybut '{}': wartość '{}' musi być równa '{fixed}'.", decl.name, attr.value()),
                        format!(
                            "Element '{name}', attribute '{}': The value '{}' does not match the fixed value constraint '{fixed}'.",
                            decl.name,
                            attr.value()
                        ),
                    );
                }
            }
        }
        for decl in declared.iter().filter(|d| d.required) {
            if node.attribute(decl.name.as_str()).is_none() {
                self.finding(
                    node,
                    path,
                    "xsd:attribute",
                    format!("Element '{name}': brak wymaganego atrybutu '{}'.", decl.name),
                    format!("Element '{name}': The attribute '{}' is required but missing.", decl.name),
                );
            }
        }
    }

    fn children(&mut self, node: Node<'_, '_>, particle: &'v Particle, path: &str, name: &str) {
        if node.children().any(|c| c.is_text() && !c.text().unwrap_or_default().trim().is_empty()) {
            self.finding(
                node,
                path,
                "xsd:content",
                format!("Element '{name}' może zawierać tylko elementy, nie tekst."),
                format!("Element '{name}': Character content other than whitespace is not allowed because the content type is 'element-only'."),
            );
        }
        let elements: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
        let keys: Vec<(Option<&str>, &str)> = elements.iter().map(|e| (e.tag_name().namespace(), e.tag_name().name())).collect();
        let mut matcher = Matcher { children: &keys, memo: HashMap::new(), expected: BTreeMap::new(), decls: HashMap::new(), furthest: 0 };
        let complete = matcher.ends(particle, 0).contains(&keys.len());
        if !complete {
            let at = matcher.furthest;
            let expected: Vec<&str> = matcher.expected.get(&at).map(|s| s.iter().copied().collect()).unwrap_or_default();
            let list = expected.join(", ");
            match elements.get(at) {
                Some(child) => {
                    let child_name = child.tag_name().name();
                    let child_path = format!("{path}/{child_name}");
                    let (pl, en) = if expected.is_empty() {
                        (format!("Element '{child_name}' jest tu niedozwolony."), format!("Element '{child_name}': This element is not expected."))
                    } else {
                        (
                            format!("Element '{child_name}' jest tu niedozwolony; oczekiwano: {list}."),
                            format!("Element '{child_name}': This element is not expected. Expected is ( {list} )."),
                        )
                    };
                    self.finding(*child, &child_path, "xsd:content", pl, en);
                }
                None => self.finding(
                    node,
                    path,
                    "xsd:content",
                    format!("Element '{name}' jest niekompletny; brakuje: {list}."),
                    format!("Element '{name}': Missing child element(s). Expected is ( {list} )."),
                ),
            }
        }
        let counts = sibling_counts(&elements);
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, child) in elements.iter().enumerate() {
            let child_name = child.tag_name().name();
            let index = seen.entry(child_name).or_default();
            *index += 1;
            // Children past the first that does not fit were not matched: they are not checked further.
            let Some(decl) = matcher.decls.get(&i) else { continue };
            let child_path = if counts[child_name] > 1 { format!("{path}/{child_name}[{index}]") } else { format!("{path}/{child_name}") };
            self.element(*child, decl, &child_path);
        }
    }
}

fn sibling_counts<'a>(elements: &[Node<'a, '_>]) -> HashMap<&'a str, usize> {
    let mut counts = HashMap::new();
    for e in elements {
        *counts.entry(e.tag_name().name()).or_insert(0) += 1;
    }
    counts
}

/// All the text of an element (its text and CDATA children).
fn text_of(node: Node<'_, '_>) -> String {
    node.children().filter(Node::is_text).filter_map(|c| c.text()).collect()
}

/// Matches a list of child elements against a content model: for each particle and start position, the set of
/// positions where a match can end (memoized, so repeated and nested particles cost little). Along the way it
/// records which declaration each child matched, the furthest child reached, and what was expected where.
struct Matcher<'s, 'c> {
    children: &'c [(Option<&'c str>, &'c str)],
    memo: HashMap<(usize, usize), Rc<Vec<usize>>>,
    expected: BTreeMap<usize, BTreeSet<&'s str>>,
    decls: HashMap<usize, &'s ElementDecl>,
    furthest: usize,
}

impl<'s> Matcher<'s, '_> {
    fn ends(&mut self, p: &'s Particle, start: usize) -> Rc<Vec<usize>> {
        let key = (std::ptr::from_ref(p) as usize, start);
        if let Some(hit) = self.memo.get(&key) {
            return hit.clone();
        }
        let mut results: BTreeSet<usize> = BTreeSet::new();
        if p.min == 0 {
            results.insert(start);
        }
        let mut frontier: BTreeSet<usize> = BTreeSet::from([start]);
        let mut count = 0u32;
        while p.max.is_none_or(|max| count < max) {
            count += 1;
            let mut next = BTreeSet::new();
            for &f in &frontier {
                next.extend(self.term_ends(&p.term, f));
            }
            if next.is_empty() {
                break;
            }
            let stalled = next == frontier;
            if count >= p.min {
                results.extend(next.iter().copied());
                // A term that can match nothing repeats without moving: nothing new can come.
                if stalled {
                    break;
                }
            }
            frontier = next;
        }
        let ends = Rc::new(results.into_iter().collect::<Vec<_>>());
        self.memo.insert(key, ends.clone());
        ends
    }

    fn term_ends(&mut self, term: &'s Term, start: usize) -> Vec<usize> {
        match term {
            Term::Element(decl) => {
                let fits = self.children.get(start).is_some_and(|(ns, name)| *name == decl.name && *ns == decl.namespace.as_deref());
                if fits {
                    self.decls.entry(start).or_insert(decl);
                    self.furthest = self.furthest.max(start + 1);
                    vec![start + 1]
                } else {
                    self.expected.entry(start).or_default().insert(&decl.name);
                    Vec::new()
                }
            }
            Term::Sequence(items) => {
                let mut positions = BTreeSet::from([start]);
                for item in items {
                    let mut next = BTreeSet::new();
                    for &p in &positions {
                        next.extend(self.ends(item, p).iter().copied());
                    }
                    if next.is_empty() {
                        return Vec::new();
                    }
                    positions = next;
                }
                positions.into_iter().collect()
            }
            Term::Choice(items) => {
                let mut positions = BTreeSet::new();
                for item in items {
                    positions.extend(self.ends(item, start).iter().copied());
                }
                positions.into_iter().collect()
            }
        }
    }
}
