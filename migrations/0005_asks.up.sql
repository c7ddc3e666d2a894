-- Asks: a node's need, routed through the graph to those who may help.
CREATE TABLE asks (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asker_id           bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    community_id       bigint REFERENCES communities (id) ON DELETE SET NULL,
    title              text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body               text NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    tags               text[] NOT NULL DEFAULT '{}',
    urgency            text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('low', 'normal', 'high')),
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    accepted_answer_id bigint,
    max_hops           int NOT NULL DEFAULT 1 CHECK (max_hops BETWEEN 1 AND 6), -- how far routing reached so far
    widen_after        interval NOT NULL DEFAULT '2 hours',
    widened_at         timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    search             tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED
);
CREATE INDEX asks_open ON asks (widened_at) WHERE status = 'open';
CREATE INDEX asks_tags ON asks USING gin (tags);
CREATE INDEX asks_search ON asks USING gin (search);

-- Who an ask was offered to, why, and how they are connected to the asker.
CREATE TABLE ask_routes (
    ask_id    bigint NOT NULL REFERENCES asks (id) ON DELETE CASCADE,
    node_id   bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    reason    text NOT NULL,
    path      text[] NOT NULL DEFAULT '{}', -- handles from the asker to the candidate
    hops      int NOT NULL,
    score     float8 NOT NULL,
    via       bigint REFERENCES nodes (id) ON DELETE SET NULL, -- referred by
    status    text NOT NULL DEFAULT 'offered' CHECK (status IN ('offered', 'declined', 'answered', 'referred')),
    routed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ask_id, node_id)
);
CREATE INDEX ask_routes_node ON ask_routes (node_id, routed_at DESC);

CREATE TABLE ask_answers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ask_id     bigint NOT NULL REFERENCES asks (id) ON DELETE CASCADE,
    author_id  bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    accepted   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ask_answers_ask ON ask_answers (ask_id, id);
ALTER TABLE asks ADD CONSTRAINT asks_accepted_fk FOREIGN KEY (accepted_answer_id) REFERENCES ask_answers (id) ON DELETE SET NULL;

CREATE TABLE answer_reactions (
    answer_id  bigint NOT NULL REFERENCES ask_answers (id) ON DELETE CASCADE,
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    reaction   text NOT NULL CHECK (reaction IN ('thanks', 'helpful', 'insightful')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (answer_id, node_id, reaction)
);

-- Accepted answers raise a node's expertise in the ask's tags (feeds routing).
CREATE TABLE expertise (
    node_id    bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    tag        text NOT NULL,
    score      float8 NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, tag)
);
CREATE INDEX expertise_tag ON expertise (tag);
