//! The error codes of our API: the seed's 29 codes (ksef24 REST API 2.1, "Error messages") and the codes of
//! our own for what the seed does not name (webhooks and events 14xx, received invoices 15xx; authentication,
//! malformed requests, idempotency 19xx).
//! One table, so the documentation, the responses and the tests cannot disagree.

/// An error code with its symbolic name, description and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 1001: the KSeF authorization challenge could not be obtained.
    AuthChallenge,
    /// 1002: the initialization vector has an invalid length.
    AesIvLength,
    /// 1003: the symmetric key has an invalid length.
    AesKeyLength,
    /// 1004: the KSeF public key could not be retrieved.
    KsefPublicKey,
    /// 1005: a value is not valid base64.
    B64Decode,
    /// 1101: the answer to the KSeF authorization challenge could not be prepared.
    SessionToken,
    /// 1102: a new KSeF session could not be initialized.
    SessionInit,
    /// 1103: KSeF did not create the session.
    SessionOpen,
    /// 1104: KSeF returned no session reference number.
    SessionRefNum,
    /// 1105: the session status could not be retrieved from KSeF.
    SessionStatus,
    /// 1106: the session could not be closed in KSeF.
    SessionClose,
    /// 1107: the UPO could not be downloaded from KSeF.
    SessionUpo,
    /// 1108: the gateway could not record session data.
    SessionSave,
    /// 1109: no such session.
    SessionUnknown,
    /// 1110: the session belongs to another tenant.
    SessionAccess,
    /// 1111: there is no UPO (yet) for the session.
    SessionNoUpo,
    /// 1201: unsupported invoice schema version.
    InvoiceVersion,
    /// 1202: the invoice is too large.
    InvoiceSize,
    /// 1203: the invoice is not in the expected format.
    InvoiceFormat,
    /// 1204: the invoice could not be sent to KSeF.
    InvoiceSend,
    /// 1205: the invoice status could not be retrieved from KSeF.
    InvoiceStatus,
    /// 1206: the gateway could not record invoice data.
    InvoiceSave,
    /// 1207: no such invoice.
    InvoiceUnknown,
    /// 1208: required invoice data is missing.
    InvoiceInput,
    /// 1209: the invoice could not be visualized.
    InvoiceVisualize,
    /// 1301: invalid or incomplete search criteria.
    QueryInvoiceParams,
    /// 1302: the search could not be started.
    QueryInvoiceInit,
    /// 1303: the search status could not be retrieved.
    QueryInvoiceStatus,
    /// 1304: the search result could not be retrieved.
    QueryInvoiceResult,
    /// 1401 (ours): no such webhook, or no such delivery of it.
    WebhookUnknown,
    /// 1402 (ours): a webhook subscription that cannot be accepted (every problem listed).
    WebhookInvalid,
    /// 1403 (ours): an events cursor or filter that is not valid.
    EventQuery,
    /// 1501 (ours): no such received invoice.
    ReceivedUnknown,
    /// 1502 (ours): a filter of received invoices that is not valid.
    ReceivedQuery,
    /// 1503 (ours): a verification request without a link, or with evidence that cannot be read.
    VerifyInput,
    /// 1601 (ours): no such tenant (admin API).
    TenantUnknown,
    /// 1901 (ours): no API key, or not a valid one.
    ApiKey,
    /// 1902 (ours): the request is not valid JSON of the documented shape.
    RequestInvalid,
    /// 1903 (ours): an `Idempotency-Key` reused with a different request.
    IdempotencyMismatch,
    /// 1904 (ours): the first request with this `Idempotency-Key` is still running.
    IdempotencyInProgress,
    /// 1905 (ours): too much at once: a tenant's share of heavy work, or repeated wrong API keys from one address.
    TooManyRequests,
    /// 1906 (ours): no operator key, or not a valid one (admin API).
    OperatorKey,
    /// 1907 (ours): a console form that did not come from the console (cross-site request), or a sign-in that ended.
    CrossSite,
    /// 1999 (ours): an unexpected failure inside the gateway.
    Internal,
}

impl ErrorCode {
    /// Every code, in numeric order (for documentation and tests).
    pub const ALL: [ErrorCode; 44] = [
        ErrorCode::AuthChallenge,
        ErrorCode::AesIvLength,
        ErrorCode::AesKeyLength,
        ErrorCode::KsefPublicKey,
        ErrorCode::B64Decode,
        ErrorCode::SessionToken,
        ErrorCode::SessionInit,
        ErrorCode::SessionOpen,
        ErrorCode::SessionRefNum,
        ErrorCode::SessionStatus,
        ErrorCode::SessionClose,
        ErrorCode::SessionUpo,
        ErrorCode::SessionSave,
        ErrorCode::SessionUnknown,
        ErrorCode::SessionAccess,
        ErrorCode::SessionNoUpo,
        ErrorCode::InvoiceVersion,
        ErrorCode::InvoiceSize,
        ErrorCode::InvoiceFormat,
        ErrorCode::InvoiceSend,
        ErrorCode::InvoiceStatus,
        ErrorCode::InvoiceSave,
        ErrorCode::InvoiceUnknown,
        ErrorCode::InvoiceInput,
        ErrorCode::InvoiceVisualize,
        ErrorCode::QueryInvoiceParams,
        ErrorCode::QueryInvoiceInit,
        ErrorCode::QueryInvoiceStatus,
        ErrorCode::QueryInvoiceResult,
        ErrorCode::WebhookUnknown,
        ErrorCode::WebhookInvalid,
        ErrorCode::EventQuery,
        ErrorCode::ReceivedUnknown,
        ErrorCode::ReceivedQuery,
        ErrorCode::VerifyInput,
        ErrorCode::TenantUnknown,
        ErrorCode::ApiKey,
        ErrorCode::RequestInvalid,
        ErrorCode::IdempotencyMismatch,
        ErrorCode::IdempotencyInProgress,
        ErrorCode::TooManyRequests,
        ErrorCode::OperatorKey,
        ErrorCode::CrossSite,
        ErrorCode::Internal,
    ];

    /// (number, symbolic name, description, HTTP status).
    fn parts(self) -> (u16, &'static str, &'static str, u16) {
        use ErrorCode as E;
        match self {
            E::AuthChallenge => (1001, "AUTH_CHALLENGE", "Failed to download the authorization challenge from the KSeF system", 502),
            E::AesIvLength => (1002, "AES_IV_LENGTH", "The initialization vector has an invalid length", 400),
            E::AesKeyLength => (1003, "AES_KEY_LENGTH", "The symmetric key has an invalid length", 400),
            E::KsefPublicKey => (1004, "KSEF_PUBLIC_KEY", "Failed to retrieve the KSeF public key", 502),
            E::B64Decode => (1005, "B64_DECODE", "Invalid base64 encoding of values", 400),
            E::SessionToken => (1101, "SESSION_TOKEN", "Failed to prepare a response to the authorization challenge for the KSeF system", 502),
            E::SessionInit => (1102, "SESSION_INIT", "Failed to initialize a new session in the KSeF system", 502),
            E::SessionOpen => (1103, "SESSION_OPEN", "Failed to create a new session in the KSeF system", 502),
            E::SessionRefNum => (1104, "SESSION_REF_NUM", "Missing new KSeF session ID", 502),
            E::SessionStatus => (1105, "SESSION_STATUS", "Failed to retrieve the current session status from the KSeF system", 502),
            E::SessionClose => (1106, "SESSION_CLOSE", "Failed to close the session in the KSeF system", 502),
            E::SessionUpo => (1107, "SESSION_UPO", "Failed to download UPO from the KSeF system", 502),
            E::SessionSave => (1108, "SESSION_SAVE", "Failed to update KSeF session data", 500),
            E::SessionUnknown => (1109, "SESSION_UNKNOWN", "Unknown KSeF session ID", 404),
            E::SessionAccess => (1110, "SESSION_ACCESS", "The user does not have access to the specified session", 403),
            E::SessionNoUpo => (1111, "SESSION_NO_UPO", "No UPO", 409),
            E::InvoiceVersion => (1201, "INVOICE_VERSION", "Incorrect invoice format version", 400),
            E::InvoiceSize => (1202, "INVOICE_SIZE", "The invoice is of an unacceptable size", 413),
            E::InvoiceFormat => (1203, "INVOICE_FORMAT", "The invoice has an incorrect format", 400),
            E::InvoiceSend => (1204, "INVOICE_SEND", "Failed to send the invoice to the KSeF system", 502),
            E::InvoiceStatus => (1205, "INVOICE_STATUS", "Failed to download the current invoice status from the KSeF system", 502),
            E::InvoiceSave => (1206, "INVOICE_SAVE", "Failed to update invoice details", 500),
            E::InvoiceUnknown => (1207, "INVOICE_UNKNOWN", "Unknown invoice ID", 404),
            E::InvoiceInput => (1208, "INVOICE_INPUT", "Missing required invoice metadata", 400),
            E::InvoiceVisualize => (1209, "INVOICE_VISUALIZE", "Failed to generate invoice visualization", 400),
            E::QueryInvoiceParams => (1301, "QUERY_INVOICE_PARAMS", "Incorrect or incomplete invoice search criteria", 400),
            E::QueryInvoiceInit => (1302, "QUERY_INVOICE_INIT", "Failed to start the invoice search process", 502),
            E::QueryInvoiceStatus => (1303, "QUERY_INVOICE_STATUS", "Failed to retrieve the status of the invoice search process", 502),
            E::QueryInvoiceResult => (1304, "QUERY_INVOICE_RESULT", "Failed to retrieve invoice search result", 502),
            E::WebhookUnknown => (1401, "WEBHOOK_UNKNOWN", "Unknown webhook or delivery", 404),
            E::WebhookInvalid => (1402, "WEBHOOK_INVALID", "The webhook subscription is not valid", 400),
            E::EventQuery => (1403, "EVENT_QUERY", "Invalid event cursor or filter", 400),
            E::ReceivedUnknown => (1501, "RECEIVED_UNKNOWN", "Unknown received invoice", 404),
            E::ReceivedQuery => (1502, "RECEIVED_QUERY", "Invalid filter of received invoices", 400),
            E::VerifyInput => (1503, "VERIFY_INPUT", "The verification request is not valid", 400),
            E::TenantUnknown => (1601, "TENANT_UNKNOWN", "Unknown tenant", 404),
            E::ApiKey => (1901, "API_KEY", "Missing or invalid API key", 401),
            E::RequestInvalid => (1902, "REQUEST_INVALID", "The request is not valid JSON of the documented shape", 400),
            E::IdempotencyMismatch => (1903, "IDEMPOTENCY_MISMATCH", "The Idempotency-Key was used with a different request", 422),
            E::IdempotencyInProgress => (1904, "IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is still in progress", 409),
            E::TooManyRequests => (1905, "TOO_MANY_REQUESTS", "Too many requests at once; retry after the time in Retry-After", 429),
            E::OperatorKey => (1906, "OPERATOR_KEY", "Missing or invalid operator key", 401),
            E::CrossSite => (1907, "CROSS_SITE", "The form did not come from the console, or its sign-in ended", 403),
            E::Internal => (1999, "INTERNAL", "Unexpected error in the gateway", 500),
        }
    }

    /// The number, e.g. 1109.
    pub fn code(self) -> u16 {
        self.parts().0
    }

    /// The symbolic name, e.g. `SESSION_UNKNOWN`.
    pub fn name(self) -> &'static str {
        self.parts().1
    }

    /// The description, as the seed words it.
    pub fn description(self) -> &'static str {
        self.parts().2
    }

    /// The HTTP status it is answered with.
    pub fn http_status(self) -> u16 {
        self.parts().3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_ordered_and_carry_the_seed_numbers() {
        let numbers: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        let seed: Vec<u16> = numbers.iter().copied().filter(|n| *n < 1400).collect();
        assert_eq!(seed.len(), 29, "the seed defines 29 codes");
        assert_eq!((ErrorCode::SessionUnknown.code(), ErrorCode::SessionUnknown.name()), (1109, "SESSION_UNKNOWN"));
        assert!(ErrorCode::ALL.iter().all(|c| (400..=599).contains(&c.http_status())));
    }
}
