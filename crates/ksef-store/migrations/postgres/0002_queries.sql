-- Invoice searches (ksefInvoiceQueryStart): each is one KSeF export. Keep in step with ../sqlite/0002_queries.sql.
CREATE TABLE queries (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    ksef_reference TEXT,
    subject_type   TEXT NOT NULL,
    range_from     BIGINT NOT NULL,
    range_to       BIGINT,
    key_mode       TEXT NOT NULL,       -- caller | gateway
    sealed_key     BYTEA,                -- gateway mode: the AES key sealed under the master key
    iv             BYTEA,
    created_at     BIGINT NOT NULL
);
CREATE INDEX queries_by_tenant ON queries (tenant_id, created_at);
