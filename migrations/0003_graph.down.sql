DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS graph_snapshots;
ALTER TABLE nodes DROP COLUMN IF EXISTS people_analyst;
