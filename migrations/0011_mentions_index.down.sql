ALTER INDEX shares_mentions RESET (fastupdate);
