-- The gateway's state on PostgreSQL. Instants are microseconds since the Unix epoch (UTC); ids are UUIDs as text.
-- Keep in step with ../sqlite/0001_initial.sql.

CREATE TABLE tenants (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    nip               TEXT NOT NULL,
    ksef_token_sealed BYTEA NOT NULL,        -- AES-256-GCM under the master key; never stored in clear
    created_at        BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,            -- base64 SHA-256 of the key; the key itself is shown once
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    prefix     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    ksef_reference     TEXT,
    invoice_version    TEXT NOT NULL,
    key_mode           TEXT NOT NULL,       -- caller | gateway
    sealed_key         BYTEA,                -- gateway mode: the AES key sealed under the master key
    iv                 BYTEA,
    status_code        BIGINT,
    status_description TEXT,
    status_details     TEXT,
    invoice_count      BIGINT,
    successful_count   BIGINT,
    failed_count       BIGINT,
    created_at         BIGINT NOT NULL,
    closed_at          BIGINT,
    upo                BYTEA
);
CREATE INDEX sessions_by_tenant ON sessions (tenant_id, created_at);

CREATE TABLE invoices (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    session_id             TEXT NOT NULL REFERENCES sessions (id),
    invoice_hash           TEXT NOT NULL,
    invoice_size           BIGINT NOT NULL,
    state                  TEXT NOT NULL,   -- sending | sent | send_failed
    payload                BYTEA,            -- the encrypted invoice, kept until KSeF has it
    ksef_reference         TEXT,
    send_error             TEXT,
    status_code            BIGINT,
    status_description     TEXT,
    status_details         TEXT,
    status_extensions      TEXT,
    ordinal                BIGINT,
    invoice_number         TEXT,
    ksef_number            TEXT,
    acquisition_date       BIGINT,
    permanent_storage_date BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    UNIQUE (session_id, invoice_hash)
);
CREATE INDEX invoices_by_session ON invoices (session_id, created_at);

CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT,                   -- NULL while the first request is in progress
    content_type TEXT,
    body         BYTEA,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
