DROP TRIGGER access_tokens_credentials ON access_tokens;
DROP TRIGGER nodes_credentials ON nodes;
DROP FUNCTION nc_credentials_changed();
