-- The feed looks up the shares mentioning a person through this index. With
-- GIN's fast update every such look-up also reads the whole list of entries
-- not yet merged (up to 4 MB under a stream of posts: 2.3 ms per feed), so
-- the index is kept merged instead; most shares mention nobody, which costs
-- one posting-tree insert.
ALTER INDEX shares_mentions SET (fastupdate = off);
SELECT gin_clean_pending_list('shares_mentions'::regclass);
-- The feed's newest shares to connections, per author, without reading the
-- author's other shares.
CREATE INDEX shares_connections ON shares (author_id, id DESC) WHERE audience = 'connections' AND deleted_at IS NULL;
