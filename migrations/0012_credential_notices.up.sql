-- Every instance keeps the bearer tokens it resolved (web/tokencache.go) and
-- trusts them without asking again only while it hears of every change that
-- could make them wrong: these triggers say, after commit, whose credentials
-- or profile changed, whatever made the change (a request on any instance,
-- `server grant` at the command line, an import, a cascade). The payload is
-- the node's id; notices of one transaction with the same id arrive once.
CREATE FUNCTION nc_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nc_credentials', to_jsonb(OLD) ->> TG_ARGV[0]);
    RETURN NULL;
END $$;

-- The columns a resolved token carries (nodeColumns), and the session epoch.
-- A token's last-used touch is no change.
CREATE TRIGGER nodes_credentials AFTER UPDATE OF handle, display_name, email, title, location, bio, skills,
    steward, people_analyst, deactivated_at, session_epoch OR DELETE ON nodes
    FOR EACH ROW EXECUTE FUNCTION nc_credentials_changed('id');
CREATE TRIGGER access_tokens_credentials AFTER UPDATE OF node_id, token_hash, revoked_at OR DELETE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION nc_credentials_changed('node_id');
