-- The analytics recompute when the network changed. A new share changes no
-- tie (its mentions and reshares are interactions, counted apart), so the
-- mark skips share.created events; this index keeps finding the newest other
-- event one probe however many shares follow it.
CREATE INDEX events_graph_changes ON events (id) WHERE type <> 'share.created';
-- Marks taken the old way are not comparable with the new ones: recompute once.
UPDATE graph_snapshots SET source_mark = 0 WHERE kind = 'current';
