-- Tracing: spaces (checkpoints tracing counts as one place), cases and exposure notices.
-- Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE spaces (
    id         INTEGER PRIMARY KEY,
    agency_id  INTEGER NOT NULL REFERENCES agencies (id),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (agency_id, name)
) STRICT;

-- A checkpoint is in one space at most.
CREATE TABLE space_checkpoints (
    checkpoint_id INTEGER PRIMARY KEY REFERENCES checkpoints (id),
    space_id      INTEGER NOT NULL REFERENCES spaces (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX space_checkpoints_space ON space_checkpoints (space_id);

-- A case (F0): a person, the infectious window traced, and how contacts are found. basis_day is
-- the day (Vietnam time, days since 1970-01-01) of symptom onset or of the positive test.
CREATE TABLE cases (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status         TEXT    NOT NULL CHECK (status IN ('suspected', 'confirmed', 'closed')),
    basis          TEXT    NOT NULL CHECK (basis IN ('onset', 'test')),
    basis_day      INTEGER NOT NULL,
    window_from    INTEGER NOT NULL,
    window_to      INTEGER NOT NULL,
    buffer_ms      INTEGER NOT NULL,
    min_overlap_ms INTEGER NOT NULL,
    depth          INTEGER NOT NULL CHECK (depth BETWEEN 1 AND 3),
    opened_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    opened_at      INTEGER NOT NULL,
    confirmed_at   INTEGER,
    closed_at      INTEGER,
    CHECK (window_to >= window_from)
) STRICT;

-- One open case per person.
CREATE UNIQUE INDEX cases_open_person ON cases (user_id) WHERE status <> 'closed';
CREATE INDEX cases_opened ON cases (opened_at);

-- What a contact is told: where and when (the exposure that made them a contact), never who.
CREATE TABLE exposure_notices (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    degree        INTEGER NOT NULL CHECK (degree BETWEEN 1 AND 3),
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    exposed_from  INTEGER NOT NULL,
    exposed_to    INTEGER NOT NULL,
    sent_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    sent_at       INTEGER NOT NULL,
    active_until  INTEGER NOT NULL,
    read_at       INTEGER,
    withdrawn_at  INTEGER,
    UNIQUE (case_id, user_id)
) STRICT;

CREATE INDEX exposure_notices_user ON exposure_notices (user_id, sent_at);
CREATE INDEX exposure_notices_active ON exposure_notices (active_until) WHERE withdrawn_at IS NULL;
