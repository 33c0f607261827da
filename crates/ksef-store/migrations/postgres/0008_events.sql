-- Events: what happened to a tenant's invoices, numbered per tenant in commit order. The counter's row is
-- locked by the transaction that records an event, so a reader paging by number never skips one that commits
-- later with a smaller number. `subject` is what the event is about (our invoice id, session id, KSeF number);
-- one event per (kind, subject), so two instances recording the same change record it once.
CREATE TABLE event_counters (
    tenant_id TEXT PRIMARY KEY,
    last_seq  BIGINT NOT NULL
);

CREATE TABLE events (
    tenant_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, kind, subject)
);
CREATE INDEX events_by_kind ON events (tenant_id, kind, seq);

-- Webhook subscriptions: where a tenant's events are posted, which kinds (`*` or `,kind,kind,`), the signing
-- secret sealed under the master key, since when deliveries have failed without a success between, when a
-- failing receiver is tried next (one delivery: a probe), and when its deliveries were last claimed (webhooks
-- with work waiting take turns by it).
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    url           TEXT NOT NULL,
    kinds         TEXT NOT NULL,
    description   TEXT,
    secret_sealed BYTEA NOT NULL,
    enabled       BIGINT NOT NULL,
    disabled_why  TEXT,
    failing_since BIGINT,
    probe_at      BIGINT,
    claimed_at    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id);

-- One row per (webhook, event): recorded with the event, in its transaction, so none is lost; claimed with a
-- lease (`lease_until`, `lease_owner`: only the claim's own attempt records its outcome), so instances never post
-- one twice at once; `requeued` marks a redelivery asked for while an attempt was under way; `queued_at` is
-- when it was (re)queued, from which it is given up.
CREATE TABLE webhook_deliveries (
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    lease_owner     TEXT,
    requeued        BIGINT NOT NULL DEFAULT 0,
    queued_at       BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, state, next_attempt_at);

-- Every attempt: when, the receiver's status or the failure, how long it took.
CREATE TABLE webhook_attempts (
    webhook_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, event_id, at)
);

-- Invoices others issued to a tenant, as KSeF's exports delivered them: the exact XML, KSeF's metadata (JSON),
-- and the fields the list filters on. `seq` is the number of its `invoice.received` event (the list's cursor).
CREATE TABLE received_invoices (
    tenant_id              TEXT NOT NULL,
    ksef_number            TEXT NOT NULL,
    subject                TEXT NOT NULL,
    seq                    BIGINT NOT NULL,
    seller_nip             TEXT NOT NULL,
    seller_name            TEXT,
    invoice_number         TEXT NOT NULL,
    issue_date             TEXT NOT NULL,
    gross_amount           TEXT,
    gross_cents            BIGINT,
    currency               TEXT,
    invoice_hash           TEXT NOT NULL,
    permanent_storage_date BIGINT NOT NULL,
    metadata               TEXT NOT NULL,
    xml                    BYTEA NOT NULL,
    received_at            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ksef_number)
);
CREATE INDEX received_by_seq ON received_invoices (tenant_id, seq);
CREATE INDEX received_by_date ON received_invoices (tenant_id, issue_date);

-- Where each tenant's sync of received invoices stands, per KSeF subject type: whether it runs, the next
-- window's start (a permanent-storage date, µs), when it runs next, and which instance holds it until when.
CREATE TABLE inbox_sync (
    tenant_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    enabled      BIGINT NOT NULL,
    next_from    BIGINT NOT NULL,
    next_run_at  BIGINT NOT NULL,
    held_until   BIGINT,
    last_error   TEXT,
    last_success BIGINT,
    PRIMARY KEY (tenant_id, subject)
);
