-- Partial indexes whose conditions the queries repeat exactly (SQLite uses a partial index only when the
-- query's WHERE implies the index's, and it does not reason about IN lists), so background work never scans.

DROP INDEX invoices_pending;
CREATE INDEX invoices_pending ON invoices (invoicing_date) WHERE status_code = 100;

DROP INDEX sessions_closing;
CREATE INDEX sessions_open ON sessions (kind, valid_until) WHERE status_code = 100;
CREATE INDEX sessions_closed ON sessions (reference_number) WHERE status_code = 170;
