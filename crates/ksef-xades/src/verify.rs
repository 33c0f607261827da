//! Verifying a signed `AuthTokenRequest` as KSeF does: one enveloped XML signature whose references are the
//! document (minus the signature) and the XAdES `SignedProperties` (and, at most, other parts of the signature
//! itself), each canonicalized in place by any of the six canonicalizations, digested by SHA-1 or SHA-2, signed
//! by RSA PKCS#1 v1.5, RSA-PSS or ECDSA, with the signing certificate named by its digest.
//!
//! Every reference is resolved here, by this code, never by following what the signature says blindly: an
//! `Id` that occurs twice, a reference outside the document or to anything but the two signed parts is refused,
//! so a signature cannot be moved onto another document (signature wrapping).

use chrono::{DateTime, Utc};
use ksef_core::crypto::b64_decode;
use ksef_core::xml::c14n::{self, Method, Options};
use roxmltree::{Document, Node, NodeId};

use crate::algorithms::{Digest, Signature};
use crate::cert::Certificate;
use crate::request::AuthTokenRequest;
use crate::{DSIG, XADES};

/// The largest signed request read: one is a few kilobytes, with a certificate chain a few tens (bounds the
/// work a hostile request costs, before anything else is looked at).
pub const MAX_SIGNED_REQUEST_BYTES: usize = 256 * 1024;

/// The shape a signed request may have: far beyond any real one, well within what canonicalizing and digesting
/// it costs a server.
const REQUEST_LIMITS: ksef_core::xml::XmlLimits = ksef_core::xml::XmlLimits {
    max_bytes: MAX_SIGNED_REQUEST_BYTES,
    max_depth: 32,
    max_attributes: 32,
    max_namespace_declarations: 64,
    max_nodes: 20_000,
};
/// References a signature may have: the document, `SignedProperties` and at most a few parts of the signature.
const MAX_REFERENCES: usize = 8;
/// Prefixes an `InclusiveNamespaces` list may name.
const MAX_INCLUSIVE_PREFIXES: usize = 32;
/// Certificates in `KeyInfo`, and the size of each.
const MAX_CERTIFICATES: usize = 8;
const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// What a verified signature says.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The request that was signed.
    pub request: AuthTokenRequest,
    /// The signing certificate.
    pub certificate: Certificate,
    /// `SigningTime`, if readable.
    pub signing_time: Option<DateTime<Utc>>,
}

/// Why a signed request was refused, in the order KSeF checks (each maps to one of its codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not UTF-8, or another encoding declared (KSeF: 21217).
    #[error("the document is not UTF-8")]
    Encoding,
    /// Not well-formed XML, a DTD, or beyond the parser's bounds (21001).
    #[error("the document cannot be read: {0}")]
    Unreadable(String),
    /// No `ds:Signature` (9102).
    #[error("the document is not signed")]
    NoSignature,
    /// More than one `ds:Signature` (9103).
    #[error("the document has more than one signature")]
    TooManySignatures,
    /// Not an enveloped signature inside an `AuthTokenRequest`, or a part of the signature missing (9101).
    #[error("the document or its signature is malformed: {0}")]
    Document(String),
    /// The request departs from its schema (21401), every departure listed.
    #[error("the request departs from its schema: {}", .0.join("; "))]
    Schema(Vec<String>),
    /// A digest or the signature value does not verify, or an algorithm or reference is not allowed (9105).
    #[error("the signature is invalid: {0}")]
    Signature(String),
    /// The signing certificate is unreadable or not the one the signature names (21115).
    #[error("the signing certificate is invalid: {0}")]
    Certificate(String),
}

/// Verifies a signed `AuthTokenRequest`.
pub fn verify(bytes: &[u8]) -> Result<Verified, VerifyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| VerifyError::Encoding)?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if let Some(declared) = declared_encoding(text)
        && !declared.eq_ignore_ascii_case("utf-8")
        && !declared.eq_ignore_ascii_case("utf8")
    {
        return Err(VerifyError::Encoding);
    }
    let doc = ksef_core::xml::parse_with(text, &REQUEST_LIMITS).map_err(|e| VerifyError::Unreadable(e.to_string()))?;
    let signatures: Vec<Node<'_, '_>> = doc.descendants().filter(|n| n.has_tag_name((DSIG, "Signature"))).collect();
    let signature = match signatures.as_slice() {
        [] => return Err(VerifyError::NoSignature),
        [one] => *one,
        _ => return Err(VerifyError::TooManySignatures),
    };
    let root = doc.root_element();
    if root.id() == signature.id() {
        return Err(VerifyError::Document("only an enveloped signature (inside AuthTokenRequest) is accepted".into()));
    }
    let request = AuthTokenRequest::from_element(root, Some(signature.id())).map_err(VerifyError::Schema)?;
    let parts = SignatureParts::read(signature)?;
    let certificate = parts.certificate()?;

    // Every reference: resolved here, digested, compared.
    let mut document_signed = false;
    let mut properties_signed = false;
    for reference in &parts.references {
        let target = resolve(&doc, signature, parts.signed_properties, reference)?;
        match target {
            Target::Document => document_signed = true,
            Target::Element(id) if id == parts.signed_properties.id() => properties_signed = true,
            Target::Element(_) => {}
        }
        let canonical = reference.canonical(&doc, target, signature)?;
        let digest = reference.digest.digest(canonical.as_bytes());
        if digest != reference.digest_value {
            return Err(VerifyError::Signature(format!("the digest of reference '{}' does not match", reference.uri)));
        }
    }
    if !document_signed {
        return Err(VerifyError::Signature("no reference signs the document (URI=\"\" with an enveloped transform)".into()));
    }
    if !properties_signed {
        return Err(VerifyError::Signature("no reference signs the XAdES SignedProperties".into()));
    }

    // SignedInfo, canonicalized in place, against the signature value.
    let canonical = c14n::element(
        &doc,
        parts.signed_info,
        parts.canonicalization.0,
        &Options { comments: parts.canonicalization.1, inclusive_prefixes: parts.inclusive_prefixes.clone(), exclude: Vec::new() },
    );
    if !parts.method.verify(certificate.spki(), canonical.as_bytes(), &parts.signature_value, true) {
        return Err(VerifyError::Signature("the signature value does not verify with the certificate's key".into()));
    }
    Ok(Verified { request, certificate, signing_time: parts.signing_time })
}

/// What a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `URI=""`: the whole document.
    Document,
    /// `URI="#id"`: one element.
    Element(NodeId),
}

struct Reference {
    uri: String,
    /// The enveloped transform is among its transforms.
    enveloped: bool,
    /// The canonicalization its transforms end with (inclusive C14N 1.0 by default).
    canonicalization: (Method, bool),
    inclusive_prefixes: Vec<String>,
    digest: Digest,
    digest_value: Vec<u8>,
}

impl Reference {
    fn read(node: Node<'_, '_>) -> Result<Reference, VerifyError> {
        let uri = node.attribute("URI").ok_or_else(|| VerifyError::Document("a Reference has no URI".into()))?.to_owned();
        let mut enveloped = false;
        let mut canonicalization = (Method::Inclusive10, false);
        let mut inclusive_prefixes = Vec::new();
        if let Some(transforms) = child(node, "Transforms") {
            for transform in children(transforms, "Transform") {
                let algorithm = transform.attribute("Algorithm").unwrap_or_default();
                match algorithm {
                    "http://www.w3.org/2000/09/xmldsig#enveloped-signature" => enveloped = true,
                    "http://www.w3.org/TR/1999/REC-xpath-19991116" => {
                        let xpath = transform.children().filter(|n| n.is_element()).find_map(|n| n.text()).unwrap_or_default();
                        let compact: String = xpath.chars().filter(|c| !c.is_whitespace()).collect();
                        if !(compact.starts_with("not(ancestor-or-self::") && compact.ends_with(":Signature)")) {
                            return Err(VerifyError::Signature(format!("the XPath transform '{xpath}' is not the enveloped one")));
                        }
                        enveloped = true;
                    }
                    "http://www.w3.org/2002/06/xmldsig-filter2" => {
                        let filters: Vec<Node<'_, '_>> = transform.children().filter(|n| n.is_element()).collect();
                        let subtracts_signature = !filters.is_empty()
                            && filters.iter().all(|f| {
                                let path: String = f.text().unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
                                f.attribute("Filter") == Some("subtract") && path.ends_with(":Signature") && path.starts_with("/descendant::")
                            });
                        if !subtracts_signature {
                            return Err(VerifyError::Signature("an XPath Filter 2.0 transform other than subtracting the signature".into()));
                        }
                        enveloped = true;
                    }
                    other => match Method::from_uri(other) {
                        Some(method) => {
                            canonicalization = method;
                            inclusive_prefixes = prefix_list(transform)?.into_iter().map(str::to_owned).collect();
                        }
                        None => return Err(VerifyError::Signature(format!("the transform {other} is not accepted"))),
                    },
                }
            }
        }
        let digest_method = child(node, "DigestMethod").and_then(|n| n.attribute("Algorithm")).unwrap_or_default();
        let digest = Digest::from_uri(digest_method)
            .ok_or_else(|| VerifyError::Signature(format!("the digest method '{digest_method}' is not accepted")))?;
        let digest_value = decode(child(node, "DigestValue").and_then(|n| n.text()).unwrap_or_default())
            .ok_or_else(|| VerifyError::Document("a DigestValue is not base64".into()))?;
        Ok(Reference { uri, enveloped, canonicalization, inclusive_prefixes, digest, digest_value })
    }

    /// The canonical form of what the reference signs, its transforms applied.
    fn canonical(&self, doc: &Document<'_>, target: Target, signature: Node<'_, '_>) -> Result<String, VerifyError> {
        let options = Options {
            // Same-document references leave comments out, whatever the canonicalization says.
            comments: false,
            inclusive_prefixes: self.inclusive_prefixes.iter().map(String::as_str).collect(),
            exclude: if self.enveloped { vec![signature.id()] } else { Vec::new() },
        };
        Ok(match target {
            Target::Document => {
                if !self.enveloped {
                    return Err(VerifyError::Signature("the document reference lacks the enveloped transform".into()));
                }
                c14n::document(doc, self.canonicalization.0, &options)
            }
            Target::Element(id) => {
                let node = doc.get_node(id).ok_or_else(|| VerifyError::Document("a reference lost its target".into()))?;
                c14n::element(doc, node, self.canonicalization.0, &options)
            }
        })
    }
}

/// Resolves a reference: `""` (or `#xpointer(/)`) is the document; `#id` must name exactly one element, and that
/// element must be the signed properties or lie inside the signature.
fn resolve(doc: &Document<'_>, signature: Node<'_, '_>, properties: Node<'_, '_>, reference: &Reference) -> Result<Target, VerifyError> {
    let uri = reference.uri.as_str();
    if uri.is_empty() || uri == "#xpointer(/)" {
        return Ok(Target::Document);
    }
    let Some(id) = uri.strip_prefix('#').filter(|id| !id.is_empty() && !id.contains('(')) else {
        return Err(VerifyError::Signature(format!("the reference '{uri}' points outside the document")));
    };
    let named: Vec<Node<'_, '_>> =
        doc.descendants().filter(|n| n.is_element() && ["Id", "ID", "id"].iter().any(|a| n.attribute(*a) == Some(id))).collect();
    let [target] = named.as_slice() else {
        return Err(VerifyError::Signature(format!("the reference '{uri}' names {} elements", named.len())));
    };
    let inside_signature = target.ancestors().any(|a| a.id() == signature.id());
    if target.id() != properties.id() && !inside_signature {
        return Err(VerifyError::Signature(format!("the reference '{uri}' signs neither the document nor the signature's own parts")));
    }
    Ok(Target::Element(target.id()))
}

/// The parts of a `ds:Signature`.
struct SignatureParts<'a, 'i> {
    signed_info: Node<'a, 'i>,
    canonicalization: (Method, bool),
    inclusive_prefixes: Vec<&'a str>,
    method: Signature,
    references: Vec<Reference>,
    signature_value: Vec<u8>,
    certificates: Vec<Vec<u8>>,
    signed_properties: Node<'a, 'i>,
    cert_digest: Option<(Digest, Vec<u8>)>,
    signing_time: Option<DateTime<Utc>>,
}

impl<'a, 'i> SignatureParts<'a, 'i> {
    fn read(signature: Node<'a, 'i>) -> Result<SignatureParts<'a, 'i>, VerifyError> {
        let missing = |what: &str| VerifyError::Document(format!("the signature has no {what}"));
        let signed_info = child(signature, "SignedInfo").ok_or_else(|| missing("SignedInfo"))?;
        let c14n_method = child(signed_info, "CanonicalizationMethod").ok_or_else(|| missing("CanonicalizationMethod"))?;
        let c14n_uri = c14n_method.attribute("Algorithm").unwrap_or_default();
        let canonicalization = Method::from_uri(c14n_uri)
            .ok_or_else(|| VerifyError::Signature(format!("the canonicalization '{c14n_uri}' is not accepted")))?;
        let method_uri = child(signed_info, "SignatureMethod").and_then(|n| n.attribute("Algorithm")).ok_or_else(|| missing("SignatureMethod"))?;
        let method = Signature::from_uri(method_uri)
            .ok_or_else(|| VerifyError::Signature(format!("the signature method '{method_uri}' is not accepted")))?;
        let references = children(signed_info, "Reference").map(Reference::read).collect::<Result<Vec<_>, _>>()?;
        if references.is_empty() {
            return Err(missing("Reference"));
        }
        if references.len() > MAX_REFERENCES {
            return Err(VerifyError::Signature(format!("{} references; at most {MAX_REFERENCES} are accepted", references.len())));
        }
        let signature_value = decode(child(signature, "SignatureValue").and_then(|n| n.text()).ok_or_else(|| missing("SignatureValue"))?)
            .ok_or_else(|| VerifyError::Document("the SignatureValue is not base64".into()))?;
        let certificates: Vec<Vec<u8>> = child(signature, "KeyInfo")
            .into_iter()
            .flat_map(|k| children(k, "X509Data"))
            .flat_map(|d| children(d, "X509Certificate"))
            .filter_map(|c| decode(c.text().unwrap_or_default()))
            .collect();
        if certificates.is_empty() {
            return Err(missing("KeyInfo/X509Data/X509Certificate"));
        }
        if certificates.len() > MAX_CERTIFICATES || certificates.iter().any(|c| c.len() > MAX_CERTIFICATE_BYTES) {
            return Err(VerifyError::Certificate(format!(
                "KeyInfo may hold at most {MAX_CERTIFICATES} certificates of at most {MAX_CERTIFICATE_BYTES} bytes"
            )));
        }
        let signed_properties = signature
            .descendants()
            .find(|n| n.has_tag_name((XADES, "SignedProperties")))
            .ok_or_else(|| missing("XAdES SignedProperties"))?;
        let signed_signature = signed_properties.children().find(|n| n.has_tag_name((XADES, "SignedSignatureProperties")));
        let signing_time = signed_signature
            .and_then(|p| p.children().find(|n| n.has_tag_name((XADES, "SigningTime"))))
            .and_then(|t| t.text())
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
            .map(|t| t.with_timezone(&Utc));
        let cert_digest = signed_signature
            .and_then(|p| p.children().find(|n| n.has_tag_name((XADES, "SigningCertificate")) || n.has_tag_name((XADES, "SigningCertificateV2"))))
            .and_then(|s| s.descendants().find(|n| n.has_tag_name((XADES, "CertDigest"))))
            .and_then(|d| {
                let method = Digest::from_uri(child(d, "DigestMethod")?.attribute("Algorithm")?)?;
                Some((method, decode(child(d, "DigestValue")?.text()?)?))
            });
        Ok(SignatureParts {
            signed_info,
            canonicalization,
            inclusive_prefixes: prefix_list(c14n_method)?,
            method,
            references,
            signature_value,
            certificates,
            signed_properties,
            cert_digest,
            signing_time,
        })
    }

    /// The signing certificate: the one whose digest `SigningCertificate` (or V2) gives; XAdES-BES must name it.
    fn certificate(&self) -> Result<Certificate, VerifyError> {
        let Some((digest, value)) = &self.cert_digest else {
            return Err(VerifyError::Certificate("SignedProperties name no signing certificate (SigningCertificate or V2)".into()));
        };
        let named = self.certificates.iter().find(|der| digest.digest(der) == *value).ok_or_else(|| {
            VerifyError::Certificate("no certificate in KeyInfo has the digest SigningCertificate names".into())
        })?;
        Certificate::from_der(named).map_err(|e| VerifyError::Certificate(e.to_string()))
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name((DSIG, name)))
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| n.has_tag_name((DSIG, name)))
}

/// The `PrefixList` of an `InclusiveNamespaces` child (exclusive canonicalization), each prefix once.
fn prefix_list<'a>(node: Node<'a, '_>) -> Result<Vec<&'a str>, VerifyError> {
    let mut prefixes: Vec<&str> = node
        .children()
        .find(|n| n.tag_name().name() == "InclusiveNamespaces")
        .and_then(|n| n.attribute("PrefixList"))
        .map(|list| list.split_whitespace().collect())
        .unwrap_or_default();
    prefixes.sort_unstable();
    prefixes.dedup();
    if prefixes.len() > MAX_INCLUSIVE_PREFIXES {
        return Err(VerifyError::Signature(format!("an InclusiveNamespaces PrefixList may name at most {MAX_INCLUSIVE_PREFIXES} prefixes")));
    }
    Ok(prefixes)
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    b64_decode(&compact).ok()
}

fn declared_encoding(text: &str) -> Option<&str> {
    let declaration = text.strip_prefix("<?xml")?;
    let declaration = &declaration[..declaration.find("?>")?];
    let at = declaration.find("encoding")?;
    let rest = declaration[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}
