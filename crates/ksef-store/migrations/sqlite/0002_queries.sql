-- Invoice searches (ksefInvoiceQueryStart): each is one KSeF export. Keep in step with ../postgres/0002_queries.sql.
CREATE TABLE queries (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    ksef_reference TEXT,
    subject_type   TEXT NOT NULL,
    range_from     INTEGER NOT NULL,
    range_to       INTEGER,
    key_mode       TEXT NOT NULL,       -- caller | gateway
    sealed_key     BLOB,                -- gateway mode: the AES key sealed under the master key
    iv             BLOB,
    created_at     INTEGER NOT NULL
);
CREATE INDEX queries_by_tenant ON queries (tenant_id, created_at);
