package community

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tie is the weight between two people for the network analytics: the same
// strength as a connection's (see Strength), and for pairs who interact without
// a declared connection, their decayed interactions alone.
type Tie struct {
	A, B     int64  // A < B
	Kind     string // the declared kind, or "" for an undeclared tie
	Weight   float64
	Declared bool
}

// TieFilter narrows the ties the analytics load.
type TieFilter struct {
	// Window keeps interactions younger than this (0: up to StrengthHorizon).
	Window time.Duration
	// Kind keeps only declared connections of this kind ("" for all ties).
	Kind string
}

const tiesSQL = `
WITH w AS (` + interactionWeightsSQL + `),
b AS (SELECT * FROM unnest(@base_kinds::text[], @base_values::float8[]) AS b(kind, base)),
inter AS (
	SELECT least(i.from_node, i.to_node) AS a, greatest(i.from_node, i.to_node) AS b,
	       sum(` + decayedWeightSQL + `) AS score
	FROM interactions i JOIN w ON w.kind = i.kind
	WHERE ` + recentSQL + ` AND i.created_at > @since::timestamptz
	GROUP BY 1, 2),
conn AS (
	SELECT least(from_node, to_node) AS a, greatest(from_node, to_node) AS b, kind
	FROM connections WHERE state = 'accepted' AND (@kind = '' OR kind = @kind))
SELECT coalesce(c.a, i.a), coalesce(c.b, i.b), coalesce(c.kind, ''),
       least(@cap::float8, coalesce(bb.base, 0) + coalesce(i.score, 0)), c.a IS NOT NULL
FROM conn c
FULL JOIN inter i ON i.a = c.a AND i.b = c.b
LEFT JOIN b bb ON bb.kind = c.kind
JOIN nodes na ON na.id = coalesce(c.a, i.a) AND na.deactivated_at IS NULL
JOIN nodes nb ON nb.id = coalesce(c.b, i.b) AND nb.deactivated_at IS NULL
WHERE (@kind = '' OR c.a IS NOT NULL)`

// Ties lists every weighted tie between active people, for the analytics.
func (s *Store) Ties(ctx context.Context, f TieFilter) ([]Tie, error) {
	now := time.Now()
	args := strengthArgs(now)
	since := time.Time{}
	if f.Window > 0 {
		since = now.Add(-f.Window)
	}
	args["since"], args["kind"] = since, f.Kind
	rows, err := s.pool.Query(ctx, tiesSQL, args)
	if err != nil {
		return nil, fmt.Errorf("ties: %w", err)
	}
	ties, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Tie])
	if err != nil {
		return nil, fmt.Errorf("ties: %w", err)
	}
	return ties, nil
}

// PersonRef is an active person for the analytics, with the declared
// communities they belong to.
type PersonRef struct {
	ID          int64
	Handle      string
	DisplayName string
	Communities []string // slugs
	Skills      []string
	CreatedAt   time.Time
}

// ActivePeople lists every active person, by id.
func (s *Store) ActivePeople(ctx context.Context) ([]PersonRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.handle, n.display_name,
		coalesce((SELECT array_agg(c.slug ORDER BY c.slug) FROM community_members m JOIN communities c ON c.id = m.community_id WHERE m.node_id = n.id), '{}'),
		n.skills, n.created_at
		FROM nodes n WHERE n.deactivated_at IS NULL ORDER BY n.id`)
	if err != nil {
		return nil, fmt.Errorf("active people: %w", err)
	}
	people, err := pgx.CollectRows(rows, pgx.RowToStructByPos[PersonRef])
	if err != nil {
		return nil, fmt.Errorf("active people: %w", err)
	}
	return people, nil
}
