-- Dependants: children and elderly relatives whose declarations and check-ins a relative (their
-- guardian) makes for them, with no login of their own.
ALTER TABLE users DROP CONSTRAINT users_kind_check;
ALTER TABLE users ADD CONSTRAINT users_kind_check CHECK (kind IN ('account', 'walk_in', 'dependant'));
ALTER TABLE users ADD CONSTRAINT users_dependant_login_check CHECK (kind <> 'dependant' OR password_hash IS NULL);

-- Who declares and checks in for whom. A guardian numbers their dependants 1 to 15 (a family pass
-- names the members it checks in by these slots); one guardian per dependant.
CREATE TABLE dependants (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    guardian_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slot        SMALLINT NOT NULL CHECK (slot BETWEEN 1 AND 15),
    relation    TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    UNIQUE (guardian_id, slot)
);
