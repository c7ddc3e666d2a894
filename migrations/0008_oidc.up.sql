-- Single sign-on: the people an OpenID Connect provider vouches for, by the
-- pair the standard makes stable and unique (issuer, subject), and the node
-- each signs in as. Emails change and can be reassigned; the subject cannot,
-- so a returning person is found by it, and by email only the first time.
CREATE TABLE oidc_identities (
    issuer       text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
    subject      text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    node_id      bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    email        text NOT NULL, -- as the provider last asserted it (verified)
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject),
    -- One account per provider for each node: a second account with the same
    -- email (say, a recreated or reassigned address) does not silently take
    -- over a node already linked to someone's account.
    UNIQUE (issuer, node_id)
);
