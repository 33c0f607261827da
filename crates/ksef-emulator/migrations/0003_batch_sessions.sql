-- Batch sessions: the package declared at open. Uploaded parts live as files in the data directory
-- (batch/{session}/{ordinal}.part) until the package is unpacked into `invoices`.

CREATE TABLE batch_packages (
    session_reference TEXT PRIMARY KEY REFERENCES sessions (reference_number),
    file_size         INTEGER NOT NULL,         -- the whole archive before encryption
    file_hash         TEXT NOT NULL,
    compression       TEXT NOT NULL,            -- Zip | TarGz
    offline_mode      INTEGER NOT NULL,
    parts             TEXT NOT NULL,            -- JSON [BatchFilePartInfo] as declared
    unpacked          INTEGER NOT NULL DEFAULT 0
);

-- Closed batch sessions waiting to be unpacked or finished.
CREATE INDEX sessions_processing ON sessions (reference_number) WHERE status_code = 150;
