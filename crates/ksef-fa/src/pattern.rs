//! XML Schema regular expressions (XSD 1.0, Appendix F) translated to the `regex` crate's syntax: implicitly
//! anchored, `.` and `\s` as XSD defines them, `^` and `$` literal. Constructs the translation cannot express
//! exactly are refused, so a pattern never silently means something else.

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
        regex::Regex::new(&translate(pattern).unwrap()).unwrap().is_match(text)
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
}
