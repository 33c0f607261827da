-- The durable outbox: an invoice recorded is the gateway's to deliver, by whichever instance claims it, through
-- KSeF's failures; a session closed by the caller is closed in KSeF once its invoices are in. Keep in step with
-- ../sqlite/0006_outbox.sql.
ALTER TABLE invoices ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;   -- sends tried
ALTER TABLE invoices ADD COLUMN next_attempt_at BIGINT;                   -- when the worker may send or poll it next (µs)
ALTER TABLE invoices ADD COLUMN lease_owner TEXT;                     -- state sending: the instance calling KSeF
ALTER TABLE invoices ADD COLUMN ksef_session TEXT;                    -- KSeF's reference of the session it went into
ALTER TABLE invoices ADD COLUMN original_ksef_number TEXT;            -- a duplicate (440): the original's KSeF number
ALTER TABLE invoices ADD COLUMN invoicing_mode TEXT;                  -- as KSeF recorded it: Online | Offline
UPDATE invoices SET state = 'queued' WHERE state = 'send_failed';
UPDATE invoices SET lease_owner = 'before-0006' WHERE state = 'sending';
UPDATE invoices SET ksef_session = (SELECT s.ksef_reference FROM sessions s WHERE s.id = invoices.session_id);
UPDATE invoices SET state = 'accepted' WHERE state = 'sent' AND status_code = 200;
UPDATE invoices SET state = 'rejected' WHERE state = 'sent' AND status_code >= 300;
ALTER TABLE invoices ADD COLUMN submission_key TEXT;                  -- sessionless submits: tenant, seller NIP, kind, number
ALTER TABLE invoices ADD COLUMN offline_mode TEXT;                    -- offline24 | unavailability | failure
ALTER TABLE invoices ADD COLUMN deadline_at BIGINT;                      -- offline: the end of the last day to reach KSeF (µs)
ALTER TABLE invoices ADD COLUMN hash_of_corrected TEXT;               -- a technical correction: the rejected original's hash
ALTER TABLE invoices ADD COLUMN verify_first BIGINT NOT NULL DEFAULT 0;   -- 1: an earlier send may have reached KSeF; look before sending
CREATE INDEX invoices_due ON invoices (state, next_attempt_at);
CREATE UNIQUE INDEX invoices_by_submission_key ON invoices (submission_key);

ALTER TABLE sessions ADD COLUMN encryption TEXT;        -- the EncryptionInfo KSeF was given (RSA-wrapped key), JSON
ALTER TABLE sessions ADD COLUMN ksef_closed_at BIGINT;      -- when KSeF confirmed the close (closed_at: when asked)
ALTER TABLE sessions ADD COLUMN next_attempt_at BIGINT;     -- when the worker may close it or fetch its UPO next
ALTER TABLE sessions ADD COLUMN managed BIGINT NOT NULL DEFAULT 0;  -- 1: the gateway's own, for sessionless submits
UPDATE sessions SET ksef_closed_at = closed_at;
-- One open managed session per tenant and schema, however many submits race to make it.
CREATE UNIQUE INDEX sessions_one_open_managed ON sessions (tenant_id, invoice_version) WHERE managed = 1 AND closed_at IS NULL;

-- Gateway processes sharing this database; a lease is held while its owner's heartbeat is fresh.
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- KSeF unavailability and failure windows the Ministry announced, as the operator recorded them: invoices issued
-- offline because of one are due a business day (unavailability) or seven (failure) after it ends.
CREATE TABLE announcements (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,               -- unavailability | failure
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT,                          -- NULL while it lasts
    note       TEXT,
    created_at BIGINT NOT NULL
);
ALTER TABLE invoices ADD COLUMN announcement_id TEXT REFERENCES announcements (id);
