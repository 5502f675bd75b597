-- Agency statistics: when each agency's working day starts (late arrivals are counted against it;
-- 07:30 when unset).
CREATE TABLE agency_settings (
    agency_id          INTEGER PRIMARY KEY REFERENCES agencies (id) ON DELETE CASCADE,
    work_starts_minute INTEGER NOT NULL CHECK (work_starts_minute BETWEEN 0 AND 1439)
) STRICT;

-- Each person's first admitted scan of the day at each agency, kept exact as scans arrive (an
-- offline scan sent later that is earlier replaces it): the agency statistics read a day's
-- arrivals here instead of the day's scans. `day` is the Vietnam-time date as days since
-- 1970-01-01.
CREATE TABLE arrivals (
    agency_id     INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    first_at      INTEGER NOT NULL,
    checkpoint_id INTEGER NOT NULL,
    declared      INTEGER NOT NULL,
    PRIMARY KEY (agency_id, day, user_id)
) STRICT, WITHOUT ROWID;
