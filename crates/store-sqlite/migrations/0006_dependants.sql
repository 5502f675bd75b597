-- no-transaction
-- Dependants: children and elderly relatives whose declarations and check-ins a relative (their
-- guardian) makes for them, with no login of their own. The users table is rebuilt once more so
-- that `kind` may say `dependant` (SQLite cannot alter a CHECK constraint), the same way as in
-- 0005: foreign keys off, one transaction of our own, every row and id kept.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_rebuilt (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL DEFAULT 'account'
                                CHECK (kind = 'account' OR kind = 'walk_in' OR kind = 'dependant'),
    phone_sealed        BLOB,
    phone_hash          BLOB    UNIQUE,
    cccd_sealed         BLOB,
    cccd_hash           BLOB    UNIQUE,
    cmnd_sealed         BLOB,
    cmnd_hash           BLOB    UNIQUE,
    full_name           TEXT    NOT NULL,
    name_key            TEXT    NOT NULL,
    birth_date          TEXT    NOT NULL,
    sex                 TEXT    NOT NULL CHECK (sex = 'male' OR sex = 'female'),
    address_scheme      TEXT    NOT NULL CHECK (address_scheme = 'legacy' OR address_scheme = 'current'),
    address_unit        TEXT    NOT NULL,
    address_street      TEXT    NOT NULL,
    password_hash       TEXT,
    created_at          INTEGER NOT NULL,
    registered_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    verified_at         INTEGER,
    verified_by         INTEGER REFERENCES users (id),
    verification_method TEXT,
    CHECK (kind <> 'account' OR (phone_hash IS NOT NULL AND phone_sealed IS NOT NULL AND password_hash IS NOT NULL)),
    CHECK (kind <> 'dependant' OR password_hash IS NULL),
    CHECK ((phone_hash IS NULL) = (phone_sealed IS NULL))
) STRICT;
INSERT INTO users_rebuilt (id, kind, phone_sealed, phone_hash, cccd_sealed, cccd_hash, cmnd_sealed, cmnd_hash,
        full_name, name_key, birth_date, sex, address_scheme, address_unit, address_street, password_hash, created_at,
        registered_by, verified_at, verified_by, verification_method)
    SELECT id, kind, phone_sealed, phone_hash, cccd_sealed, cccd_hash, cmnd_sealed, cmnd_hash,
        full_name, name_key, birth_date, sex, address_scheme, address_unit, address_street, password_hash, created_at,
        registered_by, verified_at, verified_by, verification_method FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_name_key ON users (name_key);

-- Who declares and checks in for whom. A guardian numbers their dependants 1 to 15 (a family pass
-- names the members it checks in by these slots); one guardian per dependant.
CREATE TABLE dependants (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    guardian_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slot        INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 15),
    relation    TEXT    NOT NULL,
    added_at    INTEGER NOT NULL,
    UNIQUE (guardian_id, slot)
) STRICT;

COMMIT;
PRAGMA foreign_keys = ON;
