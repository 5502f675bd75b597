-- The packer walks the stale packs in order of day and checkpoint, on from where its last batch
-- ended (see vaora_app::visit_pack::PackCursor), so that each batch starts where the last one
-- ended. A walk that began at the start each time stepped over the entries of every pack already
-- packed: an update leaves the old row's entry in this index until vacuum.
DROP INDEX visit_packs_stale;
CREATE INDEX visit_packs_stale ON visit_packs (day, checkpoint_id) WHERE visits IS NULL;
