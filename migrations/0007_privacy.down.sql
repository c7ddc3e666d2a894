DROP INDEX IF EXISTS audit_log_privacy_action;
DROP INDEX IF EXISTS audit_log_privacy_actor;
DROP TABLE IF EXISTS retention_state;
DROP INDEX IF EXISTS interactions_created;
