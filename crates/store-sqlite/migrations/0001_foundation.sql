-- Accounts, sessions, roles, agencies, units, rosters, checkpoints and the audit log.
-- Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    phone_sealed        BLOB    NOT NULL,
    phone_hash          BLOB    NOT NULL UNIQUE,
    cccd_sealed         BLOB,
    cccd_hash           BLOB    UNIQUE,
    cmnd_sealed         BLOB,
    cmnd_hash           BLOB    UNIQUE,
    full_name           TEXT    NOT NULL,
    name_key            TEXT    NOT NULL,
    birth_date          TEXT    NOT NULL,
    sex                 TEXT    NOT NULL CHECK (sex IN ('male', 'female')),
    address_scheme      TEXT    NOT NULL CHECK (address_scheme IN ('legacy', 'current')),
    address_unit        TEXT    NOT NULL,
    address_street      TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    verified_at         INTEGER,
    verified_by         INTEGER REFERENCES users (id),
    verification_method TEXT
) STRICT;

CREATE INDEX users_name_key ON users (name_key);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL CHECK (kind IN ('web', 'api')),
    label      TEXT    NOT NULL,
    ip         TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE agencies (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    code           TEXT    NOT NULL UNIQUE,
    address_scheme TEXT    NOT NULL,
    address_unit   TEXT    NOT NULL,
    address_street TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE units (
    id        INTEGER PRIMARY KEY,
    agency_id INTEGER NOT NULL REFERENCES agencies (id),
    parent_id INTEGER REFERENCES units (id),
    name      TEXT    NOT NULL,
    UNIQUE (agency_id, name)
) STRICT;

CREATE TABLE checkpoints (
    id                   INTEGER PRIMARY KEY,
    agency_id            INTEGER NOT NULL REFERENCES agencies (id),
    name                 TEXT    NOT NULL,
    address_street       TEXT    NOT NULL,
    mode                 TEXT    NOT NULL CHECK (mode IN ('entry', 'exit', 'both')),
    default_stay_minutes INTEGER NOT NULL,
    active               INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
) STRICT;

CREATE INDEX checkpoints_agency ON checkpoints (agency_id);

-- Roles beyond citizen. scope_key is the agency or checkpoint id (0 for unscoped roles), so that
-- the primary key makes each grant unique.
CREATE TABLE grants (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL CHECK (role IN ('checker', 'agency_admin', 'health_official', 'province_admin')),
    agency_id     INTEGER REFERENCES agencies (id),
    checkpoint_id INTEGER REFERENCES checkpoints (id),
    scope_key     INTEGER NOT NULL,
    PRIMARY KEY (user_id, role, scope_key)
) STRICT;

CREATE INDEX grants_checkpoint ON grants (checkpoint_id);

CREATE TABLE roster_entries (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    full_name   TEXT    NOT NULL,
    position    TEXT    NOT NULL,
    phone_sealed BLOB,
    phone_hash  BLOB,
    cccd_sealed BLOB,
    cccd_hash   BLOB,
    user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    added_at    INTEGER NOT NULL,
    UNIQUE (unit_id, phone_hash),
    UNIQUE (unit_id, cccd_hash)
) STRICT;

CREATE INDEX roster_phone ON roster_entries (phone_hash);
CREATE INDEX roster_cccd ON roster_entries (cccd_hash);
CREATE INDEX roster_user ON roster_entries (user_id);

-- Append-only and hash-chained: see vaora_domain::audit.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       INTEGER,
    ip          TEXT,
    action      TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    target_id   TEXT,
    subject     INTEGER,
    details     TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_actor ON audit_log (actor, seq);
CREATE INDEX audit_subject ON audit_log (subject, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
