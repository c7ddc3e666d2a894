-- Nodes are people. Every node is equal: there is no manager or reporting line.
CREATE TABLE nodes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle       text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9][a-z0-9_-]{1,31}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    email        text UNIQUE CHECK (email = lower(email)),
    title        text NOT NULL DEFAULT '',
    location     text NOT NULL DEFAULT '',
    bio          text NOT NULL DEFAULT '',
    skills       text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A node community forms around a topic or need; all members are equal.
CREATE TABLE communities (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    purpose    text NOT NULL DEFAULT '',
    open       boolean NOT NULL DEFAULT true,
    created_by bigint REFERENCES nodes (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE community_members (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    node_id      bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, node_id)
);
CREATE INDEX community_members_node ON community_members (node_id);

-- A declared connection between two nodes; requested by from_node.
CREATE TABLE connections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_node   bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    to_node     bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('collaborate', 'advice', 'mentor', 'social')),
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz,
    CHECK (from_node <> to_node),
    UNIQUE (from_node, to_node)
);
CREATE INDEX connections_to ON connections (to_node);

-- The outbox: a write commits its domain rows and an event here in one
-- transaction; the event is published to NATS after commit (id = Nats-Msg-Id).
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject      text NOT NULL,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX events_unpublished ON events (id) WHERE published_at IS NULL;
