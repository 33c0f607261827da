//! Table column widths from DejaVu Sans's own metrics: every column gets at least its longest word, the rest of
//! the width goes where text would otherwise wrap, and a table that cannot fit even so is set smaller rather
//! than letting text run into the next cell.

use std::sync::OnceLock;

use ksef_visualize::Language;
use ksef_visualize::labels::Label;
use ksef_visualize::view::{Table, Value};

/// Table text size and cell padding (pt), as `invoice.typ` sets them.
const SIZE: f64 = 7.0;
const INSET: f64 = 3.0;
/// The English part of a `pl_en` label is set at this fraction of the size.
const EN_SCALE: f64 = 0.85;
/// Smallest scale a table is set at; below it, text would be unreadable, so it may overflow instead.
const MIN_SCALE: f64 = 0.6;

/// The width a table has: the page's type area (A4 less 1.4 cm margins), portrait or landscape.
pub(crate) fn available(landscape: bool) -> f64 {
    let cm = 72.0 / 2.54;
    (if landscape { 841.89 } else { 595.28 }) - 2.0 * 1.4 * cm
}

struct Faces {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
    oblique: ttf_parser::Face<'static>,
}

fn faces() -> &'static Faces {
    static FACES: OnceLock<Faces> = OnceLock::new();
    FACES.get_or_init(|| Faces {
        regular: ttf_parser::Face::parse(crate::FONTS[0], 0).expect("the vendored DejaVu Sans parses"),
        bold: ttf_parser::Face::parse(crate::FONTS[1], 0).expect("the vendored DejaVu Sans Bold parses"),
        oblique: ttf_parser::Face::parse(crate::FONTS[2], 0).expect("the vendored DejaVu Sans Oblique parses"),
    })
}

/// Whether every embedded face can draw `c` (whitespace and invisible format characters need no glyph). With
/// `fallback: false`, a character without a glyph would make the PDF/A export fail.
pub(crate) fn drawable(c: char) -> bool {
    // Most text is ASCII (and the QR codes' SVG is all ASCII): looked up once, not in three cmaps per character.
    static ASCII: OnceLock<[bool; 128]> = OnceLock::new();
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() => ASCII.get_or_init(|| std::array::from_fn(|b| drawable_in_faces(char::from(b as u8))))[usize::from(b)],
        _ => drawable_in_faces(c),
    }
}

fn drawable_in_faces(c: char) -> bool {
    let f = faces();
    c.is_whitespace()
        || matches!(c, '\u{200B}'..='\u{200D}' | '\u{00AD}' | '\u{2060}' | '\u{FEFF}')
        || [&f.regular, &f.bold, &f.oblique].iter().all(|face| face.glyph_index(c).is_some())
}

/// The advance width of `text` at `size` pt (no kerning: a slight overestimate, which is the safe side).
fn width(text: &str, size: f64, bold: bool) -> f64 {
    let face = if bold { &faces().bold } else { &faces().regular };
    let units: u32 = text
        .chars()
        .map(|c| face.glyph_index(c).or_else(|| face.glyph_index('?')).and_then(|g| face.glyph_hor_advance(g)).map_or(0, u32::from))
        .sum();
    f64::from(units) * size / f64::from(face.units_per_em())
}

/// (widest unbreakable piece, whole width) of `text`. Lines break only at spaces and zero-width spaces here;
/// no-break spaces inside numbers keep them whole.
fn extent(text: &str, size: f64, bold: bool) -> (f64, f64) {
    let widest = text.split([' ', '\n', '\u{200B}']).map(|w| width(w, size, bold)).fold(0.0, f64::max);
    (widest, width(text, size, bold))
}

/// A label's extent as the template prints it in `language`.
fn label_extent(l: &Label, language: Language, size: f64, bold: bool) -> (f64, f64) {
    let pl = extent(&l.pl, size, bold);
    let en = extent(&l.en, size * EN_SCALE, bold);
    match language {
        Language::Pl => pl,
        Language::En if !l.en.is_empty() => en,
        Language::En => pl,
        Language::PlEn if !l.en.is_empty() && l.en != l.pl => {
            let slash = width(" / ", size * EN_SCALE, bold);
            (pl.0.max(en.0), pl.1 + slash + en.1)
        }
        Language::PlEn => pl,
    }
}

/// Column widths (pt, used as proportions) and the text scale for `table` in `available` points.
pub(crate) fn columns(table: &Table, language: Language, available: f64) -> (Vec<f64>, f64) {
    let (mut min, mut pref, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for (i, column) in table.columns.iter().enumerate() {
        // A header may wrap down to its longest word, but would rather take two or three lines.
        let (header_min, header_full) = label_extent(&column.label, language, SIZE, true);
        let header = header_min.max(header_full / 2.5);
        let (cell_min, cell_pref) = table
            .rows
            .iter()
            // A single value spanning the table takes no column's width.
            .filter(|r| r.cells.len() > 1 || table.columns.len() == 1)
            .filter_map(|r| r.cells.get(i).map(|c| (c, r.summary)))
            .map(|(c, bold)| match c {
                // Measured as printed: with the break points over-long pieces get.
                Value::Data(text) => extent(&breakable(text), SIZE, bold),
                Value::Words(words) => label_extent(words, language, SIZE, bold),
            })
            .fold((0.0, 0.0), |(a, b), (c, d)| (f64::max(a, c), f64::max(b, d)));
        min.push(cell_min.max(header_min) + 2.0 * INSET + 1.0);
        pref.push(cell_pref.max(header) + 2.0 * INSET + 1.0);
        full.push(cell_pref.max(header_full) + 2.0 * INSET + 1.0);
    }
    let (sum_min, sum_pref): (f64, f64) = (min.iter().sum(), pref.iter().sum());
    let sum_full: f64 = full.iter().sum();
    if sum_full <= available {
        // Room for every header on as few lines as its values allow.
        (full, 1.0)
    } else if sum_pref <= available {
        (pref, 1.0)
    } else if sum_min <= available {
        // Everyone gets their longest word; the rest goes in proportion to how much each would still wrap.
        let spare = available - sum_min;
        let want = sum_pref - sum_min;
        (min.iter().zip(&pref).map(|(m, p)| m + spare * (p - m) / want).collect(), 1.0)
    } else {
        (min, (available / sum_min).max(MIN_SCALE))
    }
}

/// `text` with places to break inside pieces too long for any column (a long list of document numbers with no
/// spaces): after `/`, `,`, `;` or `|`, or every 24 characters when it has none of these.
pub(crate) fn breakable(text: &str) -> std::borrow::Cow<'_, str> {
    const LONG: usize = 48;
    if !text.split(' ').any(|w| w.chars().count() > LONG) {
        return text.into();
    }
    let pieces: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.chars().count() <= LONG {
                return word.to_owned();
            }
            let mut out = String::with_capacity(word.len() + 16);
            let punctuated = word.contains(['/', ',', ';', '|']);
            let mut run = 0;
            for c in word.chars() {
                out.push(c);
                run += 1;
                if (punctuated && matches!(c, '/' | ',' | ';' | '|')) || (!punctuated && run % 24 == 0) {
                    out.push('\u{200B}');
                }
            }
            out
        })
        .collect();
    pieces.join(" ").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ksef_visualize::view::{Column, Row};

    fn table(cells: &[&str]) -> Table {
        Table {
            columns: cells.iter().map(|_| Column { label: Label::new("Nazwa", "Name"), numeric: false }).collect(),
            rows: vec![Row::plain(cells.iter().map(|c| Value::Data((*c).to_owned())).collect())],
        }
    }

    #[test]
    fn wider_text_measures_wider_and_bold_wider_still() {
        assert!(width("WWWW", 7.0, false) > width("iiii", 7.0, false));
        assert!(width("Nazwa", 7.0, true) > width("Nazwa", 7.0, false));
        assert!((width("Nazwa", 14.0, false) - 2.0 * width("Nazwa", 7.0, false)).abs() < 1e-9);
    }

    #[test]
    fn a_table_that_fits_gets_its_preferred_widths() {
        let (widths, scale) = columns(&table(&["a", "a longer value"]), Language::Pl, 500.0);
        assert_eq!(scale, 1.0);
        assert!(widths[1] > widths[0]);
    }

    #[test]
    fn a_long_text_column_gives_way_but_never_below_the_longest_word_of_another() {
        let long = "word ".repeat(200);
        let t = table(&[&long, "5265877635-20250826-0100001AF629-AF"]);
        let (widths, scale) = columns(&t, Language::Pl, 300.0);
        assert_eq!(scale, 1.0);
        assert!(widths[1] >= width("5265877635-20250826-0100001AF629-AF", 7.0, false) + 6.0);
        assert!((widths.iter().sum::<f64>() - 300.0).abs() < 1e-6);
    }

    #[test]
    fn a_table_whose_words_cannot_fit_is_scaled_down() {
        let code = "X".repeat(40);
        let (widths, scale) = columns(&table(&[&code, &code, &code, &code]), Language::Pl, 300.0);
        assert!((MIN_SCALE..1.0).contains(&scale));
        assert!(widths.iter().sum::<f64>() * scale <= 300.0 + 1e-6 || scale == MIN_SCALE);
    }

    #[test]
    fn only_pieces_too_long_for_a_column_get_break_points() {
        assert_eq!(breakable("FV/2026/11/7 and a UUID 0cb6a3c4-7f34-4c46-8d1c-2b4d0a1f9e21"), "FV/2026/11/7 and a UUID 0cb6a3c4-7f34-4c46-8d1c-2b4d0a1f9e21");
        let wz = "1231/231/3213/13/12/".repeat(5);
        assert_eq!(breakable(&wz).replace('\u{200B}', ""), wz);
        assert_eq!(breakable(&wz).matches('\u{200B}').count(), 25);
        assert_eq!(breakable(&"A".repeat(60)).matches('\u{200B}').count(), 2);
    }
}
