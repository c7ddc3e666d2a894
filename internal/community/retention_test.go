package community

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

const retentionYear = 365 * connDay

// retentionAges lists the ages of the interactions left in the table, youngest
// first, in whole days.
func retentionAges(t *testing.T, pool *pgxpool.Pool, now time.Time) []int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT created_at FROM interactions ORDER BY created_at DESC`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		out = append(out, int(math.Round(now.Sub(at).Hours()/24)))
	}
	return out
}

func retentionCount(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestRetentionPurgeInteractions(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	ana, ben, cleo := connTestNode(t, pool, "ana"), connTestNode(t, pool, "ben"), connTestNode(t, pool, "cleo")
	connTestAccepted(t, pool, ana, ben, KindCollaborate)

	// ana and ben are connected; cleo and ana only interact. Ages in days:
	// the first three are within a year and stay, the rest go (800 days is
	// past the strength horizon too, so it never counted).
	keep := []int{2, 100, 364}
	gone := []int{366, 500, 800}
	for _, d := range slices.Concat(keep, gone) {
		at := now.Add(-time.Duration(d) * connDay)
		connTestInteraction(t, pool, ana, ben, InteractionAnswer, at)
		connTestInteraction(t, pool, cleo, ana, InteractionKudos, at)
	}
	before, err := s.listConnections(ctx, ana, now)
	if err != nil {
		t.Fatal(err)
	}
	marked := retentionCount(t, pool, `SELECT coalesce(max(id), 0)::int FROM events`)

	res, err := s.Purge(ctx, retentionYear, now)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("only the old are gone", func(t *testing.T) {
		if got, want := res.Interactions, int64(2*len(gone)); got != want {
			t.Errorf("purged %d interactions, want %d", got, want)
		}
		got := retentionAges(t, pool, now)
		want := []int{2, 2, 100, 100, 364, 364}
		if !slices.Equal(got, want) {
			t.Errorf("ages left = %v days, want %v", got, want)
		}
	})

	t.Run("connection strength is computed from what remains", func(t *testing.T) {
		after, err := s.listConnections(ctx, ana, now)
		if err != nil {
			t.Fatal(err)
		}
		var events []InteractionAt
		for _, d := range keep {
			events = append(events, InteractionAt{InteractionAnswer, now.Add(-time.Duration(d) * connDay)})
		}
		want := Strength(KindCollaborate, events, now)
		if len(after) != 1 || math.Abs(after[0].Strength-want) > 1e-9 {
			t.Fatalf("after the purge = %+v, want one connection of strength %v", after, want)
		}
		// What a year-old interaction was still worth is what was lost.
		if lost := before[0].Strength - after[0].Strength; lost < 0 || lost > 0.001 {
			t.Errorf("strength before %v, after %v: lost %v, want a trace (0 to 0.001)", before[0].Strength, after[0].Strength, lost)
		}
	})

	t.Run("ties are computed from what remains", func(t *testing.T) {
		ties, err := s.Ties(ctx, TieFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var events []InteractionAt
		for _, d := range keep {
			events = append(events, InteractionAt{InteractionKudos, now.Add(-time.Duration(d) * connDay)})
		}
		want := interactionScore(events, time.Now())
		i := slices.IndexFunc(ties, func(t Tie) bool { return t.A == min(ana, cleo) && t.B == max(ana, cleo) })
		if i < 0 || math.Abs(ties[i].Weight-want) > 1e-6 || ties[i].Declared {
			t.Fatalf("ties %+v, want an undeclared ana–cleo tie of %v", ties, want)
		}
	})

	t.Run("the analytics are told their input changed", func(t *testing.T) {
		var id int64
		var typ string
		var toAll bool
		var to []int64
		err := pool.QueryRow(ctx, `SELECT id, type, to_all, to_nodes FROM events ORDER BY id DESC LIMIT 1`).Scan(&id, &typ, &toAll, &to)
		if err != nil {
			t.Fatal(err)
		}
		if id <= int64(marked) || typ != "retention.purged" || toAll || len(to) != 0 {
			t.Errorf("newest event #%d %s to_all=%v to=%v, want a retention.purged after #%d addressed to nobody", id, typ, toAll, to, marked)
		}
	})

	t.Run("the run is recorded", func(t *testing.T) {
		st, err := s.LastPurge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Retention != retentionYear || !st.PurgedAt.Equal(now) || st.Purged != res {
			t.Errorf("last purge = %+v, want retention %s at %s with %+v", st, retentionYear, now, res)
		}
	})

	t.Run("a second purge finds nothing and says nothing", func(t *testing.T) {
		events := retentionCount(t, pool, `SELECT count(*)::int FROM events`)
		again, err := s.Purge(ctx, retentionYear, now)
		if err != nil {
			t.Fatal(err)
		}
		if again.Interactions != 0 || again.Snapshots != 0 {
			t.Errorf("second purge = %+v, want nothing purged", again)
		}
		if got := retentionCount(t, pool, `SELECT count(*)::int FROM events`); got != events {
			t.Errorf("events = %d after a purge of nothing, want %d (no new event)", got, events)
		}
	})
}

func TestRetentionPurgeOtherMetadata(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	day := func(d int) time.Time { return now.Add(-time.Duration(d) * connDay) }
	ana := connTestNode(t, pool, "ana")
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	// Outbox events: published long ago, published recently, never published.
	exec(`WITH e AS (INSERT INTO events (subject, type, payload, created_at) VALUES
		('nc.evt.t', 'old.published', '{}', $1),
		('nc.evt.t', 'recent.published', '{}', $2),
		('nc.evt.t', 'old.unpublished', '{}', $1) RETURNING id, type)
		INSERT INTO events_pending (id) SELECT id FROM e WHERE type = 'old.unpublished'`, day(10), day(1))
	// Sessions: expired, and still valid.
	exec(`INSERT INTO sessions (token, data, expiry) VALUES ('expired', '\x00', $1), ('valid', '\x00', $2)`,
		now.Add(-time.Minute), now.Add(time.Hour))
	// Tokens: revoked over a year ago, revoked recently, in use.
	exec(`INSERT INTO access_tokens (node_id, name, token_hash, revoked_at) VALUES
		($1, 'long revoked', '\x01', $2), ($1, 'recently revoked', '\x02', $3), ($1, 'in use', '\x03', NULL)`,
		ana, day(400), day(10))
	// Invites: used over a year ago, expired over a year ago, used recently, open.
	exec(`INSERT INTO invites (token_hash, created_by, email, expires_at, used_by, used_at) VALUES
		('\x11', $1, 'old-used@example.test', $2, $1, $2),
		('\x12', $1, 'old-expired@example.test', $2, NULL, NULL),
		('\x13', $1, 'recent@example.test', $3, $1, $3),
		('\x14', $1, 'open@example.test', $4, NULL, NULL)`, ana, day(400), day(3), now.Add(connDay))
	// Weekly snapshots: one from over a year ago, one from last week.
	exec(`INSERT INTO graph_snapshots (window_days, kind, week, computed_at, summary, nodes, communities) VALUES
		(90, 'weekly', $1::date, $1, '{"nodes": 3}', '[{"node_id": 1}]', '[{"size": 3}]'),
		(90, 'weekly', $2::date, $2, '{"nodes": 3}', '[{"node_id": 1}]', '[{"size": 3}]'),
		(90, 'current', NULL, $2, '{"nodes": 3}', '[{"node_id": 1}]', '[{"size": 3}]')`, day(400), day(7))

	res, err := s.Purge(ctx, retentionYear, now)
	if err != nil {
		t.Fatal(err)
	}
	want := PurgeResult{Events: 1, Sessions: 1, Tokens: 1, Invites: 2, Snapshots: 1}
	if res != want {
		t.Errorf("purged %+v, want %+v", res, want)
	}

	checks := []struct {
		name, sql string
		want      int
	}{
		{"only the old published event is gone", `SELECT count(*)::int FROM events WHERE type IN ('recent.published', 'old.unpublished')`, 2},
		{"no old published event is left", `SELECT count(*)::int FROM events WHERE type = 'old.published'`, 0},
		{"the valid session stays", `SELECT count(*)::int FROM sessions WHERE token = 'valid'`, 1},
		{"the expired session is gone", `SELECT count(*)::int FROM sessions`, 1},
		{"recently revoked and used tokens stay", `SELECT count(*)::int FROM access_tokens WHERE name IN ('recently revoked', 'in use')`, 2},
		{"the long-revoked token is gone", `SELECT count(*)::int FROM access_tokens`, 2},
		{"recent and open invites stay", `SELECT count(*)::int FROM invites WHERE email IN ('recent@example.test', 'open@example.test')`, 2},
		{"old invites are gone", `SELECT count(*)::int FROM invites`, 2},
		{"the old weekly snapshot names nobody", `SELECT count(*)::int FROM graph_snapshots WHERE kind = 'weekly' AND nodes = '[]' AND summary->>'nodes' = '3' AND communities <> '[]'`, 1},
		{"recent snapshots keep their people", `SELECT count(*)::int FROM graph_snapshots WHERE nodes <> '[]'`, 2},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got := retentionCount(t, pool, c.sql); got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}

	t.Run("the newest event is kept however old", func(t *testing.T) {
		// The analytics and routing compare the newest event id with what they
		// computed from: the purge must never empty the outbox.
		exec(`UPDATE events SET created_at = $1`, day(30))
		exec(`DELETE FROM events_pending`)
		if _, err := s.Purge(ctx, retentionYear, now); err != nil {
			t.Fatal(err)
		}
		if got := retentionCount(t, pool, `SELECT count(*)::int FROM events`); got != 1 {
			t.Errorf("%d events left, want the newest one", got)
		}
	})

	t.Run("retention must be positive", func(t *testing.T) {
		if _, err := s.Purge(ctx, 0, now); err == nil {
			t.Error("Purge with retention 0 succeeded, want an error")
		}
	})

	t.Run("no run recorded yet is not found", func(t *testing.T) {
		fresh, _ := connTestStore(t)
		if _, err := fresh.LastPurge(ctx); !errors.Is(err, ErrNotFound) {
			t.Errorf("LastPurge on a fresh database = %v, want ErrNotFound", err)
		}
	})
}

// TestRetentionPurgeConcurrentBatches runs three purges at once, as three
// instances would, over more rows than one batch: each old row is deleted
// exactly once, nothing young is touched, and nobody fails.
func TestRetentionPurgeConcurrentBatches(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	now := time.Now().UTC()
	a, b := connTestNode(t, pool, "ana"), connTestNode(t, pool, "ben")
	const old, young = 3*PurgeBatch + 17, 250
	if _, err := pool.Exec(ctx, `
		INSERT INTO interactions (from_node, to_node, kind, created_at)
		SELECT $1::bigint, $2::bigint, 'reply', $3::timestamptz - g * interval '1 minute' FROM generate_series(1, $4::int) g
		UNION ALL
		SELECT $2::bigint, $1::bigint, 'reply', $5::timestamptz - g * interval '1 minute' FROM generate_series(1, $6::int) g`,
		a, b, now.Add(-400*connDay), old, now, young); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var wg sync.WaitGroup
	results := make([]PurgeResult, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = s.Purge(ctx, retentionYear, now) })
	}
	wg.Wait()
	took := time.Since(start)
	var total int64
	for i, err := range errs {
		if err != nil {
			t.Fatalf("purge %d: %v", i, err)
		}
		total += results[i].Interactions
	}
	if total != old {
		t.Errorf("the three purges deleted %d interactions together, want %d", total, old)
	}
	if got := retentionCount(t, pool, `SELECT count(*)::int FROM interactions`); got != young {
		t.Errorf("%d interactions left, want the %d young ones", got, young)
	}
	t.Logf("three concurrent purges of %d old rows (batches of %d) took %s", old, PurgeBatch, took)
}
