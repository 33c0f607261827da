-- The gateway's state on SQLite. Instants are microseconds since the Unix epoch (UTC); ids are UUIDs as text.
-- Keep in step with ../postgres/0001_initial.sql.

CREATE TABLE tenants (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    nip               TEXT NOT NULL,
    ksef_token_sealed BLOB NOT NULL,        -- AES-256-GCM under the master key; never stored in clear
    created_at        INTEGER NOT NULL
);

CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,            -- base64 SHA-256 of the key; the key itself is shown once
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    prefix     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    ksef_reference     TEXT,
    invoice_version    TEXT NOT NULL,
    key_mode           TEXT NOT NULL,       -- caller | gateway
    sealed_key         BLOB,                -- gateway mode: the AES key sealed under the master key
    iv                 BLOB,
    status_code        INTEGER,
    status_description TEXT,
    status_details     TEXT,
    invoice_count      INTEGER,
    successful_count   INTEGER,
    failed_count       INTEGER,
    created_at         INTEGER NOT NULL,
    closed_at          INTEGER,
    upo                BLOB
);
CREATE INDEX sessions_by_tenant ON sessions (tenant_id, created_at);

CREATE TABLE invoices (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    session_id             TEXT NOT NULL REFERENCES sessions (id),
    invoice_hash           TEXT NOT NULL,
    invoice_size           INTEGER NOT NULL,
    state                  TEXT NOT NULL,   -- sending | sent | send_failed
    payload                BLOB,            -- the encrypted invoice, kept until KSeF has it
    ksef_reference         TEXT,
    send_error             TEXT,
    status_code            INTEGER,
    status_description     TEXT,
    status_details         TEXT,
    status_extensions      TEXT,
    ordinal                INTEGER,
    invoice_number         TEXT,
    ksef_number            TEXT,
    acquisition_date       INTEGER,
    permanent_storage_date INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (session_id, invoice_hash)
);
CREATE INDEX invoices_by_session ON invoices (session_id, created_at);

CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER,                   -- NULL while the first request is in progress
    content_type TEXT,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
