//! Invoices as JSON with readable names ([`crate::names`]), both ways, driven by the compiled schema: reading
//! writes every element under its readable name (an array where the schema lets it repeat, text exactly as
//! written, attributes as `@name`); writing emits the elements in schema order, whatever the JSON's order, and
//! reports every JSON field the schema has no place for. Values stay text, so amounts are never floats.

use serde_json::{Map, Value};

use crate::names::readable;
use crate::schema::{Content, ElementDecl, Particle, Schema, Term, TypeRef};

/// The invoice `doc` as JSON (its root element's content).
pub fn to_json(schema: &Schema, doc: &roxmltree::Document<'_>) -> Value {
    element_json(schema, doc.root_element(), &schema.root)
}

fn element_json(schema: &Schema, node: roxmltree::Node<'_, '_>, decl: &ElementDecl) -> Value {
    let text = || node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect::<String>();
    let TypeRef::Complex(ty) = decl.ty else { return Value::String(text()) };
    let ct = &schema.complex_types[ty];
    let mut object = Map::new();
    // Declared attributes only: `xsi:schemaLocation` and the like are not invoice data.
    for attr in node.attributes().filter(|a| a.namespace().is_none() && ct.attributes.iter().any(|d| d.name == a.name())) {
        object.insert(format!("@{}", readable(&format!("@{}", attr.name()))), Value::String(attr.value().to_owned()));
    }
    match &ct.content {
        Content::Empty => {}
        Content::Simple(_) => {
            object.insert("value".to_owned(), Value::String(text()));
        }
        Content::Elements(particle) => {
            let mut slots = Vec::new();
            collect(particle, false, &mut slots);
            for child in node.children().filter(|c| c.is_element()) {
                let Some((decl, repeated)) = slots.iter().find(|(d, _)| d.name == child.tag_name().name()) else { continue };
                let value = element_json(schema, child, decl);
                let key = readable(&decl.name).to_owned();
                if *repeated {
                    match object.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                        Value::Array(items) => items.push(value),
                        other => *other = Value::Array(vec![other.take(), value]),
                    }
                } else {
                    object.insert(key, value);
                }
            }
        }
    }
    Value::Object(object)
}

/// Every element declared directly in a content model, and whether it may repeat.
fn collect<'s>(p: &'s Particle, repeated: bool, out: &mut Vec<(&'s ElementDecl, bool)>) {
    let repeated = repeated || p.max != Some(1);
    match &p.term {
        Term::Element(decl) => out.push((decl, repeated)),
        Term::Sequence(items) | Term::Choice(items) => {
            for item in items {
                collect(item, repeated, out);
            }
        }
    }
}

/// A JSON field the schema has no place for, or a value of the wrong JSON kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Where, e.g. `invoice.lines[2].rate`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The XML of the invoice described by `value` (the root element's content), elements in schema order.
pub fn from_json(schema: &Schema, value: &Value) -> Result<String, Vec<JsonError>> {
    let mut out = String::with_capacity(8 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut errors = Vec::new();
    write_element(schema, &schema.root, value, None, "", &mut out, &mut errors);
    out.push('\n');
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Writes `decl` with `value`; `default_ns` is the default namespace in scope (`None` at the root).
fn write_element(
    schema: &Schema,
    decl: &ElementDecl,
    value: &Value,
    default_ns: Option<&str>,
    path: &str,
    out: &mut String,
    errors: &mut Vec<JsonError>,
) {
    out.push('<');
    out.push_str(&decl.name);
    let ns = decl.namespace.as_deref().unwrap_or("");
    if default_ns != Some(ns) {
        out.push_str(" xmlns=\"");
        out.push_str(ns);
        out.push('"');
    }
    match decl.ty {
        TypeRef::Simple(_) => match scalar(value) {
            Some(text) => {
                out.push('>');
                crate::escape_text(&text, out);
            }
            None => {
                errors.push(JsonError { path: path.to_owned(), message: "expected a string, number or boolean".to_owned() });
                out.push('>');
            }
        },
        TypeRef::Complex(ty) => {
            let ct = &schema.complex_types[ty];
            let Some(object) = value.as_object() else {
                errors.push(JsonError { path: path.to_owned(), message: "expected an object".to_owned() });
                out.push_str("/>");
                return;
            };
            let mut used: Vec<&str> = Vec::new();
            for attr in &ct.attributes {
                let key = format!("@{}", readable(&format!("@{}", attr.name)));
                let value = object.get(&key).and_then(scalar).or_else(|| attr.fixed.clone());
                if let Some(v) = value {
                    out.push(' ');
                    out.push_str(&attr.name);
                    out.push_str("=\"");
                    crate::escape_attribute(&v, out);
                    out.push('"');
                }
                if object.contains_key(&key) {
                    used.push(object.get_key_value(&key).expect("present").0);
                }
            }
            out.push('>');
            match &ct.content {
                Content::Empty => {}
                Content::Simple(_) => {
                    if let Some(text) = object.get("value").and_then(scalar) {
                        crate::escape_text(&text, out);
                        used.push("value");
                    }
                }
                Content::Elements(particle) => write_particle(schema, particle, object, ns, path, out, errors, &mut used),
            }
            for key in object.keys().filter(|k| !used.contains(&k.as_str())) {
                errors.push(JsonError { path: join(path, key), message: "no such field here".to_owned() });
            }
        }
    }
    out.push_str("</");
    out.push_str(&decl.name);
    out.push('>');
}

#[expect(clippy::too_many_arguments, reason = "the recursion's state: what to write, where, and what was used")]
fn write_particle<'j>(
    schema: &Schema,
    p: &Particle,
    object: &'j Map<String, Value>,
    ns: &str,
    path: &str,
    out: &mut String,
    errors: &mut Vec<JsonError>,
    used: &mut Vec<&'j str>,
) {
    match &p.term {
        Term::Element(decl) => {
            let name = readable(&decl.name);
            let Some((key, value)) = object.get_key_value(name) else { return };
            if used.contains(&key.as_str()) {
                return;
            }
            used.push(key.as_str());
            let here = join(path, name);
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        write_element(schema, decl, item, Some(ns), &format!("{here}[{i}]"), out, errors);
                    }
                }
                Value::Null => {}
                single => write_element(schema, decl, single, Some(ns), &here, out, errors),
            }
        }
        Term::Sequence(items) | Term::Choice(items) => {
            for item in items {
                write_particle(schema, item, object, ns, path, out, errors, used);
            }
        }
    }
}

/// A scalar's text: strings as they are, numbers as written, booleans as FA's flags (1 yes, 2 no).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "2" }.to_owned()),
        _ => None,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::Version;

    #[test]
    fn no_parent_has_two_children_with_one_readable_name() {
        for version in [Version::Fa3, Version::Fa2] {
            let schema = version.validator().schema();
            for ct in &schema.complex_types {
                let Content::Elements(p) = &ct.content else { continue };
                let mut slots = Vec::new();
                collect(p, false, &mut slots);
                let mut seen: Vec<(&str, &str)> = Vec::new();
                for (decl, _) in slots {
                    let name = readable(&decl.name);
                    if let Some((other, _)) = seen.iter().find(|(_, r)| *r == name).filter(|(fa, _)| *fa != decl.name) {
                        panic!("{}: {} and {} are both '{name}'", ct.name, other, decl.name);
                    }
                    seen.push((&decl.name, name));
                }
            }
        }
    }

    #[test]
    fn the_example_invoice_goes_to_json_and_back_unchanged_in_content() {
        let xml = crate::example::invoice("5265877635", "1111111111", "FV/1", "2026-11-25", 2);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let schema = Version::Fa3.validator().schema();
        let json = to_json(schema, &doc);
        assert_eq!(json["invoice"]["lines"][1]["rate"], "23");
        assert_eq!(json["seller"]["identification"]["nip"], "5265877635");
        assert_eq!(json["header"]["formCode"]["@systemCode"], "FA (3)");
        let back = from_json(schema, &json).unwrap();
        let again = roxmltree::Document::parse(&back).unwrap();
        assert_eq!(to_json(schema, &again), json);
        assert!(crate::check(back.as_bytes(), &crate::rules::Options::default()).findings.is_empty());
    }

    #[test]
    fn fields_the_schema_has_no_place_for_are_reported() {
        let schema = Version::Fa3.validator().schema();
        let json = serde_json::json!({ "seller": { "identification": { "nip": "5265877635", "nmae": "X" } }, "extra": 1 });
        let errors = from_json(schema, &json).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"seller.identification.nmae") && paths.contains(&"extra"), "{paths:?}");
    }
}
