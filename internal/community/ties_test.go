package community

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestTies(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.connect(ana, ben) // collaborate, base 1.0
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := f.pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// ben and cleo only interact; cleo and dan interacted long ago (outside a 90-day window).
	exec(`INSERT INTO interactions (from_node, to_node, kind) VALUES ($1, $2, 'answer'), ($2, $1, 'kudos')`, ben, cleo)
	exec(`INSERT INTO interactions (from_node, to_node, kind, created_at) VALUES ($1, $2, 'answer', now() - interval '200 days')`, cleo, dan)
	exec(`UPDATE nodes SET deactivated_at = now() WHERE id = $1`, f.node("gone"))

	ties, err := f.store.Ties(ctx, TieFilter{Window: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]int64]Tie{}
	for _, tie := range ties {
		if tie.A >= tie.B {
			t.Errorf("tie %+v not ordered", tie)
		}
		got[[2]int64{tie.A, tie.B}] = tie
	}
	if len(got) != 2 {
		t.Fatalf("ties = %+v, want ana–ben and ben–cleo only", ties)
	}
	if ab := got[[2]int64{ana, ben}]; !ab.Declared || ab.Kind != "collaborate" || math.Abs(ab.Weight-1.0) > 1e-9 {
		t.Errorf("ana–ben = %+v, want declared collaborate of weight 1", ab)
	}
	if bc := got[[2]int64{ben, cleo}]; bc.Declared || math.Abs(bc.Weight-2.0) > 1e-3 {
		t.Errorf("ben–cleo = %+v, want undeclared of weight ≈ 2 (answer + kudos, fresh)", bc)
	}
	all, _ := f.store.Ties(ctx, TieFilter{})
	if len(all) != 3 {
		t.Errorf("without a window: %d ties, want 3 (the old interaction counts, decayed)", len(all))
	}
	kind, _ := f.store.Ties(ctx, TieFilter{Kind: "collaborate"})
	if len(kind) != 1 {
		t.Errorf("kind filter: %d ties, want 1", len(kind))
	}
	people, err := f.store.ActivePeople(ctx)
	if err != nil || len(people) != 4 {
		t.Errorf("active people = %d, %v; want 4", len(people), err)
	}
}

func TestTrendingTags(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	var people []int64
	for _, h := range []string{"ana", "ben", "cleo", "dan", "eve", "fay"} {
		people = append(people, f.node(h))
	}
	if _, err := f.store.CreateCommunity(ctx, people[0], CommunityInput{Name: "Secret", Open: false}); err != nil {
		t.Fatal(err)
	}
	for i, p := range people {
		// #rust by six people, in public; #hush by all six but in an invite-only community (only ana is a member).
		if _, err := f.store.CreateShare(ctx, p, ShareInput{Body: "learning #rust", Audience: "everyone"}); err != nil {
			t.Fatal(err)
		}
		if i < 4 { // #go by four people only: below the group size
			if _, err := f.store.CreateShare(ctx, p, ShareInput{Body: "#go tip", Audience: "everyone"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 6 {
		if _, err := f.store.CreateShare(ctx, people[0], ShareInput{Body: "#hush", CommunitySlug: "secret"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `UPDATE shares SET created_at = now() - interval '10 days' WHERE body = '#go tip' AND author_id = $1`, people[0]); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.TrendingTags(ctx, time.Now().Add(-7*24*time.Hour), 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tag != "rust" || got[0].Now != 6 || got[0].Authors != 6 {
		t.Errorf("trending = %+v, want only #rust (6 shares by 6 people): #go has too few people, #hush is private", got)
	}
}
