-- Agency statistics: when each agency's working day starts (late arrivals are counted against it;
-- 07:30 when unset).
CREATE TABLE agency_settings (
    agency_id          BIGINT PRIMARY KEY REFERENCES agencies (id) ON DELETE CASCADE,
    work_starts_minute INTEGER NOT NULL CHECK (work_starts_minute BETWEEN 0 AND 1439)
);
