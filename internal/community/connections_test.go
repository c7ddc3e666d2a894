package community

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// connTestStore is a Store on a fresh, migrated database, with its pool for
// writing fixtures directly.
func connTestStore(t *testing.T) (*Store, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	return NewStore(pool), pool
}

// connTestNode inserts an active node with handle and returns its id.
func connTestNode(t *testing.T, pool *pgxpool.Pool, handle string) int64 {
	t.Helper()
	var id int64
	err := pool.QueryRow(context.Background(),
		`INSERT INTO nodes (handle, display_name) VALUES ($1, $2) RETURNING id`,
		handle, strings.ToUpper(handle[:1])+handle[1:]).Scan(&id)
	if err != nil {
		t.Fatalf("insert node %s: %v", handle, err)
	}
	return id
}

// connCount is how many connection rows exist between a and b, either direction.
func connCount(t *testing.T, pool *pgxpool.Pool, a, b int64) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `
		SELECT count(*) FROM connections
		WHERE (from_node = $1 AND to_node = $2) OR (from_node = $2 AND to_node = $1)`, a, b).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func connRequest(t *testing.T, s *Store, from int64, to, kind string) Connection {
	t.Helper()
	c, err := s.RequestConnection(context.Background(), from, to, kind)
	if err != nil {
		t.Fatalf("request %s (%s): %v", to, kind, err)
	}
	return c
}

func connWantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func connWantField(t *testing.T, err error, field string) *ValidationError {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a validation error on %q", err, field)
	}
	if ve.Field != field {
		t.Fatalf("field = %q, want %q (%s)", ve.Field, field, ve.Message)
	}
	return ve
}

func TestConnectionStateMachine(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	ana := connTestNode(t, pool, "ana")
	ben := connTestNode(t, pool, "ben")
	cy := connTestNode(t, pool, "cy")

	t.Run("request is pending and seen from both sides", func(t *testing.T) {
		c := connRequest(t, s, ana, "ben", KindCollaborate)
		if c.State != ConnectionPending || c.Direction != DirectionOutgoing || c.Other.ID != ben || c.Other.Handle != "ben" ||
			c.Kind != KindCollaborate || c.AcceptedAt != nil || c.Strength != 0 {
			t.Fatalf("got %+v, want a pending outgoing collaborate request to ben with no strength", c)
		}
		in, err := s.ListConnections(ctx, ben)
		if err != nil {
			t.Fatal(err)
		}
		if len(in) != 1 || in[0].ID != c.ID || in[0].Direction != DirectionIncoming || in[0].Other.ID != ana {
			t.Fatalf("ben sees %+v, want one incoming request from ana", in)
		}
		if got, _ := s.ListConnections(ctx, cy); len(got) != 0 {
			t.Fatalf("cy sees %d connections, want 0", len(got))
		}
		for _, want := range []struct {
			who  int64
			name string
			n    int
		}{{ben, "ben", 1}, {ana, "ana (who asked)", 0}, {cy, "cy", 0}} {
			if n, err := s.PendingRequests(ctx, want.who); err != nil || n != want.n {
				t.Errorf("%s has %d requests to answer (%v), want %d", want.name, n, err, want.n)
			}
		}
		connWantErr(t, s.WithdrawConnection(ctx, ana, c.ID), nil)
		if n, _ := s.PendingRequests(ctx, ben); n != 0 {
			t.Errorf("ben has %d requests to answer after ana withdrew, want 0", n)
		}
	})

	t.Run("only the addressee accepts", func(t *testing.T) {
		c := connRequest(t, s, ana, "ben", KindMentor)
		_, err := s.AcceptConnection(ctx, ana, c.ID)
		connWantErr(t, err, ErrForbidden)
		_, err = s.AcceptConnection(ctx, cy, c.ID)
		connWantErr(t, err, ErrNotFound)
		got, err := s.AcceptConnection(ctx, ben, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != ConnectionAccepted || got.AcceptedAt == nil || got.Direction != DirectionIncoming || got.Other.ID != ana {
			t.Fatalf("got %+v, want accepted, incoming, from ana", got)
		}
		if got.Strength != connectionBase[KindMentor] {
			t.Fatalf("strength = %v, want the mentor base %v", got.Strength, connectionBase[KindMentor])
		}
		again, err := s.AcceptConnection(ctx, ben, c.ID)
		if err != nil || !again.AcceptedAt.Equal(*got.AcceptedAt) {
			t.Fatalf("accept twice: %+v, %v; want the same accepted connection", again, err)
		}
		connWantErr(t, s.RemoveConnection(ctx, ana, c.ID), nil)
	})

	t.Run("decline deletes and allows asking again", func(t *testing.T) {
		c := connRequest(t, s, ana, "ben", KindAdvice)
		connWantErr(t, s.DeclineConnection(ctx, ana, c.ID), ErrForbidden)
		connWantErr(t, s.DeclineConnection(ctx, cy, c.ID), ErrNotFound)
		connWantErr(t, s.DeclineConnection(ctx, ben, c.ID), nil)
		if n := connCount(t, pool, ana, ben); n != 0 {
			t.Fatalf("%d rows after decline, want 0", n)
		}
		connWantErr(t, s.DeclineConnection(ctx, ben, c.ID), ErrNotFound)
		c = connRequest(t, s, ana, "ben", KindAdvice)
		connWantErr(t, s.WithdrawConnection(ctx, ana, c.ID), nil)
	})

	t.Run("withdraw only by the requester while pending", func(t *testing.T) {
		c := connRequest(t, s, ana, "ben", KindSocial)
		connWantErr(t, s.WithdrawConnection(ctx, ben, c.ID), ErrForbidden)
		connWantErr(t, s.WithdrawConnection(ctx, cy, c.ID), ErrNotFound)
		connWantErr(t, s.WithdrawConnection(ctx, ana, c.ID), nil)
		if n := connCount(t, pool, ana, ben); n != 0 {
			t.Fatalf("%d rows after withdraw, want 0", n)
		}
		c = connRequest(t, s, ana, "ben", KindSocial)
		if _, err := s.AcceptConnection(ctx, ben, c.ID); err != nil {
			t.Fatal(err)
		}
		connWantErr(t, s.WithdrawConnection(ctx, ana, c.ID), ErrConflict)
		connWantErr(t, s.DeclineConnection(ctx, ben, c.ID), ErrConflict)
		connWantErr(t, s.RemoveConnection(ctx, ben, c.ID), nil)
	})

	t.Run("remove by either side once accepted", func(t *testing.T) {
		for _, remover := range []int64{ana, ben} {
			c := connRequest(t, s, ana, "ben", KindCollaborate)
			connWantErr(t, s.RemoveConnection(ctx, ana, c.ID), ErrConflict) // still pending
			if _, err := s.AcceptConnection(ctx, ben, c.ID); err != nil {
				t.Fatal(err)
			}
			connWantErr(t, s.RemoveConnection(ctx, cy, c.ID), ErrNotFound)
			connWantErr(t, s.RemoveConnection(ctx, remover, c.ID), nil)
			if n := connCount(t, pool, ana, ben); n != 0 {
				t.Fatalf("%d rows after remove, want 0", n)
			}
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		_, err := s.AcceptConnection(ctx, ben, 999999)
		connWantErr(t, err, ErrNotFound)
		connWantErr(t, s.RemoveConnection(ctx, ben, 999999), ErrNotFound)
	})
}

func TestRequestConnectionValidation(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	ana := connTestNode(t, pool, "ana")
	connTestNode(t, pool, "ben")
	connTestNode(t, pool, "gone")
	if _, err := pool.Exec(ctx, `UPDATE nodes SET deactivated_at = now() WHERE handle = 'gone'`); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, handle, kind, field, message string
	}{
		{"yourself", "ana", KindSocial, "to_handle", "yourself"},
		{"unknown handle", "zed", KindSocial, "to_handle", "no one has the handle @zed"},
		{"empty handle", "  ", KindSocial, "to_handle", "handle"},
		{"deactivated node", "gone", KindSocial, "to_handle", "@gone"},
		{"bad kind", "ben", "boss", "kind", "collaborate, advice, mentor, social"},
		{"empty kind", "ben", "", "kind", "kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RequestConnection(ctx, ana, tc.handle, tc.kind)
			ve := connWantField(t, err, tc.field)
			if !strings.Contains(strings.ToLower(ve.Message), tc.message) {
				t.Fatalf("message = %q, want it to mention %q", ve.Message, tc.message)
			}
		})
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM connections`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d rows written by invalid requests (%v), want 0", rows, err)
	}

	t.Run("handle with @ and capitals", func(t *testing.T) {
		c := connRequest(t, s, ana, " @Ben ", KindAdvice)
		if c.Other.Handle != "ben" {
			t.Fatalf("other = %q, want ben", c.Other.Handle)
		}
	})
}

func TestRequestConnectionDuplicates(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	ana := connTestNode(t, pool, "ana")
	ben := connTestNode(t, pool, "ben")
	connTestNode(t, pool, "cy")

	t.Run("same direction while pending", func(t *testing.T) {
		connRequest(t, s, ana, "ben", KindCollaborate)
		_, err := s.RequestConnection(ctx, ana, "ben", KindSocial)
		connWantErr(t, err, ErrConflict)
		if f := ConflictField(err); f != "to_handle" {
			t.Fatalf("conflict field = %q, want to_handle", f)
		}
	})

	t.Run("reverse request while pending accepts the first", func(t *testing.T) {
		before, _ := s.ListConnections(ctx, ana)
		c := connRequest(t, s, ben, "ana", KindSocial)
		if c.ID != before[0].ID || c.State != ConnectionAccepted || c.Direction != DirectionIncoming || c.Kind != KindCollaborate {
			t.Fatalf("got %+v, want ana's collaborate request %d accepted, incoming for ben", c, before[0].ID)
		}
		if n := connCount(t, pool, ana, ben); n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
	})

	t.Run("either direction once accepted", func(t *testing.T) {
		for _, tc := range []struct {
			from int64
			to   string
		}{{ana, "ben"}, {ben, "ana"}} {
			_, err := s.RequestConnection(ctx, tc.from, tc.to, KindAdvice)
			connWantErr(t, err, ErrConflict)
			if f := ConflictField(err); f != "to_handle" {
				t.Fatalf("conflict field = %q, want to_handle", f)
			}
		}
	})

	t.Run("concurrent requests in both directions make one connection", func(t *testing.T) {
		cy, _ := s.FindNodeByHandle(ctx, "cy")
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			from, to := ana, "cy"
			if i%2 == 1 {
				from, to = cy.ID, "ana"
			}
			wg.Go(func() { _, errs[i] = s.RequestConnection(ctx, from, to, KindSocial) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, ErrConflict) {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if n := connCount(t, pool, ana, cy.ID); n != 1 {
			t.Fatalf("%d rows between ana and cy, want 1", n)
		}
	})
}

func TestConnectionEvents(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	ana, ben := connTestNode(t, pool, "ana"), connTestNode(t, pool, "ben")
	last := func(t *testing.T) (typ string, to []int64, from, toNode int64) {
		t.Helper()
		err := pool.QueryRow(ctx, `
			SELECT type, to_nodes, (payload->>'from_node')::bigint, (payload->>'to_node')::bigint
			FROM events WHERE NOT to_all ORDER BY id DESC LIMIT 1`).Scan(&typ, &to, &from, &toNode)
		if err != nil {
			t.Fatal(err)
		}
		return typ, to, from, toNode
	}
	c := connRequest(t, s, ana, "ben", KindAdvice)
	steps := []struct {
		name string
		do   func() error
		typ  string
	}{
		{"requested", func() error { return nil }, "connection.requested"},
		{"accepted", func() error { _, err := s.AcceptConnection(ctx, ben, c.ID); return err }, "connection.accepted"},
		{"removed", func() error { return s.RemoveConnection(ctx, ben, c.ID) }, "connection.removed"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			typ, to, from, toNode := last(t)
			if typ != st.typ || len(to) != 2 || to[0] != ana || to[1] != ben || from != ana || toNode != ben {
				t.Fatalf("got %s to %v (%d→%d), want %s to [ana ben] (ana→ben)", typ, to, from, toNode, st.typ)
			}
		})
	}
}
