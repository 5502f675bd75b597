-- Agency statistics: when each agency's working day starts (late arrivals are counted against it;
-- 07:30 when unset).
CREATE TABLE agency_settings (
    agency_id          BIGINT PRIMARY KEY REFERENCES agencies (id) ON DELETE CASCADE,
    work_starts_minute INTEGER NOT NULL CHECK (work_starts_minute BETWEEN 0 AND 1439)
);

-- Each person's first admitted scan of the day at each agency, kept exact as scans arrive (an
-- offline scan sent later that is earlier replaces it): the agency statistics read a day's
-- arrivals here instead of the day's scans. `day` is the Vietnam-time date as days since
-- 1970-01-01.
CREATE TABLE arrivals (
    agency_id     BIGINT  NOT NULL,
    day           INTEGER NOT NULL,
    user_id       BIGINT  NOT NULL,
    first_at      BIGINT  NOT NULL,
    checkpoint_id BIGINT  NOT NULL,
    declared      BOOLEAN NOT NULL,
    PRIMARY KEY (agency_id, day, user_id)
);

-- Per agency and day, the arrivals counted as the province ranks agencies: staff (on one of the
-- agency's rosters) and visitors, and of the staff who came late and who had declared. Kept by the
-- scan writer with each new arrival, and counted again from `arrivals` when the agency's roster
-- or working-day start changes, so that they always equal what the agency's own day shows.
CREATE TABLE agency_days (
    agency_id BIGINT  NOT NULL,
    day       INTEGER NOT NULL,
    staff     INTEGER NOT NULL,
    visitors  INTEGER NOT NULL,
    late      INTEGER NOT NULL,
    declared  INTEGER NOT NULL,
    PRIMARY KEY (agency_id, day)
);

-- How many people are on each agency's rosters (someone on two units' rosters counts once).
CREATE TABLE agency_rosters (
    agency_id BIGINT PRIMARY KEY,
    people    INTEGER NOT NULL
);
INSERT INTO agency_rosters (agency_id, people)
    SELECT u.agency_id, COUNT(DISTINCT COALESCE('u' || r.user_id, 'e' || r.id))
    FROM roster_entries r JOIN units u ON u.id = r.unit_id GROUP BY u.agency_id;
