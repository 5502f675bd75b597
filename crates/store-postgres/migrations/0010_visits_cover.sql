-- Tracing reads visits by checkpoint and time, and by person and time, and needs every column it
-- reads from the index: PostgreSQL then answers from the index alone (an index-only scan, once
-- vacuum has marked the table's pages visible) instead of fetching each of hundreds of thousands
-- of rows from the table. The statistics' reads use the same indexes.
CREATE INDEX visits_checkpoint_cover ON visits (checkpoint_id, started_at, ended_at, user_id) INCLUDE (id);
DROP INDEX visits_checkpoint_time;
CREATE INDEX visits_user_cover ON visits (user_id, started_at) INCLUDE (ended_at, checkpoint_id, id);
DROP INDEX visits_user_time;
