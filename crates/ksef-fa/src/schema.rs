//! A compiled XML Schema: what the validator checks, in a form that serializes (the official FA schemas are
//! shipped compiled, see `schemas/`). It covers the XSD constructs the FA schemas use.

use serde::{Deserialize, Serialize};

/// One compiled schema: its root element and every type reachable from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The target namespace of the root element.
    pub namespace: String,
    /// The document element.
    pub root: ElementDecl,
    /// Simple types, referred to by index.
    pub simple_types: Vec<SimpleType>,
    /// Complex types, referred to by index.
    pub complex_types: Vec<ComplexType>,
}

/// An element declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElementDecl {
    /// Local name.
    pub name: String,
    /// Namespace (`None`: unqualified).
    pub namespace: Option<String>,
    /// Its type.
    pub ty: TypeRef,
    /// A value the element must have, if fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The validator's number for this name and namespace (compared instead of the strings).
    #[serde(skip)]
    pub(crate) id: u32,
}

/// A type, by index into the schema's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeRef {
    /// `simple_types[i]`.
    Simple(usize),
    /// `complex_types[i]`.
    Complex(usize),
}

/// A complex type: its content and attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplexType {
    /// Its name in the schema (anonymous types get the path of their element).
    pub name: String,
    /// What it contains.
    pub content: Content,
    /// Its attributes.
    pub attributes: Vec<AttributeDecl>,
}

/// The content of a complex type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Content {
    /// Nothing.
    Empty,
    /// Text of a simple type (`simple_types[i]`).
    Simple(usize),
    /// Child elements only (element-only content).
    Elements(Particle),
}

/// A term with its occurrence bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Particle {
    /// `minOccurs`.
    pub min: u32,
    /// `maxOccurs`; `None` is unbounded.
    pub max: Option<u32>,
    /// What occurs.
    pub term: Term,
}

/// What a particle holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Term {
    /// One element.
    Element(Box<ElementDecl>),
    /// The particles in order.
    Sequence(Vec<Particle>),
    /// Exactly one of the particles.
    Choice(Vec<Particle>),
}

/// An attribute declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDecl {
    /// Local name (attributes of the FA schemas are unqualified).
    pub name: String,
    /// Its simple type (`simple_types[i]`).
    pub ty: usize,
    /// Whether it must be present.
    pub required: bool,
    /// A value it must have, if fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
}

/// A simple type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleType {
    /// Its name in the schema, as messages name it.
    pub name: String,
    /// Atomic or union.
    pub variety: Variety,
}

/// Atomic (a built-in type restricted by facets) or a union of simple types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Variety {
    /// A built-in primitive or derived type and the facets of every restriction step, outermost last.
    Atomic {
        /// The built-in type at the root of the derivation.
        builtin: Builtin,
        /// One entry per restriction step; a value must satisfy every step.
        steps: Vec<Facets>,
    },
    /// Valid if valid for any member (`simple_types[i]`), tried in order.
    Union(Vec<usize>),
}

/// How a simple type's values treat whitespace before they are checked (XSD `whiteSpace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhiteSpace {
    /// As written.
    Preserve,
    /// Tabs and line ends become spaces.
    Replace,
    /// As `Replace`, then runs of spaces become one and spaces at either end go.
    Collapse,
}

/// The facets of one restriction step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    /// Patterns of this step (any one must match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    /// Allowed values of this step (empty: no enumeration).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enumeration: Vec<String>,
    /// `length`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// `minLength`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// `maxLength`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// `totalDigits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_digits: Option<u32>,
    /// `fractionDigits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction_digits: Option<u32>,
    /// `minInclusive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_inclusive: Option<String>,
    /// `maxInclusive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inclusive: Option<String>,
    /// `minExclusive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_exclusive: Option<String>,
    /// `maxExclusive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_exclusive: Option<String>,
    /// `whiteSpace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub white_space: Option<WhiteSpace>,
    /// The validator's compiled `patterns`, by index.
    #[serde(skip)]
    pub(crate) pattern_ids: Vec<usize>,
    /// `enumeration` as a table, for lookups (messages list it in the schema's order).
    #[serde(skip)]
    pub(crate) enumerated: crate::ids::Strings,
    /// For a date, date-time or year: `min_inclusive`, `max_inclusive`, `min_exclusive` and `max_exclusive` as
    /// instants, read once (`None` where absent or not one).
    #[serde(skip)]
    pub(crate) instants: [Option<f64>; 4],
}

/// The built-in XSD types the FA schemas derive from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Builtin {
    /// `xsd:string`.
    String,
    /// `xsd:normalizedString`.
    NormalizedString,
    /// `xsd:token`.
    Token,
    /// `xsd:decimal`.
    Decimal,
    /// `xsd:integer`.
    Integer,
    /// `xsd:nonNegativeInteger`.
    NonNegativeInteger,
    /// `xsd:positiveInteger`.
    PositiveInteger,
    /// `xsd:long`.
    Long,
    /// `xsd:int`.
    Int,
    /// `xsd:short`.
    Short,
    /// `xsd:byte`.
    Byte,
    /// `xsd:boolean`.
    Boolean,
    /// `xsd:date`.
    Date,
    /// `xsd:dateTime`.
    DateTime,
    /// `xsd:gYear`.
    GYear,
    /// `xsd:anyURI`.
    AnyUri,
}

impl Builtin {
    /// The built-in type named `local` in the XSD namespace.
    pub fn from_name(local: &str) -> Option<Builtin> {
        Some(match local {
            "string" => Builtin::String,
            "normalizedString" => Builtin::NormalizedString,
            "token" => Builtin::Token,
            "decimal" => Builtin::Decimal,
            "integer" => Builtin::Integer,
            "nonNegativeInteger" => Builtin::NonNegativeInteger,
            "positiveInteger" => Builtin::PositiveInteger,
            "long" => Builtin::Long,
            "int" => Builtin::Int,
            "short" => Builtin::Short,
            "byte" => Builtin::Byte,
            "boolean" => Builtin::Boolean,
            "date" => Builtin::Date,
            "dateTime" => Builtin::DateTime,
            "gYear" => Builtin::GYear,
            "anyURI" => Builtin::AnyUri,
            _ => return None,
        })
    }

    /// Its name in the XSD namespace.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::String => "string",
            Builtin::NormalizedString => "normalizedString",
            Builtin::Token => "token",
            Builtin::Decimal => "decimal",
            Builtin::Integer => "integer",
            Builtin::NonNegativeInteger => "nonNegativeInteger",
            Builtin::PositiveInteger => "positiveInteger",
            Builtin::Long => "long",
            Builtin::Int => "int",
            Builtin::Short => "short",
            Builtin::Byte => "byte",
            Builtin::Boolean => "boolean",
            Builtin::Date => "date",
            Builtin::DateTime => "dateTime",
            Builtin::GYear => "gYear",
            Builtin::AnyUri => "anyURI",
        }
    }
}
