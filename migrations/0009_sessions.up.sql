-- People list their browser sessions and end one of them (ASVS 7.5.2), and
-- stewards make one-time password reset links (6.4.3).

-- What a person needs to recognise a session: when it began and was last used,
-- and the address and browser it began from (filled at sign-in, web signIn).
ALTER TABLE sessions
    ADD COLUMN created_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN address      text NOT NULL DEFAULT '',
    ADD COLUMN user_agent   text NOT NULL DEFAULT '';

-- scs saves the session (an upsert) on every request when an idle timeout is
-- set, so the update is the moment of use. An ended session (its expiry set
-- in the past by community EndSession) stays ended: a request in flight that
-- saves it afterwards cannot bring it back, since scs's upsert sets expiry.
CREATE FUNCTION sessions_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.last_seen_at := now();
    IF OLD.expiry <= now() THEN
        NEW.expiry := OLD.expiry;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sessions_touch BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_touch();

-- One-time password reset links a steward makes for a person: only a hash of
-- the token is kept, like invites.
CREATE TABLE password_resets (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    created_by bigint REFERENCES nodes (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_node ON password_resets (node_id);
