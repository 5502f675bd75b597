-- Visit packs: each checkpoint's visits of one day in one value, which tracing decodes instead of
-- reading the rows one by one (see vaora_app::visit_pack). A pack whose `visits` is NULL is stale:
-- the trigger below marks it so, in the writing transaction, whenever a visit that started that
-- day is added, changed or deleted, and the packer packs the stale days before today. A day
-- begins at midnight in Vietnam: `(started_at + 25200000) / 86400000`.
--
-- The trigger's upsert locks the pack's row even when it has nothing to change (a check-in's
-- day, today, is stale already), and the packer locks the rows it packs (FOR UPDATE SKIP LOCKED)
-- before it reads their visits: so a pack is never made from visits that a transaction still
-- writing will change. Check-ins are written by one writer, so the lock costs them no waiting.
CREATE TABLE visit_packs (
    checkpoint_id BIGINT NOT NULL,
    day           BIGINT NOT NULL,
    visits        BYTEA,
    PRIMARY KEY (checkpoint_id, day)
);

-- A pack of a busy day is a few kilobytes: kept in the table's own page up to a page's size (not
-- moved out to the TOAST table beyond 2 kB, which costs a second look-up per pack), and never
-- compressed (packed integers hardly compress, and every trace would pay to uncompress them).
ALTER TABLE visit_packs SET (toast_tuple_target = 8160);
ALTER TABLE visit_packs ALTER COLUMN visits SET STORAGE EXTERNAL;

CREATE INDEX visit_packs_stale ON visit_packs (day) WHERE visits IS NULL;

INSERT INTO visit_packs (checkpoint_id, day)
    SELECT DISTINCT checkpoint_id, (started_at + 25200000) / 86400000 FROM visits
    ON CONFLICT DO NOTHING;

CREATE FUNCTION stale_visit_pack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO visit_packs AS p (checkpoint_id, day)
            VALUES (OLD.checkpoint_id, (OLD.started_at + 25200000) / 86400000)
            ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE p.visits IS NOT NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO visit_packs AS p (checkpoint_id, day)
            VALUES (NEW.checkpoint_id, (NEW.started_at + 25200000) / 86400000)
            ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE p.visits IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER visits_pack AFTER INSERT OR UPDATE OR DELETE ON visits
    FOR EACH ROW EXECUTE FUNCTION stale_visit_pack();
