//! The view model as one self-contained HTML document: semantic tables, `lang` attributes, print CSS, the QR
//! codes inline as SVG, no external resources. Every piece of data is escaped.

use std::fmt::Write as _;

use crate::labels::{Label, Language, text};
use crate::view::{Block, Code, Table, Value, View};

const STYLE: &str = "\
body{font-family:'DejaVu Sans','Noto Sans','Open Sans',Arial,sans-serif;font-size:10pt;color:#343a40;margin:2em auto;max-width:60em;line-height:1.35}\
header{display:flex;justify-content:space-between;align-items:flex-start;border-bottom:1px solid #bababa;padding-bottom:.5em}\
.brand{font-size:18pt}.brand b.e{color:#d00}\
.number{text-align:right}.number .value{font-size:16pt;font-weight:bold}\
h2{font-size:11pt;border-top:1px solid #c0bfc1;padding-top:.4em;margin:1.2em 0 .4em}\
h3{font-size:10pt;margin:.6em 0 .2em}\
.columns{display:flex;gap:2em}.columns>div{flex:1}\
dl{display:grid;grid-template-columns:32% auto;gap:.1em 1em;margin:.2em 0}.columns dl{grid-template-columns:42% auto}dt{color:#6c757d}dd{margin:0}dd.line{grid-column:1/-1}\
table{border-collapse:collapse;width:100%;margin:.3em 0;font-size:9pt}th,td{border:1px solid #bababa;padding:.2em .4em;vertical-align:top}\
th{background:#f6f7fa;text-align:left}td.n,th.n{text-align:right;white-space:nowrap}\
tr.before td{color:#6c757d;font-style:italic;background:#fafafa}\
tr.sum td{font-weight:bold;border-top:2px solid #bababa}\
.total{text-align:right;font-size:11pt;font-weight:bold;margin:.5em 0}\
.en{font-size:85%;color:#6c757d}\
.codes{display:flex;flex-wrap:wrap;gap:2em;page-break-inside:avoid}.code{display:flex;gap:1em;page-break-inside:avoid}\
.qr{width:150px;text-align:center;font-size:7pt}.qr svg{width:150px;height:150px}.link{word-break:break-all;font-size:8pt}\
footer{margin-top:2em;font-size:8pt;color:#6c757d}\
@media print{body{margin:0;max-width:none}a{color:inherit}}";

/// Renders `view` in `language`.
pub fn render(view: &View, language: Language) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let lang = language.tag();
    let _ = write!(out, "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape(&format!("{} {}", pick(&view.kind, language), view.number), &mut out);
    let _ = write!(out, "</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<div class=\"brand\">Krajowy System <b class=\"e\">e</b><b>-Faktur</b></div>\n<div class=\"number\">");
    label(&view.number_label, language, &mut out);
    out.push_str(":<div class=\"value\">");
    escape(&view.number, &mut out);
    out.push_str("</div><div>");
    label(&view.kind, language, &mut out);
    out.push_str("</div>");
    if let Some(number) = &view.ksef_number {
        out.push_str("<div>");
        label(&text::KSEF_NUMBER, language, &mut out);
        out.push_str(": ");
        escape(number, &mut out);
        out.push_str("</div>");
    }
    out.push_str("</div>\n</header>\n<main>\n");
    for section in &view.sections {
        out.push_str("<section>\n<h2>");
        label(&section.heading, language, &mut out);
        out.push_str("</h2>\n");
        for block in &section.blocks {
            render_block(block, language, &mut out);
        }
        out.push_str("</section>\n");
    }
    if !view.codes.is_empty() {
        out.push_str("<section class=\"codes\">\n");
        for code in &view.codes {
            render_code(code, language, &mut out);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n");
    if let Some(system) = &view.system {
        out.push_str("<footer>");
        label(&text::CREATED_IN, language, &mut out);
        out.push_str(": ");
        escape(system, &mut out);
        out.push_str("</footer>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn render_block(block: &Block, language: Language, out: &mut String) {
    match block {
        Block::Fields(fields) => {
            if fields.is_empty() {
                return;
            }
            out.push_str("<dl>");
            for field in fields {
                if field.label.pl.is_empty() {
                    // A line without a label (an address line) spans the whole row.
                    out.push_str("<dd class=\"line\">");
                } else {
                    out.push_str("<dt>");
                    label(&field.label, language, out);
                    out.push_str("</dt><dd>");
                }
                value(&field.value, language, out);
                out.push_str("</dd>");
            }
            out.push_str("</dl>\n");
        }
        Block::Group(heading, blocks) => {
            out.push_str("<div class=\"group\"><h3>");
            label(heading, language, out);
            out.push_str("</h3>\n");
            for b in blocks {
                render_block(b, language, out);
            }
            out.push_str("</div>\n");
        }
        Block::Columns(columns) => {
            out.push_str("<div class=\"columns\">\n");
            for column in columns {
                out.push_str("<div>\n");
                for b in column {
                    render_block(b, language, out);
                }
                out.push_str("</div>\n");
            }
            out.push_str("</div>\n");
        }
        Block::Table(table) => render_table(table, language, out),
        Block::Notes(notes) => {
            out.push_str("<ul>");
            for note in notes {
                out.push_str("<li>");
                label(note, language, out);
                out.push_str("</li>");
            }
            out.push_str("</ul>\n");
        }
        Block::Total(l, amount) => {
            out.push_str("<p class=\"total\">");
            label(l, language, out);
            out.push_str(": ");
            escape(amount, out);
            out.push_str("</p>\n");
        }
        Block::Paragraphs(paragraphs) => {
            for p in paragraphs {
                out.push_str("<p>");
                escape(p, out);
                out.push_str("</p>\n");
            }
        }
    }
}

fn render_table(table: &Table, language: Language, out: &mut String) {
    out.push_str("<table>\n<thead><tr>");
    for column in &table.columns {
        out.push_str(if column.numeric { "<th scope=\"col\" class=\"n\">" } else { "<th scope=\"col\">" });
        label(&column.label, language, out);
        out.push_str("</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str(match (row.before, row.summary) {
            (true, _) => "<tr class=\"before\">",
            (_, true) => "<tr class=\"sum\">",
            _ => "<tr>",
        });
        for (i, cell) in row.cells.iter().enumerate() {
            let numeric = table.columns.get(i).is_some_and(|c| c.numeric);
            if row.cells.len() == 1 && table.columns.len() > 1 {
                // A sub-heading row spans the table.
                let _ = write!(out, "<td colspan=\"{}\">", table.columns.len());
            } else {
                out.push_str(if numeric { "<td class=\"n\">" } else { "<td>" });
            }
            value(cell, language, out);
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn render_code(code: &Code, language: Language, out: &mut String) {
    out.push_str("<div class=\"code\">\n<div class=\"qr\">");
    let alt = format!("QR: {}", code.code.link);
    out.push_str("<figure role=\"img\" aria-label=\"");
    escape(&alt, out);
    out.push_str("\" style=\"margin:0\">");
    out.push_str(&code.matrix.svg());
    out.push_str("<figcaption lang=\"pl\">");
    escape(&code.code.caption, out);
    out.push_str("</figcaption>");
    if language != Language::Pl && !code.gloss.en.is_empty() {
        out.push_str("<div class=\"en\" lang=\"en\">");
        escape(&code.gloss.en, out);
        out.push_str("</div>");
    }
    out.push_str("</figure></div>\n<div><h3>");
    label(&code.heading, language, out);
    out.push_str("</h3><p>");
    label(&code.help, language, out);
    out.push_str("</p><p class=\"link\"><a href=\"");
    escape(&code.code.link, out);
    out.push_str("\">");
    escape(&code.code.link, out);
    out.push_str("</a></p></div>\n</div>\n");
}

fn pick(l: &Label, language: Language) -> &str {
    match language {
        Language::En if !l.en.is_empty() => &l.en,
        _ => &l.pl,
    }
}

fn label(l: &Label, language: Language, out: &mut String) {
    match language {
        Language::Pl => escape(&l.pl, out),
        Language::En => {
            out.push_str("<span lang=\"en\">");
            escape(if l.en.is_empty() { &l.pl } else { &l.en }, out);
            out.push_str("</span>");
        }
        Language::PlEn => {
            escape(&l.pl, out);
            if !l.en.is_empty() && l.en != l.pl {
                out.push_str(" <span class=\"en\" lang=\"en\">/ ");
                escape(&l.en, out);
                out.push_str("</span>");
            }
        }
    }
}

fn value(v: &Value, language: Language, out: &mut String) {
    match v {
        Value::Data(text) => escape(text, out),
        Value::Words(words) => label(words, language, out),
    }
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}
