//! The view of a UPO: who received what, and the table of documents with their KSeF numbers and hashes.

use super::*;

/// Builds the view of a UPO (v4-2 or v4-3, per invoice or per session page): who received what, and the table of
/// documents with their KSeF numbers and hashes.
pub fn upo(xml: &[u8]) -> Result<View, ViewError> {
    let text = std::str::from_utf8(xml).map_err(|_| ViewError::Invoice("the UPO is not UTF-8".to_owned()))?;
    let doc = ksef_core::xml::parse(text).map_err(|e| ViewError::Invoice(format!("not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Potwierdzenie" || !root.tag_name().namespace().is_some_and(|ns| ns.starts_with("http://upo.schematy.mf.gov.pl/KSeF/")) {
        return Err(ViewError::Invoice("not a KSeF UPO (Potwierdzenie in the UPO namespace)".to_owned()));
    }
    fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        node.children().find(|c| c.tag_name().name() == name)
    }
    fn text_of(node: Option<roxmltree::Node<'_, '_>>) -> String {
        node.and_then(|n| n.text()).map(|t| t.trim().to_owned()).unwrap_or_default()
    }
    let field = |pl: &'static str, en: &'static str, value: String| Field { label: Label::new(pl, en), value: Value::Data(value) };
    let mut fields = vec![field("Nazwa pełna podmiotu, któremu doręczono dokument elektroniczny", "Entity the document was delivered to", text_of(child(root, "NazwaPodmiotuPrzyjmujacego")))];
    let reference = text_of(child(root, "NumerReferencyjnySesji"));
    fields.push(field("Numer referencyjny sesji", "Session reference number", reference.clone()));
    if let Some(auth) = child(root, "Uwierzytelnienie") {
        if let Some(context) = child(auth, "IdKontekstu").and_then(|c| c.children().find(roxmltree::Node::is_element)) {
            fields.push(field("Typ kontekstu", "Context type", context.tag_name().name().to_owned()));
            fields.push(field("Identyfikator kontekstu uwierzytelnienia", "Authentication context", text_of(Some(context))));
        }
        fields.push(field("Skrót dokumentu uwierzytelniającego", "Hash of the authentication document", text_of(child(auth, "SkrotDokumentuUwierzytelniajacego"))));
    }
    if let Some(description) = child(root, "OpisPotwierdzenia") {
        let of = |n: &str| text_of(child(description, n));
        fields.push(field("Strona dokumentu UPO / Całkowita liczba stron", "UPO page / pages", format!("{} / {}", of("Strona"), of("LiczbaStron"))));
        fields.push(field("Zakres dokumentów od / do", "Documents from / to", format!("{} / {}", of("ZakresDokumentowOd"), of("ZakresDokumentowDo"))));
        fields.push(field("Całkowita liczba dokumentów", "Number of documents", of("CalkowitaLiczbaDokumentow")));
    }
    fields.push(field("Nazwa pliku XSD struktury logicznej", "Schema file", text_of(child(root, "NazwaStrukturyLogicznej"))));
    fields.push(field("Kod formularza", "Form code", text_of(child(root, "KodFormularza"))));
    fields.retain(|f| f.value != Value::Data(String::new()));
    let columns: Vec<(&str, Label, bool)> = vec![
        ("NumerKSeFDokumentu", Label::new("Numer identyfikujący fakturę w KSeF", "KSeF number"), false),
        ("NumerFaktury", Label::new("Numer faktury", "Invoice number"), false),
        ("NipSprzedawcy", Label::new("NIP sprzedawcy", "Seller NIP"), false),
        ("DataWystawieniaFaktury", Label::new("Data wystawienia faktury", "Issue date"), false),
        ("DataPrzeslaniaDokumentu", Label::new("Data przesłania do KSeF", "Sent to KSeF"), false),
        ("DataNadaniaNumeruKSeF", Label::new("Data nadania numeru KSeF", "KSeF number assigned"), false),
        ("SkrotDokumentu", Label::new("Wartość funkcji skrótu złożonego dokumentu", "Document hash (SHA-256)"), false),
        ("TrybWysylki", Label::new("Tryb wysyłki", "Mode"), false),
    ];
    let rows: Vec<Row> = root
        .children()
        .filter(|c| c.tag_name().name() == "Dokument")
        .enumerate()
        .map(|(i, d)| {
            let mut cells = vec![Value::Data((i + 1).to_string())];
            cells.extend(columns.iter().map(|(name, ..)| Value::Data(text_of(child(d, name)))));
            Row::plain(cells)
        })
        .collect();
    let mut table_columns = vec![Column { label: text::NO, numeric: false }];
    table_columns.extend(columns.into_iter().map(|(_, label, numeric)| Column { label, numeric }));
    let sections = vec![
        Section { heading: Label::new("Informacja o dokumencie", "About the document"), blocks: vec![
            Block::Paragraphs(vec!["Dokument został zarejestrowany w systemie teleinformatycznym Ministerstwa Finansów".to_owned()]),
            Block::Fields(fields),
        ] },
        Section { heading: Label::new("Dokumenty", "Documents"), blocks: vec![Block::Table(Table { columns: table_columns, rows })] },
    ];
    Ok(View {
        document: "UPO",
        kind: Label::new("Urzędowe poświadczenie odbioru dokumentu elektronicznego KSeF", "Official acknowledgement of receipt (UPO)"),
        number_label: Label::new("Numer referencyjny sesji", "Session reference number"),
        number: reference,
        ksef_number: None,
        sections,
        codes: Vec::new(),
        system: None,
        date: root
            .descendants()
            .find(|n| n.tag_name().name() == "DataNadaniaNumeruKSeF" || n.tag_name().name() == "DataPrzeslaniaDokumentu")
            .and_then(|n| n.text())
            .and_then(|t| NaiveDate::parse_from_str(t.trim().get(..10)?, "%Y-%m-%d").ok()),
    })
}
