package asks

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

func TestRankingBySkillMatch(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	f.person("ana", "postgres", "go")
	f.person("ben", "postgres")
	f.person("cleo", "design")
	f.person("dan")
	f.person("eve")
	f.person("frank", "postgres", "go") // matches best, but nobody knows them
	f.offer("dan", "Tuning Postgres queries", "postgres")
	f.expertise("eve", "postgres", 3)
	for _, h := range []string{"ana", "ben", "cleo", "dan", "eve"} {
		f.connect("asker", h, community.KindCollaborate)
	}

	out := f.ask("asker", AskInput{Tags: []string{"#Postgres", " GO "}})

	t.Run("tags are normalised", func(t *testing.T) {
		if !slices.Equal(out.Tags, []string{"postgres", "go"}) {
			t.Errorf("tags = %v, want [postgres go]", out.Tags)
		}
	})
	t.Run("stronger matches first; no match, or no path, no offer", func(t *testing.T) {
		// ana: two skills (2.0); eve: expertise 3 (1.5); ben: one skill (1.0); dan: an offer (0.75).
		wantHandles(t, "by match", out.RoutedTo, "ana", "eve", "ben", "dan")
	})
	t.Run("each candidate is told why", func(t *testing.T) {
		for handle, want := range map[string]string{
			"ana": "skills: postgres, go; direct connection",
			"eve": "answered before: postgres; direct connection",
			"ben": "skills: postgres; direct connection",
			"dan": "offers: postgres; direct connection",
		} {
			if got := routeOf(t, out.RoutedTo, handle).Reason; got != want {
				t.Errorf("reason for %s = %q, want %q", handle, got, want)
			}
		}
		if r := routeOf(t, out.RoutedTo, "ana"); !slices.Equal(r.Path, []string{"asker", "ana"}) || r.Hops != 1 || r.Status != RouteOffered {
			t.Errorf("ana's route = %+v, want path [asker ana], 1 hop, offered", r)
		}
	})
	t.Run("only the candidates hear of it, each alone", func(t *testing.T) {
		got := f.pub.routedTo(t, out.ID)
		if len(got) != 4 {
			t.Fatalf("%d ask.routed events, want 4", len(got))
		}
		if ev := got[f.id("eve")]; ev.Route.Reason != "answered before: postgres; direct connection" || ev.Ask.Title != out.Title {
			t.Errorf("eve's event = %+v, want her reason and the ask", ev)
		}
	})
}

func TestRankingByHopDistance(t *testing.T) {
	f := newFixture(t)
	f.people("asker", "x1", "x2", "x3")
	f.person("h1", "go")
	f.person("h2", "go")
	f.person("h3", "go", "postgres") // the best match, but three hops away
	f.person("h4", "go", "postgres") // four hops: beyond the first round
	f.chain("asker", "x1", "x2", "x3", "h4")
	f.connect("asker", "h1", community.KindCollaborate)
	f.connect("x1", "h2", community.KindCollaborate)
	f.connect("x2", "h3", community.KindCollaborate)

	out := f.ask("asker", AskInput{Tags: []string{"go", "postgres"}})
	wantHandles(t, "1 hop before 2 before 3", out.RoutedTo, "h1", "h2", "h3")
	if out.MaxHops != DefaultInitialHops {
		t.Errorf("max_hops = %d, want %d", out.MaxHops, DefaultInitialHops)
	}
	for handle, want := range map[string]struct {
		reason string
		path   []string
	}{
		"h1": {"skills: go; direct connection", []string{"asker", "h1"}},
		"h2": {"skills: go; 2 hops via X1", []string{"asker", "x1", "h2"}},
		"h3": {"skills: go, postgres; 3 hops via X1, X2", []string{"asker", "x1", "x2", "h3"}},
	} {
		r := routeOf(t, out.RoutedTo, handle)
		if r.Reason != want.reason || !slices.Equal(r.Path, want.path) || r.Hops != len(want.path)-1 {
			t.Errorf("route to %s = %q %v (%d hops), want %q %v", handle, r.Reason, r.Path, r.Hops, want.reason, want.path)
		}
	}
}

func TestRankingTieBreakByStrength(t *testing.T) {
	t.Run("direct connections: the stronger first", func(t *testing.T) {
		f := newFixture(t)
		f.person("asker")
		f.person("ana", "go")
		f.person("ben", "go")
		f.connect("asker", "ana", community.KindCollaborate) // 1.0
		f.connect("asker", "ben", community.KindSocial)      // 0.5
		wantHandles(t, "declared strength", f.ask("asker", AskInput{Tags: []string{"go"}}).RoutedTo, "ana", "ben")

		// Working together makes ben's tie the stronger one.
		f.interact("ben", "asker", community.InteractionAnswer, 3)
		wantHandles(t, "after interactions", f.ask("asker", AskInput{Tags: []string{"go"}}).RoutedTo, "ben", "ana")
	})

	t.Run("two hops: the path whose weakest tie is stronger first", func(t *testing.T) {
		f := newFixture(t)
		f.people("asker", "strong", "weak")
		f.person("c1", "go")
		f.person("c2", "go")
		f.person("c3", "go")
		f.connect("asker", "strong", community.KindCollaborate)
		f.interact("asker", "strong", community.InteractionKudos, 2)
		f.connect("asker", "weak", community.KindSocial)
		f.connect("strong", "c2", community.KindCollaborate)
		f.connect("weak", "c1", community.KindCollaborate)
		// c3 is two hops away either way: the introduction goes through strong.
		f.connect("weak", "c3", community.KindMentor)
		f.connect("strong", "c3", community.KindAdvice)
		out := f.ask("asker", AskInput{Tags: []string{"go"}})
		// c2 and c3 reach asker through ties of at least 0.8; c1 only through 0.5.
		wantHandles(t, "path strength", out.RoutedTo, "c2", "c3", "c1")
		if r := routeOf(t, out.RoutedTo, "c3"); r.Reason != "skills: go; 2 hops via Strong" || !slices.Equal(r.Path, []string{"asker", "strong", "c3"}) {
			t.Errorf("c3's route = %q %v, want the introduction through strong", r.Reason, r.Path)
		}
	})

	t.Run("a stronger match beats a stronger tie at the same distance", func(t *testing.T) {
		f := newFixture(t)
		f.person("asker")
		f.person("ana", "go")
		f.person("ben", "go", "postgres")
		f.connect("asker", "ana", community.KindCollaborate)
		f.connect("asker", "ben", community.KindSocial)
		wantHandles(t, "match first", f.ask("asker", AskInput{Tags: []string{"go", "postgres"}}).RoutedTo, "ben", "ana")
	})

	t.Run("equal in everything: by handle, the same every time", func(t *testing.T) {
		f := newFixture(t)
		f.person("asker")
		for _, h := range []string{"cleo", "ana", "ben"} {
			f.person(h, "go")
			f.connect("asker", h, community.KindCollaborate)
		}
		for range 3 {
			wantHandles(t, "stable", f.ask("asker", AskInput{Tags: []string{"go"}}).RoutedTo, "ana", "ben", "cleo")
		}
	})
}

func TestWideningAfterTimeout(t *testing.T) {
	f := newFixture(t)
	f.people("asker", "x1", "x2", "x3", "x4")
	f.person("far", "go")     // four hops away
	f.person("farther", "go") // five
	f.chain("asker", "x1", "x2", "x3", "far", "x4", "farther")

	out := f.ask("asker", AskInput{Tags: []string{"go"}, WidenAfter: time.Second})
	wantHandles(t, "first round", out.RoutedTo)
	if out.WidenAfter != Duration(time.Second) {
		t.Errorf("widen_after = %s, want 1s", time.Duration(out.WidenAfter))
	}

	t.Run("not before its time", func(t *testing.T) {
		if n, err := f.s.WidenOnce(f.ctx); err != nil || n != 0 {
			t.Fatalf("WidenOnce = %d, %v; want 0 before widen_after passed", n, err)
		}
	})

	t.Run("after widen_after it reaches one hop further, live", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		if n, err := f.s.WidenOnce(f.ctx); err != nil || n != 1 {
			t.Fatalf("WidenOnce = %d, %v; want 1", n, err)
		}
		d, err := f.s.FindAsk(f.ctx, f.id("asker"), out.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantHandles(t, "widened", d.RoutedTo, "far")
		if d.MaxHops != 4 {
			t.Errorf("max_hops = %d, want 4", d.MaxHops)
		}
		if r := d.RoutedTo[0]; r.Reason != "skills: go; 4 hops via X1, X2, X3" || r.Hops != 4 {
			t.Errorf("route = %q (%d hops), want 4 hops via x1, x2, x3", r.Reason, r.Hops)
		}
		got := f.pub.routedTo(t, out.ID)
		if _, ok := got[f.id("far")]; !ok || len(got) != 1 {
			t.Errorf("ask.routed published to %v, want far only", got)
		}
		if len(f.pub.ofType(EventWidened)) != 1 {
			t.Errorf("%d ask.widened events, want 1 (to the asker)", len(f.pub.ofType(EventWidened)))
		}
	})

	t.Run("the wait starts again after widening", func(t *testing.T) {
		if n, _ := f.s.WidenOnce(f.ctx); n != 0 {
			t.Errorf("WidenOnce right after widening = %d, want 0", n)
		}
	})

	t.Run("an answered ask does not widen", func(t *testing.T) {
		if _, err := f.s.AnswerAsk(f.ctx, f.id("far"), out.ID, "Use the standard library."); err != nil {
			t.Fatal(err)
		}
		f.backdate(out.ID, time.Hour)
		if n, _ := f.s.WidenOnce(f.ctx); n != 0 {
			t.Errorf("WidenOnce of an answered ask = %d, want 0", n)
		}
	})

	t.Run("widening stops at six hops", func(t *testing.T) {
		lone := f.ask("asker", AskInput{Tags: []string{"cobol"}, WidenAfter: time.Second})
		for want := 4; want <= MaxHopsLimit; want++ {
			f.backdate(lone.ID, time.Minute)
			if n, err := f.s.WidenOnce(f.ctx); err != nil || n != 1 {
				t.Fatalf("widening to %d hops: %d, %v", want, n, err)
			}
		}
		f.backdate(lone.ID, time.Minute)
		if n, _ := f.s.WidenOnce(f.ctx); n != 0 {
			t.Errorf("WidenOnce past %d hops = %d, want 0", MaxHopsLimit, n)
		}
		if d, _ := f.s.FindAsk(f.ctx, f.id("asker"), lone.ID); d.MaxHops != MaxHopsLimit {
			t.Errorf("max_hops = %d, want %d", d.MaxHops, MaxHopsLimit)
		}
	})
}

func TestWideningOffersTheNextCandidates(t *testing.T) {
	f := newFixture(t)
	f.s.Configure(Options{GraphMaxAge: -1, Fanout: 2})
	f.person("asker")
	for _, h := range []string{"ana", "ben", "cleo"} {
		f.person(h, "go")
		f.connect("asker", h, community.KindCollaborate)
	}
	out := f.ask("asker", AskInput{Tags: []string{"go"}})
	wantHandles(t, "first round, fanout 2", out.RoutedTo, "ana", "ben")

	t.Run("declined by everyone: widens on the next pass", func(t *testing.T) {
		for _, h := range []string{"ana", "ben"} {
			if err := f.s.Decline(f.ctx, f.id(h), out.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := f.s.WidenOnce(f.ctx); err != nil || n != 1 {
			t.Fatalf("WidenOnce = %d, %v; want 1 without waiting two hours", n, err)
		}
		d, _ := f.s.FindAsk(f.ctx, f.id("asker"), out.ID)
		wantHandles(t, "after widening", d.RoutedTo, "ana", "ben", "cleo")
	})
}

func TestWideningClaimsEachAskOnce(t *testing.T) {
	f := newFixture(t)
	f.people("asker", "x1", "x2", "x3")
	f.person("far", "go")
	f.chain("asker", "x1", "x2", "x3", "far")
	const asks = 30
	var ids []int64
	for range asks {
		ids = append(ids, f.ask("asker", AskInput{Tags: []string{"go"}, WidenAfter: time.Second}).ID)
	}
	for _, id := range ids {
		f.backdate(id, time.Minute)
	}
	// Two instances run the job at the same time.
	other := NewStore(f.pool, f.net)
	other.Configure(Options{GraphMaxAge: -1})
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i, s := range []*Store{f.s, other, f.s, other} {
		wg.Go(func() {
			n, err := s.WidenOnce(f.ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if total := counts[0] + counts[1] + counts[2] + counts[3]; total != asks {
		t.Errorf("widened %d times in all (%v), want each of %d asks once", total, counts, asks)
	}
	var wrong, events int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM asks WHERE max_hops <> 4`).Scan(&wrong); err != nil || wrong != 0 {
		t.Errorf("%d asks not at 4 hops (%v), want 0", wrong, err)
	}
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM events WHERE type = 'ask.widened'`).Scan(&events); err != nil || events != asks {
		t.Errorf("%d ask.widened events (%v), want %d", events, err, asks)
	}
}

func TestRunWidenerPublishesLive(t *testing.T) {
	f := newFixture(t)
	f.people("asker", "x1", "x2", "x3")
	f.person("far", "go")
	f.chain("asker", "x1", "x2", "x3", "far")
	out := f.ask("asker", AskInput{Tags: []string{"go"}, WidenAfter: time.Second})
	ctx, cancel := testContext(t)
	done := make(chan struct{})
	go func() { defer close(done); f.s.RunWidener(ctx, 50*time.Millisecond, discardLog()) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := f.pub.routedTo(t, out.ID)[f.id("far")]; ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if _, ok := f.pub.routedTo(t, out.ID)[f.id("far")]; !ok {
		t.Fatal("the widener did not offer the ask to far within 5s of its widen_after")
	}
}

func TestRouteSkipsAndLimits(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	for _, h := range []string{"ana", "ben", "cleo"} {
		f.person(h, "go")
		f.connect("asker", h, community.KindCollaborate)
	}
	got, err := f.s.Route(f.ctx, f.id("asker"), []string{"go"}, 1, map[int64]bool{f.id("ana"): true}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Handle != "ben" {
		t.Errorf("Route skipping ana, limit 1 = %+v, want ben", got)
	}
	if got, _ := f.s.Route(f.ctx, f.id("asker"), []string{"rust"}, 3, nil, 0, 5); len(got) != 0 {
		t.Errorf("Route for a tag nobody has = %+v, want nobody", got)
	}
}

func TestTieGraphNoticesConnectionsAtOnce(t *testing.T) {
	f := newFixture(t)
	f.s.Configure(Options{}) // the cached graph, as instances run it
	f.person("asker")
	f.person("ana", "go")
	route := func() []string {
		t.Helper()
		got, err := f.s.Route(f.ctx, f.id("asker"), []string{"go"}, 3, nil, 0, 5)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, c := range got {
			hs = append(hs, c.Handle)
		}
		return hs
	}
	cached := func() *tieGraph {
		f.s.ties.mu.Lock()
		defer f.s.ties.mu.Unlock()
		return f.s.ties.cur
	}
	if got := route(); len(got) != 0 {
		t.Fatalf("before connecting: %v, want nobody", got)
	}
	loaded := cached()
	// Keep the background reload from replacing the graph under the test.
	f.s.ties.mu.Lock()
	f.s.ties.refreshing = true
	f.s.ties.mu.Unlock()

	c, err := f.net.RequestConnection(f.ctx, f.id("asker"), "ana", community.KindCollaborate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.net.AcceptConnection(f.ctx, f.id("ana"), c.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("an accepted connection counts at once, laid over the cached graph", func(t *testing.T) {
		if got := route(); !slices.Equal(got, []string{"ana"}) {
			t.Errorf("right after the connection was accepted: %v, want ana", got)
		}
		if cached() != loaded {
			t.Error("the graph was reloaded; want the change laid over the cached one")
		}
	})
	t.Run("a removed one stops counting at once", func(t *testing.T) {
		if err := f.net.RemoveConnection(f.ctx, f.id("asker"), c.ID); err != nil {
			t.Fatal(err)
		}
		if got := route(); len(got) != 0 {
			t.Errorf("after removing the connection: %v, want nobody", got)
		}
	})
	t.Run("someone new makes it reload", func(t *testing.T) {
		f.person("ben", "go")
		c, err := f.net.RequestConnection(f.ctx, f.id("ben"), "asker", community.KindAdvice)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.net.AcceptConnection(f.ctx, f.id("asker"), c.ID); err != nil {
			t.Fatal(err)
		}
		if got := route(); !slices.Equal(got, []string{"ben"}) {
			t.Errorf("after connecting with someone new: %v, want ben", got)
		}
		if cached() == loaded {
			t.Error("the graph was not reloaded for someone it did not know")
		}
	})
}
