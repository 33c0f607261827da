//! Enumerations as KSeF reads them: written in their canonical spelling, read in any letter case, because
//! KSeF runs on ASP.NET, whose JSON reader ignores case, and clients rely on it (`nip`, `subject1`, `online`).

/// Declares a wire enumeration: `Variant` (or `Variant = "WireName"`), each with its documentation. It
/// serializes as its wire name, deserializes from it in any case, and has `ALL`, `as_str` and `parse`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* pub enum $name:ident { $($(#[$vdoc:meta])* $variant:ident $(= $wire:literal)?,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The canonical wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $crate::enums::wire_name!($variant $(, $wire)?),)*
                }
            }

            /// Reads a wire name, in any letter case.
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(text))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    ::serde::de::Error::custom(format!("unknown value '{}', expected one of {}", text, names.join(", ")))
                })
            }
        }
    };
}

/// The wire name of a variant: its own name unless one is given.
macro_rules! wire_name {
    ($variant:ident) => {
        stringify!($variant)
    };
    ($variant:ident, $wire:literal) => {
        $wire
    };
}

pub(crate) use {wire_enum, wire_name};

#[cfg(test)]
mod tests {
    use crate::ContextIdentifierType;

    #[test]
    fn values_read_in_any_case_and_write_canonically() {
        for text in ["\"Nip\"", "\"nip\"", "\"NIP\""] {
            assert_eq!(serde_json::from_str::<ContextIdentifierType>(text).unwrap(), ContextIdentifierType::Nip);
        }
        assert_eq!(serde_json::to_string(&ContextIdentifierType::InternalId).unwrap(), "\"InternalId\"");
        let err = serde_json::from_str::<ContextIdentifierType>("\"Regon\"").unwrap_err().to_string();
        assert!(err.contains("Nip, InternalId"), "{err}");
    }
}
