//! Schema validation of a parsed document against a compiled [`Schema`]: element order and cardinality
//! (sequences, choices, occurrence bounds), text and attribute values, fixed values. Every finding is
//! reported, with its path and line, not only the first; within one element's children, matching stops at the
//! first child that does not fit, as schema validators do.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
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
    /// A generation request that cannot become an invoice (a field with no place, a wrong kind of value).
    Request,
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

/// A compiled schema ready to validate with: its patterns compiled once, its element names numbered.
#[derive(Debug)]
pub struct Validator {
    schema: Schema,
    patterns: Vec<Regex>,
    /// Element numbers by local name, then namespace.
    names: Names,
}

/// Element numbers by local name, then namespace.
type Names = HashMap<String, Vec<(Option<String>, u32)>, BuildHasherDefault<Fnv>>;

/// FNV-1a: names are short and not chosen by an attacker who could gain from collisions (the table is fixed).
#[derive(Debug, Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The number of a name no declaration has.
const UNKNOWN: u32 = u32::MAX;

fn number_elements(p: &mut Particle, names: &mut Names, next: &mut u32) {
    match &mut p.term {
        Term::Element(decl) => {
            let entries = names.entry(decl.name.clone()).or_default();
            decl.id = match entries.iter().find(|(ns, _)| *ns == decl.namespace) {
                Some((_, id)) => *id,
                None => {
                    *next += 1;
                    entries.push((decl.namespace.clone(), *next));
                    *next
                }
            };
        }
        Term::Sequence(items) | Term::Choice(items) => {
            for item in items {
                number_elements(item, names, next);
            }
        }
    }
}

impl Validator {
    /// Prepares `schema`; fails if one of its patterns cannot be translated exactly.
    pub fn new(mut schema: Schema) -> Result<Validator, String> {
        let mut names = HashMap::default();
        let mut next = 0;
        for ct in &mut schema.complex_types {
            if let Content::Elements(p) = &mut ct.content {
                number_elements(p, &mut names, &mut next);
            }
        }
        let mut patterns: Vec<Regex> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for st in &mut schema.simple_types {
            if let Variety::Atomic { steps, .. } = &mut st.variety {
                for step in steps {
                    for pattern in &step.patterns {
                        let id = match index.get(pattern) {
                            Some(id) => *id,
                            None => {
                                let translated = crate::pattern::translate(pattern)?;
                                patterns.push(Regex::new(&translated).map_err(|e| format!("pattern '{pattern}': {e}"))?);
                                index.insert(pattern.clone(), patterns.len() - 1);
                                patterns.len() - 1
                            }
                        };
                        step.pattern_ids.push(id);
                    }
                    step.sorted_enumeration = step.enumeration.clone();
                    step.sorted_enumeration.sort();
                }
            }
        }
        Ok(Validator { schema, patterns, names })
    }

    /// The schema validated against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Every schema finding in `doc` (none: the document is valid).
    pub fn validate(&self, doc: &Document<'_>) -> Vec<Finding> {
        let mut run = Run { v: self, lines: Lines::of(doc), findings: Vec::new(), omitted: 0 };
        let root = doc.root_element();
        let decl = &self.schema.root;
        if root.tag_name().name() != decl.name || root.tag_name().namespace() != decl.namespace.as_deref() {
            run.finding(
                root,
                "xsd:root",
                format!("Element główny {{{}}}{} nie jest zadeklarowany w schemacie (oczekiwano {{{}}}{}).", root.tag_name().namespace().unwrap_or(""), root.tag_name().name(), self.schema.namespace, decl.name),
                format!("No matching global declaration available for the validation root {{{}}}{}.", root.tag_name().namespace().unwrap_or(""), root.tag_name().name()),
            );
        } else {
            run.element(root, decl);
        }
        if run.omitted > 0 {
            run.findings.push(omitted_finding(Kind::Schema, run.omitted));
        }
        run.findings
    }
}

struct Run<'v> {
    v: &'v Validator,
    lines: Lines,
    findings: Vec<Finding>,
    omitted: usize,
}

/// Most findings of one kind a report lists; one more says how many were left out. A hostile document can have
/// a finding per node, and each costs a walk over its siblings for its path.
pub const MAX_FINDINGS: usize = 1_000;

/// The line of any byte offset of a document, by binary search (roxmltree's `text_pos_at` scans from the start,
/// which made a finding per node quadratic).
pub(crate) struct Lines(Vec<usize>);

impl Lines {
    pub(crate) fn of(doc: &Document<'_>) -> Lines {
        Lines(doc.input_text().bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect())
    }

    /// The 1-based line of byte offset `pos`.
    pub(crate) fn row(&self, pos: usize) -> u32 {
        u32::try_from(self.0.partition_point(|&newline| newline < pos) + 1).unwrap_or(u32::MAX)
    }
}

/// The finding that stands for `omitted` findings of `kind` past [`MAX_FINDINGS`].
pub(crate) fn omitted_finding(kind: Kind, omitted: usize) -> Finding {
    Finding {
        kind,
        severity: Severity::Error,
        rule: "findings-limit".to_owned(),
        path: "/".to_owned(),
        line: 1,
        message_pl: format!("Pominięto kolejne {omitted} błędów tego rodzaju (pokazano pierwsze {MAX_FINDINGS})."),
        message_en: format!("{omitted} more findings of this kind are not listed (the first {MAX_FINDINGS} are)."),
    }
}

/// `/Faktura/Fa/FaWiersz[2]/P_12`: the element's path, with an index where a name repeats among siblings.
pub(crate) fn path_of(node: Node<'_, '_>) -> String {
    let mut parts: Vec<String> = node
        .ancestors()
        .filter(Node::is_element)
        .map(|n| {
            let name = n.tag_name().name();
            let same = |s: &Node<'_, '_>| s.is_element() && s.tag_name().name() == name;
            let before = n.prev_siblings().skip(1).filter(same).count();
            let after = n.next_siblings().skip(1).filter(same).count();
            if before + after > 0 { format!("{name}[{}]", before + 1) } else { name.to_owned() }
        })
        .collect();
    parts.reverse();
    format!("/{}", parts.join("/"))
}

impl<'v> Run<'v> {
    fn finding(&mut self, node: Node<'_, '_>, rule: &str, pl: String, en: String) {
        if self.findings.len() >= MAX_FINDINGS {
            self.omitted += 1;
            return;
        }
        let line = self.lines.row(node.range().start);
        let path = path_of(node);
        self.findings.push(Finding {
            kind: Kind::Schema,
            severity: Severity::Error,
            rule: rule.to_owned(),
            path,
            line,
            message_pl: pl,
            message_en: en,
        });
    }

    fn element(&mut self, node: Node<'_, '_>, decl: &'v ElementDecl) {
        let name = node.tag_name().name();
        match decl.ty {
            TypeRef::Simple(ty) => {
                self.attributes(node, &[]);
                if self.no_child_elements(node, name) {
                    self.text_value(node, ty, decl.fixed.as_deref(), name);
                }
            }
            TypeRef::Complex(ty) => {
                let ct = &self.v.schema.complex_types[ty];
                self.attributes(node, &ct.attributes);
                match &ct.content {
                    Content::Empty => {
                        if self.no_child_elements(node, name) && !text_of(node).trim().is_empty() {
                            self.finding(node, "xsd:content", format!("Element '{name}' musi być pusty."), format!("Element '{name}': The element must be empty."));
                        }
                    }
                    Content::Simple(st) => {
                        if self.no_child_elements(node, name) {
                            self.text_value(node, *st, decl.fixed.as_deref(), name);
                        }
                    }
                    Content::Elements(particle) => self.children(node, particle, name),
                }
            }
        }
    }

    /// False (with a finding) if `node` has child elements although its type allows only text.
    fn no_child_elements(&mut self, node: Node<'_, '_>, name: &str) -> bool {
        if node.children().any(|c| c.is_element()) {
            self.finding(
                node,
                "xsd:content",
                format!("Element '{name}' może zawierać tylko tekst, nie elementy."),
                format!("Element '{name}': Element content is not allowed, because the content type is a simple type definition."),
            );
            return false;
        }
        true
    }

    fn text_value(&mut self, node: Node<'_, '_>, ty: usize, fixed: Option<&str>, name: &str) {
        let text = text_of(node);
        if let Err(e) = value::check(&self.v.schema, &self.v.patterns, ty, &text) {
            self.finding(node, &format!("xsd:{}", e.rule), format!("Element '{name}': {}", e.pl), format!("Element '{name}': {}", e.en));
            return;
        }
        if let Some(fixed) = fixed {
            let mode = value::white_space_of(&self.v.schema, ty);
            if value::normalize(&text, mode) != value::normalize(fixed, mode) {
                self.finding(
                    node,
                    "xsd:fixed",
                    format!("Element '{name}': wartość musi być równa '{fixed}'."),
                    format!("Element '{name}': The value does not match the fixed value constraint '{fixed}'."),
                );
            }
        }
    }

    fn attributes(&mut self, node: Node<'_, '_>, declared: &'v [crate::schema::AttributeDecl]) {
        let name = node.tag_name().name();
        for attr in node.attributes() {
            if attr.namespace() == Some(XSI) {
                continue;
            }
            let Some(decl) = declared.iter().find(|d| d.name == attr.name() && attr.namespace().is_none()) else {
                let shown = attr.name();
                self.finding(
                    node,
                    "xsd:attribute",
                    format!("Element '{name}': atrybut '{shown}' jest niedozwolony."),
                    format!("Element '{name}', attribute '{shown}': The attribute '{shown}' is not allowed."),
                );
                continue;
            };
            if let Err(e) = value::check(&self.v.schema, &self.v.patterns, decl.ty, attr.value()) {
                self.finding(
                    node,
                    &format!("xsd:{}", e.rule),
                    format!("Element '{name}', atrybut '{}': {}", decl.name, e.pl),
                    format!("Element '{name}', attribute '{}': {}", decl.name, e.en),
                );
            } else if let Some(fixed) = &decl.fixed {
                let mode = value::white_space_of(&self.v.schema, decl.ty);
                if value::normalize(attr.value(), mode) != value::normalize(fixed, mode) {
                    self.finding(
                        node,
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
                    "xsd:attribute",
                    format!("Element '{name}': brak wymaganego atrybutu '{}'.", decl.name),
                    format!("Element '{name}': The attribute '{}' is required but missing.", decl.name),
                );
            }
        }
    }

    fn children(&mut self, node: Node<'_, '_>, particle: &'v Particle, name: &str) {
        if node.children().any(|c| c.is_text() && !c.text().unwrap_or_default().trim().is_empty()) {
            self.finding(
                node,
                "xsd:content",
                format!("Element '{name}' może zawierać tylko elementy, nie tekst."),
                format!("Element '{name}': Character content other than whitespace is not allowed because the content type is 'element-only'."),
            );
        }
        let elements: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
        let ids: Vec<u32> = elements
            .iter()
            .map(|e| {
                let (ns, local) = (e.tag_name().namespace(), e.tag_name().name());
                let entries = self.v.names.get(local);
                entries.and_then(|v| v.iter().find(|(n, _)| n.as_deref() == ns)).map_or(UNKNOWN, |(_, id)| *id)
            })
            .collect();
        // The schema is deterministic (XSD's unique particle attribution), so one greedy pass matches any valid
        // content; only when it fails does the exhaustive matcher run, to say what went wrong and where.
        let mut decls: Vec<&'v ElementDecl> = Vec::with_capacity(ids.len());
        let mut at = 0;
        let greedy = greedy(particle, &ids, &mut at, &mut decls) && at == ids.len();
        if !greedy {
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
                        let (pl, en) = if expected.is_empty() {
                            (format!("Element '{child_name}' jest tu niedozwolony."), format!("Element '{child_name}': This element is not expected."))
                        } else {
                            (
                                format!("Element '{child_name}' jest tu niedozwolony; oczekiwano: {list}."),
                                format!("Element '{child_name}': This element is not expected. Expected is ( {list} )."),
                            )
                        };
                        self.finding(*child, "xsd:content", pl, en);
                    }
                    None => self.finding(
                        node,
                        "xsd:content",
                        format!("Element '{name}' jest niekompletny; brakuje: {list}."),
                        format!("Element '{name}': Missing child element(s). Expected is ( {list} )."),
                    ),
                }
            }
            // Children past the first that does not fit were not matched: they are not checked further.
            decls = (0..elements.len()).map_while(|i| matcher.decls.get(&i).copied()).collect();
        }
        for (child, decl) in elements.iter().zip(decls) {
            self.element(*child, decl);
        }
    }
}

/// Matches `p` greedily from `*at`: repeats while the next child can start its term, chooses the alternative
/// the next child starts. Correct for deterministic content models; false when the children do not fit.
fn greedy<'s>(p: &'s Particle, children: &[u32], at: &mut usize, decls: &mut Vec<&'s ElementDecl>) -> bool {
    let mut count = 0u32;
    while p.max.is_none_or(|max| count < max) {
        let Some(next) = children.get(*at) else { break };
        if !starts(&p.term, next) {
            break;
        }
        let before = *at;
        if !greedy_term(&p.term, children, at, decls) {
            return false;
        }
        count += 1;
        if *at == before {
            break;
        }
    }
    count >= p.min || nullable(&p.term)
}

fn greedy_term<'s>(t: &'s Term, children: &[u32], at: &mut usize, decls: &mut Vec<&'s ElementDecl>) -> bool {
    match t {
        Term::Element(decl) => {
            if children.get(*at) == Some(&decl.id) {
                decls.push(decl);
                *at += 1;
                true
            } else {
                false
            }
        }
        Term::Sequence(items) => items.iter().all(|item| greedy(item, children, at, decls)),
        Term::Choice(items) => match children.get(*at).and_then(|next| items.iter().find(|i| i.max != Some(0) && starts(&i.term, next))) {
            Some(item) => greedy(item, children, at, decls),
            None => items.iter().any(|i| i.min == 0 || nullable(&i.term)),
        },
    }
}

/// Whether `t` can begin with the element numbered `child`.
fn starts(t: &Term, child: &u32) -> bool {
    match t {
        Term::Element(decl) => decl.id == *child,
        Term::Sequence(items) => {
            for item in items {
                if item.max != Some(0) && starts(&item.term, child) {
                    return true;
                }
                if item.min > 0 && !nullable(&item.term) {
                    return false;
                }
            }
            false
        }
        Term::Choice(items) => items.iter().any(|i| i.max != Some(0) && starts(&i.term, child)),
    }
}

/// Whether `t` can match no element at all.
fn nullable(t: &Term) -> bool {
    match t {
        Term::Element(_) => false,
        Term::Sequence(items) => items.iter().all(|i| i.min == 0 || nullable(&i.term)),
        Term::Choice(items) => items.iter().any(|i| i.min == 0 || nullable(&i.term)),
    }
}

/// All the text of an element (its text and CDATA children).
fn text_of<'a>(node: Node<'a, '_>) -> std::borrow::Cow<'a, str> {
    let mut texts = node.children().filter(Node::is_text).filter_map(|c| c.text());
    match (texts.next(), texts.next()) {
        (None, _) => std::borrow::Cow::Borrowed(""),
        (Some(only), None) => std::borrow::Cow::Borrowed(only),
        (Some(first), Some(second)) => std::borrow::Cow::Owned([first, second].into_iter().chain(texts).collect()),
    }
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
