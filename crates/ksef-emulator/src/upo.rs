//! UPO v4-3 documents (per invoice and per session page), signed with an enveloped XML-DSig signature, and
//! the UPOs of the store's sessions and invoices.
//!
//! We write the document already in its Exclusive XML Canonicalization form (no self-closing tags,
//! c14n text escaping, one namespace declaration on the root), so the reference digest is simply the
//! SHA-256 of the bytes without the signature, and `SignedInfo` is signed exactly as written.

use chrono::{DateTime, Utc};
use ksef_core::crypto::{b64, sha256};
use ksef_wire::datetime::to_warsaw;
use ksef_wire::{ContextIdentifier, ContextIdentifierType, FormCode, InvoicingMode};

use crate::keys::PublishedKey;
use crate::state::AppState;
use crate::store::{InvoiceRow, SessionRow};

/// UPO v4-3's namespace.
pub const UPO_NAMESPACE: &str = "http://upo.schematy.mf.gov.pl/KSeF/v4-3";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// What the header of a UPO says about the session.
#[derive(Debug, Clone)]
pub(crate) struct UpoHeader<'a> {
    pub(crate) receiving_entity: &'a str,
    pub(crate) session_reference: &'a str,
    pub(crate) context: ContextIdentifier,
    /// The KSeF token the session authenticated with.
    pub(crate) token_reference: Option<&'a str>,
    pub(crate) form: &'a FormCode,
}

/// Paging of a session UPO: page, pages, first and last document, total.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpoPaging {
    pub(crate) page: usize,
    pub(crate) pages: usize,
    pub(crate) first: usize,
    pub(crate) last: usize,
    pub(crate) total: usize,
}

/// One `Dokument` entry.
#[derive(Debug, Clone)]
pub(crate) struct UpoDocument {
    pub(crate) seller_nip: String,
    pub(crate) ksef_number: String,
    pub(crate) invoice_number: String,
    pub(crate) issue_date: String,
    pub(crate) invoicing_date: DateTime<Utc>,
    pub(crate) acquisition_date: DateTime<Utc>,
    pub(crate) invoice_hash: String,
    pub(crate) invoicing_mode: InvoicingMode,
}

/// Escapes text the way canonical XML writes it.
fn text(out: &mut String, value: &str) {
    ksef_core::xml::c14n::escape_text(value, out);
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    text(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn upo_time(t: DateTime<Utc>) -> String {
    to_warsaw(t).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// The logical structure name KSeF writes for a form, e.g. `Schemat_FA(3)_v1-0E.xsd`.
fn structure_name(form: &FormCode) -> String {
    format!("Schemat_{}_v{}.xsd", form.system_code.replace(' ', ""), form.schema_version)
}

/// The canonical body of a UPO without its signature: `<Potwierdzenie …>…</Potwierdzenie>`.
fn canonical_body(header: &UpoHeader<'_>, paging: Option<UpoPaging>, documents: &[UpoDocument]) -> String {
    let mut out = String::with_capacity(1024 + documents.len() * 600);
    out.push_str(&format!("<Potwierdzenie xmlns=\"{UPO_NAMESPACE}\">"));
    element(&mut out, "NazwaPodmiotuPrzyjmujacego", header.receiving_entity);
    element(&mut out, "NumerReferencyjnySesji", header.session_reference);
    out.push_str("<Uwierzytelnienie><IdKontekstu>");
    let context_element = match header.context.kind {
        ContextIdentifierType::Nip => "Nip",
        ContextIdentifierType::InternalId => "IdWewnetrzny",
        ContextIdentifierType::NipVatUe => "IdZlozonyVatUE",
        ContextIdentifierType::PeppolId => "IdDostawcyUslugPeppol",
    };
    element(&mut out, context_element, &header.context.value);
    out.push_str("</IdKontekstu>");
    if let Some(token) = header.token_reference {
        element(&mut out, "NumerReferencyjnyTokenaKSeF", token);
    }
    out.push_str("</Uwierzytelnienie>");
    if let Some(p) = paging {
        out.push_str("<OpisPotwierdzenia>");
        element(&mut out, "Strona", &p.page.to_string());
        element(&mut out, "LiczbaStron", &p.pages.to_string());
        element(&mut out, "ZakresDokumentowOd", &p.first.to_string());
        element(&mut out, "ZakresDokumentowDo", &p.last.to_string());
        element(&mut out, "CalkowitaLiczbaDokumentow", &p.total.to_string());
        out.push_str("</OpisPotwierdzenia>");
    }
    element(&mut out, "NazwaStrukturyLogicznej", &structure_name(header.form));
    element(&mut out, "KodFormularza", &header.form.system_code);
    for d in documents {
        out.push_str("<Dokument>");
        element(&mut out, "NipSprzedawcy", &d.seller_nip);
        element(&mut out, "NumerKSeFDokumentu", &d.ksef_number);
        element(&mut out, "NumerFaktury", &d.invoice_number);
        element(&mut out, "DataWystawieniaFaktury", &d.issue_date);
        element(&mut out, "DataPrzeslaniaDokumentu", &upo_time(d.invoicing_date));
        element(&mut out, "DataNadaniaNumeruKSeF", &upo_time(d.acquisition_date));
        element(&mut out, "SkrotDokumentu", &d.invoice_hash);
        element(&mut out, "TrybWysylki", d.invoicing_mode.as_str());
        out.push_str("</Dokument>");
    }
    out.push_str("</Potwierdzenie>");
    out
}

/// A signed UPO document.
pub(crate) fn render(
    header: &UpoHeader<'_>,
    paging: Option<UpoPaging>,
    documents: &[UpoDocument],
    key: &PublishedKey,
) -> Vec<u8> {
    let body = canonical_body(header, paging, documents);
    let digest = b64(&sha256(body.as_bytes()));
    // SignedInfo in its exclusive canonical form: it is signed byte for byte as it appears.
    let signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG}\">\
         <ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"></ds:SignatureMethod>\
         <ds:Reference URI=\"\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>\
         <ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod>\
         <ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    );
    let signature_value = b64(&key.private.sign_pkcs1_sha256(signed_info.as_bytes()));
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG}\">{signed_info}<ds:SignatureValue>{signature_value}</ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        b64(&key.cert_der)
    );
    let closing = "</Potwierdzenie>";
    let mut doc = String::with_capacity(body.len() + signature.len() + 64);
    doc.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    doc.push_str(&body[..body.len() - closing.len()]);
    doc.push_str(&signature);
    doc.push_str(closing);
    doc.into_bytes()
}

// UPOs of the store's sessions and invoices.

/// The header of a session's UPOs.
pub(crate) fn session_header<'a>(state: &'a AppState, session: &'a SessionRow) -> UpoHeader<'a> {
    UpoHeader {
        receiving_entity: &state.config.receiving_entity_name,
        session_reference: &session.reference_number,
        context: ContextIdentifier {
            kind: ContextIdentifierType::parse(&session.context_type).unwrap_or(ContextIdentifierType::Nip),
            value: session.context_value.clone(),
        },
        token_reference: session.token_reference.as_deref(),
        form: &session.form,
    }
}

/// The `Dokument` entry of an accepted invoice.
pub(crate) fn document(row: &InvoiceRow) -> UpoDocument {
    UpoDocument {
        seller_nip: row.seller_nip.clone().unwrap_or_default(),
        ksef_number: row.ksef_number.clone().unwrap_or_default(),
        invoice_number: row.invoice_number.clone().unwrap_or_default(),
        issue_date: row.issue_date.clone().unwrap_or_default(),
        invoicing_date: row.invoicing_date,
        acquisition_date: row.acquisition_date.unwrap_or(row.invoicing_date),
        invoice_hash: row.invoice_hash.clone(),
        invoicing_mode: row.invoicing_mode,
    }
}

/// The signed UPO of one accepted invoice (deterministic, so every download is identical).
pub(crate) fn invoice_upo(state: &AppState, session: &SessionRow, row: &InvoiceRow) -> Vec<u8> {
    render(&session_header(state, session), None, &[document(row)], &state.keys.upo_signing)
}


#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: usize) -> UpoDocument {
        UpoDocument {
            seller_nip: "5265877635".into(),
            ksef_number: format!("5265877635-20260101-00000000000{n}-00"),
            invoice_number: "FV/1 & <2>".into(),
            issue_date: "2026-01-01".into(),
            invoicing_date: "2026-01-01T10:00:00Z".parse().unwrap(),
            acquisition_date: "2026-01-01T10:00:01Z".parse().unwrap(),
            invoice_hash: "GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8=".into(),
            invoicing_mode: InvoicingMode::Online,
        }
    }

    fn header(form: &FormCode) -> UpoHeader<'_> {
        UpoHeader {
            receiving_entity: "Ministerstwo Finansów",
            session_reference: "20260101-SO-0000000000-0000000000-00",
            context: ContextIdentifier { kind: ContextIdentifierType::Nip, value: "5265877635".into() },
            token_reference: Some("20260101-EC-0000000000-0000000000-00"),
            form,
        }
    }

    #[test]
    fn the_body_follows_the_xsd_order_and_escapes_text() {
        let form = FormCode::fa3();
        let body = canonical_body(&header(&form), Some(UpoPaging { page: 1, pages: 1, first: 1, last: 2, total: 2 }), &[doc(1), doc(2)]);
        let order = ["NazwaPodmiotuPrzyjmujacego", "NumerReferencyjnySesji", "Uwierzytelnienie", "OpisPotwierdzenia", "NazwaStrukturyLogicznej", "KodFormularza", "Dokument"];
        let positions: Vec<usize> = order.iter().map(|e| body.find(&format!("<{e}>")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{body}");
        assert!(body.contains("<NazwaStrukturyLogicznej>Schemat_FA(3)_v1-0E.xsd</NazwaStrukturyLogicznej>"));
        assert!(body.contains("FV/1 &amp; &lt;2&gt;"));
        assert!(body.contains("<DataPrzeslaniaDokumentu>2026-01-01T11:00:00.000+01:00</DataPrzeslaniaDokumentu>"));
        roxmltree::Document::parse(&body).unwrap();
    }

    #[test]
    fn the_signature_covers_the_body_and_verifies_with_the_published_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::keys::KeyMaterial::load_or_create(dir.path(), Utc::now()).unwrap();
        let form = FormCode::fa3();
        let xml = String::from_utf8(render(&header(&form), None, &[doc(1)], &keys.upo_signing)).unwrap();
        let parsed = roxmltree::Document::parse(&xml).unwrap();
        let sig = parsed.descendants().find(|n| n.has_tag_name((DSIG, "Signature"))).unwrap();
        assert_eq!(sig.parent().unwrap().tag_name().name(), "Potwierdzenie");

        // Recompute both halves of the signature from the document text.
        let start = xml.find("<ds:Signature").unwrap();
        let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let body = format!("{}{}", &xml[xml.find("<Potwierdzenie").unwrap()..start], &xml[end..]);
        let digest = b64(&sha256(body.as_bytes()));
        assert!(xml.contains(&format!("<ds:DigestValue>{digest}</ds:DigestValue>")));
        let si_start = xml.find("<ds:SignedInfo").unwrap();
        let si_end = xml.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
        let value = parsed.descendants().find(|n| n.has_tag_name((DSIG, "SignatureValue"))).unwrap().text().unwrap();
        let public = keys.upo_signing.private.public_key();
        assert!(public.verify_pkcs1_sha256(&xml.as_bytes()[si_start..si_end], &ksef_core::crypto::b64_decode(value).unwrap()));
    }
}
