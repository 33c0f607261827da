//! The buyer's NIP of an invoice, read while its well-formedness is checked, in one streaming pass and with no
//! tree: what the gateway records beside an invoice it sends, so the operator can find it by buyer.

use ksef_core::xml::XmlError;
use ksef_core::xml::pull::{Sink, Start, Text};

/// Where the buyer's NIP is: `Faktura/Podmiot2/DaneIdentyfikacyjne/NIP`, below the root.
const BUYER_NIP: [&str; 3] = ["Podmiot2", "DaneIdentyfikacyjne", "NIP"];

/// Characters of the buyer's identifier kept (a NIP has 10; a malformed one is kept to this many).
const MAX_KEPT: usize = 32;

/// Follows the path of open elements below the root, and keeps the text of the buyer's NIP.
#[derive(Default)]
struct Buyer {
    depth: usize,
    /// How many of [`BUYER_NIP`]'s elements are open, from the root's child down.
    matched: usize,
    /// The text of the buyer's NIP element so far (character data may come in pieces).
    text: String,
    nip: Option<String>,
}

impl<'a> Sink<'a> for Buyer {
    fn start(&mut self, tag: &Start<'a, '_>) {
        self.depth += 1;
        // depth 1 is the root; its children are at 2.
        if self.depth >= 2 && self.matched == self.depth - 2 && self.matched < BUYER_NIP.len() && tag.local == BUYER_NIP[self.matched] {
            self.matched += 1;
        }
    }

    fn text(&mut self, text: Text<'a>) {
        // A NIP is short: what is longer is kept to its first characters, so a huge text costs nothing.
        if self.matched == BUYER_NIP.len() && self.depth == BUYER_NIP.len() + 1 && self.nip.is_none() && self.text.len() < MAX_KEPT {
            self.text.extend(text.into_cow().chars().take(MAX_KEPT));
        }
    }

    fn end(&mut self) {
        if self.depth >= 2 && self.matched == self.depth - 1 {
            if self.matched == BUYER_NIP.len() && self.nip.is_none() {
                let nip: String = self.text.trim().chars().take(MAX_KEPT).collect();
                self.nip = (!nip.is_empty()).then_some(nip);
                self.text.clear();
            }
            self.matched -= 1;
        }
        self.depth -= 1;
    }

    fn instruction(&mut self, _: &'a str, _: usize) {}
}

/// Checks that `text` is well-formed XML (as [`ksef_core::xml::well_formed`] does) and gives its buyer's NIP
/// (`Podmiot2/DaneIdentyfikacyjne/NIP`), if it names one. The document is streamed; only one the streaming reader
/// leaves to the full parser is parsed into a tree.
pub fn buyer_nip(text: &str) -> Result<Option<String>, XmlError> {
    ksef_core::xml::read_or_walk(text, Buyer::default).map(|buyer| buyer.nip)
}

#[cfg(test)]
mod tests {
    use super::buyer_nip;

    #[test]
    fn the_buyers_nip_is_read_and_no_other() {
        let invoice = crate::example::invoice("5265877635", "7010002137", "FV/1", "2026-12-01", 1);
        assert_eq!(buyer_nip(&invoice).unwrap().as_deref(), Some("7010002137"));
        let foreign = invoice.replace("<NIP>7010002137</NIP>", "<KodUE>DE</KodUE><NrVatUE>123</NrVatUE>");
        assert_eq!(buyer_nip(&foreign).unwrap(), None, "a buyer without a NIP");
        // A NIP elsewhere (the seller's, a third party's) is not the buyer's.
        let elsewhere = "<F><Podmiot1><DaneIdentyfikacyjne><NIP>1</NIP></DaneIdentyfikacyjne></Podmiot1><X><Podmiot2><DaneIdentyfikacyjne><NIP>2</NIP></DaneIdentyfikacyjne></Podmiot2></X></F>";
        assert_eq!(buyer_nip(elsewhere).unwrap(), None);
        // What the streaming reader leaves to the parser is read the same (a DTD-free document with a rare construct).
        let crlf = invoice.replace('\n', "\r\n").replace("<NIP>7010002137</NIP>", "<NIP>\r\n7010002137&#13;</NIP>");
        assert_eq!(buyer_nip(&crlf).unwrap().as_deref(), Some("7010002137"));
        let pieces = invoice.replace("<NIP>7010002137</NIP>", "<NIP>701000<!-- a comment -->&#50;137</NIP>");
        assert_eq!(buyer_nip(&pieces).unwrap().as_deref(), Some("7010002137"), "text in pieces is read whole");
        assert!(buyer_nip("<a><b></a>").is_err(), "not well-formed");
    }
}
