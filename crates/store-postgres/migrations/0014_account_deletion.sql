-- Deleting an account follows every foreign key to `users`: each deleted person means a look-up on
-- each referencing column, and without an index that look-up reads the whole table (on `scans`,
-- seconds of the writer's time at a province's size). The partial indexes hold only the rows that
-- name someone: a self check-in has no checker, few people were registered by a checker.
CREATE INDEX scans_user ON scans (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX scans_checker ON scans (checker_id) WHERE checker_id IS NOT NULL;
CREATE INDEX arrivals_user ON arrivals (user_id);
CREATE INDEX declarations_declared_by ON declarations (declared_by) WHERE declared_by IS NOT NULL;
CREATE INDEX users_verified_by ON users (verified_by) WHERE verified_by IS NOT NULL;
CREATE INDEX users_registered_by ON users (registered_by) WHERE registered_by IS NOT NULL;
CREATE INDEX cases_user ON cases (user_id);
CREATE INDEX exposure_notices_sent_by ON exposure_notices (sent_by) WHERE sent_by IS NOT NULL;
