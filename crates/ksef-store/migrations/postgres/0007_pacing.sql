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
