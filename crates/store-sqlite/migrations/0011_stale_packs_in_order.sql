-- The packer walks the stale packs in order of day and checkpoint, on from where its last batch
-- ended (see vaora_app::visit_pack::PackCursor): the index that finds them keeps that order.
DROP INDEX visit_packs_stale;
CREATE INDEX visit_packs_stale ON visit_packs (day, checkpoint_id) WHERE visits IS NULL;
