-- Signing keys, pass pseudonyms and session tags, venue codes, printed cards, scans and visits:
-- the same tables, columns and rules as the SQLite store's 0002_checkins.sql.
-- Times are integer milliseconds since the Unix epoch, UTC (BIGINT), as in 0001_foundation.sql.
--
-- No text here is sorted (keys, cards, scans and visits are listed by number or time), so no
-- column needs COLLATE "C". Unique constraints are named: the store maps a unique violation to
-- what clashed by its name (see `conflict_name` in src/lib.rs). Partial unique indexes carry the
-- same `WHERE ... IS NOT NULL` as SQLite's.

CREATE TABLE signing_keys (
    id             BIGINT PRIMARY KEY,
    purpose        TEXT   NOT NULL,
    public_key     BYTEA  NOT NULL,
    private_sealed BYTEA  NOT NULL,
    created_at     BIGINT NOT NULL,
    sign_until     BIGINT,
    verify_until   BIGINT,
    CONSTRAINT signing_keys_id_check CHECK (id BETWEEN 1 AND 65535),
    CONSTRAINT signing_keys_purpose_check CHECK (purpose IN ('pass', 'venue'))
);

-- At most one active (signing) key per purpose.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (purpose) WHERE sign_until IS NULL;

CREATE TABLE pseudonyms (
    user_id   BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    pseudonym BYTEA  NOT NULL,
    CONSTRAINT pseudonyms_pseudonym_unique UNIQUE (pseudonym)
);

ALTER TABLE sessions ADD COLUMN pass_tag BYTEA;
CREATE UNIQUE INDEX sessions_pass_tag ON sessions (pass_tag) WHERE pass_tag IS NOT NULL;

CREATE TABLE venue_codes (
    checkpoint_id BIGINT NOT NULL REFERENCES checkpoints (id),
    generation    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    valid_until   BIGINT,
    CONSTRAINT venue_codes_pkey PRIMARY KEY (checkpoint_id, generation)
);

CREATE TABLE cards (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number      TEXT   NOT NULL,
    secret_hash BYTEA  NOT NULL,
    issued_at   BIGINT NOT NULL,
    revoked_at  BIGINT,
    CONSTRAINT cards_number_unique UNIQUE (number),
    CONSTRAINT cards_secret_hash_unique UNIQUE (secret_hash)
);

CREATE INDEX cards_user ON cards (user_id);

-- A visit lasts at most a day before a rescan starts a new one, so a search for the visits that
-- overlap a time range can bound started_at from below (see visits_at).
CREATE TABLE visits (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkpoint_id BIGINT NOT NULL REFERENCES checkpoints (id),
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT NOT NULL,
    end_reason    TEXT   NOT NULL,
    CONSTRAINT visits_end_reason_check CHECK (end_reason IN ('stay', 'checkout', 'exit', 'moved')),
    CONSTRAINT visits_ends_after_start CHECK (ended_at >= started_at)
);

CREATE INDEX visits_checkpoint_time ON visits (checkpoint_id, started_at, ended_at, user_id);
CREATE INDEX visits_user_time ON visits (user_id, started_at);

-- A scan is known by who sent it (the checker, or the person for a self check-in) and the id their
-- device gave it: two devices may number their scans alike without their scans being confused.
CREATE TABLE scans (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_id     BIGINT NOT NULL,
    client_id     TEXT   NOT NULL,
    checkpoint_id BIGINT NOT NULL REFERENCES checkpoints (id),
    checker_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    user_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT   NOT NULL,
    scanned_at    BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    colour        TEXT   NOT NULL,
    reason        TEXT,
    display_name  TEXT,
    visit_id      BIGINT REFERENCES visits (id) ON DELETE SET NULL,
    pass_digest   BYTEA,
    CONSTRAINT scans_colour_check CHECK (colour IN ('green', 'amber', 'red')),
    CONSTRAINT scans_sender_client_unique UNIQUE (sender_id, client_id)
);

-- A pass is accepted once per checkpoint.
CREATE UNIQUE INDEX scans_pass_once ON scans (checkpoint_id, pass_digest) WHERE pass_digest IS NOT NULL;
CREATE INDEX scans_checkpoint_time ON scans (checkpoint_id, scanned_at);
