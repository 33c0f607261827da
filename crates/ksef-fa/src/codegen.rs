//! Writes the typed model of a compiled schema as Rust source (`src/model/fa3.rs`, `src/model/fa2.rs`): a
//! struct per complex type, a field per element and attribute under its readable name ([`crate::names`]), so
//! the model (de)serializes to exactly the JSON of [`crate::json`]. Regenerate with
//! `cargo run -p ksef-fa --example gen_model`; a test keeps the shipped files equal to this output.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::names::readable;
use crate::schema::{Builtin, Content, ElementDecl, Particle, Schema, Term, TypeRef, Variety};

/// How often a field occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occurs {
    One,
    Optional,
    Many,
}

/// One field of a generated struct.
struct Field {
    fa: String,
    key: String,
    ty: TypeRef,
    occurs: Occurs,
}

/// The Rust source of the model of `schema`; `title` names it in the file's first line (e.g. `FA(3)`).
pub fn rust_model(schema: &Schema, title: &str) -> String {
    let names = struct_names(schema);
    let mut out = String::new();
    let _ = writeln!(out, "//! The typed {title} model, generated from the compiled schema by `ksef_fa::codegen` (do not edit; run");
    let _ = writeln!(out, "//! `cargo run -p ksef-fa --example gen_model`). Each field's JSON name is its readable name; its doc gives the FA name.");
    out.push_str("\nuse serde::{Deserialize, Serialize};\n\nuse super::{Decimal, text};\n");
    let mut order: Vec<(usize, &String)> = names.iter().map(|(i, n)| (*i, n)).collect();
    order.sort_by_key(|(i, _)| *i);
    for (index, name) in order {
        let ct = &schema.complex_types[index];
        let _ = writeln!(out, "\n/// `{}`.", ct.name.rsplit("//").next().unwrap_or(&ct.name));
        out.push_str("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\n#[serde(deny_unknown_fields)]\n");
        let _ = writeln!(out, "pub struct {name} {{");
        let mut fields: Vec<Field> = ct
            .attributes
            .iter()
            .map(|a| Field {
                fa: format!("@{}", a.name),
                key: format!("@{}", readable(&format!("@{}", a.name))),
                ty: TypeRef::Simple(a.ty),
                occurs: if a.required || a.fixed.is_some() { Occurs::One } else { Occurs::Optional },
            })
            .collect();
        match &ct.content {
            Content::Empty => {}
            Content::Simple(st) => fields.push(Field { fa: "text()".to_owned(), key: "value".to_owned(), ty: TypeRef::Simple(*st), occurs: Occurs::One }),
            Content::Elements(p) => collect(p, Occurs::One, &mut fields),
        }
        for field in &fields {
            write_field(&mut out, schema, &names, field);
        }
        out.push_str("}\n");
    }
    out
}

fn write_field(out: &mut String, schema: &Schema, names: &BTreeMap<usize, String>, field: &Field) {
    let (base, textual) = match field.ty {
        TypeRef::Complex(i) => (names[&i].clone(), false),
        TypeRef::Simple(i) => scalar(schema, i),
    };
    let ty = match field.occurs {
        Occurs::One => base,
        Occurs::Optional => format!("Option<{base}>"),
        Occurs::Many => format!("Vec<{base}>"),
    };
    let type_name = match field.ty {
        TypeRef::Simple(i) => schema.simple_types[i].name.rsplit("//").next().unwrap_or_default().to_owned(),
        TypeRef::Complex(_) => String::new(),
    };
    let type_note = if type_name.is_empty() || type_name.contains('/') { String::new() } else { format!(" ({type_name})") };
    let _ = writeln!(out, "    /// `{}`{type_note}.", field.fa);
    let mut serde = vec![format!("rename = \"{}\"", field.key)];
    match field.occurs {
        Occurs::One => {}
        Occurs::Optional => serde.push("default, skip_serializing_if = \"Option::is_none\"".to_owned()),
        Occurs::Many => serde.push("default, skip_serializing_if = \"Vec::is_empty\"".to_owned()),
    }
    if textual {
        serde.push(match field.occurs {
            Occurs::One => "with = \"text::one\"".to_owned(),
            Occurs::Optional => "with = \"text::optional\"".to_owned(),
            Occurs::Many => "with = \"text::many\"".to_owned(),
        });
    }
    let _ = writeln!(out, "    #[serde({})]", serde.join(", "));
    let _ = writeln!(out, "    pub {}: {ty},", rust_field(&field.key));
}

/// The Rust type of simple type `i`, and whether it goes through text (`FromStr`/`Display`).
fn scalar(schema: &Schema, i: usize) -> (String, bool) {
    let Variety::Atomic { builtin, .. } = schema.simple_types[i].variety else { return ("String".to_owned(), false) };
    let (ty, textual) = match builtin {
        Builtin::Decimal => ("Decimal", false),
        Builtin::Integer | Builtin::Long => ("i64", true),
        Builtin::NonNegativeInteger | Builtin::PositiveInteger => ("u64", true),
        Builtin::Int => ("i32", true),
        Builtin::Short => ("i16", true),
        Builtin::Byte => ("i8", true),
        Builtin::Date => ("chrono::NaiveDate", true),
        _ => ("String", false),
    };
    (ty.to_owned(), textual)
}

/// The elements a content model declares, each once, with how often it may occur in one instance.
fn collect(p: &Particle, outer: Occurs, out: &mut Vec<Field>) {
    let here = match (outer, p.min, p.max) {
        (Occurs::Many, ..) => Occurs::Many,
        (_, _, max) if max != Some(1) => Occurs::Many,
        (Occurs::Optional, ..) | (_, 0, _) => Occurs::Optional,
        _ => Occurs::One,
    };
    match &p.term {
        Term::Element(decl) => add(out, decl, here),
        Term::Sequence(items) => items.iter().for_each(|item| collect(item, here, out)),
        Term::Choice(items) => {
            // One branch is taken, so each branch's elements may be absent.
            let branch = if here == Occurs::Many { Occurs::Many } else { Occurs::Optional };
            items.iter().for_each(|item| collect(item, branch, out));
        }
    }
}

fn add(out: &mut Vec<Field>, decl: &ElementDecl, occurs: Occurs) {
    let key = readable(&decl.name).to_owned();
    match out.iter_mut().find(|f| f.key == key) {
        Some(field) => {
            assert_eq!(field.fa, decl.name, "two elements of one type share the readable name {key}");
            // Declared twice (in two branches): the wider occurrence wins; [`crate::json`] reads the first.
            field.occurs = match (field.occurs, occurs) {
                (Occurs::Many, _) | (_, Occurs::Many) => Occurs::Many,
                _ => Occurs::Optional,
            };
        }
        None => out.push(Field { fa: decl.name.clone(), key, ty: decl.ty, occurs }),
    }
}

/// A struct name per complex type: the readable name of the first element of that type (in document order),
/// singular and in CamelCase, prefixed by its parent's name where two types would share one.
fn struct_names(schema: &Schema) -> BTreeMap<usize, String> {
    let mut names: BTreeMap<usize, String> = BTreeMap::new();
    let mut queue: Vec<(&ElementDecl, String)> = vec![(&schema.root, String::new())];
    while !queue.is_empty() {
        let mut next = Vec::new();
        for (decl, parent) in queue {
            let TypeRef::Complex(i) = decl.ty else { continue };
            if names.contains_key(&i) {
                continue;
            }
            let own = camel(&singular(readable(&decl.name)));
            let mut name = if names.values().any(|n| *n == own) { format!("{parent}{own}") } else { own };
            if names.values().any(|n| *n == name) {
                name = format!("{name}{i}");
            }
            names.insert(i, name.clone());
            if let Content::Elements(p) = &schema.complex_types[i].content {
                let mut children = Vec::new();
                elements(p, &mut children);
                next.extend(children.into_iter().map(|d| (d, name.clone())));
            }
        }
        queue = next;
    }
    names
}

fn elements<'s>(p: &'s Particle, out: &mut Vec<&'s ElementDecl>) {
    match &p.term {
        Term::Element(decl) => out.push(decl),
        Term::Sequence(items) | Term::Choice(items) => items.iter().for_each(|item| elements(item, out)),
    }
}

fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if name.ends_with("ss") || !name.ends_with('s') {
        name.to_owned()
    } else {
        name[..name.len() - 1].to_owned()
    }
}

fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `localGovernmentUnit` → `local_government_unit`, `@type` → `r#type`, `P_6A` → `p_6_a`.
fn rust_field(key: &str) -> String {
    let key = key.trim_start_matches('@');
    let mut out = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            out.push('_');
            previous_lower = false;
        }
    }
    match out.as_str() {
        "type" | "ref" | "match" | "mod" | "move" | "use" | "where" | "in" | "fn" | "impl" | "self" | "box" => format!("r#{out}"),
        _ => out,
    }
}
