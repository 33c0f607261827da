//! Payloads exactly as third-party clients send them must read; what we write must carry what they need.

use ksef_wire::auth::InitTokenAuthenticationRequest;
use ksef_wire::invoices::{InvoiceExportRequest, InvoiceQueryDateType, InvoiceQuerySubjectType};
use ksef_wire::sessions::{SendInvoiceRequest, SessionStatusResponse};

#[test]
fn explicit_nulls_read_as_absent_fields() {
    // ksef2 1.1.0 sends `null` for every unset optional field.
    let body = r#"{"challenge":"20250514-CR-226FB7B000-3ACF9BE4C0-10",
        "contextIdentifier":{"type":"Nip","value":"5265877635"},
        "encryptedToken":"AAAA","publicKeyId":null,"authorizationPolicy":null}"#;
    let req: InitTokenAuthenticationRequest = serde_json::from_str(body).unwrap();
    assert_eq!(req.public_key_id, None);
    assert_eq!(req.authorization_policy, None);

    let export = r#"{"encryption":{"encryptedSymmetricKey":"a","initializationVector":"b","publicKeyId":null},
        "onlyMetadata":false,"compressionType":null,
        "filters":{"subjectType":"Subject1","dateRange":{"dateType":"PermanentStorage",
            "from":"2026-11-25T09:27:36.734462Z","to":"2026-11-25T09:37:36.734462Z","restrictToPermanentStorageHwmDate":null},
          "ksefNumber":null,"invoiceNumber":null,"amount":null,"sellerNip":null,"buyerIdentifier":null,
          "currencyCodes":null,"invoicingMode":null,"isSelfInvoicing":null,"formType":null,"invoiceTypes":null,"hasAttachment":null}}"#;
    let req: InvoiceExportRequest = serde_json::from_str(export).unwrap();
    assert_eq!(req.filters.subject_type, InvoiceQuerySubjectType::Subject1);
    assert_eq!(req.filters.date_range.date_type, InvoiceQueryDateType::PermanentStorage);
    assert!(req.filters.date_range.to.is_some());
    assert_eq!(req.compression_type, None);

    let send = r#"{"invoiceHash":"h","invoiceSize":1,"encryptedInvoiceHash":"e","encryptedInvoiceSize":16,
        "encryptedInvoiceContent":"c","offlineMode":false,"hashOfCorrectedInvoice":null}"#;
    let req: SendInvoiceRequest = serde_json::from_str(send).unwrap();
    assert_eq!(req.offline_mode, Some(false));
}

#[test]
fn written_statuses_omit_absent_fields_and_carry_offsets() {
    let status = SessionStatusResponse {
        status: ksef_wire::StatusInfo { code: 100, description: "Sesja interaktywna otwarta".into(), details: None },
        date_created: "2026-11-25T09:00:00Z".parse().unwrap(),
        date_updated: "2026-11-25T09:00:01Z".parse().unwrap(),
        valid_until: None,
        upo: None,
        invoice_count: Some(1),
        successful_invoice_count: Some(1),
        failed_invoice_count: None,
    };
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["dateCreated"], "2026-11-25T09:00:00.000000+00:00");
    assert!(json.get("failedInvoiceCount").is_none());
    assert!(json.get("upo").is_none());
}
