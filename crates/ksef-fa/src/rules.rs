//! Rules beyond the schema (`reference/fa3.md` §6): the ones KSeF enforces are errors (450), the ones that
//! follow from the VAT Act or from the invoice's own arithmetic are warnings. Amounts are exact decimals, and
//! sums are compared with the rounding tolerance the law allows (per line or on the total).

use chrono::NaiveDate;
use ksef_core::ids::{KsefNumber, Nip};
use crate::elements::{Elements, Node};
use crate::validate::Lines;

use crate::amount::Amount;
use crate::validate::{Finding, Kind, Severity};

/// What the rules need besides the document.
#[derive(Debug, Clone)]
pub struct Options {
    /// Check NIP checksums (KSeF does in production, not in its test environment).
    pub nip_checksums: bool,
    /// The day KSeF receives the invoice: `P_1` may not be later. `None` skips the check.
    pub received: Option<NaiveDate>,
}

impl Default for Options {
    fn default() -> Self {
        Options { nip_checksums: true, received: None }
    }
}

struct Rules<'t> {
    lines: &'t Lines<'t>,
    findings: Vec<Finding>,
    omitted: usize,
}

/// Every rule finding in a schema-valid FA(2)/FA(3) document, from its elements.
pub(crate) fn check(elements: &Elements<'_>, lines: &Lines<'_>, options: &Options) -> Vec<Finding> {
    let mut r = Rules { lines, findings: Vec::new(), omitted: 0 };
    let Some(root) = elements.root() else { return Vec::new() };
    r.nips(root, options);
    if let Some(fa) = child(root, "Fa") {
        r.fa(root, &Fa::read(fa), options);
    }
    if r.omitted > 0 {
        r.findings.push(crate::validate::omitted_finding(Kind::Semantic, r.omitted));
    }
    r.findings
}

/// What the rules read of `Fa`, gathered in one walk of its children, one of each line's, and one of its
/// descendants: the rules asked for the same elements by name many times over.
struct Fa<'t, 'a> {
    node: Node<'t, 'a>,
    /// `RodzajFaktury`, empty if absent.
    kind: &'t str,
    currency: Option<&'t str>,
    issued: Option<Node<'t, 'a>>,
    supplied: Option<Node<'t, 'a>>,
    period: Option<Node<'t, 'a>>,
    total: Option<Node<'t, 'a>>,
    /// `P_13_x` and `P_14_x` (not the `W` ones, in the invoice's currency), in document order.
    sums: Vec<Node<'t, 'a>>,
    corrected: Vec<Node<'t, 'a>>,
    lines: Vec<Line<'t, 'a>>,
    notes: Option<Node<'t, 'a>>,
    settlement: Option<Node<'t, 'a>>,
    payment: Option<Node<'t, 'a>>,
    ordered: bool,
    advances: bool,
    /// `TerminPlatnosci` anywhere inside.
    deadlines: Vec<Node<'t, 'a>>,
    /// `NrKSeFFaKorygowanej` and `NrKSeFFaZaliczkowej` anywhere inside.
    ksef_numbers: Vec<Node<'t, 'a>>,
    /// `StanPrzed` and `StanPrzedZ` anywhere inside.
    befores: Vec<Node<'t, 'a>>,
}

/// One `FaWiersz`.
struct Line<'t, 'a> {
    node: Node<'t, 'a>,
    number: Option<&'t str>,
    rate: Option<&'t str>,
    quantity: Option<&'t str>,
    price: Option<&'t str>,
    discount: Option<&'t str>,
    net: Option<&'t str>,
    gross_priced: bool,
    before: bool,
    dated: bool,
    annex_15: bool,
}

/// Keeps `c` in `slot` unless it holds an earlier element: the first of each name, as [`child`] finds it.
fn first<'t, 'a>(slot: &mut Option<Node<'t, 'a>>, c: Node<'t, 'a>) {
    slot.get_or_insert(c);
}

/// An element's trimmed text, as [`text`] gives a child's.
fn trimmed<'t>(node: Node<'t, '_>) -> Option<&'t str> {
    node.text().map(str::trim)
}

impl<'t, 'a> Fa<'t, 'a> {
    fn read(node: Node<'t, 'a>) -> Self {
        let mut fa = Fa {
            node,
            kind: "",
            currency: None,
            issued: None,
            supplied: None,
            period: None,
            total: None,
            sums: Vec::new(),
            corrected: Vec::new(),
            lines: Vec::new(),
            notes: None,
            settlement: None,
            payment: None,
            ordered: false,
            advances: false,
            deadlines: Vec::new(),
            ksef_numbers: Vec::new(),
            befores: Vec::new(),
        };
        let (mut kind, mut currency) = (None, None);
        for c in node.children() {
            match c.name() {
                "RodzajFaktury" => first(&mut kind, c),
                "KodWaluty" => first(&mut currency, c),
                "P_1" => first(&mut fa.issued, c),
                "P_6" => first(&mut fa.supplied, c),
                "OkresFa" => first(&mut fa.period, c),
                "P_15" => first(&mut fa.total, c),
                "DaneFaKorygowanej" => fa.corrected.push(c),
                "FaWiersz" => fa.lines.push(Line::read(c)),
                "Adnotacje" => first(&mut fa.notes, c),
                "Rozliczenie" => first(&mut fa.settlement, c),
                "Platnosc" => first(&mut fa.payment, c),
                "Zamowienie" => fa.ordered = true,
                "FakturaZaliczkowa" => fa.advances = true,
                name if (name.starts_with("P_13_") || name.starts_with("P_14_")) && !name.ends_with('W') => fa.sums.push(c),
                _ => {}
            }
        }
        fa.kind = kind.and_then(trimmed).unwrap_or_default();
        fa.currency = currency.and_then(trimmed);
        for d in node.descendants() {
            match d.name() {
                "TerminPlatnosci" => fa.deadlines.push(d),
                "NrKSeFFaKorygowanej" | "NrKSeFFaZaliczkowej" => fa.ksef_numbers.push(d),
                "StanPrzed" | "StanPrzedZ" => fa.befores.push(d),
                _ => {}
            }
        }
        fa
    }

    /// `P_15` and its amount, if it has one.
    fn total(&self) -> Option<(Node<'t, 'a>, Amount)> {
        self.total.and_then(|n| Some((n, Amount::parse(trimmed(n)?)?)))
    }

    /// The first `P_13_x`/`P_14_x` named `name`.
    fn sum(&self, name: &str) -> Option<Node<'t, 'a>> {
        self.sums.iter().copied().find(|s| s.name() == name)
    }
}

impl<'t, 'a> Line<'t, 'a> {
    fn read(node: Node<'t, 'a>) -> Self {
        let mut line = Line {
            node,
            number: None,
            rate: None,
            quantity: None,
            price: None,
            discount: None,
            net: None,
            gross_priced: false,
            before: false,
            dated: false,
            annex_15: false,
        };
        let (mut number, mut rate, mut quantity, mut price, mut discount, mut net, mut annex_15) = (None, None, None, None, None, None, None);
        for c in node.children() {
            match c.name() {
                "NrWierszaFa" => first(&mut number, c),
                "P_12" => first(&mut rate, c),
                "P_8B" => first(&mut quantity, c),
                "P_9A" => first(&mut price, c),
                "P_10" => first(&mut discount, c),
                "P_11" => first(&mut net, c),
                "P_12_Zal_15" => first(&mut annex_15, c),
                "P_11A" => line.gross_priced = true,
                "StanPrzed" => line.before = true,
                "P_6A" => line.dated = true,
                _ => {}
            }
        }
        line.number = number.and_then(trimmed);
        line.rate = rate.and_then(trimmed);
        line.quantity = quantity.and_then(trimmed);
        line.price = price.and_then(trimmed);
        line.discount = discount.and_then(trimmed);
        line.net = net.and_then(trimmed);
        line.annex_15 = annex_15.and_then(trimmed) == Some("1");
        line
    }
}

impl Rules<'_> {
    /// The rules of an invoice with its `Fa`, in the order they are reported.
    fn fa(&mut self, root: Node<'_, '_>, fa: &Fa<'_, '_>, options: &Options) {
        self.dates(fa, options);
        self.ksef_numbers(fa);
        self.corrections(fa);
        self.totals(fa);
        self.lines(fa);
        self.public_bodies(root);
        self.kinds(fa);
        self.annotations(fa);
        self.settlement(fa);
        self.payment(fa);
        self.buyer(root);
    }
}

fn child<'t, 'a>(node: Node<'t, 'a>, name: &str) -> Option<Node<'t, 'a>> {
    node.children().find(|c| c.name() == name)
}

fn children<'t, 'a: 't>(node: Node<'t, 'a>, name: &'t str) -> impl Iterator<Item = Node<'t, 'a>> + 't {
    node.children().filter(move |c| c.name() == name)
}

fn text<'t>(node: Node<'t, '_>, name: &str) -> Option<&'t str> {
    child(node, name).and_then(trimmed)
}

impl Rules<'_> {
    fn add(&mut self, node: Node<'_, '_>, severity: Severity, rule: &str, pl: String, en: String) {
        if self.findings.len() >= crate::validate::MAX_FINDINGS {
            self.omitted += 1;
            return;
        }
        self.findings.push(Finding {
            kind: Kind::Semantic,
            severity,
            rule: rule.to_owned(),
            path: node.path(),
            line: self.lines.row(node.position()),
            message_pl: pl,
            message_en: en,
        });
    }

    /// Rule 4: the NIP checksum of every party (and of the NIP part of `IDWew`).
    fn nips(&mut self, root: Node<'_, '_>, options: &Options) {
        if !options.nip_checksums {
            return;
        }
        for party in ["Podmiot1", "Podmiot2", "Podmiot3", "PodmiotUpowazniony"] {
            for p in children(root, party) {
                let Some(ids) = child(p, "DaneIdentyfikacyjne") else { continue };
                for (field, value) in [("NIP", text(ids, "NIP")), ("IDWew", text(ids, "IDWew").map(|v| v.get(..10).unwrap_or(v)))] {
                    let Some(value) = value else { continue };
                    if Nip::parse(value).is_ok_and(|nip| !nip.has_valid_checksum()) {
                        let node = child(ids, field).expect("present");
                        self.add(
                            node,
                            Severity::Error,
                            "nip-checksum",
                            format!("{party}: NIP {value} ma błędną sumę kontrolną (KSeF odrzuca taką fakturę w środowisku produkcyjnym, status 450)."),
                            format!("{party}: NIP {value} has an invalid checksum (KSeF's production environment refuses the invoice, status 450)."),
                        );
                    }
                }
            }
        }
    }

    /// Rules 8 and 9: the issue date is not in the future; periods and deadlines are in order.
    fn dates(&mut self, fa: &Fa<'_, '_>, options: &Options) {
        let date = |v: Option<&str>| v.and_then(calendar_date);
        let issued = date(fa.issued.and_then(trimmed));
        if let (Some(issued), Some(received), Some(node)) = (issued, options.received, fa.issued)
            && issued > received
        {
            self.add(
                node,
                Severity::Error,
                "issue-date",
                format!("Data wystawienia P_1 ({issued}) jest późniejsza niż data przyjęcia przez KSeF ({received}); KSeF odrzuca taką fakturę (450)."),
                format!("The issue date P_1 ({issued}) is later than the day KSeF receives it ({received}); KSeF refuses it (450)."),
            );
        }
        if let Some(period) = fa.period
            && let (Some(from), Some(to)) = (date(text(period, "P_6_Od")), date(text(period, "P_6_Do")))
            && from > to
        {
            self.add(
                period,
                Severity::Warning,
                "date-order",
                format!("Okres P_6_Od ({from}) kończy się przed początkiem: P_6_Do ({to})."),
                format!("The period starts after it ends: P_6_Od {from} is after P_6_Do {to}."),
            );
        }
        let Some(issued) = issued else { return };
        for &due in &fa.deadlines {
            if let Some(term) = date(text(due, "Termin"))
                && term < issued
            {
                self.add(
                    due,
                    Severity::Warning,
                    "date-order",
                    format!("Termin płatności {term} jest wcześniejszy niż data wystawienia {issued}."),
                    format!("The payment deadline {term} is before the issue date {issued}."),
                );
            }
        }
        for &corrected in &fa.corrected {
            if let Some(then) = date(text(corrected, "DataWystFaKorygowanej"))
                && then > issued
            {
                self.add(
                    corrected,
                    Severity::Warning,
                    "date-order",
                    format!("Faktura korygowana ({then}) jest późniejsza niż korekta ({issued})."),
                    format!("The corrected invoice ({then}) is dated after the correction ({issued})."),
                );
            }
        }
    }

    /// Rule 5: KSeF numbers of corrected and advance invoices carry a valid checksum.
    fn ksef_numbers(&mut self, fa: &Fa<'_, '_>) {
        for &node in &fa.ksef_numbers {
            let value = node.text().unwrap_or_default().trim();
            if let Err(e) = KsefNumber::parse(value) {
                self.add(
                    node,
                    Severity::Warning,
                    "ksef-number",
                    format!("Numer KSeF '{value}' jest błędny: {e}."),
                    format!("The KSeF number '{value}' is not valid: {e}."),
                );
            }
        }
    }

    /// Rule 18: a correction names what it corrects, and only a correction does.
    fn corrections(&mut self, fa: &Fa<'_, '_>) {
        let kind = fa.kind;
        let correction = matches!(kind, "KOR" | "KOR_ZAL" | "KOR_ROZ");
        if correction && fa.corrected.is_empty() {
            self.add(
                fa.node,
                Severity::Warning,
                "correction",
                format!("Faktura korygująca ({kind}) nie wskazuje faktury korygowanej (DaneFaKorygowanej)."),
                format!("A correction ({kind}) does not name the invoice it corrects (DaneFaKorygowanej)."),
            );
        }
        if !correction {
            for &before in &fa.befores {
                self.add(
                    before,
                    Severity::Warning,
                    "correction",
                    format!("Wiersz 'stan przed' ({}) występuje tylko w korektach, a to faktura {kind}.", before.name()),
                    format!("A 'before' row ({}) belongs only in corrections, and this is a {kind} invoice.", before.name()),
                );
            }
        }
    }

    /// Rules 11 and 12: on VAT and UPR invoices, each rate's lines add up to its net total, and P_15 to all totals.
    fn totals(&mut self, fa: &Fa<'_, '_>) {
        if !matches!(fa.kind, "VAT" | "UPR") {
            return;
        }
        let Some((p15_node, p15)) = fa.total() else { return };
        let mut groups = 0;
        let mut sum = Amount::ZERO;
        for amount in fa.sums.iter().filter_map(|s| trimmed(*s).and_then(Amount::parse)) {
            groups += 1;
            sum = sum + amount;
        }
        if groups > 0 && (sum - p15).abs() > Amount::cents(groups) {
            self.add(
                p15_node,
                Severity::Warning,
                "totals",
                format!("P_15 = {p15}, a suma kwot netto i podatku (P_13_x, P_14_x) = {sum}."),
                format!("P_15 is {p15}, but the net and tax totals (P_13_x, P_14_x) add up to {sum}."),
            );
        }
        // Net totals per rate, from lines priced net (gross-priced lines, P_11A, are left alone).
        if fa.lines.is_empty() || fa.lines.iter().any(|l| l.gross_priced) {
            return;
        }
        for (field, rates) in RATE_FIELDS {
            let (mut count, mut sum) = (0, Amount::ZERO);
            for line in fa.lines.iter().filter(|l| !l.before && l.rate.is_some_and(|r| rates.contains(&r))) {
                if let Some(net) = line.net.and_then(Amount::parse) {
                    count += 1;
                    sum = sum + net;
                }
            }
            if count == 0 {
                continue;
            }
            let stated_node = fa.sum(field);
            let stated_or_zero = stated_node.and_then(trimmed).and_then(Amount::parse).unwrap_or(Amount::ZERO);
            if (sum - stated_or_zero).abs() > Amount::cents(count) {
                self.add(
                    stated_node.unwrap_or(fa.node),
                    Severity::Warning,
                    "rate-totals",
                    format!("{field} = {stated_or_zero}, a wiersze ze stawką {} sumują się do {sum}.", rates.join("/")),
                    format!("{field} is {stated_or_zero}, but the lines at rate {} add up to {sum}.", rates.join("/")),
                );
            }
        }
    }

    /// Rules 13 and 24: line arithmetic, and line numbers that do not repeat.
    fn lines(&mut self, fa: &Fa<'_, '_>) {
        let mut numbers = std::collections::HashSet::new();
        for line in &fa.lines {
            // A correction's "before" row repeats the number of the row it corrects.
            if let Some(number) = line.number.filter(|_| !line.before)
                && !numbers.insert(number)
            {
                self.add(
                    line.node,
                    Severity::Warning,
                    "line-numbers",
                    format!("Numer wiersza {number} powtarza się."),
                    format!("The line number {number} repeats."),
                );
            }
            let amount = |v: Option<&str>| v.and_then(Amount::parse);
            if let (Some(quantity), Some(price), Some(net)) = (amount(line.quantity), amount(line.price), amount(line.net)) {
                // P_10 is read both ways in practice: per line (MF's brochure) and per unit (MF's example 4).
                let discount = amount(line.discount).unwrap_or(Amount::ZERO);
                let per_line = quantity.times(price).map(|v| v - discount);
                let per_unit = quantity.times(price - discount);
                let near = |v: Option<Amount>| v.is_some_and(|v| (v - net).abs() <= Amount::cents(1));
                if let Some(expected) = per_line.filter(|_| !near(per_line) && !near(per_unit)) {
                    self.add(
                        line.node,
                        Severity::Warning,
                        "line-amount",
                        format!("P_11 = {net}, a ilość × cena netto − rabat (P_8B × P_9A − P_10) = {}.", expected.round2()),
                        format!("P_11 is {net}, but quantity × net price − discount (P_8B × P_9A − P_10) is {}.", expected.round2()),
                    );
                }
            }
        }
    }

    /// Rule 21: an invoice for a local government unit (JST) or a VAT group member (GV) names the recipient.
    fn public_bodies(&mut self, root: Node<'_, '_>) {
        let Some(buyer) = child(root, "Podmiot2") else { return };
        let roles: Vec<&str> = children(root, "Podmiot3").filter_map(|p| text(p, "Rola")).collect();
        for (flag, role, pl, en) in [
            ("JST", "8", "jednostki samorządu terytorialnego (JST=1) wymaga Podmiot3 z Rola 8 (odbiorca)", "a local government unit (JST=1) needs a Podmiot3 with Rola 8 (recipient)"),
            ("GV", "10", "członka grupy VAT (GV=1) wymaga Podmiot3 z Rola 10 (odbiorca)", "a VAT group member (GV=1) needs a Podmiot3 with Rola 10 (recipient)"),
        ] {
            if text(buyer, flag) == Some("1") && !roles.contains(&role) {
                self.add(buyer, Severity::Warning, "recipient", format!("Faktura dla {pl}."), format!("An invoice for {en}."));
            }
        }
    }
}

impl Rules<'_> {
    /// Rules 17, 19 and 20: what each kind of invoice carries and how large it may be.
    fn kinds(&mut self, fa: &Fa<'_, '_>) {
        let kind = fa.kind;
        let p15 = fa.total();
        if let Some((node, total)) = p15
            && total < Amount::ZERO
            && !kind.starts_with("KOR")
        {
            self.add(
                node,
                Severity::Warning,
                "amounts",
                format!("Ujemna kwota należności P_15 ({total}) w fakturze {kind}; ujemne kwoty są zwykłe tylko w korektach."),
                format!("A negative total P_15 ({total}) on a {kind} invoice; negative amounts are normal only in corrections."),
            );
        }
        if kind == "UPR"
            && let Some((node, total)) = p15
            && fa.currency == Some("PLN")
            && total > Amount::parse("450").expect("literal")
        {
            self.add(
                node,
                Severity::Warning,
                "simplified",
                format!("Faktura uproszczona (UPR) na {total} PLN; dozwolona jest do 450 PLN."),
                format!("A simplified invoice (UPR) for {total} PLN; it is allowed up to 450 PLN."),
            );
        }
        if kind == "ZAL" && !fa.ordered && fa.lines.is_empty() {
            self.add(
                fa.node,
                Severity::Warning,
                "advance",
                "Faktura zaliczkowa (ZAL) bez zamówienia (Zamowienie) ani wierszy.".to_owned(),
                "An advance invoice (ZAL) with neither an order (Zamowienie) nor lines.".to_owned(),
            );
        }
        if kind == "ROZ" && !fa.advances {
            self.add(
                fa.node,
                Severity::Warning,
                "settlement",
                "Faktura rozliczeniowa (ROZ) nie wskazuje rozliczanych faktur zaliczkowych (FakturaZaliczkowa).".to_owned(),
                "A final invoice (ROZ) does not list the advance invoices it settles (FakturaZaliczkowa).".to_owned(),
            );
        }
    }

    /// Rules 10, 22 and 23: dates of supply, and the annotations the lines' rates call for.
    fn annotations(&mut self, fa: &Fa<'_, '_>) {
        if let Some(p6) = fa.supplied
            && fa.lines.iter().any(|l| l.dated)
        {
            self.add(
                p6,
                Severity::Warning,
                "supply-date",
                "Podano wspólną datę dostawy P_6 i daty w wierszach P_6A; to alternatywy.".to_owned(),
                "Both a common supply date P_6 and per-line dates P_6A are given; they are alternatives.".to_owned(),
            );
        }
        let Some(notes) = fa.notes else { return };
        let rate = |r: &str| fa.lines.iter().any(|l| l.rate == Some(r));
        if rate("zw") && child(notes, "Zwolnienie").and_then(|z| text(z, "P_19")) != Some("1") {
            self.add(
                notes,
                Severity::Warning,
                "annotations",
                "Wiersz ze stawką „zw” wymaga adnotacji o zwolnieniu (Zwolnienie/P_19 = 1 i podstawa P_19A/B/C).".to_owned(),
                "A line at rate 'zw' needs the exemption annotation (Zwolnienie/P_19 = 1 and its basis P_19A/B/C).".to_owned(),
            );
        }
        if rate("oo") && text(notes, "P_18") != Some("1") {
            self.add(
                notes,
                Severity::Warning,
                "annotations",
                "Wiersz ze stawką „oo” (odwrotne obciążenie) wymaga adnotacji P_18 = 1.".to_owned(),
                "A line at rate 'oo' (reverse charge) needs the annotation P_18 = 1.".to_owned(),
            );
        }
        if fa.lines.iter().any(|l| l.annex_15)
            && fa.currency == Some("PLN")
            && fa.total().is_some_and(|(_, t)| t > Amount::parse("15000").expect("literal"))
            && text(notes, "P_18A") != Some("1")
        {
            self.add(
                notes,
                Severity::Warning,
                "split-payment",
                "Faktura na ponad 15 000 PLN z towarami z załącznika nr 15 wymaga mechanizmu podzielonej płatności (P_18A = 1).".to_owned(),
                "An invoice over 15,000 PLN with goods of annex 15 requires split payment (P_18A = 1).".to_owned(),
            );
        }
    }

    /// Rule 15: the settlement adds up.
    fn settlement(&mut self, fa: &Fa<'_, '_>) {
        let Some(settlement) = fa.settlement else { return };
        for (items, sum) in [("Obciazenia", "SumaObciazen"), ("Odliczenia", "SumaOdliczen")] {
            let parts: Vec<Amount> = children(settlement, items).filter_map(|n| text(n, "Kwota").and_then(Amount::parse)).collect();
            if let Some(stated) = text(settlement, sum).and_then(Amount::parse) {
                let total = parts.iter().fold(Amount::ZERO, |s, a| s + *a);
                if total != stated {
                    self.add(
                        child(settlement, sum).expect("present"),
                        Severity::Warning,
                        "settlement",
                        format!("{sum} = {stated}, a kwoty {items} sumują się do {total}."),
                        format!("{sum} is {stated}, but the {items} amounts add up to {total}."),
                    );
                }
            }
        }
    }

    /// Rules 6 and 16: bank account check digits, and partial payments within the total.
    fn payment(&mut self, fa: &Fa<'_, '_>) {
        let Some(payment) = fa.payment else { return };
        for account in payment.descendants().filter(|n| n.name() == "NrRB") {
            let written = account.text().unwrap_or_default();
            let number: std::borrow::Cow<'_, str> = if written.chars().any(char::is_whitespace) {
                written.chars().filter(|c| !c.is_whitespace()).collect::<String>().into()
            } else {
                written.into()
            };
            // A Polish account (NRB) is an IBAN without its country code.
            let country = if number.len() == 26 && number.bytes().all(|b| b.is_ascii_digit()) { "PL" } else { "" };
            let length = country.len() + number.len();
            let looks_like_iban = (15..=34).contains(&length) && country.bytes().chain(number.bytes()).take(2).all(|b| b.is_ascii_uppercase());
            if looks_like_iban && !iban_valid(country, &number) {
                self.add(
                    account,
                    Severity::Warning,
                    "bank-account",
                    format!("Numer rachunku {number} ma błędne cyfry kontrolne IBAN."),
                    format!("The account number {number} has wrong IBAN check digits."),
                );
            }
        }
        let partial: Vec<Amount> =
            children(payment, "ZaplataCzesciowa").filter_map(|n| text(n, "KwotaZaplatyCzesciowej").and_then(Amount::parse)).collect();
        if let (false, Some((_, total))) = (partial.is_empty(), fa.total()) {
            let paid = partial.iter().fold(Amount::ZERO, |s, a| s + *a);
            if paid.abs() > total.abs() {
                self.add(
                    payment,
                    Severity::Warning,
                    "payment",
                    format!("Zapłaty częściowe ({paid}) przekraczają kwotę należności P_15 ({total})."),
                    format!("The partial payments ({paid}) exceed the total P_15 ({total})."),
                );
            }
        }
    }

    /// Rule 7: an EU VAT number is not Polish.
    fn buyer(&mut self, root: Node<'_, '_>) {
        let Some(ids) = child(root, "Podmiot2").and_then(|b| child(b, "DaneIdentyfikacyjne")) else { return };
        if text(ids, "KodUE") == Some("PL") {
            self.add(
                child(ids, "KodUE").expect("present"),
                Severity::Warning,
                "eu-vat",
                "Nabywca z polskim numerem VAT UE (KodUE = PL): polskiego nabywcę identyfikuje NIP.".to_owned(),
                "A buyer with a Polish EU VAT number (KodUE = PL): a Polish buyer is identified by NIP.".to_owned(),
            );
        }
    }
}

/// A `YYYY-MM-DD` date, as FA's date type writes one, if it is a calendar day (chrono's format parser took a
/// fifth of the rules' time).
fn calendar_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| digits.iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')));
    NaiveDate::from_ymd_opt(i32::try_from(number(&b[..4])?).ok()?, number(&b[5..7])?, number(&b[8..])?)
}

/// ISO 13616 check digits (mod 97 = 1) of the IBAN `country` followed by `rest`: its first four characters
/// moved to the end, letters read as 10 to 35.
fn iban_valid(country: &str, rest: &str) -> bool {
    let iban = || country.chars().chain(rest.chars());
    let mut remainder: u32 = 0;
    for c in iban().skip(4).chain(iban().take(4)) {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    remainder == 1
}

/// Net-total fields and the line rates that feed them (`reference/fa3.md` §3).
const RATE_FIELDS: &[(&str, &[&str])] = &[
    ("P_13_1", &["23", "22"]),
    ("P_13_2", &["8", "7"]),
    ("P_13_3", &["5"]),
    ("P_13_4", &["4", "3"]),
    ("P_13_6_1", &["0 KR"]),
    ("P_13_6_2", &["0 WDT"]),
    ("P_13_6_3", &["0 EX"]),
    ("P_13_7", &["zw"]),
    ("P_13_8", &["np I"]),
    ("P_13_9", &["np II"]),
    ("P_13_10", &["oo"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_are_read_and_impossible_ones_are_not() {
        assert_eq!(calendar_date("2026-02-28"), NaiveDate::from_ymd_opt(2026, 2, 28));
        assert_eq!(calendar_date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        for wrong in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-10", "+026-01-10", "2026-01-1x", "2026/01/10", "2026-01-10T00"] {
            assert_eq!(calendar_date(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn iban_check_digits_are_verified() {
        assert!(iban_valid("", "PL61109010140000071219812874"));
        assert!(iban_valid("PL", "61109010140000071219812874"));
        assert!(iban_valid("", "DE89370400440532013000"));
        assert!(!iban_valid("", "PL61109010140000071219812875"));
        assert!(!iban_valid("", "PLż1109010140000071219812874"), "not a letter or digit");
    }
}
