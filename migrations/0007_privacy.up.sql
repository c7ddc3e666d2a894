-- Retention: the purge job (internal/community/retention.go) deletes interaction
-- metadata older than INTERACTION_RETENTION in small batches, oldest first;
-- this index lets each batch find its rows without reading the whole table.
CREATE INDEX interactions_created ON interactions (created_at);

-- The last purge, whichever instance ran it: the privacy page tells people how
-- long their metadata is kept and shows that the purge really runs.
CREATE TABLE retention_state (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    retention_seconds bigint NOT NULL CHECK (retention_seconds > 0),
    purged_at         timestamptz NOT NULL,
    purged            jsonb NOT NULL DEFAULT '{}' -- rows removed, by kind
);

-- "Download your data" and "who viewed your named analytics" read the audit
-- log by actor and by action, which grows with every sign-in and view.
CREATE INDEX audit_log_privacy_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_privacy_action ON audit_log (action, id);
