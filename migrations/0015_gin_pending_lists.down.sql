ALTER INDEX shares_search RESET (gin_pending_list_limit);
ALTER INDEX shares_tags RESET (gin_pending_list_limit);
