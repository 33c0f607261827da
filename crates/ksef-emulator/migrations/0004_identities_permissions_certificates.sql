-- Who authenticated and how, permissions granted in contexts, KSeF certificates issued by the emulator's
-- certification authority, KSeF tokens' authors, and TEST's self-service test data.

ALTER TABLE auth_operations ADD COLUMN identity_type TEXT;          -- Nip | Pesel | Fingerprint (certificate logins)
ALTER TABLE auth_operations ADD COLUMN identity_value TEXT;
ALTER TABLE auth_operations ADD COLUMN method TEXT NOT NULL DEFAULT 'Token';
ALTER TABLE auth_operations ADD COLUMN certificate BLOB;             -- the signing certificate (DER)
ALTER TABLE auth_operations ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;

ALTER TABLE ksef_tokens ADD COLUMN author_type TEXT;
ALTER TABLE ksef_tokens ADD COLUMN author_value TEXT;
ALTER TABLE ksef_tokens ADD COLUMN last_use INTEGER;

CREATE TABLE permissions (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,       -- person | entity | indirect | testdata
    context_type    TEXT NOT NULL,
    context_value   TEXT NOT NULL,       -- where the permission applies (for indirect grants: the granting entity)
    subject_type    TEXT NOT NULL,       -- Nip | Pesel | Fingerprint
    subject_value   TEXT NOT NULL,
    permission      TEXT NOT NULL,
    can_delegate    INTEGER NOT NULL DEFAULT 0,
    target_type     TEXT,                -- indirect grants: Nip | InternalId | AllPartners
    target_value    TEXT,
    description     TEXT NOT NULL,
    author_type     TEXT,
    author_value    TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX permissions_by_subject ON permissions (subject_type, subject_value);
CREATE INDEX permissions_by_context ON permissions (context_value, created_at);

CREATE TABLE permission_operations (
    reference_number   TEXT PRIMARY KEY,
    context_value      TEXT NOT NULL,
    status_code        INTEGER NOT NULL,
    status_description TEXT NOT NULL,
    status_details     TEXT,
    created_at         INTEGER NOT NULL
);

CREATE TABLE certificate_enrollments (
    reference_number   TEXT PRIMARY KEY,
    identity_type      TEXT NOT NULL,
    identity_value     TEXT NOT NULL,
    status_code        INTEGER NOT NULL,
    status_description TEXT NOT NULL,
    status_details     TEXT,
    serial             TEXT,
    requested_at       INTEGER NOT NULL
);
CREATE INDEX certificate_enrollments_by_identity ON certificate_enrollments (identity_type, identity_value);

CREATE TABLE certificates (
    serial            TEXT PRIMARY KEY,  -- 16 upper-case hex characters
    identity_type     TEXT NOT NULL,
    identity_value    TEXT NOT NULL,
    name              TEXT NOT NULL,
    certificate_type  TEXT NOT NULL,     -- Authentication | Offline
    common_name       TEXT NOT NULL,
    der               BLOB NOT NULL,
    status            TEXT NOT NULL,     -- Active | Blocked | Revoked
    revocation_reason TEXT,
    valid_from        INTEGER NOT NULL,
    valid_to          INTEGER NOT NULL,
    requested_at      INTEGER NOT NULL,
    last_use          INTEGER
);
CREATE INDEX certificates_by_identity ON certificates (identity_type, identity_value, requested_at);

CREATE TABLE test_subjects (
    nip          TEXT PRIMARY KEY,
    subject_type TEXT NOT NULL,
    description  TEXT NOT NULL,
    parent_nip   TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE test_persons (
    nip         TEXT PRIMARY KEY,
    pesel       TEXT NOT NULL,
    is_bailiff  INTEGER NOT NULL,
    is_deceased INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX test_persons_by_pesel ON test_persons (pesel);

CREATE TABLE attachment_consents (
    nip          TEXT PRIMARY KEY,
    revoked_date TEXT                    -- YYYY-MM-DD when the consent ends, if it does
);

CREATE TABLE blocked_contexts (
    context_value TEXT PRIMARY KEY,
    context_type  TEXT NOT NULL
);

CREATE TABLE test_limits (
    scope TEXT NOT NULL,                 -- context-session | subject-certificate | rate-limits
    key   TEXT NOT NULL,                 -- the context or subject it applies to
    body  TEXT NOT NULL,                 -- the JSON body as given
    PRIMARY KEY (scope, key)
);
