-- no-transaction
-- People without a login of their own: a walk-in registered by a checker at the gate has no
-- password and may have no phone (and, later, a dependant declared for by a relative). The users
-- table is rebuilt so that phone and password may be empty for them, never for an account that
-- signs in; `kind` says which, and `registered_by` who registered a walk-in. Foreign keys are off
-- for the rebuild (dropping the old table would otherwise cascade), which SQLite allows only
-- outside a transaction: hence this migration opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_rebuilt (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL DEFAULT 'account' CHECK (kind = 'account' OR kind = 'walk_in'),
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
    CHECK ((phone_hash IS NULL) = (phone_sealed IS NULL))
) STRICT;
INSERT INTO users_rebuilt (id, kind, phone_sealed, phone_hash, cccd_sealed, cccd_hash, cmnd_sealed, cmnd_hash,
        full_name, name_key, birth_date, sex, address_scheme, address_unit, address_street, password_hash, created_at,
        verified_at, verified_by, verification_method)
    SELECT id, 'account', phone_sealed, phone_hash, cccd_sealed, cccd_hash, cmnd_sealed, cmnd_hash,
        full_name, name_key, birth_date, sex, address_scheme, address_unit, address_street, password_hash, created_at,
        verified_at, verified_by, verification_method FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_name_key ON users (name_key);

COMMIT;
PRAGMA foreign_keys = ON;
