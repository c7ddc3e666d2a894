package asks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// How a candidate's match strength is counted, per tag of the ask: a declared
// skill counts 1, an offer tagged with it 0.75, and each point of expertise
// (one per accepted answer to an ask with that tag) 0.5, up to 4 points. A
// person who matches more of the ask's tags, or matches them in more ways,
// matches more strongly.
const (
	skillWeight     = 1.0
	offerWeight     = 0.75
	expertiseWeight = 0.5
	expertiseCap    = 4.0
)

// Candidate is a node an ask may be offered to, and why.
type Candidate struct {
	NodeID      int64
	Handle      string
	DisplayName string
	Skills      []string // ask tags among the candidate's skills
	Offers      []string // ask tags among the tags of the candidate's offers
	Expertise   []string // ask tags the candidate answered well before
	Match       float64  // match strength (see skillWeight)
	Hops        int      // social distance from the asker
	Strength    float64  // weakest tie on the strongest shortest path
	Path        []string // handles from the asker to the candidate
	PathNames   []string // display names, parallel to Path
	reason      string   // set instead of the matches: "passed on by Ana"
}

// Reason is why the candidate was offered the ask, in words:
// "skills: postgres; 2 hops via Ana".
func (c Candidate) Reason() string {
	if c.reason != "" {
		return c.reason
	}
	var parts []string
	if len(c.Skills) > 0 {
		parts = append(parts, "skills: "+strings.Join(c.Skills, ", "))
	}
	if len(c.Offers) > 0 {
		parts = append(parts, "offers: "+strings.Join(c.Offers, ", "))
	}
	if len(c.Expertise) > 0 {
		parts = append(parts, "answered before: "+strings.Join(c.Expertise, ", "))
	}
	switch {
	case c.Hops == 1:
		parts = append(parts, "direct connection")
	case c.Hops > 1 && len(c.PathNames) > 2:
		parts = append(parts, strconv.Itoa(c.Hops)+" hops via "+strings.Join(c.PathNames[1:len(c.PathNames)-1], ", "))
	}
	return strings.Join(parts, "; ")
}

// Score is one number for the ranking, for display and the route record: the
// match strength, halved for every hop beyond the first.
func (c Candidate) Score() float64 {
	s := c.Match
	for range max(c.Hops-1, 0) {
		s /= 2
	}
	return s
}

// candidateSQL finds every active node (not $2) whose skills, offers or
// expertise carry one of the tags $1, one row per (node, source, tag) (names
// come from the tie graph: a node not in it cannot be reached); $3, when
// not 0, keeps members of that community only (an invite-only community's ask).
const candidateSQL = `
SELECT n.id, m.src, m.tag, m.score
FROM (
	SELECT n.id AS node_id, 'skill' AS src, s AS tag, 1::float8 AS score
	FROM nodes n CROSS JOIN LATERAL unnest(n.skills) AS s
	WHERE n.skills && $1::text[] AND s = ANY($1::text[])
	UNION ALL
	SELECT o.node_id, 'offer', t, 1::float8
	FROM node_offers o CROSS JOIN LATERAL unnest(o.tags) AS t
	WHERE o.kind = 'offer' AND o.tags && $1::text[] AND t = ANY($1::text[])
	UNION ALL
	SELECT e.node_id, 'expertise', e.tag, e.score
	FROM expertise e WHERE e.tag = ANY($1::text[]) AND e.score > 0
) m
JOIN nodes n ON n.id = m.node_id
WHERE n.deactivated_at IS NULL AND n.id <> $2
  AND ($3::bigint = 0 OR EXISTS (SELECT 1 FROM community_members cm WHERE cm.community_id = $3 AND cm.node_id = n.id))`

// matches reads who matches the tags, and how, keyed by node id.
func (s *Store) matches(ctx context.Context, db community.DBTX, tags []string, asker, onlyCommunity int64) (map[int64]*Candidate, error) {
	rows, err := db.Query(ctx, candidateSQL, tags, asker, onlyCommunity)
	if err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	out := map[int64]*Candidate{}
	expertise := map[int64]map[string]float64{}
	var (
		id       int64
		src, tag string
		score    float64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &src, &tag, &score}, func() error {
		c := out[id]
		if c == nil {
			c = &Candidate{NodeID: id}
			out[id] = c
		}
		switch src {
		case "skill":
			c.Skills = appendNew(c.Skills, tag)
		case "offer":
			c.Offers = appendNew(c.Offers, tag)
		case "expertise":
			if expertise[id] == nil {
				expertise[id] = map[string]float64{}
			}
			expertise[id][tag] += score
			c.Expertise = appendNew(c.Expertise, tag)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	order := func(list []string) {
		slices.SortFunc(list, func(a, b string) int { return cmp.Compare(slices.Index(tags, a), slices.Index(tags, b)) })
	}
	for id, c := range out {
		order(c.Skills)
		order(c.Offers)
		order(c.Expertise)
		c.Match = skillWeight*float64(len(c.Skills)) + offerWeight*float64(len(c.Offers))
		for _, e := range expertise[id] {
			c.Match += expertiseWeight * min(e, expertiseCap)
		}
	}
	return out, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// rank orders the matching candidates within radius hops of the asker: nearer
// first (1 hop before 2 before 3), then the stronger match, then the stronger
// path (its weakest tie), then by handle so the order is stable. Candidates in
// skip, and those not within the radius, are left out; at most limit are kept.
func rank(t *tieView, asker int64, found map[int64]*Candidate, radius int, skip map[int64]bool, limit int) []Candidate {
	src, ok := t.index[asker]
	if !ok || len(found) == 0 {
		return nil
	}
	r := t.bfs(src, radius)
	var out []Candidate
	for id, c := range found {
		if skip[id] {
			continue
		}
		v, ok := t.index[id]
		if !ok || r.dist[v] < 1 {
			continue
		}
		cand := *c
		cand.Handle, cand.DisplayName = t.handles[v], t.names[v]
		cand.Hops, cand.Strength = int(r.dist[v]), r.strength[v]
		out = append(out, cand)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		return cmp.Or(
			cmp.Compare(a.Hops, b.Hops),
			cmp.Compare(b.Match, a.Match),
			cmp.Compare(b.Strength, a.Strength),
			cmp.Compare(a.Handle, b.Handle),
		)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		for _, p := range r.path(t.index[out[i].NodeID]) {
			out[i].Path = append(out[i].Path, t.handles[p])
			out[i].PathNames = append(out[i].PathNames, t.names[p])
		}
	}
	return out
}

// Route finds, best first, up to limit candidates for an ask by asker with
// these tags within radius hops, leaving out skip; onlyCommunity (when not 0)
// keeps members of that community only. It writes nothing.
func (s *Store) Route(ctx context.Context, asker int64, tags []string, radius int, skip map[int64]bool, onlyCommunity int64, limit int) ([]Candidate, error) {
	return s.route(ctx, s.pool, asker, tags, radius, skip, onlyCommunity, limit)
}

func (s *Store) route(ctx context.Context, db community.DBTX, asker int64, tags []string, radius int, skip map[int64]bool, onlyCommunity int64, limit int) ([]Candidate, error) {
	found, err := s.matches(ctx, db, tags, asker, onlyCommunity)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	t, err := s.tieGraph(ctx)
	if err != nil {
		return nil, err
	}
	return rank(t, asker, found, radius, skip, limit), nil
}
