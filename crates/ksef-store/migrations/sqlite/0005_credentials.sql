-- KSeF credentials: a KSeF token, or a certificate with its private key (sealed under the master key). A tenant
-- uses one; a shared one (an accounting office's certificate) serves many tenants, each in its own context.
-- Tenants without a credential keep using their original sealed KSeF token. Keep in step with
-- ../postgres/0005_credentials.sql.
CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,         -- token | certificate
    secret_sealed BLOB NOT NULL,         -- the token, or the PKCS#8 private key, AES-256-GCM under the master key
    certificate   BLOB,                  -- certificate credentials: DER X.509, public
    subject       TEXT,                  -- who the certificate names, e.g. "Nip 5265877635"
    expires_at    INTEGER,               -- certificate credentials: notAfter (µs)
    shared        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
ALTER TABLE tenants ADD COLUMN credential_id TEXT REFERENCES credentials (id);
