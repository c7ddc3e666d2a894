DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
DROP FUNCTION IF EXISTS audit_log_append_only();
DROP INDEX IF EXISTS audit_log_signin;
ALTER TABLE IF EXISTS audit_log DROP COLUMN IF EXISTS address;
DROP TABLE IF EXISTS rate_counters;
ALTER TABLE IF EXISTS nodes DROP COLUMN IF EXISTS session_epoch;
DROP INDEX IF EXISTS sessions_node;
ALTER TABLE IF EXISTS sessions DROP COLUMN IF EXISTS node_id;
