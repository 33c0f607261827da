-- Batch sessions: a session is `online` (invoices sent one by one through the gateway) or `batch` (a
-- package uploaded in parts, whose invoices KSeF lists by file name).
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'online';
