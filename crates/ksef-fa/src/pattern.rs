//! XML Schema regular expressions (XSD 1.0, Appendix F) translated to the `regex` crate's syntax: implicitly
//! anchored, `.` and `\s` as XSD defines them, `^` and `$` literal. Constructs the translation cannot express
//! exactly are refused, so a pattern never silently means something else.

use std::sync::OnceLock;

use regex::Regex;

/// A schema's pattern, translated and checked when the schema is loaded and compiled on first use: compiling
/// all of FA(3)'s takes about 6 ms, which a process that only reads an invoice's fields (a PDF, a preview)
/// never needs, and one that checks a single invoice needs only the few its values meet.
#[derive(Debug)]
pub(crate) struct Pattern {
    translated: String,
    compiled: OnceLock<Regex>,
}

impl Pattern {
    /// The XSD pattern `xsd`, or why it cannot be used: a construct the translation refuses, or a translation
    /// the `regex` crate's parser refuses (parsing is what can fail; compiling a parsed pattern fails only past
    /// a size limit no schema pattern comes near, and a test compiles every shipped one).
    pub(crate) fn new(xsd: &str) -> Result<Pattern, String> {
        let translated = translate(xsd)?;
        regex_syntax::Parser::new().parse(&translated).map_err(|e| format!("pattern '{xsd}': {e}"))?;
        Ok(Pattern { translated, compiled: OnceLock::new() })
    }

    /// Whether all of `value` matches.
    pub(crate) fn is_match(&self, value: &str) -> bool {
        self.compiled().is_match(value)
    }

    fn compiled(&self) -> &Regex {
        self.compiled.get_or_init(|| Regex::new(&self.translated).expect("a pattern that parsed compiles (checked for every shipped one)"))
    }
}

/// The `regex` crate's equivalent of the XSD pattern `xsd`, anchored at both ends.
pub fn translate(xsd: &str) -> Result<String, String> {
    let mut out = String::with_capacity(xsd.len() + 16);
    out.push_str("^(?:");
    let mut chars = xsd.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let escaped = chars.next().ok_or_else(|| format!("pattern '{xsd}' ends with a backslash"))?;
                match escaped {
                    's' if in_class => out.push_str(" \\t\\n\\r"),
                    's' => out.push_str("[ \\t\\n\\r]"),
                    'S' if !in_class => out.push_str("[^ \\t\\n\\r]"),
                    'i' | 'I' | 'c' | 'C' | 'S' => return Err(format!("pattern '{xsd}': \\{escaped} is not supported")),
                    // \d, \w, \p{..}, \P{..} and escaped metacharacters mean the same in both.
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().expect("peeked"));
                }
            }
            '[' => return Err(format!("pattern '{xsd}': character class subtraction is not supported")),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class => out.push_str("[^\\n\\r]"),
            '^' | '$' if !in_class => {
                out.push('\\');
                out.push(c);
            }
            '&' | '~' if in_class => {
                // Set operators in the regex crate's classes; literal in XSD.
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    if in_class {
        return Err(format!("pattern '{xsd}' has an unclosed character class"));
    }
    out.push_str(")$");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn patterns_are_anchored_and_dots_and_spaces_mean_what_xsd_says() {
        assert!(matches("\\d{11}", "12345678901"));
        assert!(!matches("\\d{11}", "123456789012"));
        assert!(matches("(.)+@(.)+", "a@b"));
        assert!(!matches("(.)+@(.)+", "a\n@b"));
        assert!(matches("[^\\s?#]*", "abc"));
        assert!(!matches("[^\\s?#]*", "a b"));
        assert!(matches("a^b$", "a^b$"));
        assert!(matches("P[A-KM-Z]", "PK"));
        assert!(!matches("P[A-KM-Z]", "PL"));
    }

    #[test]
    fn constructs_without_an_exact_translation_are_refused() {
        assert!(translate("[a-z-[aeiou]]").is_err());
        assert!(translate("\\i\\c*").is_err());
    }

    #[test]
    fn a_pattern_the_regex_parser_refuses_is_refused_when_the_schema_loads_not_when_first_used() {
        assert!(Pattern::new("(ab").unwrap_err().contains("(ab"));
        assert!(Pattern::new("a{3,2}").is_err());
    }

    #[test]
    fn every_pattern_of_the_shipped_schemas_compiles() {
        for version in [crate::Version::Fa2, crate::Version::Fa3] {
            let patterns = version.validator().patterns();
            assert!(patterns.len() > 10, "{version:?} has its patterns");
            for pattern in patterns {
                let _ = pattern.compiled();
            }
        }
    }
}
