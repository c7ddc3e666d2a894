-- Shares' full-text and tag indexes merge their pending lists into the index
-- in small steps: the merge runs inside whichever share insert takes the
-- list past its limit, and at the default 4 MB (about 15,000 shares) it held
-- that batch, and every share queued behind it, for 100-300 ms (the fan-out
-- benchmark's outliers; ≈ 0.28 ms per 8 kB page merged). At 512 kB a merge
-- takes ≈ 20 ms. Without a pending list (fastupdate off, as shares_mentions)
-- the write path lost 15-18 % of its throughput (three runs each).
ALTER INDEX shares_search SET (gin_pending_list_limit = 512);
ALTER INDEX shares_tags SET (gin_pending_list_limit = 512);
SELECT gin_clean_pending_list('shares_search'::regclass);
SELECT gin_clean_pending_list('shares_tags'::regclass);
