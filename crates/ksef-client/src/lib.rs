//! An async client of the official KSeF 2.0 API.
//!
//! [`KsefClient`] has one typed method per endpoint and handles retries (429 by `Retry-After`; 5xx with
//! backoff where repeating is safe) and both of KSeF's error formats, which become one [`KsefError`].
//! [`ContextClient`] acts in one context with a KSeF token or a certificate (a XAdES-signed request): it
//! authenticates, reuses and refreshes access
//! tokens, and opens [`OnlineSession`]s whose invoices it encrypts and [`BatchSession`]s for packages that
//! [`BatchPackager`] zips, splits and encrypts in one streaming pass. Invoice XML is opaque bytes here. Given a
//! [`Pacer`], a context client keeps its calls within the rate limits KSeF publishes for its context.

#![deny(missing_docs)]

mod batch;
mod context;
mod error;
mod http;
mod keys;
mod package;
mod pacing;

pub use crate::batch::{
    BatchPackager, BatchSession, PackagedBatch, PackagedPart, ZipCheck, check_zip, directory_files,
};
pub use crate::context::{ContextClient, OnlineSession, Polling, Credentials};
pub use crate::error::KsefError;
pub use crate::http::{ClientOptions, Download, DownloadStream, ErrorFormat, KsefClient, MetadataPage};
pub use crate::keys::{EncryptedInvoice, KsefKeys, PublishedKey, SymmetricKey};
pub use crate::package::{PackageStream, decrypted_package};
pub use crate::pacing::{LocalPacer, Pacer, PacerFuture, RateTable, paced_windows};
pub use ksef_core::Environment;
pub use ksef_wire as wire;
pub use ksef_xades as xades;
