-- Accounts: how a node signs in. Imported or invited nodes have no password yet.
ALTER TABLE nodes
    ADD COLUMN password_hash  text,
    ADD COLUMN steward        boolean NOT NULL DEFAULT false,
    ADD COLUMN deactivated_at timestamptz,
    ADD COLUMN external_id    text UNIQUE; -- the id an import used for this person (edges refer to it)

-- Skills are searchable with the name and handle.
CREATE FUNCTION nc_words(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_to_string($1, ' '), '') $$;
ALTER TABLE nodes ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', handle || ' ' || display_name || ' ' || nc_words(skills) || ' ' || title)) STORED;
CREATE INDEX nodes_search ON nodes USING gin (search);
CREATE INDEX nodes_skills ON nodes USING gin (skills);

-- What a node can offer and what it needs: short texts with tags.
CREATE TABLE node_offers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('offer', 'need')),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 280),
    tags       text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX node_offers_node ON node_offers (node_id);
CREATE INDEX node_offers_tags ON node_offers USING gin (tags);

-- Browser sessions (alexedwards/scs pgxstore layout).
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- Personal access tokens for API clients: only a hash is stored.
CREATE TABLE access_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id      bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX access_tokens_node ON access_tokens (node_id);

-- Invite links, for organisations whose registration is not open.
CREATE TABLE invites (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    created_by bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    email      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_by    bigint REFERENCES nodes (id) ON DELETE SET NULL,
    used_at    timestamptz
);

-- Who interacted with whom: metadata only, never content. Feeds connection
-- strength, suggestions and the graph analytics.
CREATE TABLE interactions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_node  bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    to_node    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('reply', 'mention', 'reaction', 'kudos', 'answer', 'vote', 'reshare', 'feedback')),
    ref        text NOT NULL DEFAULT '', -- what it was about, e.g. "share:42"
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (from_node <> to_node)
);
CREATE INDEX interactions_pair ON interactions (from_node, to_node, created_at);
CREATE INDEX interactions_to ON interactions (to_node, created_at);

-- Communities: any member may edit the purpose; every version is kept.
ALTER TABLE communities ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', slug || ' ' || name || ' ' || purpose)) STORED;
CREATE INDEX communities_search ON communities USING gin (search);
CREATE TABLE community_purpose_history (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    purpose      text NOT NULL,
    edited_by    bigint REFERENCES nodes (id) ON DELETE SET NULL,
    edited_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX community_purpose_history_c ON community_purpose_history (community_id, id);

-- Shares: the flow of information. A reshare is a share with parent_id (who it
-- was passed on from) and origin_id (the first share of the chain).
CREATE TABLE shares (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    audience     text NOT NULL CHECK (audience IN ('community', 'connections', 'everyone')),
    community_id bigint REFERENCES communities (id) ON DELETE CASCADE,
    body         text NOT NULL CHECK (length(body) <= 10000),
    tags         text[] NOT NULL DEFAULT '{}',
    mentions     bigint[] NOT NULL DEFAULT '{}',
    parent_id    bigint REFERENCES shares (id) ON DELETE SET NULL,
    origin_id    bigint REFERENCES shares (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    edited_at    timestamptz,
    deleted_at   timestamptz,
    search       tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    CHECK ((audience = 'community') = (community_id IS NOT NULL))
);
CREATE INDEX shares_community ON shares (community_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX shares_author ON shares (author_id, id DESC);
CREATE INDEX shares_everyone ON shares (id DESC) WHERE audience = 'everyone' AND deleted_at IS NULL;
CREATE INDEX shares_mentions ON shares USING gin (mentions);
CREATE INDEX shares_tags ON shares USING gin (tags);
CREATE INDEX shares_search ON shares USING gin (search);
CREATE INDEX shares_origin ON shares (origin_id) WHERE origin_id IS NOT NULL;

CREATE TABLE share_edits (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    share_id  bigint NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    body      text NOT NULL, -- the text before the edit
    edited_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX share_edits_share ON share_edits (share_id, id);

-- Outbox events name who may receive them: everyone, or a list of nodes
-- computed when the event was written.
ALTER TABLE events
    ADD COLUMN to_all   boolean NOT NULL DEFAULT false,
    ADD COLUMN to_nodes bigint[] NOT NULL DEFAULT '{}';
