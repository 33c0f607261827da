//! KSeF's codes, said once: the exception codes of its 400 answers, and the status codes of authentication
//! operations, sessions, invoices and exports, each with the description KSeF gives it.
//!
//! The emulator answers with these, the client and the gateway match on them; no other file spells a code.

/// Declares [`ExceptionCode`] from one table of `Name = code, "description"`.
macro_rules! exception_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $description:literal;)*) => {
        /// An exception code of a KSeF 400 answer (`exceptionCode` in the legacy body, `code` in problem details).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ExceptionCode {
            $($(#[$doc])* $name,)*
        }

        impl ExceptionCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ExceptionCode] = &[$(ExceptionCode::$name,)*];

            /// The number on the wire.
            pub const fn code(self) -> i32 {
                match self {
                    $(ExceptionCode::$name => $code,)*
                }
            }

            /// The description KSeF gives the code.
            pub const fn description(self) -> &'static str {
                match self {
                    $(ExceptionCode::$name => $description,)*
                }
            }

            /// The code with this number, if it is one we know.
            pub fn from_code(code: i32) -> Option<ExceptionCode> {
                match code {
                    $($code => Some(ExceptionCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

exception_codes! {
    /// The signed document is not one KSeF takes (not an enveloped signature of an `AuthTokenRequest`).
    InvalidDocument = 9101, "Nieprawidłowy dokument.";
    /// The document is not signed.
    NoSignature = 9102, "Brak podpisu.";
    /// The document has more than one signature.
    TooManySignatures = 9103, "Przekroczona liczba dozwolonych podpisów.";
    /// A digest or the signature value does not verify, or an algorithm is not accepted.
    InvalidSignature = 9105, "Nieprawidłowy podpis.";
    /// The request body cannot be read.
    UnreadableContent = 21001, "Nieczytelna treść.";
    /// The challenge is unknown, used or expired.
    InvalidChallenge = 21111, "Nieprawidłowe wyzwanie autoryzacyjne.";
    /// The signing certificate cannot be used (unreadable, not the one signed, an Offline certificate).
    InvalidCertificate = 21115, "Nieprawidłowy certyfikat.";
    /// The signer's identity does not fit the context's type.
    SubjectIdentifierForContext = 21117, "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.";
    /// The session holds the most invoices it may.
    SessionInvoiceLimit = 21155, "Przekroczono dozwoloną liczbę faktur w sesji.";
    /// A batch part's size is out of range or differs from what was declared.
    InvalidPartSize = 21157, "Nieprawidłowy rozmiar części pakietu.";
    /// A batch package declares too many parts.
    TooManyParts = 21161, "Przekroczono dozwoloną liczbę części pakietu.";
    /// No invoice with this KSeF number is visible in the context.
    InvoiceNotFound = 21164, "Faktura o podanym identyfikatorze nie istnieje.";
    /// The invoice is processed but cannot be downloaded yet.
    InvoiceNotYetAvailable = 21165, "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.";
    /// A technical correction is not possible.
    TechnicalCorrectionUnavailable = 21166, "Korekta techniczna niedostępna.";
    /// The corrected invoice's status does not allow a technical correction.
    TechnicalCorrectionRefused = 21167, "Status faktury nie pozwala na korektę techniczną.";
    /// No session with this reference number in the context.
    SessionNotFound = 21173, "Brak sesji o wskazanym numerze referencyjnym.";
    /// No query or export with this reference number.
    QueryResultNotFound = 21175, "Wynik zapytania o podanym identyfikatorze nie istnieje.";
    /// No UPO matches.
    UpoNotFound = 21178, "Nie znaleziono UPO dla podanych kryteriów.";
    /// The session's status forbids the operation (sending into or closing a session that is not open).
    SessionStatusForbids = 21180, "Status sesji nie pozwala na wykonanie operacji.";
    /// The export request is not allowed (e.g. a subject type the context cannot ask for).
    InvalidExportRequest = 21181, "Nieprawidłowe żądanie eksportu faktur.";
    /// Too many exports in progress.
    ExportLimit = 21182, "Osiągnięto limit trwających eksportów.";
    /// The range starts after the high-water mark.
    RangeBeyondData = 21183, "Zakres filtrowania wykracza poza dostępny zakres danych.";
    /// A declared batch part was never uploaded.
    EmptyPackage = 21205, "Pakiet nie może być pusty.";
    /// The batch upload window closed before the session was closed.
    UploadTimeout = 21208, "Czas oczekiwania na requesty upload lub finish został przekroczony.";
    /// The document is not UTF-8.
    InvalidEncoding = 21217, "Nieprawidłowe kodowanie znaków.";
    /// Tokens cannot be issued (already redeemed, failed operation, revoked KSeF token).
    Unauthorized = 21301, "Brak autoryzacji.";
    /// The authentication operation is unknown.
    Unauthenticated = 21304, "Brak uwierzytelnienia.";
    /// The authentication uses a deceased person's credentials.
    DeceasedPerson = 21308, "Próba wykorzystania metod autoryzacyjnych osoby zmarłej.";
    /// The signed document departs from its schema.
    SchemaViolation = 21401, "Dokument nie jest zgodny ze schemą (xsd).";
    /// A size does not match the content.
    InvalidFileSize = 21402, "Nieprawidłowy rozmiar pliku.";
    /// A hash does not match the content.
    InvalidFileHash = 21403, "Nieprawidłowy skrót pliku.";
    /// Input validation failed.
    Validation = 21405, "Błąd walidacji danych wejściowych.";
    /// The certificate cannot identify the signer the way the request says.
    SignatureAuthenticationConflict = 21406, "Konflikt podpisu i typu uwierzytelnienia.";
    /// The continuation token cannot be read.
    InvalidContinuationToken = 21418, "Przekazany token kontynuacji ma nieprawidłowy format.";
    /// The `publicKeyId` is unknown or withdrawn: fetch KSeF's certificates again.
    UnknownPublicKey = 21470, "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.";
    /// Enrollment data exists only for certificate logins.
    EnrollmentDataUnavailable = 25001, "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia.";
    /// Enrollment takes a certificate login.
    EnrollmentUnavailable = 25002, "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu uwierzytelnienia.";
    /// The request's subject is not the enrollment data.
    CsrSubjectMismatch = 25003, "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.";
    /// The request is malformed or its signature does not verify.
    InvalidCsr = 25004, "Niepoprawny format CSR lub niepoprawny podpis CSR.";
    /// No such enrollment.
    EnrollmentNotFound = 25005, "Wniosek certyfikacyjny o podanym numerze referencyjnym nie istnieje.";
    /// Too many enrollments.
    EnrollmentLimit = 25006, "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.";
    /// Too many active certificates.
    CertificateLimit = 25007, "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.";
    /// No such certificate.
    CertificateNotFound = 25008, "Certyfikat o podanym numerze seryjnym nie istnieje.";
    /// The certificate is revoked, blocked or expired already.
    CertificateNotRevocable = 25009, "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny.";
    /// A key other than RSA 2048 or EC P-256.
    InvalidKey = 25010, "Nieprawidłowy typ lub długość klucza.";
    /// The request is signed by an algorithm not accepted.
    InvalidCsrAlgorithm = 25011, "Nieprawidłowy algorytm podpisu CSR.";
    /// A token may carry only permissions its maker holds.
    TokenPermissionsNotHeld = 26001, "Nie można nadać tokenowi uprawnień których nie posiadasz.";
    /// Tokens exist only in NIP and internal-identifier contexts.
    TokenContextType = 26002, "Nie można wygenerować tokena dla obecnego typu kontekstu.";
    /// Test data that exists already.
    TestDataExists = 30001, "Podmiot lub uprawnienie już istnieje.";
}

/// A status code with the description KSeF gives it in one context (the same code may read differently for
/// online and batch sessions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// The code.
    pub code: i32,
    /// KSeF's description.
    pub description: &'static str,
}

impl Status {
    const fn new(code: i32, description: &'static str) -> Status {
        Status { code, description }
    }

    /// Whether `code` is this status.
    pub const fn is(self, code: i32) -> bool {
        self.code == code
    }
}

/// Statuses of an authentication operation (`GET /auth/{referenceNumber}`).
pub mod auth {
    use super::Status;

    /// In progress.
    pub const IN_PROGRESS: Status = Status::new(100, "Uwierzytelnianie w toku");
    /// Succeeded: the tokens can be redeemed.
    pub const SUCCEEDED: Status = Status::new(200, "Uwierzytelnianie zakończone sukcesem");
    /// The subject has no permissions in the context.
    pub const NO_PERMISSIONS: Status = Status::new(415, "Uwierzytelnianie zakończone niepowodzeniem");
    /// The KSeF token was wrong, inactive or revoked, or the challenge did not match.
    pub const BAD_TOKEN: Status = Status::new(450, "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu");
    /// The certificate is invalid, untrusted, revoked or malformed.
    pub const BAD_CERTIFICATE: Status =
        Status::new(460, "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu");
    /// The authentication was revoked with its refresh tokens.
    pub const REVOKED: Status = Status::new(425, "Uwierzytelnienie unieważnione");
    /// A deceased person's credentials.
    pub const DECEASED: Status = Status::new(470, "Uwierzytelnianie zakończone niepowodzeniem");
    /// The context is blocked.
    pub const BLOCKED: Status = Status::new(480, "Uwierzytelnienie zablokowane");
    /// An unknown error.
    pub const UNKNOWN_ERROR: Status = Status::new(500, "Nieznany błąd");

    /// The detail of [`NO_PERMISSIONS`].
    pub const NO_PERMISSIONS_DETAIL: &str = "Brak przypisanych uprawnień";
}

/// Statuses of a certificate enrollment (`GET /certificates/enrollments/{referenceNumber}`).
pub mod enrollment {
    use super::Status;

    /// Received.
    pub const RECEIVED: Status = Status::new(100, "Wniosek przyjęty do realizacji");
    /// The certificate is issued.
    pub const ISSUED: Status = Status::new(200, "Wniosek obsłużony (certyfikat wygenerowany)");
    /// Refused.
    pub const REFUSED: Status = Status::new(400, "Wniosek odrzucony");
}

/// Statuses of a permission operation (`GET /permissions/operations/{referenceNumber}`).
pub mod permission {
    use super::Status;

    /// Received.
    pub const RECEIVED: Status = Status::new(100, "Operacja przyjęta do realizacji");
    /// Done.
    pub const DONE: Status = Status::new(200, "Operacja zakończona sukcesem");
    /// The identifiers do not go together.
    pub const MISMATCHED_IDENTIFIERS: Status = Status::new(410, "Podane identyfikatory są niezgodne lub pozostają w niewłaściwej relacji");
    /// The credentials may not do it.
    pub const NOT_PERMITTED: Status = Status::new(420, "Użyte poświadczenia nie mają uprawnień do wykonania tej operacji");
    /// The context lacks the role it takes.
    pub const WRONG_ROLE: Status = Status::new(430, "Kontekst identyfikatora nie odpowiada wymaganej roli lub uprawnieniom");
    /// Not allowed for these identifiers' relations.
    pub const NOT_ALLOWED_FOR_RELATION: Status = Status::new(440, "Operacja niedozwolona dla wskazanych powiązań identyfikatorów");
}

/// Statuses of a session (`GET /sessions/{referenceNumber}`).
pub mod session {
    use super::Status;

    /// An online session is open and takes invoices.
    pub const ONLINE_OPEN: Status = Status::new(100, "Sesja interaktywna otwarta");
    /// A batch session is open and takes its parts.
    pub const BATCH_OPEN: Status = Status::new(100, "Sesja wsadowa rozpoczęta");
    /// A closed batch session's package is being processed.
    pub const PROCESSING: Status = Status::new(150, "Trwa przetwarzanie");
    /// An online session is closed; its UPO is being made.
    pub const ONLINE_CLOSED: Status = Status::new(170, "Sesja interaktywna zamknięta");
    /// An online session is processed: its UPO is ready.
    pub const ONLINE_PROCESSED: Status = Status::new(200, "Sesja interaktywna przetworzona pomyślnie");
    /// A batch session is processed: its UPO is ready.
    pub const BATCH_PROCESSED: Status = Status::new(200, "Sesja wsadowa przetworzona pomyślnie");
    /// A part's or the package's hash or size is wrong, or the package holds what is not an invoice file.
    pub const PACKAGE_INVALID: Status = Status::new(405, "Błąd weryfikacji poprawności dostarczonych elementów paczki");
    /// The session key does not decrypt.
    pub const KEY_DECRYPTION_FAILED: Status = Status::new(415, "Błąd odszyfrowania dostarczonego klucza");
    /// The package holds more invoices than a session takes.
    pub const INVOICE_LIMIT_EXCEEDED: Status = Status::new(420, "Przekroczony limit faktur w sesji");
    /// The package is not a readable archive.
    pub const DECOMPRESSION_FAILED: Status = Status::new(430, "Błąd dekompresji pierwotnego archiwum");
    /// A part does not decrypt.
    pub const PART_DECRYPTION_FAILED: Status = Status::new(435, "Błąd odszyfrowania zaszyfrowanych części archiwum");
    /// Cancelled: no invoices were sent, or the upload window closed (see the details).
    pub const CANCELLED: Status = Status::new(440, "Sesja anulowana");
    /// Processed, but no invoice was valid.
    pub const NO_VALID_INVOICES: Status = Status::new(445, "Błąd weryfikacji, brak poprawnych faktur");
    /// An unknown error.
    pub const UNKNOWN_ERROR: Status = Status::new(500, "Nieznany błąd (500)");

    /// The detail of a session cancelled with no invoices.
    pub const NO_INVOICES_SENT: &str = "Nie przesłano faktur";
    /// The detail of a batch session cancelled because its parts and close did not arrive in time.
    pub const UPLOAD_TIME_EXCEEDED: &str = "Przekroczono czas wysyłki";

    /// Whether a session with status `code` may still change (100 open, 150 processing, 170 closed).
    pub const fn in_progress(code: i32) -> bool {
        matches!(code, 100 | 150 | 170)
    }

    /// The codes of failed sessions, as `GET /sessions?statuses=Failed` selects them.
    pub const FAILED_CODES: &[i32] = &[405, 415, 420, 430, 435, 445, 500];
}

/// Statuses of an invoice in a session (`GET /sessions/{ref}/invoices/{invoiceRef}`).
pub mod invoice {
    use super::Status;

    /// Received, waiting for processing.
    pub const RECEIVED: Status = Status::new(100, "Faktura przyjęta do dalszego przetwarzania");
    /// Being processed.
    pub const PROCESSING: Status = Status::new(150, "Trwa przetwarzanie");
    /// Accepted: it has a KSeF number.
    pub const ACCEPTED: Status = Status::new(200, "Sukces");
    /// The context may not issue invoices for this seller.
    pub const PERMISSION_SCOPE: Status = Status::new(410, "Nieprawidłowy zakres uprawnień");
    /// An invoice with attachments in an online session.
    pub const ATTACHMENT_NOT_ALLOWED: Status = Status::new(415, "Brak możliwości wysyłania faktury z załącznikiem");
    /// Not well-formed, not valid against the schema, or too large.
    pub const FILE_INVALID: Status = Status::new(430, "Błąd weryfikacji pliku faktury");
    /// The invoice does not decrypt with the session key.
    pub const DECRYPTION_FAILED: Status = Status::new(435, "Błąd odszyfrowania pliku");
    /// A duplicate of an accepted invoice (same seller, kind and number); `extensions` name the original.
    pub const DUPLICATE: Status = Status::new(440, "Duplikat faktury");
    /// A rule beyond the schema that KSeF enforces failed.
    pub const SEMANTIC_INVALID: Status = Status::new(450, "Błąd weryfikacji semantyki dokumentu faktury");
    /// An unknown error.
    pub const UNKNOWN_ERROR: Status = Status::new(500, "Nieznany błąd");

    /// The extension naming a duplicate's original KSeF number.
    pub const ORIGINAL_KSEF_NUMBER: &str = "originalKsefNumber";
    /// The extension naming a duplicate's original session.
    pub const ORIGINAL_SESSION_REFERENCE: &str = "originalSessionReferenceNumber";

    /// Whether an invoice with status `code` may still change (100 received, 150 processing).
    pub const fn in_progress(code: i32) -> bool {
        matches!(code, 100 | 150)
    }
}

/// Statuses of an invoice export (`GET /invoices/exports/{referenceNumber}`).
pub mod export {
    use super::Status;

    /// Being built.
    pub const IN_PROGRESS: Status = Status::new(100, "Eksport faktur w trakcie");
    /// Ready to download.
    pub const READY: Status = Status::new(200, "Eksport faktur zakończony sukcesem");
    /// The package expired.
    pub const EXPIRED: Status = Status::new(210, "Eksport wygasł i nie jest już dostępny do pobrania");
    /// The key does not decrypt.
    pub const KEY_DECRYPTION_FAILED: Status = Status::new(415, "Błąd odszyfrowania dostarczonego klucza");
    /// The range starts after the high-water mark.
    pub const RANGE_BEYOND_DATA: Status = Status::new(420, "Zakres filtrowania wykracza poza dostępny zakres danych");
    /// An unknown error.
    pub const UNKNOWN_ERROR: Status = Status::new(500, "Nieznany błąd (500)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exception_code_reads_back_from_its_number() {
        for &code in ExceptionCode::ALL {
            assert_eq!(ExceptionCode::from_code(code.code()), Some(code));
            assert!(code.description().ends_with('.'), "{code:?}");
        }
        assert_eq!(ExceptionCode::from_code(1), None);
        let numbers: Vec<i32> = ExceptionCode::ALL.iter().map(|c| c.code()).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "the table is in numeric order");
    }
}
