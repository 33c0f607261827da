//! The typed FA(3) and FA(2) models: structs generated from the official schemas ([`crate::codegen`]), with
//! exact decimals ([`Decimal`]), dates and integers parsed, read from and written to XML through the JSON form
//! of [`crate::json`] (so the model, the JSON and the XML always agree), elements written in schema order.

pub mod fa2;
pub mod fa3;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::amount::Amount;
use crate::{Version, json};

/// An `xsd:decimal` as written in the invoice (so writing it back gives the same text), with its exact value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// The decimal `text`, or `None` if it is not one (see [`Amount::parse`]).
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        Amount::parse(text).map(|_| Decimal(text.to_owned()))
    }

    /// Its exact value.
    pub fn amount(&self) -> Amount {
        Amount::parse(&self.0).expect("checked when made")
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Amount> for Decimal {
    fn from(amount: Amount) -> Decimal {
        Decimal(amount.to_string())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = text::Text::deserialize(deserializer)?.0;
        Decimal::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a decimal: {text:?}")))
    }
}

/// Serde for values kept as text in the JSON form and typed in the model (integers, dates).
pub(crate) mod text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A string, or a number or boolean as JSON writes it.
    pub(crate) struct Text(pub(crate) String);

    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
            match serde_json::Value::deserialize(deserializer)? {
                serde_json::Value::String(s) => Ok(Text(s)),
                serde_json::Value::Number(n) => Ok(Text(n.to_string())),
                other => Err(serde::de::Error::custom(format!("expected text, found {other}"))),
            }
        }
    }

    fn parse<T: FromStr, E: serde::de::Error>(text: Text) -> Result<T, E> {
        text.0.trim().parse().map_err(|_| E::custom(format!("not a valid value: {:?}", text.0)))
    }

    pub(crate) mod one {
        use super::*;
        pub(crate) fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(value)
        }
        pub(crate) fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
            parse(Text::deserialize(d)?)
        }
    }

    pub(crate) mod optional {
        use super::*;
        pub(crate) fn serialize<T: Display, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
            value.as_ref().map(ToString::to_string).serialize(s)
        }
        pub(crate) fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
            Option::<Text>::deserialize(d)?.map(parse).transpose()
        }
    }

    #[allow(dead_code, reason = "for repeated typed scalars; the current schemas repeat only text and structures")]
    pub(crate) mod many {
        use super::*;
        pub(crate) fn serialize<T: Display, S: Serializer>(values: &[T], s: S) -> Result<S::Ok, S::Error> {
            values.iter().map(ToString::to_string).collect::<Vec<_>>().serialize(s)
        }
        pub(crate) fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
            Vec::<Text>::deserialize(d)?.into_iter().map(parse).collect()
        }
    }
}

/// Why a document could not be read into the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not well-formed XML (or it has a DTD).
    #[error("not well-formed XML: {0}")]
    Xml(String),
    /// The root element is not in the FA(2) or FA(3) namespace, or not in the one asked for.
    #[error("not an {expected} document (root namespace {found:?})")]
    Namespace {
        /// What was asked for.
        expected: &'static str,
        /// The root element's namespace.
        found: Option<String>,
    },
    /// The document does not fit the model (it is not valid against the schema; validate it to learn why).
    #[error("the document does not fit the {version} model: {message}")]
    Shape {
        /// Its version.
        version: &'static str,
        /// serde's description.
        message: String,
    },
}

/// An invoice of either version.
#[derive(Debug, Clone, PartialEq)]
pub enum Invoice {
    /// FA(2).
    Fa2(Box<fa2::Faktura>),
    /// FA(3).
    Fa3(Box<fa3::Faktura>),
}

impl Invoice {
    /// Reads an FA(2) or FA(3) document, by its root namespace.
    pub fn from_xml(text: &str) -> Result<Invoice, ModelError> {
        let doc = parse(text)?;
        let found = doc.root_element().tag_name().namespace();
        match found.and_then(Version::from_namespace) {
            Some(Version::Fa3) => from_doc(&doc, Version::Fa3).map(|f| Invoice::Fa3(Box::new(f))),
            Some(Version::Fa2) => from_doc(&doc, Version::Fa2).map(|f| Invoice::Fa2(Box::new(f))),
            None => Err(ModelError::Namespace { expected: "FA(2) or FA(3)", found: found.map(str::to_owned) }),
        }
    }

    /// The document, UTF-8, elements in schema order.
    pub fn to_xml(&self) -> String {
        match self {
            Invoice::Fa2(f) => f.to_xml(),
            Invoice::Fa3(f) => f.to_xml(),
        }
    }

    /// Its version.
    pub fn version(&self) -> Version {
        match self {
            Invoice::Fa2(_) => Version::Fa2,
            Invoice::Fa3(_) => Version::Fa3,
        }
    }
}

fn parse(text: &str) -> Result<roxmltree::Document<'_>, ModelError> {
    ksef_core::xml::parse(text).map_err(|e| ModelError::Xml(e.to_string()))
}

fn from_doc<T: serde::de::DeserializeOwned>(doc: &roxmltree::Document<'_>, version: Version) -> Result<T, ModelError> {
    let found = doc.root_element().tag_name().namespace();
    if found.and_then(Version::from_namespace) != Some(version) {
        return Err(ModelError::Namespace { expected: version.name(), found: found.map(str::to_owned) });
    }
    let value = json::to_json(version.validator().schema(), doc);
    serde_json::from_value(value).map_err(|e| ModelError::Shape { version: version.name(), message: e.to_string() })
}

fn to_xml<T: Serialize>(model: &T, version: Version) -> String {
    let value = serde_json::to_value(model).expect("the model serializes to JSON");
    json::from_json(version.validator().schema(), &value).expect("the model's JSON has only fields the schema has")
}

macro_rules! xml_io {
    ($module:ident, $version:expr) => {
        impl $module::Faktura {
            /// Reads a document of this version.
            pub fn from_xml(text: &str) -> Result<$module::Faktura, ModelError> {
                from_doc(&parse(text)?, $version)
            }

            /// The document, UTF-8, elements in schema order.
            pub fn to_xml(&self) -> String {
                to_xml(self, $version)
            }
        }
    };
}

xml_io!(fa3, Version::Fa3);
xml_io!(fa2, Version::Fa2);
