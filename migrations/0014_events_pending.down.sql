ALTER TABLE events ADD COLUMN published_at timestamptz;
UPDATE events e SET published_at = e.created_at WHERE NOT EXISTS (SELECT 1 FROM events_pending p WHERE p.id = e.id);
CREATE INDEX events_unpublished ON events (id) WHERE published_at IS NULL;
DROP TABLE events_pending;
