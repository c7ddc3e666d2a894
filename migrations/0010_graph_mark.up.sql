-- The analytics recompute when the network changed, which they tell by the
-- newest event that can change it. A new share changes no tie unless it
-- mentions somebody or passes a share on (those are interactions), so such
-- plain shares are left out of the mark; this index finds the newest other
-- event with one probe however many shares follow it.
CREATE INDEX events_graph_changes ON events (id)
    WHERE type <> 'share.created' OR payload -> 'mentions' <> '[]'::jsonb OR payload ? 'parent_id';
-- Marks taken the old way are not comparable with the new ones: recompute once.
UPDATE graph_snapshots SET source_mark = 0 WHERE kind = 'current';
