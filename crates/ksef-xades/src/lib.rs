//! KSeF certificates and XAdES signatures, below the client and the emulator.
//!
//! [`Certificate`] reads X.509 as KSeF does (the subject's NIP or PESEL, the fingerprint, key usage);
//! [`Credential`] is a certificate with its private key, loaded from PEM, DER, PKCS#8 (plain or encrypted),
//! PKCS#1, SEC 1 or PKCS#12; [`sign`] signs an [`AuthTokenRequest`] as an enveloped XAdES-BES signature and
//! [`verify`] checks one made by anyone (KSeF's accepted canonicalizations, digests and signature methods);
//! [`x509`] writes certificate requests and certificates. Canonical XML is `ksef_core::xml::c14n`.

#![deny(missing_docs)]

pub mod algorithms;
mod cert;
mod credential;
mod request;
mod sign;
mod verify;
pub mod x509;

pub use crate::cert::{Attribute, Certificate, CertificateError, Identity, KeyUsage, oid};
pub use crate::credential::{Credential, CredentialError, read_key};
pub use crate::request::{AUTH_NAMESPACE_2_0, AUTH_NAMESPACE_2_1, AllowedIps, AuthTokenRequest, SubjectIdentifierType};
pub use crate::sign::{SignError, sign};
pub use crate::verify::{MAX_SIGNED_REQUEST_BYTES, Verified, VerifyError, verify};

/// The XML-DSig namespace.
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XAdES 1.3.2 namespace.
pub const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
