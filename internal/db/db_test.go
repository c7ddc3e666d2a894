package db_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/db"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func tables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestMigrationsUpDownUp(t *testing.T) {
	pool := testenv.Pool(t, testenv.EmptyDatabaseURL(t))
	m, err := db.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	latest, err := db.Latest()
	if err != nil || latest == 0 {
		t.Fatalf("Latest = %d, %v; want a version", latest, err)
	}
	want := []string{"access_tokens", "answer_reactions", "ask_answers", "ask_routes", "asks", "audit_log", "communities", "community_members", "community_purpose_history", "connections", "events", "events_pending", "expertise", "graph_snapshots", "interactions", "invites", "kudos", "node_offers", "nodes", "oidc_identities", "password_resets", "proposals", "rate_counters", "reactions", "replies", "reply_authors", "reply_edits", "resolve_proposals", "retention_state", "sessions", "share_corrections", "share_edits", "share_mark_history", "share_marks", "shares", "thread_reads", "thread_requests", "threads", "votes"}

	if got := tables(t, pool); len(got) != 0 {
		t.Fatalf("empty database has tables %v", got)
	}
	for round := 1; round <= 2; round++ {
		if err := m.Up(); err != nil {
			t.Fatalf("up (round %d): %v", round, err)
		}
		if got := tables(t, pool); !slices.Equal(got, want) {
			t.Fatalf("after up (round %d): tables %v, want %v", round, got, want)
		}
		st, err := m.Status()
		if err != nil || st.Version != latest || st.Dirty {
			t.Fatalf("status after up = %+v, %v; want version %d, clean", st, err, latest)
		}
		if err := m.Up(); err != nil {
			t.Fatalf("a second up should be a no-op: %v", err)
		}
		if round == 2 {
			break
		}
		if err := m.Down(0); err != nil {
			t.Fatalf("down: %v", err)
		}
		if got := tables(t, pool); len(got) != 0 {
			t.Fatalf("after down: tables %v, want none", got)
		}
		if st, _ := m.Status(); st.Version != 0 {
			t.Fatalf("status after down = %+v, want version 0", st)
		}
	}
}

func TestOpenNamesHostOnFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := db.Open(ctx, "postgres://u:topsecret@127.0.0.1:1/nc?connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, `"nc"`) {
		t.Errorf("error %q should name the host, port and database", msg)
	}
	if strings.Contains(msg, "topsecret") {
		t.Errorf("error %q leaks the password", msg)
	}
}

// TestOpenSessionSettings: every connection of the pool runs with the
// statement timeout, without JIT and with SSD page costs, unless the URL
// says otherwise.
func TestOpenSessionSettings(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	pool, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var jit, timeout, rpc string
	if err := pool.QueryRow(ctx, `SELECT current_setting('jit'), current_setting('statement_timeout'), current_setting('random_page_cost')`).Scan(&jit, &timeout, &rpc); err != nil {
		t.Fatal(err)
	}
	if jit != "off" || timeout != "30s" || rpc != "1.1" {
		t.Errorf("jit = %s, statement_timeout = %s, random_page_cost = %s; want off, 30s and 1.1", jit, timeout, rpc)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	own, err := db.Open(ctx, url+sep+"jit=on")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if err := own.QueryRow(ctx, `SELECT current_setting('jit')`).Scan(&jit); err != nil || jit != "on" {
		t.Errorf("jit = %s (%v) with jit=on in the URL, want on", jit, err)
	}
}
