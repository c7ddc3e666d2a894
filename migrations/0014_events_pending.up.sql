-- The outbox's "not yet published" is a narrow table of event ids instead of
-- a column of the event: marking an event published rewrote the whole event
-- row (≈ 1.6 KB with its recipients), and not in place, since the partial
-- index on the column kept the update from being HOT: a second copy of every
-- event and its WAL. Now a write adds the id here, publishing deletes it, and
-- the outbox relay looks here for what is still owed.
CREATE TABLE events_pending (id bigint PRIMARY KEY);
INSERT INTO events_pending (id) SELECT id FROM events WHERE published_at IS NULL;
DROP INDEX events_unpublished;
ALTER TABLE events DROP COLUMN published_at;
