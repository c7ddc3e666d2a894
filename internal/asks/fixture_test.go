package asks

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// fixture is a hand-built network in a fresh database: people with skills,
// connections and interactions written directly, and an asks store that
// reloads the tie graph for every routing (the graph changes under it).
type fixture struct {
	t    *testing.T
	ctx  context.Context
	pool *pgxpool.Pool
	net  *community.Store
	s    *Store
	pub  *recordingPublisher
	ids  map[string]int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	net := community.NewStore(pool)
	pub := &recordingPublisher{}
	net.SetPublisher(pub, nil)
	s := NewStore(pool, net)
	s.Configure(Options{GraphMaxAge: -1})
	return &fixture{t: t, ctx: context.Background(), pool: pool, net: net, s: s, pub: pub, ids: map[string]int64{}}
}

// person adds an active node whose display name is the handle capitalised.
func (f *fixture) person(handle string, skills ...string) int64 {
	f.t.Helper()
	if skills == nil {
		skills = []string{}
	}
	var id int64
	err := f.pool.QueryRow(f.ctx, `INSERT INTO nodes (handle, display_name, email, skills) VALUES ($1, $2, $3, $4) RETURNING id`,
		handle, strings.ToUpper(handle[:1])+handle[1:], handle+"@example.test", skills).Scan(&id)
	if err != nil {
		f.t.Fatalf("person %s: %v", handle, err)
	}
	f.ids[handle] = id
	return id
}

// people adds several people without skills.
func (f *fixture) people(handles ...string) {
	f.t.Helper()
	for _, h := range handles {
		f.person(h)
	}
}

// connect declares an accepted connection of a kind between two people.
func (f *fixture) connect(a, b, kind string) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO connections (from_node, to_node, kind, state, accepted_at) VALUES ($1, $2, $3, 'accepted', now())`,
		f.id(a), f.id(b), kind); err != nil {
		f.t.Fatalf("connect %s %s: %v", a, b, err)
	}
}

// chain connects each person to the next (collaborate).
func (f *fixture) chain(handles ...string) {
	f.t.Helper()
	for i := 0; i+1 < len(handles); i++ {
		f.connect(handles[i], handles[i+1], community.KindCollaborate)
	}
}

// interact records n fresh interactions of a kind from a to b.
func (f *fixture) interact(a, b, kind string, n int) {
	f.t.Helper()
	for range n {
		if err := community.RecordInteraction(f.ctx, f.pool, f.id(a), f.id(b), kind, "test"); err != nil {
			f.t.Fatal(err)
		}
	}
}

// offer lists an offer with tags for a person.
func (f *fixture) offer(handle, body string, tags ...string) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO node_offers (node_id, kind, body, tags) VALUES ($1, 'offer', $2, $3)`,
		f.id(handle), body, tags); err != nil {
		f.t.Fatal(err)
	}
}

// expertise sets a person's expertise in a tag.
func (f *fixture) expertise(handle, tag string, score float64) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO expertise (node_id, tag, score) VALUES ($1, $2, $3)`, f.id(handle), tag, score); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) id(handle string) int64 {
	f.t.Helper()
	id, ok := f.ids[handle]
	if !ok {
		f.t.Fatalf("no person %q in the fixture", handle)
	}
	return id
}

// ask posts an ask and fails the test on error.
func (f *fixture) ask(asker string, in AskInput) CreatedAsk {
	f.t.Helper()
	if in.Title == "" {
		in.Title = "Who can help?"
	}
	out, err := f.s.CreateAsk(f.ctx, f.id(asker), in)
	if err != nil {
		f.t.Fatalf("ask by %s: %v", asker, err)
	}
	return out
}

// handles lists the routes' handles in order.
func handles(routes []Route) []string {
	out := make([]string, 0, len(routes))
	for _, r := range routes {
		out = append(out, r.Handle)
	}
	return out
}

func wantHandles(t *testing.T, what string, got []Route, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if g := handles(got); !slices.Equal(g, want) {
		t.Errorf("%s: routed to %v, want %v", what, g, want)
	}
}

func routeOf(t *testing.T, routes []Route, handle string) Route {
	t.Helper()
	for _, r := range routes {
		if r.Handle == handle {
			return r
		}
	}
	t.Fatalf("no route to %s in %v", handle, handles(routes))
	return Route{}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *community.ValidationError
	if !errors.As(err, &ve) || ve.Field != field {
		t.Fatalf("err = %v, want a validation error on %q", err, field)
	}
}

// recordingPublisher keeps what the store published, as NATS would get it.
type recordingPublisher struct {
	mu     sync.Mutex
	events []community.Event
}

func (p *recordingPublisher) Publish(_ context.Context, _ string, _ int64, data []byte) (uint64, error) {
	e, err := community.DecodeEvent(data)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
	return uint64(len(p.events)), nil
}

// ofType lists the published events of a type.
func (p *recordingPublisher) ofType(typ string) []community.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []community.Event
	for _, e := range p.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// routedTo is who received the ask.routed events published for an ask.
func (p *recordingPublisher) routedTo(t *testing.T, askID int64) map[int64]RoutedEvent {
	t.Helper()
	out := map[int64]RoutedEvent{}
	for _, e := range p.ofType(EventRouted) {
		var r RoutedEvent
		if err := json.Unmarshal(e.Object, &r); err != nil {
			t.Fatal(err)
		}
		if r.Ask.ID != askID {
			continue
		}
		if e.ToAll || len(e.To) != 1 || e.To[0] != r.NodeID {
			t.Errorf("ask.routed for node %d goes to all=%v %v, want only that node", r.NodeID, e.ToAll, e.To)
		}
		out[r.NodeID] = r
	}
	return out
}

// backdate moves an ask's last widening into the past, as if time had passed.
func (f *fixture) backdate(askID int64, d time.Duration) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, `UPDATE asks SET widened_at = widened_at - make_interval(secs => $2::float8) WHERE id = $1`, askID, d.Seconds()); err != nil {
		f.t.Fatal(err)
	}
}

// testContext ends with the test.
func testContext(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
