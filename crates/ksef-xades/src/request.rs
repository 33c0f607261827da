//! `AuthTokenRequest`, the document a XAdES login signs (schemas `auth/token/2.0` and `2.1`): written for
//! signing, and read back with every departure from the schema reported.

use std::sync::OnceLock;

use ksef_core::xml::c14n::escape_text;
use ksef_wire::{ContextIdentifier, ContextIdentifierType};
use regex::Regex;
use roxmltree::Node;

/// The namespace of `AuthTokenRequest` 2.0.
pub const AUTH_NAMESPACE_2_0: &str = "http://ksef.mf.gov.pl/auth/token/2.0";
/// The namespace of `AuthTokenRequest` 2.1 (the same document, with IP patterns that parsers accept).
pub const AUTH_NAMESPACE_2_1: &str = "http://ksef.mf.gov.pl/auth/token/2.1";

/// How KSeF finds the signer's identity in the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectIdentifierType {
    /// From the subject: a NIP or PESEL (`certificateSubject`).
    CertificateSubject,
    /// The certificate's SHA-256 fingerprint (`certificateFingerprint`).
    CertificateFingerprint,
}

impl SubjectIdentifierType {
    /// As the schema writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectIdentifierType::CertificateSubject => "certificateSubject",
            SubjectIdentifierType::CertificateFingerprint => "certificateFingerprint",
        }
    }
}

/// The addresses an access token may be used from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedIps {
    /// Single IPv4 addresses.
    pub addresses: Vec<String>,
    /// Ranges `a.b.c.d-e.f.g.h`.
    pub ranges: Vec<String>,
    /// Networks `a.b.c.d/n`.
    pub masks: Vec<String>,
}

/// An authentication request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenRequest {
    /// The challenge from `POST /auth/challenge`.
    pub challenge: String,
    /// The context to act in.
    pub context: ContextIdentifier,
    /// How the signer is identified.
    pub subject_identifier_type: SubjectIdentifierType,
    /// Where the tokens may be used from, if restricted.
    pub allowed_ips: Option<AllowedIps>,
}

impl AuthTokenRequest {
    /// The unsigned document (schema 2.0, the one every client sends), ready for [`crate::sign`].
    pub fn to_xml(&self) -> String {
        let mut out = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AuthTokenRequest xmlns=\"{AUTH_NAMESPACE_2_0}\">");
        let mut element = |name: &str, value: &str| {
            out.push_str(&format!("<{name}>"));
            escape_text(value, &mut out);
            out.push_str(&format!("</{name}>"));
        };
        element("Challenge", &self.challenge);
        let kind = self.context.kind.as_str();
        let mut inner = String::new();
        escape_text(&self.context.value, &mut inner);
        out.push_str(&format!("<ContextIdentifier><{kind}>{inner}</{kind}></ContextIdentifier>"));
        out.push_str(&format!("<SubjectIdentifierType>{}</SubjectIdentifierType>", self.subject_identifier_type.as_str()));
        if let Some(ips) = &self.allowed_ips {
            out.push_str("<AuthorizationPolicy><AllowedIps>");
            for (name, values) in [("Ip4Address", &ips.addresses), ("Ip4Range", &ips.ranges), ("Ip4Mask", &ips.masks)] {
                for v in values {
                    out.push_str(&format!("<{name}>{v}</{name}>"));
                }
            }
            out.push_str("</AllowedIps></AuthorizationPolicy>");
        }
        out.push_str("</AuthTokenRequest>");
        out
    }

    /// Reads the request from its root element, skipping the `ds:Signature` child (`skip`), and reports every
    /// departure from the schema.
    pub fn from_element(root: Node<'_, '_>, skip: Option<roxmltree::NodeId>) -> Result<AuthTokenRequest, Vec<String>> {
        let mut findings = Vec::new();
        let namespace = root.tag_name().namespace().unwrap_or("");
        if root.tag_name().name() != "AuthTokenRequest" || !matches!(namespace, AUTH_NAMESPACE_2_0 | AUTH_NAMESPACE_2_1) {
            return Err(vec![format!(
                "Element główny {{{namespace}}}{} nie jest AuthTokenRequest w przestrzeni nazw {AUTH_NAMESPACE_2_0} ani {AUTH_NAMESPACE_2_1}.",
                root.tag_name().name()
            )]);
        }
        let children = elements(root, skip, namespace, &mut findings);
        let mut fields = children.iter().peekable();
        let mut take = |name: &str, findings: &mut Vec<String>| -> Option<Node<'_, '_>> {
            match fields.peek() {
                Some(n) if n.tag_name().name() == name => fields.next().copied(),
                other => {
                    note(findings, format!(
                        "Oczekiwano elementu {name}, znaleziono {}.",
                        other.map_or("koniec dokumentu".to_owned(), |n| shown(n.tag_name().name()))
                    ));
                    None
                }
            }
        };
        let challenge = take("Challenge", &mut findings).map(|n| text(n, &mut findings));
        let context = take("ContextIdentifier", &mut findings).and_then(|n| context(n, namespace, &mut findings));
        let subject = take("SubjectIdentifierType", &mut findings).and_then(|n| match text(n, &mut findings).as_str() {
            "certificateSubject" => Some(SubjectIdentifierType::CertificateSubject),
            "certificateFingerprint" => Some(SubjectIdentifierType::CertificateFingerprint),
            other => {
                note(&mut findings, format!("SubjectIdentifierType '{}' nie jest certificateSubject ani certificateFingerprint.", shown(other)));
                None
            }
        });
        let allowed_ips = match fields.peek() {
            Some(n) if n.tag_name().name() == "AuthorizationPolicy" => {
                let policy = *fields.next().expect("peeked");
                policy_ips(policy, namespace, &mut findings)
            }
            _ => None,
        };
        if let Some(extra) = fields.next() {
            note(&mut findings, format!("Element {} jest niedozwolony w tym miejscu.", shown(extra.tag_name().name())));
        }
        if let Some(c) = &challenge
            && !patterns().challenge.is_match(c)
        {
            note(&mut findings, format!("Challenge '{}' nie ma postaci RRRRMMDD-CR-XXXXXXXXXX-XXXXXXXXXX-XX.", shown(c)));
        }
        match (challenge, context, subject) {
            (Some(challenge), Some(context), Some(subject_identifier_type)) if findings.is_empty() => {
                Ok(AuthTokenRequest { challenge, context, subject_identifier_type, allowed_ips })
            }
            _ => Err(findings),
        }
    }
}

struct Patterns {
    challenge: Regex,
    nip: Regex,
    internal_id: Regex,
    nip_vat_ue: Regex,
    peppol: Regex,
    ip4: Regex,
    ip4_range: Regex,
    ip4_mask: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let nip = r"[1-9]((\d[1-9])|([1-9]\d))\d{7}";
        let ip = r"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
        let whole = |p: &str| Regex::new(&format!("^(?:{p})$")).expect("a valid pattern");
        Patterns {
            challenge: whole(r"\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}"),
            nip: whole(nip),
            internal_id: whole(&format!(r"{nip}-\d{{5}}")),
            nip_vat_ue: whole(&format!(r"{nip}-[A-Z]{{2}}[0-9A-Za-z+*.]{{2,12}}")),
            peppol: whole(r"P[A-Z]{2}[0-9]{6}"),
            ip4: whole(ip),
            ip4_range: whole(&format!("{ip}-{ip}")),
            ip4_mask: whole(&format!("{ip}/(0|[1-9]|[12][0-9]|3[0-2])")),
        }
    })
}

/// Findings reported at most (a hostile document could otherwise have one per element).
const MAX_FINDINGS: usize = 20;

/// Records a finding, unless [`MAX_FINDINGS`] are recorded already (then the last one says so).
fn note(findings: &mut Vec<String>, message: String) {
    match findings.len() {
        n if n < MAX_FINDINGS - 1 => findings.push(message),
        n if n == MAX_FINDINGS - 1 => findings.push("Dalsze błędy pominięto.".to_owned()),
        _ => {}
    }
}

/// At most 64 characters of a value a document supplied, for a message.
fn shown(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// The element children of `node` in `namespace`, with a finding for any other child.
fn elements<'a, 'i>(node: Node<'a, 'i>, skip: Option<roxmltree::NodeId>, namespace: &str, findings: &mut Vec<String>) -> Vec<Node<'a, 'i>> {
    let mut out = Vec::new();
    for child in node.children() {
        if Some(child.id()) == skip {
            continue;
        }
        if child.is_text() && !child.text().unwrap_or_default().trim().is_empty() {
            note(findings, format!("Element {} nie może zawierać tekstu.", shown(node.tag_name().name())));
        } else if child.is_element() {
            if child.tag_name().namespace() == Some(namespace) {
                out.push(child);
            } else {
                note(findings, format!(
                    "Element {{{}}}{} jest niedozwolony w {}.",
                    shown(child.tag_name().namespace().unwrap_or("")),
                    shown(child.tag_name().name()),
                    shown(node.tag_name().name())
                ));
            }
        }
    }
    out
}

/// A simple element's text, whitespace collapsed as `xsd:token` does.
fn text(node: Node<'_, '_>, findings: &mut Vec<String>) -> String {
    if node.children().any(|c| c.is_element()) {
        note(findings, format!("Element {} może zawierać tylko tekst.", shown(node.tag_name().name())));
    }
    // Every text child, not only the first: a comment splits a value in two, and comments are not signed, so
    // reading up to the first one would take a value other than the one signed.
    let whole: String = node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
    whole.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn context(node: Node<'_, '_>, namespace: &str, findings: &mut Vec<String>) -> Option<ContextIdentifier> {
    let children = elements(node, None, namespace, findings);
    let [choice] = children.as_slice() else {
        note(findings, "ContextIdentifier musi zawierać dokładnie jeden z elementów Nip, InternalId, NipVatUe, PeppolId.".to_owned());
        return None;
    };
    let value = text(*choice, findings);
    let p = patterns();
    let (kind, pattern) = match choice.tag_name().name() {
        "Nip" => (ContextIdentifierType::Nip, &p.nip),
        "InternalId" => (ContextIdentifierType::InternalId, &p.internal_id),
        "NipVatUe" => (ContextIdentifierType::NipVatUe, &p.nip_vat_ue),
        "PeppolId" => (ContextIdentifierType::PeppolId, &p.peppol),
        other => {
            note(findings, format!("Element {} nie jest dozwolony w ContextIdentifier.", shown(other)));
            return None;
        }
    };
    if !pattern.is_match(&value) {
        note(findings, format!("Wartość '{}' nie jest poprawnym identyfikatorem typu {}.", shown(&value), kind.as_str()));
        return None;
    }
    Some(ContextIdentifier { kind, value })
}

fn policy_ips(policy: Node<'_, '_>, namespace: &str, findings: &mut Vec<String>) -> Option<AllowedIps> {
    let children = elements(policy, None, namespace, findings);
    let [allowed] = children.as_slice() else {
        note(findings, "AuthorizationPolicy musi zawierać dokładnie jeden element AllowedIps.".to_owned());
        return None;
    };
    if allowed.tag_name().name() != "AllowedIps" {
        note(findings, format!("Oczekiwano elementu AllowedIps, znaleziono {}.", shown(allowed.tag_name().name())));
        return None;
    }
    let p = patterns();
    let mut ips = AllowedIps::default();
    let mut stage = 0;
    for item in elements(*allowed, None, namespace, findings) {
        let (order, pattern, list) = match item.tag_name().name() {
            "Ip4Address" => (0, &p.ip4, &mut ips.addresses),
            "Ip4Range" => (1, &p.ip4_range, &mut ips.ranges),
            "Ip4Mask" => (2, &p.ip4_mask, &mut ips.masks),
            other => {
                note(findings, format!("Element {} nie jest dozwolony w AllowedIps.", shown(other)));
                continue;
            }
        };
        if order < stage {
            note(findings, format!("Element {} stoi poza kolejnością Ip4Address, Ip4Range, Ip4Mask.", item.tag_name().name()));
        }
        stage = order;
        let value = text(item, findings);
        if !pattern.is_match(&value) {
            note(findings, format!("Wartość '{}' nie jest poprawna dla {}.", shown(&value), item.tag_name().name()));
        }
        list.push(value);
        if list.len() > 10 {
            note(findings, format!("AllowedIps może zawierać najwyżej 10 elementów {}.", item.tag_name().name()));
        }
    }
    Some(ips)
}
