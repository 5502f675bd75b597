-- Visit packs: each checkpoint's visits of one day in one value, which tracing decodes instead of
-- reading the rows one by one (see vaora_app::visit_pack). A pack whose `visits` is NULL is stale:
-- the triggers below mark it so, in the writing transaction, whenever a visit that started that
-- day is added, changed or deleted, and the packer packs the stale days before today. A day
-- begins at midnight in Vietnam: `(started_at + 25200000) / 86400000`.
CREATE TABLE visit_packs (
    checkpoint_id INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    visits        BLOB,
    PRIMARY KEY (checkpoint_id, day)
) STRICT;

CREATE INDEX visit_packs_stale ON visit_packs (day) WHERE visits IS NULL;

INSERT INTO visit_packs (checkpoint_id, day)
    SELECT DISTINCT checkpoint_id, (started_at + 25200000) / 86400000 FROM visits WHERE true
    ON CONFLICT DO NOTHING;

-- A check-in's day is today, whose pack is already stale (or missing): then this is one look-up
-- and no write.
CREATE TRIGGER visits_pack_insert AFTER INSERT ON visits
BEGIN
    INSERT INTO visit_packs (checkpoint_id, day) VALUES (NEW.checkpoint_id, (NEW.started_at + 25200000) / 86400000)
        ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE visits IS NOT NULL;
END;

CREATE TRIGGER visits_pack_update AFTER UPDATE ON visits
BEGIN
    INSERT INTO visit_packs (checkpoint_id, day) VALUES (OLD.checkpoint_id, (OLD.started_at + 25200000) / 86400000)
        ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE visits IS NOT NULL;
    INSERT INTO visit_packs (checkpoint_id, day) VALUES (NEW.checkpoint_id, (NEW.started_at + 25200000) / 86400000)
        ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE visits IS NOT NULL;
END;

CREATE TRIGGER visits_pack_delete AFTER DELETE ON visits
BEGIN
    INSERT INTO visit_packs (checkpoint_id, day) VALUES (OLD.checkpoint_id, (OLD.started_at + 25200000) / 86400000)
        ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE visits IS NOT NULL;
END;
