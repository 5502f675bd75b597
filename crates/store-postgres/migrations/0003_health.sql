-- Health declarations (answers sealed by the application), the versioned status rule table, and
-- the status rule and declaration validity each scan's answer carried.

CREATE TABLE declarations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    declared_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    submitted_at   BIGINT NOT NULL,
    valid_until    BIGINT NOT NULL,
    answers_sealed BYTEA  NOT NULL,
    CONSTRAINT declarations_validity_check CHECK (valid_until > submitted_at)
);

CREATE INDEX declarations_user ON declarations (user_id, submitted_at);
CREATE INDEX declarations_submitted ON declarations (submitted_at);

CREATE TABLE status_rule_sets (
    version    BIGINT PRIMARY KEY,
    rules      TEXT   NOT NULL,
    note       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT status_rule_sets_version_check CHECK (version > 0)
);

ALTER TABLE scans ADD COLUMN rule TEXT;
ALTER TABLE scans ADD COLUMN declared_until BIGINT;
