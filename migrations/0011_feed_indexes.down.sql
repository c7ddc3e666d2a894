DROP INDEX shares_connections;
ALTER INDEX shares_mentions RESET (fastupdate);
