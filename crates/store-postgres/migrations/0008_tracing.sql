-- Tracing: spaces (checkpoints tracing counts as one place), cases and exposure notices.
-- Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE spaces (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id  BIGINT NOT NULL REFERENCES agencies (id),
    name       TEXT   COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (agency_id, name)
);

-- A checkpoint is in one space at most.
CREATE TABLE space_checkpoints (
    checkpoint_id BIGINT PRIMARY KEY REFERENCES checkpoints (id),
    space_id      BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE
);

CREATE INDEX space_checkpoints_space ON space_checkpoints (space_id);

-- A case (F0): a person, the infectious window traced, and how contacts are found. basis_day is
-- the day (Vietnam time, days since 1970-01-01) of symptom onset or of the positive test.
CREATE TABLE cases (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status         TEXT   NOT NULL CHECK (status IN ('suspected', 'confirmed', 'closed')),
    basis          TEXT   NOT NULL CHECK (basis IN ('onset', 'test')),
    basis_day      BIGINT NOT NULL,
    window_from    BIGINT NOT NULL,
    window_to      BIGINT NOT NULL,
    buffer_ms      BIGINT NOT NULL,
    min_overlap_ms BIGINT NOT NULL,
    depth          BIGINT NOT NULL CHECK (depth BETWEEN 1 AND 3),
    opened_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    opened_at      BIGINT NOT NULL,
    confirmed_at   BIGINT,
    closed_at      BIGINT,
    CHECK (window_to >= window_from)
);

-- One open case per person.
CREATE UNIQUE INDEX cases_open_person ON cases (user_id) WHERE status <> 'closed';
CREATE INDEX cases_opened ON cases (opened_at);

-- What a contact is told: where and when (the exposure that made them a contact), never who.
CREATE TABLE exposure_notices (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id       BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    degree        BIGINT NOT NULL CHECK (degree BETWEEN 1 AND 3),
    checkpoint_id BIGINT NOT NULL REFERENCES checkpoints (id),
    exposed_from  BIGINT NOT NULL,
    exposed_to    BIGINT NOT NULL,
    sent_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    sent_at       BIGINT NOT NULL,
    active_until  BIGINT NOT NULL,
    read_at       BIGINT,
    withdrawn_at  BIGINT,
    UNIQUE (case_id, user_id)
);

CREATE INDEX exposure_notices_user ON exposure_notices (user_id, sent_at);
CREATE INDEX exposure_notices_active ON exposure_notices (active_until) WHERE withdrawn_at IS NULL;
