-- The calls each KSeF context made lately, by rate-limit group, so that every gateway instance sharing this
-- database keeps the context's calls within KSeF's limits (sliding windows of a second, a minute and an hour).
CREATE TABLE rate_calls (
    context TEXT NOT NULL,
    grp     TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX rate_calls_by_group ON rate_calls (context, grp, at);

-- One row per (context, group), locked while a call is counted, so two instances never both take the last place.
CREATE TABLE rate_budgets (
    context    TEXT NOT NULL,
    grp        TEXT NOT NULL,
    touched_at BIGINT NOT NULL,
    PRIMARY KEY (context, grp)
);

-- A long queue of sessionless submits goes to KSeF as batches: the batch session an invoice is in while it is (our
-- session id; the invoice keeps its own session, and its key), and whether a batch it was in failed, after which
-- it is sent online.
ALTER TABLE invoices ADD COLUMN batch_session TEXT;
ALTER TABLE invoices ADD COLUMN online_only BIGINT NOT NULL DEFAULT 0;
CREATE INDEX invoices_by_batch ON invoices (batch_session);
