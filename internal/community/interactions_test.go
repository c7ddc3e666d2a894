package community

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// connTestInteraction inserts an interaction at a given time.
func connTestInteraction(t *testing.T, pool *pgxpool.Pool, from, to int64, kind string, at time.Time) {
	t.Helper()
	_, err := pool.Exec(context.Background(),
		`INSERT INTO interactions (from_node, to_node, kind, created_at) VALUES ($1, $2, $3, $4)`, from, to, kind, at)
	if err != nil {
		t.Fatalf("insert interaction: %v", err)
	}
}

// connTestAccepted makes an accepted connection from → to of kind.
func connTestAccepted(t *testing.T, pool *pgxpool.Pool, from, to int64, kind string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		INSERT INTO connections (from_node, to_node, kind, state, accepted_at) VALUES ($1, $2, $3, 'accepted', now())`,
		from, to, kind)
	if err != nil {
		t.Fatalf("insert connection: %v", err)
	}
}

const connDay = 24 * time.Hour

func TestStrength(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		kind   string
		events []InteractionAt
		want   float64
	}{
		{"collaborate alone", KindCollaborate, nil, 1.0},
		{"mentor alone", KindMentor, nil, 1.0},
		{"advice alone", KindAdvice, nil, 0.8},
		{"social alone", KindSocial, nil, 0.5},
		{"fresh answer", KindSocial, []InteractionAt{{InteractionAnswer, now}}, 1.5},
		{"answer 30 days old counts half", KindCollaborate, []InteractionAt{{InteractionAnswer, now.Add(-30 * connDay)}}, 1.5},
		{"reply 60 days old counts a quarter", KindCollaborate, []InteractionAt{{InteractionReply, now.Add(-60 * connDay)}}, 1.15},
		{"each kind its weight", KindAdvice, []InteractionAt{
			{InteractionKudos, now}, {InteractionFeedback, now}, {InteractionReshare, now},
			{InteractionMention, now}, {InteractionVote, now}, {InteractionReaction, now},
		}, 0.8 + 1 + 1 + 0.5 + 0.4 + 0.3 + 0.2},
		{"from the future counts as fresh", KindSocial, []InteractionAt{{InteractionKudos, now.Add(time.Hour)}}, 1.5},
		{"past the horizon counts nothing", KindSocial, []InteractionAt{{InteractionKudos, now.Add(-StrengthHorizon)}}, 0.5},
		{"capped", KindCollaborate, connRepeat(InteractionAnswer, now, 50), StrengthCap},
		{"unknown kinds count nothing", "boss", []InteractionAt{{"shout", now}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Strength(tc.kind, tc.events, now); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("Strength = %v, want %v", got, tc.want)
			}
		})
	}
}

func connRepeat(kind string, at time.Time, n int) []InteractionAt {
	out := make([]InteractionAt, n)
	for i := range out {
		out[i] = InteractionAt{kind, at}
	}
	return out
}

func TestConnectionStrengthInSQL(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond) // what PostgreSQL keeps

	t.Run("an answer 30 days old counts half", func(t *testing.T) {
		a, b := connTestNode(t, pool, "half-a"), connTestNode(t, pool, "half-b")
		connTestAccepted(t, pool, a, b, KindCollaborate)
		connTestInteraction(t, pool, b, a, InteractionAnswer, now.Add(-30*connDay))
		cs, err := s.listConnections(ctx, a, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || math.Abs(cs[0].Strength-1.5) > 1e-9 {
			t.Fatalf("got %+v, want one connection of strength 1.5", cs)
		}
	})

	t.Run("pending has no strength", func(t *testing.T) {
		a, b := connTestNode(t, pool, "pend-a"), connTestNode(t, pool, "pend-b")
		c := connRequest(t, s, a, "pend-b", KindCollaborate)
		connTestInteraction(t, pool, a, b, InteractionKudos, now)
		cs, err := s.listConnections(ctx, b, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].ID != c.ID || cs[0].Strength != 0 {
			t.Fatalf("got %+v, want the pending request with strength 0", cs)
		}
	})

	t.Run("SQL agrees with Strength", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 11))
		me := connTestNode(t, pool, "me")
		events := map[int64][]InteractionAt{}
		kinds := map[int64]string{}
		for i := range 12 {
			other := connTestNode(t, pool, "peer-"+string(rune('a'+i)))
			kinds[other] = ConnectionKinds[rng.IntN(len(ConnectionKinds))]
			if i%2 == 0 {
				connTestAccepted(t, pool, me, other, kinds[other])
			} else {
				connTestAccepted(t, pool, other, me, kinds[other])
			}
			// Some pairs get enough to reach the cap; ages span past the horizon.
			for range rng.IntN(5 + 10*(i%3)) {
				kind := InteractionKinds[rng.IntN(len(InteractionKinds))]
				at := now.Add(-time.Duration(rng.Float64() * float64(StrengthHorizon+60*connDay)))
				if rng.IntN(2) == 0 {
					connTestInteraction(t, pool, me, other, kind, at)
				} else {
					connTestInteraction(t, pool, other, me, kind, at)
				}
				events[other] = append(events[other], InteractionAt{kind, at})
			}
		}
		// Interactions with someone else must not leak into these pairs.
		stranger := connTestNode(t, pool, "stranger")
		connTestInteraction(t, pool, me, stranger, InteractionAnswer, now)

		cs, err := s.listConnections(ctx, me, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 12 {
			t.Fatalf("%d connections, want 12", len(cs))
		}
		prev := math.Inf(1)
		for _, c := range cs {
			want := Strength(kinds[c.Other.ID], events[c.Other.ID], now)
			if math.Abs(c.Strength-want) > 1e-6 {
				t.Errorf("@%s (%s, %d interactions): SQL %v, Go %v", c.Other.Handle, c.Kind, len(events[c.Other.ID]), c.Strength, want)
			}
			if c.Strength > prev {
				t.Errorf("not strongest first: %v after %v", c.Strength, prev)
			}
			prev = c.Strength
		}
	})
}

func TestRecordInteractions(t *testing.T) {
	ctx := context.Background()
	_, pool := connTestStore(t)
	ana, ben, cy := connTestNode(t, pool, "ana"), connTestNode(t, pool, "ben"), connTestNode(t, pool, "cy")
	count := func(t *testing.T) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM interactions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("one", func(t *testing.T) {
		if err := RecordInteraction(ctx, pool, ana, ben, InteractionReply, "share:1"); err != nil {
			t.Fatal(err)
		}
		var from, to int64
		var kind, ref string
		err := pool.QueryRow(ctx, `SELECT from_node, to_node, kind, ref FROM interactions`).Scan(&from, &to, &kind, &ref)
		if err != nil || from != ana || to != ben || kind != InteractionReply || ref != "share:1" {
			t.Fatalf("got %d→%d %s %q (%v), want ana→ben reply share:1", from, to, kind, ref, err)
		}
	})

	t.Run("with oneself is skipped", func(t *testing.T) {
		if err := RecordInteraction(ctx, pool, ana, ana, InteractionReply, ""); err != nil {
			t.Fatal(err)
		}
		if n := count(t); n != 1 {
			t.Fatalf("%d interactions, want 1", n)
		}
	})

	t.Run("many skip self and repeats", func(t *testing.T) {
		if err := RecordInteractions(ctx, pool, ana, []int64{ben, ana, cy, ben}, InteractionMention, "share:2"); err != nil {
			t.Fatal(err)
		}
		if n := count(t); n != 3 {
			t.Fatalf("%d interactions, want 3", n)
		}
		if err := RecordInteractions(ctx, pool, ana, nil, InteractionMention, ""); err != nil {
			t.Fatalf("no one: %v", err)
		}
	})

	t.Run("unknown kind", func(t *testing.T) {
		if err := RecordInteraction(ctx, pool, ana, ben, "poke", ""); err == nil {
			t.Fatal("err = nil, want an error")
		}
	})

	t.Run("inside a transaction that rolls back", func(t *testing.T) {
		boom := errors.New("boom")
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := RecordInteractions(ctx, tx, cy, []int64{ana, ben}, InteractionKudos, "kudos:1"); err != nil {
				return err
			}
			return boom
		})
		connWantErr(t, err, boom)
		if n := count(t); n != 3 {
			t.Fatalf("%d interactions after rollback, want 3", n)
		}
	})
}

func TestSuggestions(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	me := connTestNode(t, pool, "me")
	node := func(h string) int64 { return connTestNode(t, pool, h) }
	often, fresh, twice, old, friend, asked, gone := node("often"), node("fresh"), node("twice"), node("old"), node("friend"), node("asked"), node("gone")

	// often: 4 interactions over the last two months, both directions.
	connTestInteraction(t, pool, me, often, InteractionReply, now.Add(-50*connDay))
	connTestInteraction(t, pool, often, me, InteractionReply, now.Add(-40*connDay))
	connTestInteraction(t, pool, me, often, InteractionMention, now.Add(-35*connDay))
	connTestInteraction(t, pool, often, me, InteractionReaction, now.Add(-30*connDay))
	// fresh: 3 answers this week: fewer, but worth more now.
	for _, d := range []int{1, 2, 3} {
		connTestInteraction(t, pool, fresh, me, InteractionAnswer, now.Add(-time.Duration(d)*connDay))
	}
	// twice: only 2 in the window.
	connTestInteraction(t, pool, me, twice, InteractionKudos, now.Add(-connDay))
	connTestInteraction(t, pool, me, twice, InteractionKudos, now.Add(-connDay))
	// old: 5, but only 2 within 90 days.
	for _, d := range []int{100, 120, 150, 10, 20} {
		connTestInteraction(t, pool, old, me, InteractionReply, now.Add(-time.Duration(d)*connDay))
	}
	// friend (accepted) and asked (pending, asked by them) are connected already.
	connTestAccepted(t, pool, friend, me, KindSocial)
	if _, err := pool.Exec(ctx, `INSERT INTO connections (from_node, to_node, kind) VALUES ($1, $2, 'advice')`, asked, me); err != nil {
		t.Fatal(err)
	}
	for _, other := range []int64{friend, asked, gone} {
		for range 4 {
			connTestInteraction(t, pool, me, other, InteractionAnswer, now.Add(-connDay))
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE nodes SET deactivated_at = now() WHERE id = $1`, gone); err != nil {
		t.Fatal(err)
	}

	t.Run("frequent unconnected pairs, best first", func(t *testing.T) {
		got, err := s.suggestions(ctx, me, 10, now)
		if err != nil {
			t.Fatal(err)
		}
		var handles []string
		for _, sg := range got {
			handles = append(handles, sg.Node.Handle)
		}
		if len(got) != 2 || got[0].Node.ID != fresh || got[1].Node.ID != often {
			t.Fatalf("suggested %v, want [fresh often]", handles)
		}
		if got[1].Interactions != 4 || !got[1].LastInteraction.Equal(now.Add(-30*connDay)) {
			t.Fatalf("often: %d interactions, last %v; want 4, %v", got[1].Interactions, got[1].LastInteraction, now.Add(-30*connDay))
		}
		var events []InteractionAt
		for _, d := range []int{1, 2, 3} {
			events = append(events, InteractionAt{InteractionAnswer, now.Add(-time.Duration(d) * connDay)})
		}
		if want := interactionScore(events, now); math.Abs(got[0].Score-want) > 1e-6 {
			t.Fatalf("fresh score = %v, want %v", got[0].Score, want)
		}
	})

	t.Run("the other side sees it too", func(t *testing.T) {
		got, err := s.suggestions(ctx, often, 10, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Node.ID != me || got[0].Interactions != 4 {
			t.Fatalf("got %+v, want me with 4 interactions", got)
		}
	})

	t.Run("limit", func(t *testing.T) {
		got, err := s.Suggestions(ctx, me, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Node.ID != fresh {
			t.Fatalf("got %+v, want only fresh", got)
		}
	})

	t.Run("gone once connected", func(t *testing.T) {
		c := connRequest(t, s, me, "fresh", KindCollaborate)
		got, err := s.Suggestions(ctx, me, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Node.ID != often {
			t.Fatalf("got %+v, want only often", got)
		}
		connWantErr(t, s.WithdrawConnection(ctx, me, c.ID), nil)
	})
}

// BenchmarkListConnections measures the strength query for a busy node: 100
// accepted connections and 20,000 interactions spread over two years.
func BenchmarkListConnections(b *testing.B) {
	ctx := context.Background()
	pool := testenv.Pool(b, testenv.DatabaseURL(b))
	s := NewStore(pool)
	var me int64
	if err := pool.QueryRow(ctx, `INSERT INTO nodes (handle, display_name) VALUES ('me', 'Me') RETURNING id`).Scan(&me); err != nil {
		b.Fatal(err)
	}
	_, err := pool.Exec(ctx, `
		WITH others AS (
			INSERT INTO nodes (handle, display_name)
			SELECT 'peer-' || g, 'Peer ' || g FROM generate_series(1, 100) g RETURNING id)
		INSERT INTO connections (from_node, to_node, kind, state, accepted_at)
		SELECT $1, id, (ARRAY['collaborate','advice','mentor','social'])[1 + id % 4], 'accepted', now() FROM others`, me)
	if err != nil {
		b.Fatal(err)
	}
	_, err = pool.Exec(ctx, `
		INSERT INTO interactions (from_node, to_node, kind, created_at)
		SELECT CASE WHEN g % 2 = 0 THEN $1 ELSE c.to_node END, CASE WHEN g % 2 = 0 THEN c.to_node ELSE $1 END,
		       (ARRAY['reply','mention','reaction','kudos','answer','vote','reshare','feedback'])[1 + g % 8],
		       now() - (g % 730) * interval '1 day'
		FROM generate_series(1, 20000) g JOIN connections c ON c.id = (SELECT min(id) FROM connections) + g % 100`, me)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		cs, err := s.ListConnections(ctx, me)
		if err != nil || len(cs) != 100 {
			b.Fatalf("%d connections, %v", len(cs), err)
		}
	}
}
