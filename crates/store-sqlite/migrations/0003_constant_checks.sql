-- no-transaction
-- SQLite evaluates a CHECK of the form `x IN ('a', 'b', 'c')` by building a temporary B-tree for
-- the list on every insert and update, which was a tenth of the scan writer's time. The visits and
-- scans tables are rebuilt with the same rules written as comparisons (and the index of used
-- passes keyed by digest first, see below). Foreign keys are switched
-- off for the rebuild (dropping the old visits table would otherwise null every scan's visit_id),
-- which SQLite allows only outside a transaction: hence this migration opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE visits_rebuilt (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER NOT NULL,
    end_reason    TEXT    NOT NULL
        CHECK (end_reason = 'stay' OR end_reason = 'checkout' OR end_reason = 'exit' OR end_reason = 'moved'),
    CHECK (ended_at >= started_at)
) STRICT;
INSERT INTO visits_rebuilt (id, user_id, checkpoint_id, started_at, ended_at, end_reason)
    SELECT id, user_id, checkpoint_id, started_at, ended_at, end_reason FROM visits;
DROP TABLE visits;
ALTER TABLE visits_rebuilt RENAME TO visits;
CREATE INDEX visits_checkpoint_time ON visits (checkpoint_id, started_at, ended_at, user_id);
CREATE INDEX visits_user_time ON visits (user_id, started_at);

CREATE TABLE scans_rebuilt (
    id            INTEGER PRIMARY KEY,
    sender_id     INTEGER NOT NULL,
    client_id     TEXT    NOT NULL,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    checker_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT    NOT NULL,
    scanned_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    colour        TEXT    NOT NULL CHECK (colour = 'green' OR colour = 'amber' OR colour = 'red'),
    reason        TEXT,
    display_name  TEXT,
    visit_id      INTEGER REFERENCES visits (id) ON DELETE SET NULL,
    pass_digest   BLOB,
    UNIQUE (sender_id, client_id)
) STRICT;
INSERT INTO scans_rebuilt (id, sender_id, client_id, checkpoint_id, checker_id, user_id, kind, scanned_at,
        received_at, colour, reason, display_name, visit_id, pass_digest)
    SELECT id, sender_id, client_id, checkpoint_id, checker_id, user_id, kind, scanned_at,
        received_at, colour, reason, display_name, visit_id, pass_digest FROM scans;
DROP TABLE scans;
ALTER TABLE scans_rebuilt RENAME TO scans;
-- A pass is accepted once per checkpoint. Digests begin with the pass's issue time, so the passes
-- being scanned now, at every checkpoint, share the last pages of this index.
CREATE UNIQUE INDEX scans_pass_once ON scans (pass_digest, checkpoint_id) WHERE pass_digest IS NOT NULL;
CREATE INDEX scans_checkpoint_time ON scans (checkpoint_id, scanned_at);

COMMIT;
PRAGMA foreign_keys = ON;
