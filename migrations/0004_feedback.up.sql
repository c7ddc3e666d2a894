-- Feedback threads: in a community, or addressed to chosen peers.
CREATE TABLE threads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    community_id bigint REFERENCES communities (id) ON DELETE CASCADE, -- NULL: addressed to peers
    kind         text NOT NULL CHECK (kind IN ('feedback_request', 'retrospective', 'idea', 'question')),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body         text NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    due_at       timestamptz,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    summary      text NOT NULL DEFAULT '',
    resolved_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    search       tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body || ' ' || summary)) STORED
);
CREATE INDEX threads_community ON threads (community_id, id DESC);
CREATE INDEX threads_author ON threads (author_id, id DESC);
CREATE INDEX threads_search ON threads USING gin (search);

-- Peers asked for feedback (and anyone addressed by a peer thread).
CREATE TABLE thread_requests (
    thread_id   bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    node_id     bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    asked_at    timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    reminded_at timestamptz,
    PRIMARY KEY (thread_id, node_id)
);
CREATE INDEX thread_requests_node ON thread_requests (node_id);

-- Replies. An anonymous reply has no author here: its author is kept apart in
-- reply_authors, read only to enforce one's own edits, never shown or exported.
CREATE TABLE replies (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_id  bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    author_id  bigint REFERENCES nodes (id) ON DELETE SET NULL,
    anonymous  boolean NOT NULL DEFAULT false,
    quote_id   bigint REFERENCES replies (id) ON DELETE SET NULL,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    mentions   bigint[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at  timestamptz,
    CHECK (NOT anonymous OR author_id IS NULL)
);
CREATE INDEX replies_thread ON replies (thread_id, id);
CREATE TABLE reply_authors (
    reply_id bigint PRIMARY KEY REFERENCES replies (id) ON DELETE CASCADE,
    node_id  bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE
);
CREATE TABLE reply_edits (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reply_id  bigint NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    body      text NOT NULL,
    edited_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE reactions (
    reply_id   bigint NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    reaction   text NOT NULL CHECK (reaction IN ('thanks', 'agree', 'insightful', 'question', 'celebrate')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reply_id, node_id, reaction)
);
-- Unread state: a read position per member and thread.
CREATE TABLE thread_reads (
    thread_id     bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    node_id       bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    last_reply_id bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, node_id)
);
-- Proposals to resolve a thread with a summary: the author, or two participants, resolve.
CREATE TABLE resolve_proposals (
    thread_id  bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    summary    text NOT NULL CHECK (length(summary) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, node_id)
);

-- Kudos: thanks from one node to another, public or for the recipient only.
CREATE TABLE kudos (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_node  bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    to_node    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    message    text NOT NULL DEFAULT '' CHECK (length(message) <= 1000),
    vals       text[] NOT NULL DEFAULT '{}',
    public     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (from_node <> to_node)
);
CREATE INDEX kudos_to ON kudos (to_node, id DESC);
CREATE INDEX kudos_from ON kudos (from_node, id DESC);

-- Peer verification of shares: one current mark per node and share; every
-- change is kept.
CREATE TABLE share_marks (
    share_id   bigint NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    verdict    text NOT NULL CHECK (verdict IN ('disputed', 'confirmed')),
    reason     text NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    source     text NOT NULL DEFAULT '' CHECK (length(source) <= 2000),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (share_id, node_id)
);
CREATE TABLE share_mark_history (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    share_id bigint NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    node_id  bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    verdict  text NOT NULL,
    reason   text NOT NULL,
    source   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE share_corrections (
    share_id   bigint PRIMARY KEY REFERENCES shares (id) ON DELETE CASCADE,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Shared decisions.
CREATE TABLE proposals (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id      bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    author_id         bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body              text NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    process           text NOT NULL CHECK (process IN ('consent', 'poll', 'score')),
    options           text[] NOT NULL DEFAULT '{}',
    multiple          boolean NOT NULL DEFAULT false, -- poll: several choices allowed
    closes_at         timestamptz NOT NULL,
    quorum            int CHECK (quorum IS NULL OR quorum > 0),
    hidden_results    boolean NOT NULL DEFAULT false,
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    outcome           text CHECK (outcome IN ('passed', 'failed')),
    outcome_statement text NOT NULL DEFAULT '',
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposals_open ON proposals (closes_at) WHERE status = 'open';
CREATE INDEX proposals_community ON proposals (community_id, id DESC);
CREATE TABLE votes (
    proposal_id bigint NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    node_id     bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    position    text CHECK (position IN ('agree', 'abstain', 'disagree', 'block')),
    choices     int[],
    scores      int[],
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proposal_id, node_id)
);
