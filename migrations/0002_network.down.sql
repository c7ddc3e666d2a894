ALTER TABLE events DROP COLUMN IF EXISTS to_nodes, DROP COLUMN IF EXISTS to_all;
DROP TABLE IF EXISTS share_edits;
DROP TABLE IF EXISTS shares;
DROP TABLE IF EXISTS community_purpose_history;
DROP INDEX IF EXISTS communities_search;
ALTER TABLE communities DROP COLUMN IF EXISTS search;
DROP TABLE IF EXISTS interactions;
DROP TABLE IF EXISTS invites;
DROP TABLE IF EXISTS access_tokens;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS node_offers;
DROP INDEX IF EXISTS nodes_skills;
DROP INDEX IF EXISTS nodes_search;
ALTER TABLE nodes DROP COLUMN IF EXISTS search;
DROP FUNCTION IF EXISTS nc_words(text[]);
ALTER TABLE nodes
    DROP COLUMN IF EXISTS external_id,
    DROP COLUMN IF EXISTS deactivated_at,
    DROP COLUMN IF EXISTS steward,
    DROP COLUMN IF EXISTS password_hash;
