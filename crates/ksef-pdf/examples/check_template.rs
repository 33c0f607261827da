//! Prints the template's syntax errors with their lines: `cargo run -p ksef-pdf --example check_template`.

use typst::syntax::{LinkedNode, Source, SyntaxKind};

fn walk(node: &LinkedNode<'_>, text: &str) {
    if node.kind() == SyntaxKind::Error {
        let start = node.range().start;
        let line = text[..start].lines().count();
        println!("line {line}: {:?} near {:?}", node.get().clone(), &text[start.saturating_sub(30)..(start + 30).min(text.len())]);
    }
    for child in node.children() {
        walk(&child, text);
    }
}

fn main() {
    let text = include_str!("../src/invoice.typ");
    let source = Source::detached(text);
    walk(&LinkedNode::new(source.root()), text);
}
