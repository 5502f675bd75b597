-- The longest visit each checkpoint has had, so that tracing's search for the visits overlapping a
-- time range reads back only as far as a visit there can reach (`started_at >= from - max_ms`),
-- instead of the two days any visit could last. Kept by a trigger on every write of a visit; it
-- only grows. The trigger reads first and writes only when a visit is longer than any before, so
-- that writers do not queue on a checkpoint's row.
CREATE TABLE checkpoint_reach (
    checkpoint_id BIGINT PRIMARY KEY REFERENCES checkpoints (id),
    max_ms        BIGINT NOT NULL
);

INSERT INTO checkpoint_reach (checkpoint_id, max_ms)
    SELECT checkpoint_id, MAX(ended_at - started_at) FROM visits GROUP BY checkpoint_id;

CREATE FUNCTION note_visit_reach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ended_at - NEW.started_at > COALESCE(
        (SELECT max_ms FROM checkpoint_reach WHERE checkpoint_id = NEW.checkpoint_id), -1) THEN
        INSERT INTO checkpoint_reach AS r (checkpoint_id, max_ms)
            VALUES (NEW.checkpoint_id, NEW.ended_at - NEW.started_at)
            ON CONFLICT (checkpoint_id) DO UPDATE SET max_ms = GREATEST(r.max_ms, EXCLUDED.max_ms);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER visits_reach AFTER INSERT OR UPDATE OF ended_at ON visits
    FOR EACH ROW EXECUTE FUNCTION note_visit_reach();
