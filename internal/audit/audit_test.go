package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func auditPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testenv.Pool(t, testenv.DatabaseURL(t))
}

// auditNode inserts a node with handle and returns its id.
func auditNode(t *testing.T, pool *pgxpool.Pool, handle string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(context.Background(),
		`INSERT INTO nodes (handle, display_name, email) VALUES ($1, $1, $1 || '@example.test') RETURNING id`, handle).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool := auditPool(t)
	log := audit.NewStore(pool)
	ana := auditNode(t, pool, "ana")
	if err := log.Add(ctx, audit.Record{Actor: ana, Action: audit.ActionSignin, Address: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, sql string }{
		{"update", `UPDATE audit_log SET action = 'nothing'`},
		{"update of the address", `UPDATE audit_log SET address = '198.51.100.7'`},
		{"actor set to null with another change", `UPDATE audit_log SET actor_id = NULL, action = 'x'`},
		{"delete", `DELETE FROM audit_log`},
		{"truncate", `TRUNCATE audit_log`},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := pool.Exec(ctx, tc.sql)
			var pg *pgconn.PgError
			if !errors.As(err, &pg) || pg.Code != "42501" || !strings.Contains(pg.Message, "append-only") {
				t.Fatalf("%s: got %v, want the append-only refusal (42501)", tc.sql, err)
			}
		})
	}
	t.Run("the row is unchanged", func(t *testing.T) {
		p, err := log.List(ctx, audit.Filter{})
		if err != nil || len(p.Entries) != 1 {
			t.Fatalf("got %+v, %v; want one entry", p, err)
		}
		if e := p.Entries[0]; e.Action != audit.ActionSignin || e.Address != "192.0.2.1" || e.ActorID != ana {
			t.Errorf("got %+v, want ana's sign-in from 192.0.2.1", e)
		}
	})
	t.Run("a deleted node's rows stay, with the actor unknown", func(t *testing.T) {
		gone := auditNode(t, pool, "gone")
		if err := log.Add(ctx, audit.Record{Actor: gone, Action: audit.ActionDenied}); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `DELETE FROM nodes WHERE id = $1`, gone); err != nil {
			t.Fatalf("deleting a node with audit rows: %v", err)
		}
		p, err := log.List(ctx, audit.Filter{Action: audit.ActionDenied})
		if err != nil || len(p.Entries) != 1 || p.Entries[0].ActorID != 0 || p.Entries[0].Actor != "" {
			t.Errorf("got %+v, %v; want the row kept with no actor", p, err)
		}
	})
}

func TestAuditWriteAndList(t *testing.T) {
	ctx := context.Background()
	pool := auditPool(t)
	log := audit.NewStore(pool)
	ana := auditNode(t, pool, "ana")

	t.Run("the address comes from the context unless given", func(t *testing.T) {
		actx := audit.WithAddress(ctx, "203.0.113.9")
		if err := log.Add(actx, audit.Record{Actor: ana, Action: "view_org_map", Detail: map[string]any{"window": "90d"}}); err != nil {
			t.Fatal(err)
		}
		if err := log.Add(actx, audit.Record{Action: audit.ActionImport, Address: "cli"}); err != nil {
			t.Fatal(err)
		}
		p, err := log.List(ctx, audit.Filter{Limit: 2})
		if err != nil || len(p.Entries) != 2 {
			t.Fatalf("got %+v, %v", p, err)
		}
		imp, view := p.Entries[0], p.Entries[1]
		if imp.Address != "cli" || imp.ActorID != 0 || string(imp.Detail) != "{}" {
			t.Errorf("got import %+v, want address cli, no actor, detail {}", imp)
		}
		var d map[string]string
		if view.Address != "203.0.113.9" || view.Actor != "ana" || json.Unmarshal(view.Detail, &d) != nil || d["window"] != "90d" {
			t.Errorf("got view %+v, want ana from 203.0.113.9 with window 90d", view)
		}
		if view.At.Location() != time.UTC || time.Since(view.At) > time.Minute {
			t.Errorf("got at %v, want a recent UTC time", view.At)
		}
	})

	t.Run("written in a transaction, it is rolled back with it", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.Write(ctx, tx, audit.Record{Action: "rolled_back"}); err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback(ctx)
		if p, _ := log.List(ctx, audit.Filter{Action: "rolled_back"}); len(p.Entries) != 0 {
			t.Errorf("got %d rolled-back rows, want none", len(p.Entries))
		}
	})

	for i := range 7 {
		if err := log.Add(ctx, audit.Record{Actor: ana, Action: audit.ActionDenied, Detail: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("keyset pages filtered by action", func(t *testing.T) {
		var seen []int64
		f := audit.Filter{Action: audit.ActionDenied, Limit: 3}
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			p, err := log.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				if e.Action != audit.ActionDenied {
					t.Errorf("got action %q in a denied-only page", e.Action)
				}
				if len(seen) > 0 && e.ID >= seen[len(seen)-1] {
					t.Errorf("got id %d after %d, want newest first", e.ID, seen[len(seen)-1])
				}
				seen = append(seen, e.ID)
			}
			if p.NextBefore == 0 {
				break
			}
			f.Before = p.NextBefore
		}
		if len(seen) != 7 {
			t.Errorf("got %d entries over all pages, want 7", len(seen))
		}
	})
	t.Run("filter by actor", func(t *testing.T) {
		p, err := log.List(ctx, audit.Filter{Actor: ana, Limit: audit.MaxLimit})
		if err != nil || len(p.Entries) != 8 || p.NextBefore != 0 {
			t.Errorf("got %d entries (next %d), %v; want ana's 8 on one page", len(p.Entries), p.NextBefore, err)
		}
	})
	t.Run("an empty page is an empty list", func(t *testing.T) {
		p, err := log.List(ctx, audit.Filter{Action: "never_happened"})
		if err != nil || p.Entries == nil || len(p.Entries) != 0 || p.NextBefore != 0 {
			t.Errorf("got %+v, %v; want an empty, non-nil list", p, err)
		}
	})
	t.Run("actions lists each action once, in order", func(t *testing.T) {
		got, err := log.Actions(ctx)
		want := []string{audit.ActionDenied, audit.ActionImport, "view_org_map"}
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("got %v, %v; want %v", got, err, want)
		}
	})
}
