//! Invoices as PDF: `ksef-visualize`'s view model laid out by typst (`invoice.typ`) into a PDF/A-3b document,
//! tagged, with DejaVu Sans embedded (no system fonts) and the invoice's exact XML attached as its source;
//! identical input gives identical bytes.

use std::sync::OnceLock;

mod measure;

use ksef_visualize::Language;
use ksef_visualize::labels::{Label, text};
use ksef_visualize::view::{Block, Value as ViewValue, View};
use serde_json::{Value, json};
use typst::foundations::{Bytes, Dict, IntoValue};
use typst_layout::PagedDocument;
use typst_as_lib::TypstEngine;

const TEMPLATE: &str = include_str!("invoice.typ");
const FONTS: [&[u8]; 3] = [
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
];

/// Why no PDF was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The layout failed (a bug in the template, reported with typst's message).
    #[error("layout failed: {0}")]
    Layout(String),
    /// The PDF could not be written.
    #[error("PDF export failed: {0}")]
    Export(String),
}

fn engine() -> &'static TypstEngine<typst_as_lib::TypstTemplateMainFile> {
    static ENGINE: OnceLock<TypstEngine<typst_as_lib::TypstTemplateMainFile>> = OnceLock::new();
    ENGINE.get_or_init(|| TypstEngine::builder().main_file(TEMPLATE).fonts(FONTS).comemo_evict_max_age(Some(0)).build())
}

/// Renders `view` in `language` as a PDF/A-3b document with `xml` (the document's exact bytes: an invoice or a
/// UPO) attached.
pub fn render(view: &View, language: Language, xml: &[u8]) -> Result<Vec<u8>, PdfError> {
    render_counted(view, language, xml).map(|(pdf, _)| pdf)
}

/// [`render`], with the number of pages.
pub fn render_counted(view: &View, language: Language, xml: &[u8]) -> Result<(Vec<u8>, usize), PdfError> {
    let mut inputs = Dict::new();
    inputs.insert("view".into(), view_json(view, language).to_string().into_value());
    inputs.insert("xml".into(), Bytes::new(xml.to_vec()).into_value());
    let document: PagedDocument = engine().compile_with_input(inputs).output.map_err(|e| PdfError::Layout(format!("{e:?}")))?;
    let options = typst_pdf::PdfOptions {
        standards: typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::A_3b]).map_err(|e| PdfError::Export(format!("{e:?}")))?,
        ..Default::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|e| PdfError::Export(format!("{e:?}")))?;
    Ok((pdf, document.pages().len()))
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

/// The view as the template reads it (`sys.inputs.view`).
fn view_json(view: &View, language: Language) -> Value {
    let width = measure::available(view.document == "UPO");
    json!({
        "lang": match language { Language::Pl => "pl", Language::En => "en", Language::PlEn => "pl_en" },
        "version": view.document,
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
