//! Schema validation against a compiled [`Schema`], streamed: it takes a document's elements, text and
//! attributes as [`ksef_core::xml::pull`] reads them (or replays a tree) and checks element order and
//! cardinality (each content model's [`Automaton`], compiled once), text and attribute values and fixed
//! values as they come, keeping only the open elements and a flat index of elements ([`Elements`]) for paths
//! and the rules. Every finding is reported, with its path and line, not only the first; within one element's
//! children, matching stops at the first child that does not fit, as schema validators do.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use ksef_core::xml::pull::{Sink, Start, Text};
use roxmltree::Document;
use serde::Serialize;

use crate::automaton::{Automaton, Cursor};
use crate::elements::Elements;
use crate::ids::{ElementIds, Strings};
use crate::pattern::Pattern;
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

/// A compiled schema ready to validate with: its patterns checked (each compiled once, on first use), its
/// element names numbered.
#[derive(Debug)]
pub struct Validator {
    schema: Schema,
    patterns: Vec<Pattern>,
    ids: ElementIds,
    /// Each complex type's content model, compiled (empty for a type without element content).
    automata: Vec<Automaton>,
}

/// The number of a name no declaration has.
const UNKNOWN: u32 = u32::MAX;

/// Numbers each element declaration in `p` (one number per local name and namespace), listing new ones in `names`.
fn number_elements(p: &mut Particle, names: &mut HashMap<(String, Option<String>), u32>) {
    match &mut p.term {
        Term::Element(decl) => {
            // From 1: an unnumbered declaration (the root's) has 0.
            let next = names.len() as u32 + 1;
            decl.id = *names.entry((decl.name.clone(), decl.namespace.clone())).or_insert(next);
        }
        Term::Sequence(items) | Term::Choice(items) => {
            for item in items {
                number_elements(item, names);
            }
        }
    }
}

impl Validator {
    /// Prepares `schema`; fails if one of its patterns cannot be translated exactly, or one of its content
    /// models compiled ([`Automaton::compile`]).
    pub fn new(mut schema: Schema) -> Result<Validator, String> {
        let mut names = HashMap::new();
        for ct in &mut schema.complex_types {
            if let Content::Elements(p) = &mut ct.content {
                number_elements(p, &mut names);
            }
        }
        let ids = ElementIds::new(names.iter().map(|((local, ns), id)| (local.as_str(), ns.as_deref(), *id)));
        let mut automata = Vec::with_capacity(schema.complex_types.len());
        for ct in &schema.complex_types {
            automata.push(match &ct.content {
                Content::Elements(p) => Automaton::compile(p).map_err(|e| format!("type {}: {e}", ct.name))?,
                Content::Empty | Content::Simple(_) => Automaton::default(),
            });
        }
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for st in &mut schema.simple_types {
            if let Variety::Atomic { steps, builtin } = &mut st.variety {
                for step in steps {
                    let bounds = [&step.min_inclusive, &step.max_inclusive, &step.min_exclusive, &step.max_exclusive];
                    step.instants = bounds.map(|b| b.as_deref().and_then(|b| value::instant(*builtin, b)));
                    for pattern in &step.patterns {
                        let id = match index.get(pattern) {
                            Some(id) => *id,
                            None => {
                                patterns.push(Pattern::new(pattern)?);
                                index.insert(pattern.clone(), patterns.len() - 1);
                                patterns.len() - 1
                            }
                        };
                        step.pattern_ids.push(id);
                    }
                    step.enumerated = Strings::new(step.enumeration.iter().map(String::as_str));
                }
            }
        }
        Ok(Validator { schema, patterns, ids, automata })
    }

    /// The schema validated against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    #[cfg(test)]
    pub(crate) fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Every schema finding in `doc` (none: the document is valid).
    pub fn validate(&self, doc: &Document<'_>) -> Vec<Finding> {
        let mut run = Run::new(Pick::Fixed(self), doc.input_text().len());
        ksef_core::xml::pull::walk(doc, &mut run);
        run.finish(&Lines::of(doc.input_text())).0
    }

    /// Every schema finding in `text`, read without a tree; `None` if it is not XML the streaming reader takes
    /// (then [`ksef_core::xml::parse`] says why, and [`Validator::validate`] checks its tree).
    pub fn validate_text(&self, text: &str) -> Option<Vec<Finding>> {
        let mut run = Run::new(Pick::Fixed(self), text.len());
        ksef_core::xml::pull::read(text, &ksef_core::xml::XmlLimits::DEFAULT, &mut run).ok()?;
        Some(run.finish(&Lines::of(text)).0)
    }
}

/// Most findings of one kind a report lists; one more says how many were left out. A hostile document can have
/// a finding per node, and each costs a walk over its siblings for its path.
pub const MAX_FINDINGS: usize = 1_000;

/// The line of any byte offset of a document. The first few are counted from the one before (findings come
/// mostly in document order, and a document with a finding has one or two); past those, the line ends are
/// indexed once and searched.
pub(crate) struct Lines<'t> {
    text: &'t str,
    /// The last offset asked for and its line.
    last: std::cell::Cell<(usize, u32)>,
    asked: std::cell::Cell<u32>,
    ends: std::cell::OnceCell<Vec<usize>>,
}

/// Lookups answered by counting before the line ends are indexed.
const COUNTED: u32 = 8;

impl<'t> Lines<'t> {
    pub(crate) fn of(text: &'t str) -> Lines<'t> {
        Lines { text, last: std::cell::Cell::new((0, 1)), asked: std::cell::Cell::new(0), ends: std::cell::OnceCell::new() }
    }

    /// The 1-based line of byte offset `pos`.
    pub(crate) fn row(&self, pos: usize) -> u32 {
        let pos = pos.min(self.text.len());
        let asked = self.asked.get();
        if asked < COUNTED {
            self.asked.set(asked + 1);
            let (from, row) = match self.last.get() {
                (last, row) if last <= pos => (last, row),
                _ => (0, 1),
            };
            // memchr counts with vector instructions.
            let newlines = memchr::memchr_iter(b'\n', &self.text.as_bytes()[from..pos]).count();
            let row = row.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.last.set((pos, row));
            return row;
        }
        let ends = self.ends.get_or_init(|| memchr::memchr_iter(b'\n', self.text.as_bytes()).collect());
        u32::try_from(ends.partition_point(|&newline| newline < pos) + 1).unwrap_or(u32::MAX)
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

/// Which schema a run validates against.
#[derive(Clone, Copy)]
pub(crate) enum Pick<'v> {
    /// This one.
    Fixed(&'v Validator),
    /// The one of the root element's namespace, FA(2) or FA(3); none (and no finding) for another namespace.
    ByNamespace,
}

/// A finding as the stream meets it: its path and line are worked out at the end, for the few reported.
struct Pending {
    /// The element whose check found it: findings are reported in the order of the elements that found them.
    by: u32,
    /// Within one element: attributes, then its text, then its content.
    phase: u8,
    /// The element it is about.
    about: u32,
    rule: String,
    pl: String,
    en: String,
}

const ATTRIBUTES: u8 = 0;
const TEXT: u8 = 1;
const CONTENT: u8 = 2;

/// What an open element's content must be.
enum Expect<'v> {
    /// Text of simple type `ty`, equal to `fixed` if given.
    Text { ty: usize, fixed: Option<&'v str> },
    /// Nothing.
    Empty,
    /// Child elements, matched by the content model `particle` compiled to `automaton`, standing `at`;
    /// `failed` once one did not fit.
    Elements { automaton: &'v Automaton, particle: &'v Particle, at: Cursor, failed: bool },
    /// Not checked: the root is not the schema's, or its parent's content did not fit before it.
    Skip,
}

struct Open<'v, 'a> {
    index: u32,
    name: &'a str,
    expect: Expect<'v>,
    text: Option<Cow<'a, str>>,
    has_children: bool,
    /// Non-whitespace text in element-only content was reported.
    text_reported: bool,
}

/// One validation: a [`Sink`] for the document, then [`Run::finish`].
pub(crate) struct Run<'v, 'a> {
    pick: Pick<'v>,
    v: Option<&'v Validator>,
    elements: Elements<'a>,
    open: Vec<Open<'v, 'a>>,
    pending: Vec<Pending>,
    omitted: usize,
    /// Processing instructions: target and position.
    pub(crate) instructions: Vec<(&'a str, usize)>,
    /// The last element namespace looked up, and its number among the schema's.
    namespace: Option<(Option<&'a str>, Option<u32>)>,
}

/// Whether `a` and `b` are the same slice (or both absent): then they are equal without reading them.
fn same_slice(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl<'v, 'a> Run<'v, 'a> {
    /// A run over a document of about `len` bytes (its element index is sized for it, which saves copying it as
    /// it grows).
    pub(crate) fn new(pick: Pick<'v>, len: usize) -> Self {
        let elements = Elements::with_capacity((len / 48).min(1 << 16));
        Run { pick, v: None, elements, open: Vec::with_capacity(16), pending: Vec::new(), omitted: 0, instructions: Vec::new(), namespace: None }
    }

    /// The findings, in the order a walk of the tree meets them (each element's own, then its children's), and
    /// the document's elements.
    pub(crate) fn finish(mut self, lines: &Lines<'_>) -> (Vec<Finding>, Elements<'a>) {
        self.pending.sort_by_key(|p| (p.by, p.phase));
        let mut findings: Vec<Finding> = self
            .pending
            .into_iter()
            .map(|p| {
                let node = self.elements.node(p.about);
                Finding {
                    kind: Kind::Schema,
                    severity: Severity::Error,
                    rule: p.rule,
                    path: node.path(),
                    line: lines.row(node.position()),
                    message_pl: p.pl,
                    message_en: p.en,
                }
            })
            .collect();
        if self.omitted > 0 {
            findings.push(omitted_finding(Kind::Schema, self.omitted));
        }
        (findings, self.elements)
    }

    fn finding(&mut self, by: u32, phase: u8, about: u32, rule: &str, pl: String, en: String) {
        if self.pending.len() >= MAX_FINDINGS {
            self.omitted += 1;
            return;
        }
        self.pending.push(Pending { by, phase, about, rule: rule.to_owned(), pl, en });
    }

    /// The root element: checked against the schema's root declaration.
    fn root(&mut self, tag: &Start<'a, '_>, index: u32) -> Expect<'v> {
        self.v = match self.pick {
            Pick::Fixed(v) => Some(v),
            Pick::ByNamespace => tag.namespace.and_then(crate::Version::from_namespace).map(|version| version.validator()),
        };
        let Some(v) = self.v else { return Expect::Skip };
        let decl = &v.schema.root;
        if tag.local != decl.name || tag.namespace != decl.namespace.as_deref() {
            self.finding(
                index,
                ATTRIBUTES,
                index,
                "xsd:root",
                format!("Element główny {{{}}}{} nie jest zadeklarowany w schemacie (oczekiwano {{{}}}{}).", tag.namespace.unwrap_or(""), tag.local, v.schema.namespace, decl.name),
                format!("No matching global declaration available for the validation root {{{}}}{}.", tag.namespace.unwrap_or(""), tag.local),
            );
            return Expect::Skip;
        }
        self.declared(tag, index, decl)
    }

    /// A child element of the open element `parent`: what its content model says of it.
    fn child(&mut self, tag: &Start<'a, '_>, index: u32) -> Expect<'v> {
        let parent = self.open.len() - 1;
        let (parent_index, parent_name) = (self.open[parent].index, self.open[parent].name);
        let first = !std::mem::replace(&mut self.open[parent].has_children, true);
        match &mut self.open[parent].expect {
            Expect::Skip | Expect::Elements { failed: true, .. } => Expect::Skip,
            Expect::Text { .. } | Expect::Empty => {
                if first {
                    self.finding(
                        parent_index,
                        TEXT,
                        parent_index,
                        "xsd:content",
                        format!("Element '{parent_name}' może zawierać tylko tekst, nie elementy."),
                        format!("Element '{parent_name}': Element content is not allowed, because the content type is a simple type definition."),
                    );
                }
                Expect::Skip
            }
            Expect::Elements { automaton, at, failed, .. } => {
                let v = self.v.expect("content is checked only under a schema");
                let ns = match self.namespace {
                    // Nearly every element takes the one namespace in scope: the same slice of the document.
                    Some((seen, ns)) if same_slice(seen, tag.namespace) => ns,
                    _ => {
                        let ns = v.ids.namespace(tag.namespace);
                        self.namespace = Some((tag.namespace, ns));
                        ns
                    }
                };
                let id = ns.and_then(|ns| v.ids.get(tag.local, ns)).unwrap_or(UNKNOWN);
                match automaton.step(at, id) {
                    Some(decl) => self.declared(tag, index, decl),
                    None => {
                        *failed = true;
                        Expect::Skip
                    }
                }
            }
        }
    }

    /// An element matched to `decl`: its attributes checked, and what its content must be.
    fn declared(&mut self, tag: &Start<'a, '_>, index: u32, decl: &'v ElementDecl) -> Expect<'v> {
        let v = self.v.expect("picked");
        match decl.ty {
            TypeRef::Simple(ty) => {
                self.attributes(tag, index, &[]);
                Expect::Text { ty, fixed: decl.fixed.as_deref() }
            }
            TypeRef::Complex(ty) => {
                let ct = &v.schema.complex_types[ty];
                self.attributes(tag, index, &ct.attributes);
                match &ct.content {
                    Content::Empty => Expect::Empty,
                    Content::Simple(st) => Expect::Text { ty: *st, fixed: decl.fixed.as_deref() },
                    Content::Elements(particle) => Expect::Elements { automaton: &v.automata[ty], particle, at: Cursor::START, failed: false },
                }
            }
        }
    }

    fn attributes(&mut self, tag: &Start<'a, '_>, index: u32, declared: &'v [crate::schema::AttributeDecl]) {
        let v = self.v.expect("picked");
        let name = tag.local;
        for attr in tag.attributes {
            if attr.namespace == Some(XSI) {
                continue;
            }
            let Some(decl) = declared.iter().find(|d| d.name == attr.local && attr.namespace.is_none()) else {
                let shown = attr.local;
                self.finding(
                    index,
                    ATTRIBUTES,
                    index,
                    "xsd:attribute",
                    format!("Element '{name}': atrybut '{shown}' jest niedozwolony."),
                    format!("Element '{name}', attribute '{shown}': The attribute '{shown}' is not allowed."),
                );
                continue;
            };
            let value = attr.value.as_ref();
            if let Err(e) = value::check(&v.schema, &v.patterns, decl.ty, value) {
                self.finding(
                    index,
                    ATTRIBUTES,
                    index,
                    &format!("xsd:{}", e.rule),
                    format!("Element '{name}', atrybut '{}': {}", decl.name, e.pl),
                    format!("Element '{name}', attribute '{}': {}", decl.name, e.en),
                );
            } else if let Some(fixed) = &decl.fixed {
                let mode = value::white_space_of(&v.schema, decl.ty);
                if value::normalize(value, mode) != value::normalize(fixed, mode) {
                    self.finding(
                        index,
                        ATTRIBUTES,
                        index,
                        "xsd:fixed",
                        format!("Element '{name}', atrybut '{}': wartość '{value}' musi być równa '{fixed}'.", decl.name),
                        format!("Element '{name}', attribute '{}': The value '{value}' does not match the fixed value constraint '{fixed}'.", decl.name),
                    );
                }
            }
        }
        for decl in declared.iter().filter(|d| d.required) {
            if !tag.attributes.iter().any(|a| a.local == decl.name && a.namespace.is_none()) {
                self.finding(
                    index,
                    ATTRIBUTES,
                    index,
                    "xsd:attribute",
                    format!("Element '{name}': brak wymaganego atrybutu '{}'.", decl.name),
                    format!("Element '{name}': The attribute '{}' is required but missing.", decl.name),
                );
            }
        }
    }

    fn text_value(&mut self, index: u32, name: &str, ty: usize, fixed: Option<&str>, text: &str) {
        let v = self.v.expect("picked");
        if let Err(e) = value::check(&v.schema, &v.patterns, ty, text) {
            self.finding(index, CONTENT, index, &format!("xsd:{}", e.rule), format!("Element '{name}': {}", e.pl), format!("Element '{name}': {}", e.en));
            return;
        }
        if let Some(fixed) = fixed {
            let mode = value::white_space_of(&v.schema, ty);
            if value::normalize(text, mode) != value::normalize(fixed, mode) {
                self.finding(
                    index,
                    CONTENT,
                    index,
                    "xsd:fixed",
                    format!("Element '{name}': wartość musi być równa '{fixed}'."),
                    format!("Element '{name}': The value does not match the fixed value constraint '{fixed}'."),
                );
            }
        }
    }

    /// Children that did not fit `particle`: the exhaustive matcher says what went wrong and where.
    fn misfit(&mut self, index: u32, name: &str, particle: &'v Particle) {
        let keys: Vec<(Option<&str>, &str)> = self.elements.node(index).children().map(|c| (c.namespace(), c.name())).collect();
        let mut matcher = Matcher { children: &keys, memo: HashMap::new(), expected: BTreeMap::new(), furthest: 0 };
        // The schema is deterministic (XSD's unique particle attribution), so content the greedy pass refused
        // cannot match: this only finds the place and the words.
        if matcher.ends(particle, 0).contains(&keys.len()) {
            debug_assert!(false, "the greedy match refused content that fits: the content model is not deterministic");
            return;
        }
        let at = matcher.furthest;
        let expected: Vec<&str> = matcher.expected.get(&at).map(|s| s.iter().copied().collect()).unwrap_or_default();
        let list = expected.join(", ");
        let misfit = self.elements.node(index).children().nth(at).map(|c| (c.index(), c.name()));
        match misfit {
            Some((child, child_name)) => {
                let (pl, en) = if expected.is_empty() {
                    (format!("Element '{child_name}' jest tu niedozwolony."), format!("Element '{child_name}': This element is not expected."))
                } else {
                    (
                        format!("Element '{child_name}' jest tu niedozwolony; oczekiwano: {list}."),
                        format!("Element '{child_name}': This element is not expected. Expected is ( {list} )."),
                    )
                };
                self.finding(index, CONTENT, child, "xsd:content", pl, en);
            }
            None => self.finding(
                index,
                CONTENT,
                index,
                "xsd:content",
                format!("Element '{name}' jest niekompletny; brakuje: {list}."),
                format!("Element '{name}': Missing child element(s). Expected is ( {list} )."),
            ),
        }
    }
}

impl<'v, 'a> Sink<'a> for Run<'v, 'a> {
    fn start(&mut self, tag: &Start<'a, '_>) {
        let parent = self.open.last().map(|o| o.index);
        let index = self.elements.open(tag.local, tag.namespace, tag.position, parent);
        let expect = if parent.is_none() { self.root(tag, index) } else { self.child(tag, index) };
        self.open.push(Open { index, name: tag.local, expect, text: None, has_children: false, text_reported: false });
    }

    fn text(&mut self, text: Text<'a>) {
        let Some(open) = self.open.last_mut() else { return };
        match open.expect {
            Expect::Text { .. } | Expect::Empty => match &mut open.text {
                None => open.text = Some(text.into_cow()),
                Some(so_far) => so_far.to_mut().push_str(&text.into_cow()),
            },
            Expect::Elements { .. } if !open.text_reported && !text.is_blank() => {
                open.text_reported = true;
                let (index, name) = (open.index, open.name);
                self.finding(
                    index,
                    TEXT,
                    index,
                    "xsd:content",
                    format!("Element '{name}' może zawierać tylko elementy, nie tekst."),
                    format!("Element '{name}': Character content other than whitespace is not allowed because the content type is 'element-only'."),
                );
            }
            _ => {}
        }
    }

    fn end(&mut self) {
        let Some(open) = self.open.pop() else { return };
        let (index, name) = (open.index, open.name);
        let mut kept = None;
        match open.expect {
            Expect::Text { ty, fixed } => {
                if !open.has_children {
                    self.text_value(index, name, ty, fixed, open.text.as_deref().unwrap_or(""));
                    kept = open.text;
                }
            }
            Expect::Empty => {
                if !open.has_children && !open.text.as_deref().unwrap_or("").trim().is_empty() {
                    self.finding(index, CONTENT, index, "xsd:content", format!("Element '{name}' musi być pusty."), format!("Element '{name}': The element must be empty."));
                }
            }
            Expect::Elements { automaton, particle, at, failed } => {
                let fits = !failed && automaton.accepts(at);
                self.elements.close(index, None);
                if !fits {
                    self.misfit(index, name, particle);
                }
                return;
            }
            Expect::Skip => {}
        }
        self.elements.close(index, kept);
    }

    fn instruction(&mut self, target: &'a str, position: usize) {
        self.instructions.push((target, position));
    }
}

/// Matches a list of child elements against a content model: for each particle and start position, the set of
/// positions where a match can end (memoized, so repeated and nested particles cost little). Along the way it
/// records the furthest child reached and what was expected where.
struct Matcher<'s, 'c> {
    children: &'c [(Option<&'c str>, &'c str)],
    memo: HashMap<(usize, usize), Rc<Vec<usize>>>,
    expected: BTreeMap<usize, BTreeSet<&'s str>>,
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

#[cfg(test)]
mod tests {
    use super::{COUNTED, Lines};
    use crate::Version;

    #[test]
    fn a_shipped_schemas_element_names_are_found_in_about_one_probe_each() {
        // Every element of a document is looked up by name; a hash that clusters names makes each lookup walk.
        for version in [Version::Fa2, Version::Fa3] {
            let probes = version.validator().ids.mean_probes();
            assert!(probes < 1.5, "{}: {probes:.2} slots read per name", version.name());
        }
    }

    #[test]
    fn lines_are_the_same_counted_or_indexed_in_any_order() {
        let text = "a\nbb\n\nccc\n".repeat(20);
        let naive = |pos: usize| 1 + text[..pos].bytes().filter(|&b| b == b'\n').count() as u32;
        let lines = Lines::of(&text);
        // Forward, backward, repeated and past the end, well past the lookups answered by counting.
        let mut asked: Vec<usize> = (0..text.len()).step_by(7).collect();
        asked.extend([text.len() + 5, 3, 3, 0, text.len() / 2]);
        asked.extend((0..text.len()).rev().step_by(11));
        assert!(asked.len() > 3 * COUNTED as usize);
        for pos in asked {
            assert_eq!(lines.row(pos), naive(pos.min(text.len())), "offset {pos}");
        }
    }
}
