-- Accounts, sessions, roles, agencies, units, rosters, checkpoints and the audit log.
-- Times are integer milliseconds since the Unix epoch, UTC (BIGINT), exactly as in the SQLite store,
-- so that both engines compare and return the same values.
--
-- Text that is sorted is declared COLLATE "C": lists come back in byte (code point) order, as
-- SQLite's BINARY collation returns them, whatever locale the database was created with.
--
-- Constraints are named explicitly: the store maps a unique violation to what clashed by the
-- constraint's name (see `conflict_name` in src/lib.rs).

CREATE TABLE users (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_sealed        BYTEA  NOT NULL,
    phone_hash          BYTEA  NOT NULL,
    cccd_sealed         BYTEA,
    cccd_hash           BYTEA,
    cmnd_sealed         BYTEA,
    cmnd_hash           BYTEA,
    full_name           TEXT   COLLATE "C" NOT NULL,
    name_key            TEXT   COLLATE "C" NOT NULL,
    birth_date          TEXT   NOT NULL,
    sex                 TEXT   NOT NULL,
    address_scheme      TEXT   NOT NULL,
    address_unit        TEXT   NOT NULL,
    address_street      TEXT   NOT NULL,
    password_hash       TEXT   NOT NULL,
    created_at          BIGINT NOT NULL,
    verified_at         BIGINT,
    verified_by         BIGINT REFERENCES users (id),
    verification_method TEXT,
    CONSTRAINT users_phone_hash_unique UNIQUE (phone_hash),
    CONSTRAINT users_cccd_hash_unique UNIQUE (cccd_hash),
    CONSTRAINT users_cmnd_hash_unique UNIQUE (cmnd_hash),
    CONSTRAINT users_sex_check CHECK (sex IN ('male', 'female')),
    CONSTRAINT users_address_scheme_check CHECK (address_scheme IN ('legacy', 'current'))
);

CREATE INDEX users_name_key ON users (name_key);

CREATE TABLE sessions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA  NOT NULL,
    kind       TEXT   NOT NULL,
    label      TEXT   NOT NULL,
    ip         TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT sessions_token_hash_unique UNIQUE (token_hash),
    CONSTRAINT sessions_kind_check CHECK (kind IN ('web', 'api'))
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE agencies (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT   COLLATE "C" NOT NULL,
    code           TEXT   NOT NULL,
    address_scheme TEXT   NOT NULL,
    address_unit   TEXT   NOT NULL,
    address_street TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    CONSTRAINT agencies_code_unique UNIQUE (code)
);

CREATE TABLE units (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    parent_id BIGINT REFERENCES units (id),
    name      TEXT   COLLATE "C" NOT NULL,
    CONSTRAINT units_agency_name_unique UNIQUE (agency_id, name)
);

CREATE TABLE checkpoints (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id            BIGINT  NOT NULL REFERENCES agencies (id),
    name                 TEXT    COLLATE "C" NOT NULL,
    address_street       TEXT    NOT NULL,
    mode                 TEXT    NOT NULL,
    default_stay_minutes BIGINT  NOT NULL,
    active               BOOLEAN NOT NULL,
    created_at           BIGINT  NOT NULL,
    CONSTRAINT checkpoints_mode_check CHECK (mode IN ('entry', 'exit', 'both'))
);

CREATE INDEX checkpoints_agency ON checkpoints (agency_id);

-- Roles beyond citizen. scope_key is the agency or checkpoint id (0 for unscoped roles), so that
-- the primary key makes each grant unique.
CREATE TABLE grants (
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT   COLLATE "C" NOT NULL,
    agency_id     BIGINT REFERENCES agencies (id),
    checkpoint_id BIGINT REFERENCES checkpoints (id),
    scope_key     BIGINT NOT NULL,
    CONSTRAINT grants_pkey PRIMARY KEY (user_id, role, scope_key),
    CONSTRAINT grants_role_check
        CHECK (role IN ('checker', 'agency_admin', 'health_official', 'province_admin'))
);

CREATE INDEX grants_checkpoint ON grants (checkpoint_id);

-- A NULL hash never clashes (UNIQUE is NULLS DISTINCT by default, as in SQLite): many lines of a
-- unit may lack a phone or a CCCD.
CREATE TABLE roster_entries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id      BIGINT NOT NULL REFERENCES units (id),
    full_name    TEXT   COLLATE "C" NOT NULL,
    position     TEXT   NOT NULL,
    phone_sealed BYTEA,
    phone_hash   BYTEA,
    cccd_sealed  BYTEA,
    cccd_hash    BYTEA,
    user_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    added_at     BIGINT NOT NULL,
    CONSTRAINT roster_entries_unit_phone_unique UNIQUE (unit_id, phone_hash),
    CONSTRAINT roster_entries_unit_cccd_unique UNIQUE (unit_id, cccd_hash)
);

CREATE INDEX roster_phone ON roster_entries (phone_hash);
CREATE INDEX roster_cccd ON roster_entries (cccd_hash);
CREATE INDEX roster_user ON roster_entries (user_id);

-- Append-only and hash-chained: see vaora_domain::audit. seq is assigned by the store, under an
-- advisory lock, as the previous entry's seq + 1 (not an identity: a gap would break the chain).
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       BIGINT,
    ip          TEXT,
    action      TEXT   NOT NULL,
    target_kind TEXT   NOT NULL,
    target_id   TEXT,
    subject     BIGINT,
    details     TEXT   NOT NULL,
    prev_hash   TEXT   NOT NULL,
    hash        TEXT   NOT NULL
);

CREATE INDEX audit_actor ON audit_log (actor, seq);
CREATE INDEX audit_subject ON audit_log (subject, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Row triggers do not fire on TRUNCATE; refuse it too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
