DROP INDEX events_graph_changes;
UPDATE graph_snapshots SET source_mark = 0 WHERE kind = 'current';
