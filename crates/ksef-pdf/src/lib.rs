//! Invoices as PDF: `ksef-visualize`'s view model laid out by typst (`invoice.typ`) into a PDF/A-3b document,
//! tagged, with DejaVu Sans embedded (no system fonts) and the invoice's exact XML attached as its source;
//! identical input gives identical bytes.

mod measure;
mod world;

use ksef_visualize::Language;
use ksef_visualize::labels::{Label, text};
use ksef_visualize::view::{Block, Value as ViewValue, View};
use serde_json::{Value, json};
use typst_layout::PagedDocument;

const FONTS: [&[u8]; 3] = [
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
];

/// Most table rows (invoice lines, attachment rows, …) one PDF lays out. Layout memory grows with the document
/// (11,000 lines took 1.3 GB); the largest sample invoice has far fewer. HTML has no such bound.
pub const MAX_TABLE_ROWS: usize = 2_000;

/// Most characters of text one PDF lays out (about 100 dense pages).
pub const MAX_TEXT_CHARACTERS: usize = 400_000;

/// A PDF and what making it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdf {
    /// The PDF/A-3b document.
    pub bytes: Vec<u8>,
    /// Its pages.
    pub pages: usize,
    /// Characters the embedded fonts cannot draw (CJK, emoji), shown as U+FFFD instead.
    pub replaced_characters: usize,
}

/// Why no PDF was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The document is larger than one PDF lays out.
    #[error("the document has {rows} table rows and {characters} characters of text; a PDF lays out at most {MAX_TABLE_ROWS} rows and {MAX_TEXT_CHARACTERS} characters")]
    TooLarge {
        /// Its table rows.
        rows: usize,
        /// Its characters of text.
        characters: usize,
    },
    /// The layout failed (a bug in the template, reported with typst's message).
    #[error("layout failed: {0}")]
    Layout(String),
    /// The PDF could not be written.
    #[error("PDF export failed: {0}")]
    Export(String),
}

/// Renders `view` in `language` as a PDF/A-3b document with `xml` (the document's exact bytes: an invoice or a
/// UPO) attached.
pub fn render(view: &View, language: Language, xml: &[u8]) -> Result<Vec<u8>, PdfError> {
    render_pdf(view, language, xml).map(|pdf| pdf.bytes)
}

/// [`render`], with the page count and the characters replaced; refuses a view over [`MAX_TABLE_ROWS`] or
/// [`MAX_TEXT_CHARACTERS`] before laying anything out.
pub fn render_pdf(view: &View, language: Language, xml: &[u8]) -> Result<Pdf, PdfError> {
    let mut json = view_json(view, language);
    let size = Size::of(&json);
    if size.rows > MAX_TABLE_ROWS || size.characters > MAX_TEXT_CHARACTERS {
        return Err(PdfError::TooLarge { rows: size.rows, characters: size.characters });
    }
    let replaced_characters = replace_undrawable(&mut json);
    let world = world::InvoiceWorld::new(json.to_string().into_bytes(), xml.to_vec());
    let made = lay_out(&world);
    world::evict(made.as_ref().map_or(usize::MAX, |(_, pages)| *pages));
    let (bytes, pages) = made?;
    Ok(Pdf { bytes, pages, replaced_characters })
}

/// The PDF/A-3b bytes of the document in `world`, and its pages.
fn lay_out(world: &world::InvoiceWorld) -> Result<(Vec<u8>, usize), PdfError> {
    let document: PagedDocument = typst::compile(world).output.map_err(|e| PdfError::Layout(format!("{e:?}")))?;
    let options = typst_pdf::PdfOptions {
        standards: typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::A_3b]).map_err(|e| PdfError::Export(format!("{e:?}")))?,
        ..Default::default()
    };
    let bytes = typst_pdf::pdf(&document, &options).map_err(|e| PdfError::Export(format!("{e:?}")))?;
    Ok((bytes, document.pages().len()))
}

/// How much a view holds: table rows and characters of text.
#[derive(Debug, Default)]
struct Size {
    rows: usize,
    characters: usize,
}

impl Size {
    fn of(json: &Value) -> Size {
        let mut size = Size::default();
        size.add(json);
        size
    }

    fn add(&mut self, json: &Value) {
        match json {
            Value::String(s) => self.characters += s.chars().count(),
            Value::Array(items) => items.iter().for_each(|v| self.add(v)),
            Value::Object(map) => {
                if let Some(Value::Array(rows)) = map.get("rows") {
                    self.rows += rows.len();
                }
                map.values().for_each(|v| self.add(v));
            }
            _ => {}
        }
    }
}

/// Replaces, in every text of the view, the characters the embedded fonts cannot draw with U+FFFD; how many.
fn replace_undrawable(json: &mut Value) -> usize {
    match json {
        Value::String(s) if !s.chars().all(measure::drawable) => {
            let replacement = if measure::drawable('\u{FFFD}') { '\u{FFFD}' } else { '?' };
            let mut replaced = 0;
            *s = s.chars().map(|c| if measure::drawable(c) { c } else { replaced += 1; replacement }).collect();
            replaced
        }
        Value::Array(items) => items.iter_mut().map(replace_undrawable).sum(),
        Value::Object(map) => map.values_mut().map(replace_undrawable).sum(),
        _ => 0,
    }
}

fn label(l: &Label) -> Value {
    json!({ "pl": l.pl, "en": l.en })
}

fn value(v: &ViewValue) -> Value {
    match v {
        ViewValue::Data(text) => json!({ "data": measure::breakable(text) }),
        ViewValue::Words(words) => json!({ "words": label(words) }),
    }
}

/// `b` as the template reads it; tables measured for `width` points.
fn block(b: &Block, language: Language, width: f64) -> Value {
    let blocks = |list: &[Block]| list.iter().map(|b| block(b, language, width)).collect::<Vec<_>>();
    match b {
        Block::Fields(fields) => json!({ "type": "fields", "fields": fields.iter().map(|f| json!({ "label": label(&f.label), "value": value(&f.value) })).collect::<Vec<_>>() }),
        Block::Group(heading, inner) => json!({ "type": "group", "heading": label(heading), "blocks": blocks(inner) }),
        Block::Columns(columns) => json!({ "type": "columns", "columns": columns.iter().map(|c| blocks(c)).collect::<Vec<_>>() }),
        Block::Table(table) => {
            let (widths, scale) = measure::columns(table, language, width);
            json!({
                "type": "table",
                "columns": table.columns.iter().map(|c| json!({ "label": label(&c.label), "numeric": c.numeric })).collect::<Vec<_>>(),
                "widths": widths,
                "scale": scale,
                "rows": table.rows.iter().map(|r| json!({ "cells": r.cells.iter().map(value).collect::<Vec<_>>(), "before": r.before, "summary": r.summary })).collect::<Vec<_>>(),
            })
        }
        Block::Notes(notes) => json!({ "type": "notes", "notes": notes.iter().map(label).collect::<Vec<_>>() }),
        Block::Total(l, amount) => json!({ "type": "total", "label": label(l), "amount": amount }),
        Block::Paragraphs(paragraphs) => json!({ "type": "paragraphs", "paragraphs": paragraphs }),
    }
}

/// The view as the template reads it (`/view.json`).
fn view_json(view: &View, language: Language) -> Value {
    let width = measure::available(view.document == "UPO");
    json!({
        "lang": match language { Language::Pl => "pl", Language::En => "en", Language::PlEn => "pl_en" },
        "version": view.document,
        "width": width,
        "kind": label(&view.kind),
        "number": view.number,
        "ksef": view.ksef_number,
        "labels": {
            "invoice_number": label(&view.number_label),
            "ksef_number": label(&text::KSEF_NUMBER),
            "page": label(&text::PAGE),
            "of": label(&text::OF),
            "created_in": label(&text::CREATED_IN),
        },
        "sections": view.sections.iter().map(|s| json!({ "heading": label(&s.heading), "blocks": s.blocks.iter().map(|b| block(b, language, width)).collect::<Vec<_>>() })).collect::<Vec<_>>(),
        "codes": view.codes.iter().map(|c| json!({
            "heading": label(&c.heading),
            "help": label(&c.help),
            "link": c.code.link,
            "caption": c.code.caption,
            "gloss": label(&c.gloss),
            "svg": c.matrix.svg(),
        })).collect::<Vec<_>>(),
        "system": view.system,
        "date": view.date.map(|d| d.format("%Y-%m-%d").to_string()),
    })
}
