package community

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// feedReferenceSQL is the feed in its plainest form: every share, newest
// first, kept while visible and of the feed. Feed must answer the same.
const feedReferenceSQL = `SELECT s.id FROM shares s LEFT JOIN communities c ON c.id = s.community_id WHERE ` + visibleTo + `
	AND (s.audience <> 'community' OR s.author_id = $1 OR $1 = ANY(s.mentions)
		OR s.community_id IN (SELECT community_id FROM community_members WHERE node_id = $1))
	AND ($2::bigint = 0 OR s.id < $2)
	AND ($4 = '' OR c.slug = $4)
	AND ($5 = '' OR $5 = ANY(s.tags))
	ORDER BY s.id DESC LIMIT $3`

// TestFeedMatchesReference holds the indexed feed to the plain query on a
// random network: open and invite-only communities, accepted and pending
// connections, every audience, mentions, tags, deleted shares, and every
// filter and page size.
func TestFeedMatchesReference(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(8, 2026))
	var people []int64
	for i := range 24 {
		people = append(people, f.node(fmt.Sprintf("p%02d", i)))
	}
	var communities []int64
	for i := range 6 {
		var id int64
		if err := f.pool.QueryRow(ctx, `INSERT INTO communities (slug, name, open) VALUES ($1, $1, $2) RETURNING id`,
			fmt.Sprintf("c%d", i), i%2 == 0).Scan(&id); err != nil {
			t.Fatal(err)
		}
		communities = append(communities, id)
		for _, p := range people {
			if rng.IntN(3) == 0 {
				if _, err := f.pool.Exec(ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2)`, id, p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i, a := range people {
		for _, b := range people[i+1:] {
			if rng.IntN(5) == 0 {
				state := []string{"accepted", "pending"}[rng.IntN(2)]
				if _, err := f.pool.Exec(ctx, `INSERT INTO connections (from_node, to_node, kind, state) VALUES ($1, $2, 'advice', $3)`, a, b, state); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	tags := []string{"ops", "hiring", "design"}
	for range 900 {
		author := people[rng.IntN(len(people))]
		audience := []string{"community", "community", "community", "connections", "everyone"}[rng.IntN(5)]
		var community *int64
		if audience == "community" {
			community = &communities[rng.IntN(len(communities))]
		}
		var mentions []int64
		for range rng.IntN(3) {
			mentions = append(mentions, people[rng.IntN(len(people))])
		}
		var tagged []string
		if rng.IntN(3) == 0 {
			tagged = []string{tags[rng.IntN(len(tags))]}
		}
		deleted := rng.IntN(10) == 0
		if _, err := f.pool.Exec(ctx, `INSERT INTO shares (author_id, audience, community_id, body, tags, mentions, deleted_at)
			VALUES ($1, $2, $3, 'x', $4, $5, CASE WHEN $6 THEN now() END)`, author, audience, community, nonNil(tagged), nonNil(mentions), deleted); err != nil {
			t.Fatal(err)
		}
	}
	var maxID int64
	if err := f.pool.QueryRow(ctx, `SELECT max(id) FROM shares`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}

	checked := 0
	for _, p := range people {
		for _, filter := range []FeedFilter{
			{Limit: 50}, {Limit: 5}, {Limit: 100},
			{Limit: 20, Before: maxID / 2}, {Limit: 20, Before: maxID / 5},
			{Limit: 20, Tag: "#ops"}, {Limit: 10, Tag: "design", Before: maxID * 2 / 3},
			{Limit: 20, Community: "c1"}, {Limit: 20, Community: "C2"}, {Limit: 20, Community: "nowhere"},
			{Limit: 20, Community: "c0", Tag: "hiring"},
		} {
			got, err := f.store.Feed(ctx, p, filter)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, sh := range got {
				gotIDs = append(gotIDs, sh.ID)
			}
			rows, err := f.pool.Query(ctx, feedReferenceSQL, p, filter.Before, filter.Limit,
				strings.ToLower(filter.Community), strings.ToLower(strings.TrimPrefix(filter.Tag, "#")))
			if err != nil {
				t.Fatal(err)
			}
			want, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotIDs, want) {
				t.Errorf("node %d, filter %+v:\n got %v\nwant %v", p, filter, gotIDs, want)
			}
			if len(want) > 0 {
				checked++
			}
		}
	}
	if checked < 200 {
		t.Errorf("only %d non-empty feeds compared; the random network is too thin to test anything", checked)
	}
}

// TestFeedMentionsFromTheirIndex: where mentions are rare, ANALYZE keeps no
// statistics of their elements and the planner guesses that a fixed share of
// all shares mentions anyone; the feed's mentions source must still take its
// shares from shares_mentions, not walk every share backwards through the
// primary key looking for them (the dashboard timed out on a database of
// 2.5 million shares that way).
func TestFeedMentionsFromTheirIndex(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben := f.node("ana"), f.node("ben")
	if _, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Busy", Open: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "hello @ben", CommunitySlug: "busy"}); err != nil {
		t.Fatal(err)
	}
	// Plain shares, written directly (empty bodies keep it quick).
	if _, err := f.pool.Exec(ctx, `INSERT INTO shares (author_id, audience, community_id, body)
		SELECT $1, 'community', (SELECT id FROM communities WHERE slug = 'busy'), ''
		FROM generate_series(1, 200000) i`, ana); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `ANALYZE shares`); err != nil {
		t.Fatal(err)
	}
	// A page of one: the planner's walk looks cheap at fewer shares the
	// smaller the page (200,000 here; about 2 million for pages of 50).
	rows, err := f.pool.Query(ctx, "EXPLAIN "+feedSQL, ben, int64(math.MaxInt64), 1, "", "")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "Index Scan Backward using shares_pkey") || !strings.Contains(text, "shares_mentions") {
		t.Errorf("the mentions source does not use shares_mentions:\n%s", text)
	}
	feed, err := f.store.Feed(ctx, ben, FeedFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) != 1 || feed[0].Body != "hello @ben" {
		t.Errorf("ben's feed = %d shares, want the one mentioning him", len(feed))
	}
}
