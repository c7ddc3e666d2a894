-- People analysts may see the named, organisation-wide network; every view and
-- export they make is audited. The capability grants no reach in the network.
ALTER TABLE nodes ADD COLUMN people_analyst boolean NOT NULL DEFAULT false;

-- Computed network analytics. "current" is the latest result per time window
-- (window_days 0 = all time); "weekly" keeps one per ISO week for trends.
CREATE TABLE graph_snapshots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    window_days int NOT NULL CHECK (window_days >= 0),
    kind        text NOT NULL CHECK (kind IN ('current', 'weekly')),
    week        date,                       -- Monday of the ISO week, for weekly snapshots
    computed_at timestamptz NOT NULL DEFAULT now(),
    source_mark bigint NOT NULL DEFAULT 0,  -- the newest outbox event id the data included
    took_ms     int NOT NULL DEFAULT 0,
    summary     jsonb NOT NULL,             -- whole-network figures
    nodes       jsonb NOT NULL,             -- per-person metrics and layout
    communities jsonb NOT NULL,             -- detected communities
    CHECK ((kind = 'weekly') = (week IS NOT NULL))
);
CREATE UNIQUE INDEX graph_snapshots_current ON graph_snapshots (window_days) WHERE kind = 'current';
CREATE UNIQUE INDEX graph_snapshots_weekly ON graph_snapshots (window_days, week) WHERE kind = 'weekly';

-- Who looked at or exported named analytics, and what.
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id bigint REFERENCES nodes (id) ON DELETE SET NULL,
    action   text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_at ON audit_log (at);
