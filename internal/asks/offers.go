package asks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const offerSelect = `SELECT n.id, n.handle, n.display_name, o.body, o.tags
	FROM node_offers o JOIN nodes n ON n.id = o.node_id
	WHERE o.kind = 'offer' AND n.deactivated_at IS NULL`

func scanOffers(rows pgx.Rows, err error) ([]OfferMatch, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OfferMatch, error) {
		var o OfferMatch
		err := r.Scan(&o.Node.ID, &o.Node.Handle, &o.Node.DisplayName, &o.Body, &o.Tags)
		return o, err
	})
}

// MatchingOffers lists, best first, offers (not by exclude) that share tags
// with a need: "Ben offers code review in Go" next to an ask tagged go.
func (s *Store) MatchingOffers(ctx context.Context, tags []string, exclude int64, limit int) ([]OfferMatch, error) {
	if len(tags) == 0 {
		return []OfferMatch{}, nil
	}
	out, err := scanOffers(s.pool.Query(ctx, offerSelect+` AND o.tags && $1::text[] AND n.id <> $2
		ORDER BY cardinality(ARRAY(SELECT unnest(o.tags) INTERSECT SELECT unnest($1::text[]))) DESC, o.id
		LIMIT $3`, tags, exclude, limit))
	if err != nil {
		return nil, fmt.Errorf("matching offers: %w", err)
	}
	for i := range out {
		out[i].Matched = []string{}
		for _, t := range tags {
			if slices.Contains(out[i].Tags, t) {
				out[i].Matched = append(out[i].Matched, t)
			}
		}
	}
	return out, nil
}

// SearchOffers finds what people offer: q matches a tag exactly, or the
// offer's text, or the person's name or handle; an empty q lists the newest.
func (s *Store) SearchOffers(ctx context.Context, q string, limit int) ([]OfferMatch, error) {
	q = strings.TrimSpace(q)
	if len([]rune(q)) > 200 {
		return nil, invalid("q", "Search with at most 200 characters.")
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	tag := strings.ToLower(strings.TrimPrefix(q, "#"))
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	out, err := scanOffers(s.pool.Query(ctx, offerSelect+` AND ($1 = '' OR $2 = ANY(o.tags)
		OR o.body ILIKE $3 OR n.display_name ILIKE $3 OR n.handle ILIKE $3)
		ORDER BY ($2 = ANY(o.tags)) DESC, o.id DESC LIMIT $4`, q, tag, like, limit))
	if err != nil {
		return nil, fmt.Errorf("search offers: %w", err)
	}
	for i := range out {
		out[i].Matched = []string{}
		if slices.Contains(out[i].Tags, tag) {
			out[i].Matched = append(out[i].Matched, tag)
		}
	}
	slices.SortStableFunc(out, func(a, b OfferMatch) int { return cmp.Compare(len(b.Matched), len(a.Matched)) })
	return out, nil
}

// UnansweredCount is how many open asks have had no answer for longer than
// olderThan: a figure for the network pulse (an aggregate, never who asked).
// Asks in invite-only communities count too; only the number leaves here.
func (s *Store) UnansweredCount(ctx context.Context, olderThan time.Duration) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM asks a WHERE a.status = 'open'
		AND a.created_at < now() - make_interval(secs => $1::float8)
		AND NOT EXISTS (SELECT 1 FROM ask_answers x WHERE x.ask_id = a.id)`, olderThan.Seconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("unanswered asks: %w", err)
	}
	return n, nil
}
