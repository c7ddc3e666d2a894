DROP TABLE password_resets;
DROP TRIGGER sessions_touch ON sessions;
DROP FUNCTION sessions_touch();
ALTER TABLE sessions
    DROP COLUMN created_at,
    DROP COLUMN last_seen_at,
    DROP COLUMN address,
    DROP COLUMN user_agent;
