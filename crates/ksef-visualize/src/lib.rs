//! What a person reads: KSeF's verification links and their QR codes ([`links`], [`qr`]), and invoices rendered
//! from one language-neutral view model ([`view`]) with one label catalogue ([`labels`]) as HTML ([`html`]).

#![deny(missing_docs)]

mod countries;
pub mod html;
pub mod labels;
pub mod links;
pub mod qr;
pub mod view;

pub use crate::labels::Language;
pub use crate::links::{Certificate, LinkError, VerificationCode};
