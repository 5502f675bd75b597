-- Health declarations (answers sealed by the application), the versioned status rule table, and
-- the status rule and declaration validity each scan's answer carried.

CREATE TABLE declarations (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    declared_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    submitted_at   INTEGER NOT NULL,
    valid_until    INTEGER NOT NULL CHECK (valid_until > submitted_at),
    answers_sealed BLOB    NOT NULL
) STRICT;

CREATE INDEX declarations_user ON declarations (user_id, submitted_at);
CREATE INDEX declarations_submitted ON declarations (submitted_at);

CREATE TABLE status_rule_sets (
    version    INTEGER PRIMARY KEY CHECK (version > 0),
    rules      TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL
) STRICT;

ALTER TABLE scans ADD COLUMN rule TEXT;
ALTER TABLE scans ADD COLUMN declared_until INTEGER;
