//! XML Schema regular expressions (XSD 1.0, Appendix F) translated to the `regex` crate's syntax: implicitly
//! anchored, `.` and `\s` as XSD defines them, `^` and `$` literal. Constructs the translation cannot express
//! exactly are refused, so a pattern never silently means something else.

use std::sync::OnceLock;

use regex::Regex;
use regex_automata::dfa::{Automaton as _, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};

/// A schema's pattern, translated and checked when the schema is loaded and compiled on first use: compiling
/// all of FA(3)'s takes about 6 ms, which a process that only reads an invoice's fields (a PDF, a preview)
/// never needs, and one that checks a single invoice needs only the few its values meet.
#[derive(Debug)]
pub(crate) struct Pattern {
    translated: String,
    compiled: OnceLock<Regex>,
    /// The pattern for ASCII text (nearly every value): a small automaton walked byte by byte, where a search
    /// through `Regex` spends more on its setup than on a value of a few bytes. `None` if it cannot be built.
    ascii: OnceLock<Option<AsciiDfa>>,
}

/// A pattern's automaton over ASCII text, anchored at the start, reporting every match (so a match state at the
/// end of the text means the whole text matches).
type AsciiDfa = dense::DFA<Vec<u32>>;

/// Largest automaton (bytes) kept for a pattern's ASCII form; past it, `Regex` alone checks the pattern.
const MAX_ASCII_DFA: usize = 1 << 20;

impl Pattern {
    /// The XSD pattern `xsd`, or why it cannot be used: a construct the translation refuses, or a translation
    /// the `regex` crate's parser refuses (parsing is what can fail; compiling a parsed pattern fails only past
    /// a size limit no schema pattern comes near, and a test compiles every shipped one).
    pub(crate) fn new(xsd: &str) -> Result<Pattern, String> {
        let translated = translate(xsd)?;
        regex_syntax::Parser::new().parse(&translated).map_err(|e| format!("pattern '{xsd}': {e}"))?;
        Ok(Pattern { translated, compiled: OnceLock::new(), ascii: OnceLock::new() })
    }

    /// Whether all of `value` matches.
    pub(crate) fn is_match(&self, value: &str) -> bool {
        if value.is_ascii()
            && let Some(dfa) = self.ascii.get_or_init(|| ascii_dfa(&self.translated))
            && let Some(matches) = walk(dfa, value.as_bytes())
        {
            return matches;
        }
        self.compiled().is_match(value)
    }

    fn compiled(&self) -> &Regex {
        self.compiled.get_or_init(|| Regex::new(&self.translated).expect("a pattern that parsed compiles (checked for every shipped one)"))
    }
}

/// The automaton of `translated` with every character class cut to its ASCII members: on ASCII text it
/// matches exactly where the whole pattern does (a class can match an ASCII character only through its ASCII
/// members), and it stays small where a Unicode class (`\d` is every script's digits) would multiply states.
fn ascii_dfa(translated: &str) -> Option<AsciiDfa> {
    let hir = regex_syntax::Parser::new().parse(translated).ok()?;
    let nfa = thompson::Compiler::new()
        .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
        .build_from_hir(&ascii_only(&hir))
        .ok()?;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .match_kind(MatchKind::All)
                .dfa_size_limit(Some(MAX_ASCII_DFA))
                .determinize_size_limit(Some(4 * MAX_ASCII_DFA)),
        )
        .build_from_nfa(&nfa)
        .ok()
}

/// `hir` with its classes' non-ASCII members left out.
fn ascii_only(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => {
            let mut ascii = class.clone();
            ascii.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7F')]));
            Hir::class(Class::Unicode(ascii))
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut ascii = class.clone();
            ascii.intersect(&ClassBytes::new([ClassBytesRange::new(0, 0x7F)]));
            Hir::class(Class::Bytes(ascii))
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => hir.clone(),
        HirKind::Repetition(r) => Hir::repetition(Repetition { min: r.min, max: r.max, greedy: r.greedy, sub: Box::new(ascii_only(&r.sub)) }),
        HirKind::Capture(c) => Hir::capture(Capture { index: c.index, name: c.name.clone(), sub: Box::new(ascii_only(&c.sub)) }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(ascii_only).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(ascii_only).collect()),
    }
}

/// Whether `dfa` matches all of `text`, walking it a byte at a time (`None`: the automaton cannot start here).
fn walk(dfa: &AsciiDfa, text: &[u8]) -> Option<bool> {
    let mut state = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).ok()?;
    for &b in text {
        state = dfa.next_state(state, b);
        if dfa.is_dead_state(state) {
            return Some(false);
        }
    }
    Some(dfa.is_match_state(dfa.next_eoi_state(state)))
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

    /// Values of every shipped pattern's shape, each also cut, doubled and changed a character at a time.
    fn ascii_values() -> Vec<String> {
        let seeds = [
            "2026-01-31", "a@b.pl", "jan.kowalski@example.com", "5265877635-20260115-0100001FC0D8-4E", "M123456789-20991231-ABCDEF-012345-00",
            "ABC1234567-30000101-ABCDEF012345-FF", "AB12+*", "https://ksef-test.mf.gov.pl/client-app/invoice?a=1&IPKSeF=123abcdefghij&b#x",
            "http://a.bc:8080/?IPKSeF=9990000000000", "-123.45", "0.12345678", "1234567890123456.12", "0", "-0.1", "123abcDEF0123",
            "5265877635", "5265877635-12345", "BREXPLPWXXX", "BREXPLPW", "12345678901234", "123456789", "ABCDEFGHIJ0123", "", " ", "a b",
        ];
        let alphabet = "09aZ-.@:/?&=#+* \n\r\t_^$AFM";
        let mut values = Vec::new();
        for seed in seeds {
            values.push(seed.to_owned());
            values.push(format!("{seed}{seed}"));
            for at in 0..=seed.len() {
                values.push(format!("{}{}", &seed[..at], &seed[(at + 1).min(seed.len())..]));
                for c in alphabet.chars() {
                    values.push(format!("{}{c}{}", &seed[..at], &seed[(at + 1).min(seed.len())..]));
                    values.push(format!("{}{c}{}", &seed[..at], &seed[at..]));
                }
            }
        }
        values
    }

    #[test]
    fn the_ascii_automaton_agrees_with_the_whole_pattern_on_ascii_text() {
        let values = ascii_values();
        for version in [crate::Version::Fa2, crate::Version::Fa3] {
            for pattern in version.validator().patterns() {
                let dfa = ascii_dfa(&pattern.translated).unwrap_or_else(|| panic!("{}: an ASCII automaton", pattern.translated));
                let mut matched = 0;
                for value in &values {
                    let whole = pattern.compiled().is_match(value);
                    assert_eq!(walk(&dfa, value.as_bytes()), Some(whole), "{} on {value:?}", pattern.translated);
                    matched += usize::from(whole);
                }
                assert!(matched > 0, "{}: some value matches, so both answers are tried", pattern.translated);
            }
        }
    }

    #[test]
    fn text_beyond_ascii_is_matched_by_the_whole_pattern() {
        // Arabic-Indic digits are digits to XSD's \d: not in the ASCII automaton, still matched.
        assert!(matches("\\d{3}", "\u{661}\u{662}\u{663}"));
        assert!(matches("(.)+@(.)+", "zażółć@gęślą.pl"));
        assert!(!matches("[A-Z]{2}", "ŁÓ"));
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
