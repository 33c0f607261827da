-- The operator's console and admin API: operator keys (kept apart from tenants' API keys), the audit log of
-- admin actions, console sign-ins, and tenants the operator disabled (their API keys stop working).
-- Keep in step with ../postgres/0009_console.sql.

ALTER TABLE tenants ADD COLUMN disabled_at INTEGER;

CREATE TABLE operator_keys (
    key_hash   TEXT PRIMARY KEY,            -- base64 SHA-256 of the key; the key itself is shown once
    prefix     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,            -- UUID v7: in time order
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,               -- "operator kgo_abcd…" or "tenant <id>"
    action     TEXT NOT NULL,
    target     TEXT,
    detail     TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at, id);

-- A console sign-in: the cookie holds a random token, only its hash is stored. tenant_id NULL: the operator.
-- key_hash: the key signed in with (an operator key's or an API key's hash): revoking it ends the sign-in.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT REFERENCES tenants (id),
    key_hash   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

-- The buyer's NIP, read from an invoice the gateway held in clear when it was recorded (the console searches by it).
ALTER TABLE invoices ADD COLUMN buyer_nip TEXT;
CREATE INDEX invoices_by_tenant ON invoices (tenant_id, created_at);
