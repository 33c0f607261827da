//! What a person reads: KSeF's verification links and their QR codes ([`links`], [`qr`]), the checks of links a
//! received invoice carries ([`verify`]), and invoices rendered from one language-neutral view model ([`view`])
//! with one label catalogue ([`labels`]) as HTML ([`html`]).

#![deny(missing_docs)]

mod countries;
pub mod html;
pub mod labels;
pub mod links;
pub mod qr;
pub mod verify;
pub mod view;

pub use crate::labels::Language;
pub use crate::links::{Certificate, LinkError, VerificationCode};

/// Untrusted text as a message quotes it: at most 80 characters, control characters escaped.
pub(crate) fn short(text: &str) -> String {
    let mut shown: String = text.chars().take(80).flat_map(char::escape_debug).collect();
    if text.chars().nth(80).is_some() {
        shown.push('…');
    }
    shown
}
