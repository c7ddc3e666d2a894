-- Sessions end everywhere at once (sign out everywhere, deactivation).
--
-- A browser session row (scs pgxstore's layout) learns its node when it is
-- saved, so that every session of a node can be deleted in one statement and
-- counted for the person's own data download.
ALTER TABLE sessions ADD COLUMN node_id bigint REFERENCES nodes (id) ON DELETE CASCADE;
CREATE INDEX sessions_node ON sessions (node_id) WHERE node_id IS NOT NULL;

-- Deleting the rows alone cannot end a session that a request in flight is
-- about to save again (scs saves with an upsert). So every session also carries
-- its node's epoch from sign-in, and ending every session raises the epoch: a
-- session with an older epoch is refused on every instance, whatever its row.
ALTER TABLE nodes ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;

-- Sign-in attempts per client address, counted in fixed windows shared by all
-- instances (go-chi/httprate's sliding-window estimate reads the current and
-- the previous window). The key is a SHA-256 of limiter and address, so no
-- address is kept here; rows are swept after expires_at. Unlogged: a crash may
-- lose a minute of counts, which costs nothing, and every attempt writes here.
CREATE UNLOGGED TABLE rate_counters (
    key          bytea NOT NULL,
    window_start timestamptz NOT NULL,
    count        int NOT NULL CHECK (count >= 0),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_expires ON rate_counters (expires_at);

-- The audit log records from where (the client address the server saw) as well
-- as who, what and when.
ALTER TABLE audit_log ADD COLUMN address text NOT NULL DEFAULT '';

-- Failed password sign-ins of an account in the last 15 minutes decide its
-- progressive delay (internal/community SignIn); the log is their record, keyed
-- by a hash of the email, so unknown emails are slowed down alike.
CREATE INDEX audit_log_signin ON audit_log ((detail ->> 'account'), at)
    WHERE action IN ('signin', 'signin_failed');

-- Append-only: the application never changes or deletes an audit row, and the
-- database refuses it should anything try. The one update allowed is the
-- foreign key's own ON DELETE SET NULL, when a node row is deleted: the row
-- stays, with its actor unknown.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.actor_id IS NULL AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
