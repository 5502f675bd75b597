-- People without a login of their own: a walk-in registered by a checker at the gate has no
-- password and may have no phone. `kind` says which; `registered_by` who registered a walk-in.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'account';
ALTER TABLE users ADD COLUMN registered_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE users ALTER COLUMN phone_sealed DROP NOT NULL;
ALTER TABLE users ALTER COLUMN phone_hash DROP NOT NULL;
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_kind_check CHECK (kind IN ('account', 'walk_in'));
ALTER TABLE users ADD CONSTRAINT users_account_login_check
    CHECK (kind <> 'account' OR (phone_hash IS NOT NULL AND phone_sealed IS NOT NULL AND password_hash IS NOT NULL));
ALTER TABLE users ADD CONSTRAINT users_phone_pair_check CHECK ((phone_hash IS NULL) = (phone_sealed IS NULL));
