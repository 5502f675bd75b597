-- Deleting an account (vaora_store_postgres::accounts) deletes or unlinks each row that names the
-- person, each through an index. A scan names its person through its visit (`scans_visit`), its
-- sender (`UNIQUE (sender_id, client_id)`) or, when it has no visit, through the partial index
-- below: a full index on `scans.user_id` would cost every check-in a write at a random place in
-- it. The other indexes are on tables written far less often.
CREATE INDEX scans_user_unvisited ON scans (user_id) WHERE visit_id IS NULL AND user_id IS NOT NULL;
CREATE INDEX arrivals_user ON arrivals (user_id);
CREATE INDEX declarations_declared_by ON declarations (declared_by) WHERE declared_by IS NOT NULL;
CREATE INDEX users_verified_by ON users (verified_by) WHERE verified_by IS NOT NULL;
CREATE INDEX users_registered_by ON users (registered_by) WHERE registered_by IS NOT NULL;
CREATE INDEX cases_user ON cases (user_id);
CREATE INDEX exposure_notices_sent_by ON exposure_notices (sent_by) WHERE sent_by IS NOT NULL;

-- The foreign keys of `scans` to `users` go: their ON DELETE SET NULL would look each deleted
-- person up in `scans.user_id` and `scans.checker_id`, which have no index of their own, that is
-- read the whole table under the writers' lock. The deletion unlinks those scans itself. (SQLite
-- keeps them, and runs the deletion with foreign keys off.)
ALTER TABLE scans DROP CONSTRAINT scans_user_id_fkey, DROP CONSTRAINT scans_checker_id_fkey;
