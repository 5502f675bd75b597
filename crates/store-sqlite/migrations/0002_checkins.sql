-- Signing keys, pass pseudonyms and session tags, venue codes, printed cards, scans and visits.
-- Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE signing_keys (
    id             INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 65535),
    purpose        TEXT    NOT NULL CHECK (purpose IN ('pass', 'venue')),
    public_key     BLOB    NOT NULL,
    private_sealed BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    sign_until     INTEGER,
    verify_until   INTEGER
) STRICT;

-- At most one active (signing) key per purpose.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (purpose) WHERE sign_until IS NULL;

CREATE TABLE pseudonyms (
    user_id   INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    pseudonym BLOB    NOT NULL UNIQUE
) STRICT;

ALTER TABLE sessions ADD COLUMN pass_tag BLOB;
CREATE UNIQUE INDEX sessions_pass_tag ON sessions (pass_tag) WHERE pass_tag IS NOT NULL;

CREATE TABLE venue_codes (
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    generation    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    valid_until   INTEGER,
    PRIMARY KEY (checkpoint_id, generation)
) STRICT;

CREATE TABLE cards (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number      TEXT    NOT NULL UNIQUE,
    secret_hash BLOB    NOT NULL UNIQUE,
    issued_at   INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX cards_user ON cards (user_id);

-- A visit lasts at most a day before a rescan starts a new one, so a search for the visits that
-- overlap a time range can bound started_at from below (see visits_at).
CREATE TABLE visits (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER NOT NULL,
    end_reason    TEXT    NOT NULL CHECK (end_reason IN ('stay', 'checkout', 'exit', 'moved')),
    CHECK (ended_at >= started_at)
) STRICT;

CREATE INDEX visits_checkpoint_time ON visits (checkpoint_id, started_at, ended_at, user_id);
CREATE INDEX visits_user_time ON visits (user_id, started_at);

-- A scan is known by who sent it (the checker, or the person for a self check-in) and the id their
-- device gave it: two devices may number their scans alike without their scans being confused.
CREATE TABLE scans (
    id            INTEGER PRIMARY KEY,
    sender_id     INTEGER NOT NULL,
    client_id     TEXT    NOT NULL,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    checker_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT    NOT NULL,
    scanned_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    colour        TEXT    NOT NULL CHECK (colour IN ('green', 'amber', 'red')),
    reason        TEXT,
    display_name  TEXT,
    visit_id      INTEGER REFERENCES visits (id) ON DELETE SET NULL,
    pass_digest   BLOB,
    UNIQUE (sender_id, client_id)
) STRICT;

-- A pass is accepted once per checkpoint.
CREATE UNIQUE INDEX scans_pass_once ON scans (checkpoint_id, pass_digest) WHERE pass_digest IS NOT NULL;
CREATE INDEX scans_checkpoint_time ON scans (checkpoint_id, scanned_at);
