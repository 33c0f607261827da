//! Compiles XML Schema files into a [`Schema`]: the constructs the FA schemas use (global and local elements,
//! sequences and choices with occurrence bounds, complex types extending complex or simple content,
//! attributes, simple types restricted by facets, unions), following `xsd:import` and `xsd:include`.
//! Anything else is refused rather than guessed at.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use roxmltree::Node;
use serde::Deserialize as _;

use crate::schema::{
    AttributeDecl, Builtin, ComplexType, Content, ElementDecl, Facets, Particle, Schema, SimpleType, Term, TypeRef, Variety,
};

const XSD: &str = "http://www.w3.org/2001/XMLSchema";

/// Why a schema could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not well-formed XML.
    #[error("{path} is not well-formed XML: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A construct this compiler does not support, or a reference it cannot resolve.
    #[error("{0}")]
    Unsupported(String),
}

/// Compiles the schema in `main` (and the files it imports and includes), with the global element `root` as
/// the document element.
pub fn compile(main: &Path, root: &str) -> Result<Schema, CompileError> {
    let mut texts: Vec<(PathBuf, String)> = Vec::new();
    load(main, &mut texts)?;
    let mut docs = Vec::with_capacity(texts.len());
    for (path, text) in &texts {
        let doc = ksef_core::xml::parse(text)
            .map_err(|e| CompileError::Parse { path: path.clone(), message: e.to_string() })?;
        docs.push(doc);
    }
    let mut compiler = Compiler::default();
    for doc in &docs {
        let schema = doc.root_element();
        let target = schema.attribute("targetNamespace").unwrap_or_default().to_owned();
        for node in schema.children().filter(Node::is_element) {
            let Some(name) = node.attribute("name") else { continue };
            let key = (target.clone(), name.to_owned());
            match node.tag_name().name() {
                "simpleType" => {
                    compiler.global_simple.insert(key, node);
                }
                "complexType" => {
                    compiler.global_complex.insert(key, node);
                }
                "element" => {
                    compiler.global_elements.insert(key, node);
                }
                _ => {}
            }
        }
    }
    let main_doc = &docs[0];
    let namespace = main_doc.root_element().attribute("targetNamespace").unwrap_or_default().to_owned();
    let root_node = *compiler
        .global_elements
        .get(&(namespace.clone(), root.to_owned()))
        .ok_or_else(|| CompileError::Unsupported(format!("no global element {root} in {}", main.display())))?;
    let root = compiler.element(root_node, &namespace, true)?;
    Ok(Schema { namespace, root, simple_types: compiler.simple_types, complex_types: compiler.complex_types })
}

/// Reads `path` and, depth first, every schema it includes or imports (each once).
fn load(path: &Path, texts: &mut Vec<(PathBuf, String)>) -> Result<(), CompileError> {
    let canonical = path.canonicalize().map_err(|source| CompileError::Read { path: path.to_owned(), source })?;
    if texts.iter().any(|(p, _)| *p == canonical) {
        return Ok(());
    }
    let text = std::fs::read_to_string(&canonical).map_err(|source| CompileError::Read { path: canonical.clone(), source })?;
    let locations: Vec<String> = {
        let doc = ksef_core::xml::parse(&text)
            .map_err(|e| CompileError::Parse { path: canonical.clone(), message: e.to_string() })?;
        doc.root_element()
            .children()
            .filter(|n| n.is_element() && matches!(n.tag_name().name(), "include" | "import"))
            .filter_map(|n| n.attribute("schemaLocation").map(str::to_owned))
            .collect()
    };
    texts.push((canonical.clone(), text));
    let dir = canonical.parent().unwrap_or(Path::new("."));
    for location in locations {
        if location.contains("://") {
            return Err(CompileError::Unsupported(format!("{} refers to {location}: only local files are read", canonical.display())));
        }
        load(&dir.join(location), texts)?;
    }
    Ok(())
}

#[derive(Default)]
struct Compiler<'a, 'input> {
    global_simple: HashMap<(String, String), Node<'a, 'input>>,
    global_complex: HashMap<(String, String), Node<'a, 'input>>,
    global_elements: HashMap<(String, String), Node<'a, 'input>>,
    simple_types: Vec<SimpleType>,
    complex_types: Vec<ComplexType>,
    simple_index: HashMap<(String, String), usize>,
    complex_index: HashMap<(String, String), usize>,
}

fn xsd_children<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(|n| n.is_element() && n.tag_name().namespace() == Some(XSD) && n.tag_name().name() != "annotation")
}

fn target_of(node: Node<'_, '_>) -> String {
    node.ancestors()
        .find(|n| n.is_element() && n.tag_name().name() == "schema")
        .and_then(|s| s.attribute("targetNamespace"))
        .unwrap_or_default()
        .to_owned()
}

/// `(namespace, local name)` of a QName written in `node`'s scope.
fn resolve(node: Node<'_, '_>, qname: &str) -> Result<(String, String), CompileError> {
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    };
    let ns = node
        .lookup_namespace_uri(prefix)
        .ok_or_else(|| CompileError::Unsupported(format!("undeclared prefix in '{qname}'")))?;
    Ok((ns.to_owned(), local.to_owned()))
}

fn occurs(node: Node<'_, '_>) -> Result<(u32, Option<u32>), CompileError> {
    let parse = |v: &str| v.parse::<u32>().map_err(|_| CompileError::Unsupported(format!("bad occurrence bound '{v}'")));
    let min = node.attribute("minOccurs").map(parse).transpose()?.unwrap_or(1);
    let max = match node.attribute("maxOccurs") {
        Some("unbounded") => None,
        Some(v) => Some(parse(v)?),
        None => Some(1),
    };
    Ok((min, max))
}

impl<'a, 'input> Compiler<'a, 'input> {
    /// An element declaration; `global` ones are always qualified, local ones per `elementFormDefault`.
    fn element(&mut self, node: Node<'a, 'input>, path: &str, global: bool) -> Result<ElementDecl, CompileError> {
        let name = node.attribute("name").ok_or_else(|| CompileError::Unsupported(format!("{path}: an element without a name")))?;
        let schema = node.ancestors().find(|n| n.is_element() && n.tag_name().name() == "schema");
        let qualified = global || schema.and_then(|s| s.attribute("elementFormDefault")) == Some("qualified");
        let namespace = qualified.then(|| target_of(node));
        let here = format!("{path}/{name}");
        let ty = if let Some(qname) = node.attribute("type") {
            self.type_by_name(node, qname)?
        } else if let Some(inline) = xsd_children(node).find(|n| n.tag_name().name() == "complexType") {
            TypeRef::Complex(self.complex_type(inline, &here)?)
        } else if let Some(inline) = xsd_children(node).find(|n| n.tag_name().name() == "simpleType") {
            TypeRef::Simple(self.simple_type(inline, &here)?)
        } else {
            return Err(CompileError::Unsupported(format!("{here}: an element without a type")));
        };
        Ok(ElementDecl { name: name.to_owned(), namespace, ty, fixed: node.attribute("fixed").map(str::to_owned), id: 0 })
    }

    fn type_by_name(&mut self, node: Node<'a, 'input>, qname: &str) -> Result<TypeRef, CompileError> {
        let key = resolve(node, qname)?;
        if key.0 == XSD {
            return Ok(TypeRef::Simple(self.builtin(&key.1)?));
        }
        if self.global_simple.contains_key(&key) {
            return Ok(TypeRef::Simple(self.global_simple_type(&key)?));
        }
        if self.global_complex.contains_key(&key) {
            return Ok(TypeRef::Complex(self.global_complex_type(&key)?));
        }
        Err(CompileError::Unsupported(format!("unknown type {qname}")))
    }

    fn simple_by_name(&mut self, node: Node<'a, 'input>, qname: &str) -> Result<usize, CompileError> {
        match self.type_by_name(node, qname)? {
            TypeRef::Simple(i) => Ok(i),
            TypeRef::Complex(_) => Err(CompileError::Unsupported(format!("{qname} is not a simple type"))),
        }
    }

    fn builtin(&mut self, local: &str) -> Result<usize, CompileError> {
        let key = (XSD.to_owned(), local.to_owned());
        if let Some(i) = self.simple_index.get(&key) {
            return Ok(*i);
        }
        let builtin = Builtin::from_name(local).ok_or_else(|| CompileError::Unsupported(format!("built-in type xsd:{local}")))?;
        self.simple_types.push(SimpleType { name: local.to_owned(), variety: Variety::Atomic { builtin, steps: Vec::new() } });
        let i = self.simple_types.len() - 1;
        self.simple_index.insert(key, i);
        Ok(i)
    }

    fn global_simple_type(&mut self, key: &(String, String)) -> Result<usize, CompileError> {
        if let Some(i) = self.simple_index.get(key) {
            return Ok(*i);
        }
        let node = self.global_simple[key];
        let i = self.simple_type(node, &key.1)?;
        self.simple_index.insert(key.clone(), i);
        Ok(i)
    }

    fn global_complex_type(&mut self, key: &(String, String)) -> Result<usize, CompileError> {
        if let Some(i) = self.complex_index.get(key) {
            return Ok(*i);
        }
        let node = self.global_complex[key];
        let i = self.complex_type(node, &key.1)?;
        self.complex_index.insert(key.clone(), i);
        Ok(i)
    }

    fn simple_type(&mut self, node: Node<'a, 'input>, name: &str) -> Result<usize, CompileError> {
        let body = xsd_children(node).next().ok_or_else(|| CompileError::Unsupported(format!("{name}: an empty simpleType")))?;
        let variety = match body.tag_name().name() {
            "restriction" => {
                let base = match body.attribute("base") {
                    Some(qname) => self.simple_by_name(body, qname)?,
                    None => {
                        let inline = xsd_children(body)
                            .find(|n| n.tag_name().name() == "simpleType")
                            .ok_or_else(|| CompileError::Unsupported(format!("{name}: a restriction without a base")))?;
                        self.simple_type(inline, name)?
                    }
                };
                let facets = facets(body, name)?;
                match &self.simple_types[base].variety {
                    Variety::Atomic { builtin, steps } => {
                        let mut steps = steps.clone();
                        steps.push(facets);
                        Variety::Atomic { builtin: *builtin, steps }
                    }
                    Variety::Union(_) => return Err(CompileError::Unsupported(format!("{name}: a restriction of a union"))),
                }
            }
            "union" => {
                let mut members = Vec::new();
                for qname in body.attribute("memberTypes").unwrap_or_default().split_whitespace() {
                    members.push(self.simple_by_name(body, qname)?);
                }
                for inline in xsd_children(body).filter(|n| n.tag_name().name() == "simpleType") {
                    members.push(self.simple_type(inline, name)?);
                }
                Variety::Union(members)
            }
            other => return Err(CompileError::Unsupported(format!("{name}: simpleType/{other}"))),
        };
        self.simple_types.push(SimpleType { name: name.to_owned(), variety });
        Ok(self.simple_types.len() - 1)
    }

    fn complex_type(&mut self, node: Node<'a, 'input>, name: &str) -> Result<usize, CompileError> {
        if node.attribute("mixed") == Some("true") {
            return Err(CompileError::Unsupported(format!("{name}: mixed content")));
        }
        let mut content = Content::Empty;
        let mut attributes = Vec::new();
        for child in xsd_children(node) {
            match child.tag_name().name() {
                "sequence" | "choice" => content = Content::Elements(self.particle(child, name)?),
                "attribute" => attributes.push(self.attribute(child, name)?),
                "simpleContent" => {
                    let ext = xsd_children(child)
                        .find(|n| n.tag_name().name() == "extension")
                        .ok_or_else(|| CompileError::Unsupported(format!("{name}: simpleContent other than an extension")))?;
                    let base = ext.attribute("base").ok_or_else(|| CompileError::Unsupported(format!("{name}: an extension without a base")))?;
                    content = Content::Simple(self.simple_by_name(ext, base)?);
                    for attr in xsd_children(ext).filter(|n| n.tag_name().name() == "attribute") {
                        attributes.push(self.attribute(attr, name)?);
                    }
                }
                "complexContent" => {
                    let ext = xsd_children(child)
                        .find(|n| n.tag_name().name() == "extension")
                        .ok_or_else(|| CompileError::Unsupported(format!("{name}: complexContent other than an extension")))?;
                    let base = ext.attribute("base").ok_or_else(|| CompileError::Unsupported(format!("{name}: an extension without a base")))?;
                    let base = match self.type_by_name(ext, base)? {
                        TypeRef::Complex(i) => self.complex_types[i].clone(),
                        TypeRef::Simple(_) => return Err(CompileError::Unsupported(format!("{name}: complexContent extending a simple type"))),
                    };
                    attributes.extend(base.attributes);
                    let own = match xsd_children(ext).find(|n| matches!(n.tag_name().name(), "sequence" | "choice")) {
                        Some(p) => Some(self.particle(p, name)?),
                        None => None,
                    };
                    content = match (base.content, own) {
                        (Content::Elements(b), Some(o)) => Content::Elements(Particle { min: 1, max: Some(1), term: Term::Sequence(vec![b, o]) }),
                        (Content::Empty, Some(o)) => Content::Elements(o),
                        (base_content, None) => base_content,
                        (Content::Simple(_), Some(_)) => {
                            return Err(CompileError::Unsupported(format!("{name}: elements added to simple content")));
                        }
                    };
                    for attr in xsd_children(ext).filter(|n| n.tag_name().name() == "attribute") {
                        attributes.push(self.attribute(attr, name)?);
                    }
                }
                other => return Err(CompileError::Unsupported(format!("{name}: complexType/{other}"))),
            }
        }
        self.complex_types.push(ComplexType { name: name.to_owned(), content, attributes });
        Ok(self.complex_types.len() - 1)
    }

    fn particle(&mut self, node: Node<'a, 'input>, path: &str) -> Result<Particle, CompileError> {
        let (min, max) = occurs(node)?;
        let term = match node.tag_name().name() {
            "element" => Term::Element(Box::new(self.element(node, path, false)?)),
            kind @ ("sequence" | "choice") => {
                let mut items = Vec::new();
                for child in xsd_children(node) {
                    items.push(self.particle(child, path)?);
                }
                if kind == "sequence" { Term::Sequence(items) } else { Term::Choice(items) }
            }
            other => return Err(CompileError::Unsupported(format!("{path}: particle {other}"))),
        };
        Ok(Particle { min, max, term })
    }

    fn attribute(&mut self, node: Node<'a, 'input>, path: &str) -> Result<AttributeDecl, CompileError> {
        let name = node.attribute("name").ok_or_else(|| CompileError::Unsupported(format!("{path}: an attribute without a name")))?;
        let ty = match node.attribute("type") {
            Some(qname) => self.simple_by_name(node, qname)?,
            None => match xsd_children(node).find(|n| n.tag_name().name() == "simpleType") {
                Some(inline) => self.simple_type(inline, &format!("{path}@{name}"))?,
                None => self.builtin("string")?,
            },
        };
        Ok(AttributeDecl {
            name: name.to_owned(),
            ty,
            required: node.attribute("use") == Some("required"),
            fixed: node.attribute("fixed").map(str::to_owned),
        })
    }
}

fn facets(restriction: Node<'_, '_>, name: &str) -> Result<Facets, CompileError> {
    let mut f = Facets::default();
    for facet in xsd_children(restriction) {
        let value = facet.attribute("value").unwrap_or_default().to_owned();
        let number = |v: &str| v.parse::<u64>().map_err(|_| CompileError::Unsupported(format!("{name}: bad facet value '{v}'")));
        match facet.tag_name().name() {
            "pattern" => f.patterns.push(value),
            "enumeration" => f.enumeration.push(value),
            "length" => f.length = Some(number(&value)?),
            "minLength" => f.min_length = Some(number(&value)?),
            "maxLength" => f.max_length = Some(number(&value)?),
            "totalDigits" => f.total_digits = Some(number(&value)? as u32),
            "fractionDigits" => f.fraction_digits = Some(number(&value)? as u32),
            "minInclusive" => f.min_inclusive = Some(value),
            "maxInclusive" => f.max_inclusive = Some(value),
            "minExclusive" => f.min_exclusive = Some(value),
            "maxExclusive" => f.max_exclusive = Some(value),
            "whiteSpace" => {
                // Read as the shipped JSON spells it, so the two spellings cannot differ.
                let read = crate::schema::WhiteSpace::deserialize(serde::de::IntoDeserializer::<serde::de::value::Error>::into_deserializer(value.as_str()));
                f.white_space = Some(read.map_err(|_| CompileError::Unsupported(format!("{name}: whiteSpace '{value}'")))?);
            }
            "simpleType" => {}
            other => return Err(CompileError::Unsupported(format!("{name}: facet {other}"))),
        }
    }
    Ok(f)
}
