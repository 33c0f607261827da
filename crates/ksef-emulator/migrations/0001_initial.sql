-- The emulator's whole state. Instants are microseconds since the Unix epoch (UTC).

CREATE TABLE ksef_tokens (
    reference_number TEXT PRIMARY KEY,
    token_hash       TEXT NOT NULL UNIQUE,      -- base64 SHA-256 of the whole token; the token itself is never stored
    context_type     TEXT NOT NULL,
    context_value    TEXT NOT NULL,
    permissions      TEXT NOT NULL,             -- comma-separated TokenPermission names
    description      TEXT NOT NULL,
    status           TEXT NOT NULL,             -- Active | Revoked
    created_at       INTEGER NOT NULL
);

CREATE TABLE challenges (
    challenge    TEXT PRIMARY KEY,
    timestamp_ms INTEGER NOT NULL,
    client_ip    TEXT NOT NULL,
    used         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE auth_operations (
    reference_number    TEXT PRIMARY KEY,
    context_type        TEXT NOT NULL,
    context_value       TEXT NOT NULL,
    token_reference     TEXT,
    permissions         TEXT NOT NULL,
    status_code         INTEGER NOT NULL,
    status_description  TEXT NOT NULL,
    status_details      TEXT,                   -- JSON array
    started_at          INTEGER NOT NULL,
    redeemed            INTEGER NOT NULL DEFAULT 0,
    refresh_valid_until INTEGER,
    last_refresh_at     INTEGER
);

CREATE TABLE sessions (
    reference_number   TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,           -- Online | Batch
    context_type       TEXT NOT NULL,
    context_value      TEXT NOT NULL,
    auth_reference     TEXT NOT NULL,
    token_reference    TEXT,
    system_code        TEXT NOT NULL,
    schema_version     TEXT NOT NULL,
    form_value         TEXT NOT NULL,
    encrypted_key      BLOB NOT NULL,           -- as the client wrapped it: the AES key is never stored in clear
    iv                 BLOB NOT NULL,
    status_code        INTEGER NOT NULL,
    status_description TEXT NOT NULL,
    status_details     TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    valid_until        INTEGER NOT NULL,
    closed_at          INTEGER,
    invoice_count      INTEGER NOT NULL DEFAULT 0,
    successful_count   INTEGER NOT NULL DEFAULT 0,
    failed_count       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_context ON sessions (context_value, created_at);
CREATE INDEX sessions_closing ON sessions (status_code) WHERE status_code IN (100, 170);

CREATE TABLE invoices (
    reference_number       TEXT PRIMARY KEY,
    session_reference      TEXT NOT NULL REFERENCES sessions (reference_number),
    ordinal                INTEGER NOT NULL,
    invoice_hash           TEXT NOT NULL,
    invoice_size           INTEGER NOT NULL,
    content                BLOB,                -- the exact bytes received; NULL when they could not be decrypted
    status_code            INTEGER NOT NULL,
    status_description     TEXT NOT NULL,
    status_details         TEXT,
    status_extensions      TEXT,                -- JSON object
    invoicing_date         INTEGER NOT NULL,
    acquisition_date       INTEGER,
    permanent_storage_date INTEGER,
    ksef_number            TEXT UNIQUE,
    invoice_number         TEXT,
    seller_nip             TEXT,
    invoice_kind           TEXT,
    issue_date             TEXT,
    invoicing_mode         TEXT NOT NULL,
    offline_requested      INTEGER NOT NULL DEFAULT 0,
    hash_of_corrected      TEXT,
    file_name              TEXT,
    metadata               TEXT,                -- JSON InvoiceMetadata, once accepted
    UNIQUE (session_reference, ordinal)
);
CREATE INDEX invoices_pending ON invoices (status_code) WHERE status_code IN (100, 150);
CREATE UNIQUE INDEX invoices_no_duplicates ON invoices (seller_nip, invoice_kind, invoice_number) WHERE status_code = 200;
CREATE INDEX invoices_by_storage ON invoices (permanent_storage_date);
CREATE INDEX invoices_by_hash ON invoices (session_reference, invoice_hash);

-- Which contexts may find an invoice, and in which role (Subject1 seller, Subject2 buyer, Subject3 third party, SubjectAuthorized).
CREATE TABLE invoice_parties (
    subject_type      TEXT NOT NULL,
    identifier        TEXT NOT NULL,
    invoice_reference TEXT NOT NULL REFERENCES invoices (reference_number),
    PRIMARY KEY (subject_type, identifier, invoice_reference)
);

CREATE TABLE upo_pages (
    reference_number  TEXT PRIMARY KEY,
    session_reference TEXT NOT NULL REFERENCES sessions (reference_number),
    page              INTEGER NOT NULL,
    content           BLOB NOT NULL,
    content_hash      TEXT NOT NULL,
    UNIQUE (session_reference, page)
);

CREATE TABLE exports (
    reference_number   TEXT PRIMARY KEY,
    context_type       TEXT NOT NULL,
    context_value      TEXT NOT NULL,
    request            TEXT NOT NULL,           -- JSON InvoiceExportRequest
    status_code        INTEGER NOT NULL,
    status_description TEXT NOT NULL,
    status_details     TEXT,
    created_at         INTEGER NOT NULL,
    completed_at       INTEGER,
    expires_at         INTEGER,
    package            TEXT                     -- JSON InvoicePackage, part URLs left empty
);
CREATE INDEX exports_pending ON exports (status_code) WHERE status_code = 100;
