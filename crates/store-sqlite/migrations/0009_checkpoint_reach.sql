-- The longest visit each checkpoint has had, so that tracing's search for the visits overlapping a
-- time range reads back only as far as a visit there can reach (`started_at >= from - max_ms`),
-- instead of the two days any visit could last. Kept by triggers on every write of a visit; it only
-- grows.
CREATE TABLE checkpoint_reach (
    checkpoint_id INTEGER PRIMARY KEY REFERENCES checkpoints (id),
    max_ms        INTEGER NOT NULL
) STRICT;

INSERT INTO checkpoint_reach (checkpoint_id, max_ms)
    SELECT checkpoint_id, MAX(ended_at - started_at) FROM visits GROUP BY checkpoint_id;

CREATE TRIGGER visits_reach_insert AFTER INSERT ON visits
WHEN NEW.ended_at - NEW.started_at > COALESCE(
    (SELECT max_ms FROM checkpoint_reach WHERE checkpoint_id = NEW.checkpoint_id), -1)
BEGIN
    INSERT INTO checkpoint_reach (checkpoint_id, max_ms) VALUES (NEW.checkpoint_id, NEW.ended_at - NEW.started_at)
        ON CONFLICT (checkpoint_id) DO UPDATE SET max_ms = MAX(max_ms, excluded.max_ms);
END;

CREATE TRIGGER visits_reach_update AFTER UPDATE OF ended_at ON visits
WHEN NEW.ended_at - NEW.started_at > COALESCE(
    (SELECT max_ms FROM checkpoint_reach WHERE checkpoint_id = NEW.checkpoint_id), -1)
BEGIN
    INSERT INTO checkpoint_reach (checkpoint_id, max_ms) VALUES (NEW.checkpoint_id, NEW.ended_at - NEW.started_at)
        ON CONFLICT (checkpoint_id) DO UPDATE SET max_ms = MAX(max_ms, excluded.max_ms);
END;
