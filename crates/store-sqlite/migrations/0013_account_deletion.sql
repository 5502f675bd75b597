-- Deleting an account (vaora_store_sqlite::accounts) deletes or unlinks each row that names the
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
