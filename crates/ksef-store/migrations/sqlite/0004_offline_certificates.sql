-- Offline certificates: a tenant's KSeF certificate of type Offline and its private key (sealed under the master
-- key), used to sign KOD II verification links of invoices issued offline. The key never leaves the gateway.
CREATE TABLE offline_certificates (
    tenant_id          TEXT PRIMARY KEY REFERENCES tenants (id),
    certificate        BLOB NOT NULL,       -- DER X.509, public
    private_key_sealed BLOB NOT NULL,       -- PKCS#8, AES-256-GCM under the master key
    context_type       TEXT NOT NULL,       -- Nip, InternalId, NipVatUe, PeppolId
    context_value      TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
