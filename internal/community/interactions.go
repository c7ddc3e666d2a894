package community

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DBTX is what RecordInteraction needs from PostgreSQL: a *pgxpool.Pool, a
// *pgx.Conn or a pgx.Tx all satisfy it, so other stores can record interactions
// inside their own transaction and nothing is half-written.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Kinds of interaction between two nodes (the schema's CHECK lists the same).
const (
	InteractionReply    = "reply"
	InteractionMention  = "mention"
	InteractionReaction = "reaction"
	InteractionKudos    = "kudos"
	InteractionAnswer   = "answer"
	InteractionVote     = "vote" // voted on the same proposal
	InteractionReshare  = "reshare"
	InteractionFeedback = "feedback"
)

// ---------------------------------------------------------------------------
// Connection strength: the one definition.
//
//	strength = min(StrengthCap, base(kind) + Σ w(kind_i) · 0.5^(age_i / StrengthHalfLife))
//
// summed over every interaction between the pair, in either direction, younger
// than StrengthHorizon (older ones are worth less than 1e-7 each). Declaring a
// connection is worth a little on its own; what the two actually do together
// is worth more, and fades unless it continues. Strength (Go) is the oracle;
// decayedWeightSQL is the same formula for queries, fed with these constants.
// ---------------------------------------------------------------------------

const (
	// StrengthHalfLife is the age at which an interaction counts half.
	StrengthHalfLife = 30 * 24 * time.Hour
	// StrengthHorizon is the age after which an interaction no longer counts.
	// It also keeps 0.5^x clear of PostgreSQL's float underflow error.
	StrengthHorizon = 730 * 24 * time.Hour
	// StrengthCap is the most a connection's strength can be.
	StrengthCap = 10.0
)

// connectionBase is what declaring a connection of each kind is worth.
var connectionBase = map[string]float64{
	KindCollaborate: 1.0,
	KindMentor:      1.0,
	KindAdvice:      0.8,
	KindSocial:      0.5,
}

// interactionWeight is what one fresh interaction of each kind is worth: helping
// (an answer, kudos, feedback) counts more than a passing reaction.
var interactionWeight = map[string]float64{
	InteractionAnswer:   1.0,
	InteractionKudos:    1.0,
	InteractionFeedback: 1.0,
	InteractionReply:    0.6,
	InteractionReshare:  0.5,
	InteractionMention:  0.4,
	InteractionVote:     0.3,
	InteractionReaction: 0.2,
}

// InteractionKinds lists the kinds of interaction, most valuable first.
var InteractionKinds = []string{
	InteractionAnswer, InteractionKudos, InteractionFeedback, InteractionReply,
	InteractionReshare, InteractionMention, InteractionVote, InteractionReaction,
}

// InteractionAt is one interaction's kind and time, the input of Strength.
type InteractionAt struct {
	Kind string
	At   time.Time
}

// Strength is a declared connection's strength at now, given the interactions
// between its two nodes (in either direction). An unknown kind counts zero.
func Strength(kind string, events []InteractionAt, now time.Time) float64 {
	return math.Min(StrengthCap, connectionBase[kind]+interactionScore(events, now))
}

// interactionScore is Σ w(kind)·0.5^(age/half-life) over events within the horizon.
func interactionScore(events []InteractionAt, now time.Time) float64 {
	sum := 0.0
	for _, e := range events {
		sum += decayedWeight(e.Kind, now.Sub(e.At))
	}
	return sum
}

func decayedWeight(kind string, age time.Duration) float64 {
	if age >= StrengthHorizon {
		return 0
	}
	days := max(age.Seconds(), 0) / 86400 // an interaction from the future counts as fresh
	return interactionWeight[kind] * math.Pow(0.5, days/(StrengthHalfLife.Hours()/24))
}

// interactionWeightsSQL is a relation w(kind, weight) built from interactionWeight;
// weightArgs supplies its parameters.
const interactionWeightsSQL = `SELECT * FROM unnest(@weight_kinds::text[], @weight_values::float8[]) AS w(kind, weight)`

// decayedWeightSQL is decayedWeight for an interaction aliased i joined to w; it
// needs the parameters of strengthArgs. Interactions past the horizon must be
// filtered out by the query (recentSQL), which also lets the index serve it.
const decayedWeightSQL = `w.weight * power(0.5::float8,
	greatest(extract(epoch FROM @now::timestamptz) - extract(epoch FROM i.created_at), 0)::float8
	/ 86400.0 / @half_life_days::float8)`

// recentSQL keeps interactions aliased i that are younger than the horizon.
const recentSQL = `i.created_at > @now::timestamptz - make_interval(secs => @horizon_seconds::float8)`

// strengthArgs are the named parameters of the strength SQL at now.
func strengthArgs(now time.Time) pgx.NamedArgs {
	a := pgx.NamedArgs{
		"now":             now,
		"half_life_days":  StrengthHalfLife.Hours() / 24,
		"horizon_seconds": StrengthHorizon.Seconds(),
		"cap":             StrengthCap,
	}
	a["weight_kinds"], a["weight_values"] = sortedWeights(interactionWeight)
	a["base_kinds"], a["base_values"] = sortedWeights(connectionBase)
	return a
}

func sortedWeights(m map[string]float64) ([]string, []float64) {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	values := make([]float64, len(kinds))
	for i, k := range kinds {
		values[i] = m[k]
	}
	return kinds, values
}

// ---------------------------------------------------------------------------
// Recording interactions.
// ---------------------------------------------------------------------------

const insertInteractions = `
INSERT INTO interactions (from_node, to_node, kind, ref)
SELECT $1, t, $3, $4 FROM (SELECT DISTINCT unnest($2::bigint[]) AS t) AS targets
WHERE t <> $1`

// RecordInteraction records that from interacted with to (who-to-whom metadata
// only: ref says what it was about, e.g. "share:42", never the content). Pass
// the transaction of the change it belongs to. An interaction with oneself is
// not one, and is skipped.
func RecordInteraction(ctx context.Context, db DBTX, from, to int64, kind, ref string) error {
	return RecordInteractions(ctx, db, from, []int64{to}, kind, ref)
}

// RecordInteractions records one interaction from from to each node in to (a
// share mentioning several people), once per node, skipping from itself.
func RecordInteractions(ctx context.Context, db DBTX, from int64, to []int64, kind, ref string) error {
	if _, ok := interactionWeight[kind]; !ok {
		return fmt.Errorf("record interaction: unknown kind %q", kind)
	}
	if len(to) == 0 {
		return nil
	}
	if _, err := db.Exec(ctx, insertInteractions, from, to, kind, ref); err != nil {
		return fmt.Errorf("record interaction: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Suggestions: "you often work with …".
// ---------------------------------------------------------------------------

const (
	// SuggestionWindow is how far back suggestions look.
	SuggestionWindow = 90 * 24 * time.Hour
	// SuggestionMinInteractions is how many interactions within the window make
	// a pair worth suggesting.
	SuggestionMinInteractions = 3
)

// Suggestion is a node one often interacts with but has no connection to.
type Suggestion struct {
	Node            ConnectedNode `json:"node"`
	Interactions    int           `json:"interactions"` // within SuggestionWindow, either direction
	LastInteraction time.Time     `json:"last_interaction"`
	Score           float64       `json:"score"` // Σ decayed weights within the window
}

const suggestionsSQL = `
WITH w AS (` + interactionWeightsSQL + `),
mine AS (
	SELECT CASE WHEN i.from_node = @me THEN i.to_node ELSE i.from_node END AS other,
	       i.created_at, ` + decayedWeightSQL + ` AS weight
	FROM interactions i JOIN w ON w.kind = i.kind
	WHERE (i.from_node = @me OR i.to_node = @me)
	  AND i.created_at > @now::timestamptz - make_interval(secs => @window_seconds::float8)
)
SELECT n.id, n.handle, n.display_name, n.deactivated_at IS NULL,
       count(*)::int, max(m.created_at), sum(m.weight)::float8 AS score
FROM mine m JOIN nodes n ON n.id = m.other
WHERE n.deactivated_at IS NULL
  AND NOT EXISTS (
	SELECT 1 FROM connections c
	WHERE (c.from_node = @me AND c.to_node = n.id) OR (c.from_node = n.id AND c.to_node = @me))
GROUP BY n.id
HAVING count(*) >= @min_count
ORDER BY score DESC, n.id
LIMIT @limit`

// Suggestions lists, best first, the active nodes me interacted with (in either
// direction) at least SuggestionMinInteractions times within SuggestionWindow
// and has no connection with, pending or accepted.
func (s *Store) Suggestions(ctx context.Context, me int64, limit int) ([]Suggestion, error) {
	return s.suggestions(ctx, me, limit, time.Now())
}

func (s *Store) suggestions(ctx context.Context, me int64, limit int, now time.Time) ([]Suggestion, error) {
	if limit <= 0 {
		return []Suggestion{}, nil
	}
	args := strengthArgs(now)
	args["me"], args["limit"] = me, limit
	args["window_seconds"], args["min_count"] = SuggestionWindow.Seconds(), SuggestionMinInteractions
	rows, err := s.pool.Query(ctx, suggestionsSQL, args)
	if err != nil {
		return nil, fmt.Errorf("suggestions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Suggestion, error) {
		var sg Suggestion
		err := r.Scan(&sg.Node.ID, &sg.Node.Handle, &sg.Node.DisplayName, &sg.Node.Active,
			&sg.Interactions, &sg.LastInteraction, &sg.Score)
		return sg, err
	})
	if err != nil {
		return nil, fmt.Errorf("suggestions: %w", err)
	}
	return out, nil
}
