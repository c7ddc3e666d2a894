-- The events of one group commit travel as one stream message (a bundle,
-- bus.PublishBundle), named by the smallest event id among them, kept here so
-- that the outbox relay republishes exactly the same bundle under the same
-- name (JetStream then drops the repeat) and never part of one. NULL: the
-- event travels alone.
ALTER TABLE events ADD COLUMN bundle bigint;
