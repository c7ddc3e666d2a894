package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
)

// TestHubRemembersBundles: events of stream messages carrying several
// (bus.Message: message sequence << 8 + place) are remembered as one run, a
// resume inside or between messages gets exactly the events after it, and a
// skipped message is a gap.
func TestHubRemembersBundles(t *testing.T) {
	h := newHub()
	seq := func(msg, i uint64) uint64 { return msg<<8 | i }
	var all []uint64
	for msg := uint64(10); msg < 20; msg++ {
		for i := range msg % 4 { // 2, 3, 0 (none: a message of one is 0), 1, …
			all = append(all, seq(msg, i))
		}
		if msg%4 == 0 {
			all = append(all, seq(msg, 0))
		}
	}
	for _, s := range all {
		h.remember(&liveEvent{Seq: s})
	}
	for k, last := range all[:len(all)-1] {
		backlog, covered, tail := h.add(h.newSubscriber(1, apiFormat, false), last)
		if !covered || tail != all[len(all)-1] || len(backlog) != len(all)-k-1 {
			t.Fatalf("after %d: covered=%v tail=%d backlog=%d, want true, %d, %d", last, covered, tail, len(backlog), all[len(all)-1], len(all)-k-1)
		}
		for i, ev := range backlog {
			if ev.Seq != all[k+1+i] {
				t.Fatalf("after %d: backlog[%d] = %d, want %d", last, i, ev.Seq, all[k+1+i])
			}
		}
	}
	// Before the first remembered message: whether the client saw all of
	// the message before cannot be told, so the stream answers.
	if _, covered, _ := h.add(h.newSubscriber(1, apiFormat, false), seq(9, 3)); covered {
		t.Error("an id in the message before the memory was reported covered")
	}
	h.remember(&liveEvent{Seq: seq(21, 0)}) // message 20 missing
	if _, covered, tail := h.add(h.newSubscriber(1, apiFormat, false), all[len(all)-1]); covered || tail != seq(21, 0) {
		t.Errorf("after a skipped message: covered=%v tail=%d, want false and %d", covered, tail, seq(21, 0))
	}
}

func TestHubRemembersRecentEvents(t *testing.T) {
	h := newHub()
	const n = recentEvents + 1000 // wraps the ring
	for seq := uint64(1); seq <= n; seq++ {
		h.remember(&liveEvent{Seq: seq})
	}
	t.Run("a gap inside the memory is covered, in order", func(t *testing.T) {
		backlog, covered, tail := h.add(h.newSubscriber(1, apiFormat, false), n-5)
		if !covered || tail != n || len(backlog) != 5 {
			t.Fatalf("covered=%v tail=%d backlog=%d, want true, %d, 5", covered, tail, len(backlog), n)
		}
		for i, ev := range backlog {
			if want := uint64(n - 4 + i); ev.Seq != want {
				t.Errorf("backlog[%d] = %d, want %d", i, ev.Seq, want)
			}
		}
	})
	t.Run("the oldest remembered event is the edge", func(t *testing.T) {
		oldest := uint64(n - recentEvents + 1)
		if backlog, covered, _ := h.add(h.newSubscriber(1, apiFormat, false), oldest-1); !covered || len(backlog) != recentEvents || backlog[0].Seq != oldest {
			t.Errorf("resume from just before the oldest: covered=%v len=%d", covered, len(backlog))
		}
		if _, covered, _ := h.add(h.newSubscriber(1, apiFormat, false), oldest-2); covered {
			t.Error("a gap older than the memory was reported covered")
		}
	})
	t.Run("an id beyond the tail is not covered", func(t *testing.T) {
		if _, covered, _ := h.add(h.newSubscriber(1, apiFormat, false), n+1); covered {
			t.Error("a future id was reported covered")
		}
	})
	t.Run("a gap in the sequence starts the memory afresh", func(t *testing.T) {
		h.remember(&liveEvent{Seq: n + 10})
		if _, covered, tail := h.add(h.newSubscriber(1, apiFormat, false), n); covered || tail != n+10 {
			t.Errorf("after a gap: covered=%v tail=%d, want false and %d", covered, tail, n+10)
		}
	})
}

// liveTest is a Server with a real (embedded, in-process) event stream behind
// an httptest server whose requests are signed in as the node named by the
// "as" query parameter: the streams' own code, without the sign-in machinery
// (which needs PostgreSQL and is tested in cmd/server).
type liveTest struct {
	s   *Server
	url string
	seq uint64

	counted *streamFormat // the format of /counted
	renders atomic.Int64  // how often it rendered an event
}

func newLiveTest(t testing.TB) *liveTest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Start(ctx, bus.Options{Name: "web-test", StoreDir: bus.StoreDir(t.TempDir(), "web-test")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	events, err := bus.NewEvents(b, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	lt := &liveTest{s: New(Deps{Events: events, Instance: "web-test"})}
	signedIn := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, _ := strconv.ParseInt(r.URL.Query().Get("as"), 10, 64)
			ctx := withNode(r.Context(), community.Node{ID: id, Handle: "n" + strconv.FormatInt(id, 10), Active: true})
			if tok, err := strconv.ParseInt(r.URL.Query().Get("token"), 10, 64); err == nil {
				ctx = withTokenID(ctx, tok)
			}
			h(w, r.WithContext(ctx))
		}
	}
	mux := http.NewServeMux()
	// "token" stands for the access token that signed the request in.
	mux.HandleFunc("GET /api/v1/events", signedIn(lt.s.apiEvents))
	// A stream whose format counts its renderings.
	lt.counted = &streamFormat{slot: formatAPI, render: func(ev *liveEvent, v int, b *bytes.Buffer) {
		lt.renders.Add(1)
		apiFormat.render(ev, v, b)
	}}
	mux.HandleFunc("GET /counted", signedIn(func(w http.ResponseWriter, r *http.Request) {
		lt.s.streamEvents(w, r, streamSpec{format: lt.counted})
	}))
	ts := httptest.NewServer(mux)
	lt.url = ts.URL
	t.Cleanup(func() {
		lt.s.Drain() // hijacked streams are not the httptest server's to close
		ts.Close()
	})
	return lt
}

// dispatch hands the Server one event, as the instance's tail of the stream
// would, with the next sequence number.
func (lt *liveTest) dispatch(t testing.TB, e community.Event) uint64 {
	t.Helper()
	lt.seq++
	if e.At.IsZero() {
		e.At = time.Now()
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	lt.s.Dispatch(bus.Message{Seq: lt.seq, Data: data, Time: e.At})
	return lt.seq
}

// testStream is one client of a live stream, read in the background.
type testStream struct {
	events chan testEvent // closed when the stream ends
	cancel context.CancelFunc
}

type testEvent struct{ id, typ, data string }

func (lt *liveTest) open(t testing.TB, node int64, lastID string) *testStream {
	t.Helper()
	return lt.openPath(t, "/api/v1/events", node, lastID)
}

func (lt *liveTest) openPath(t testing.TB, path string, node int64, lastID string) *testStream {
	t.Helper()
	return lt.openRequest(t, path+"?as="+strconv.FormatInt(node, 10), lastID)
}

func (lt *liveTest) openQuery(t testing.TB, pathAndQuery string) *testStream {
	t.Helper()
	return lt.openRequest(t, pathAndQuery, "")
}

func (lt *liveTest) openRequest(t testing.TB, pathAndQuery, lastID string) *testStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, lt.url+pathAndQuery, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s = %d", pathAndQuery, resp.StatusCode)
	}
	ts := &testStream{events: make(chan testEvent, 1024), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		defer close(ts.events)
		sc := bufio.NewScanner(resp.Body)
		var ev testEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" || ev.data != "" {
					ts.events <- ev
				}
				ev = testEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:]
			}
		}
	}()
	return ts
}

// next waits for the next event of type typ, skipping others.
func (ts *testStream) next(t testing.TB, typ string, limit time.Duration) testEvent {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case ev, ok := <-ts.events:
			if !ok {
				t.Fatalf("stream ended while waiting for %q", typ)
			}
			if ev.typ == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within %s", typ, limit)
		}
	}
}

// ended reports whether the stream ends within limit.
func (ts *testStream) ended(limit time.Duration) bool {
	deadline := time.After(limit)
	for {
		select {
		case _, ok := <-ts.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func waitUntil(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what)
		}
	}
}

func TestEndNodeStreams(t *testing.T) {
	lt := newLiveTest(t)
	ana1, ana2, ben := lt.open(t, 1, ""), lt.open(t, 1, ""), lt.open(t, 2, "")
	waitUntil(t, 5*time.Second, "three streams open", func() bool { return lt.s.Clients() == 3 })

	t.Run("ends every stream of the node and counts them", func(t *testing.T) {
		if got, want := lt.s.EndNodeStreams(1), 2; got != want {
			t.Errorf("EndNodeStreams(1) = %d, want %d", got, want)
		}
		for i, st := range []*testStream{ana1, ana2} {
			if !st.ended(2 * time.Second) {
				t.Errorf("ana's stream %d still open 2s after EndNodeStreams", i+1)
			}
		}
		waitUntil(t, 2*time.Second, "one stream left", func() bool { return lt.s.Clients() == 1 })
	})
	t.Run("other nodes' streams carry on", func(t *testing.T) {
		lt.dispatch(t, community.Event{Type: "share.created", To: []int64{1, 2}, Object: json.RawMessage(`{"body":"still here"}`)})
		if ev := ben.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, "still here") {
			t.Errorf("ben got %q, want the share", ev.data)
		}
	})
	t.Run("a node without streams", func(t *testing.T) {
		if got := lt.s.EndNodeStreams(3); got != 0 {
			t.Errorf("EndNodeStreams(3) = %d, want 0", got)
		}
	})
}

func TestEndTokenStreams(t *testing.T) {
	lt := newLiveTest(t)
	byToken7 := lt.openQuery(t, "/api/v1/events?as=1&token=7")
	byToken8 := lt.openQuery(t, "/api/v1/events?as=1&token=8")
	otherNode := lt.openQuery(t, "/api/v1/events?as=2&token=7")
	waitUntil(t, 5*time.Second, "three streams open", func() bool { return lt.s.Clients() == 3 })
	if got := lt.s.EndTokenStreams(1, 7); got != 1 {
		t.Errorf("EndTokenStreams(1, 7) = %d, want 1", got)
	}
	if !byToken7.ended(2 * time.Second) {
		t.Error("the stream opened with token 7 is still open")
	}
	lt.dispatch(t, community.Event{Type: "share.created", To: []int64{1, 2}, Object: json.RawMessage(`{"body":"x"}`)})
	byToken8.next(t, "share.created", 2*time.Second)
	otherNode.next(t, "share.created", 2*time.Second)
}

func TestStreamsFollowAndResume(t *testing.T) {
	lt := newLiveTest(t)
	share := func(body string, to ...int64) uint64 {
		return lt.dispatch(t, community.Event{Type: "share.created", To: to, Object: json.RawMessage(`{"body":"` + body + `"}`)})
	}
	ana := lt.open(t, 1, "")
	waitUntil(t, 5*time.Second, "ana's stream open", func() bool { return lt.s.Clients() == 1 })

	var first uint64
	t.Run("live events in order, only those the node may see", func(t *testing.T) {
		first = share("one", 1, 2)
		share("not for ana", 2)
		share("two", 3, 1)
		for _, want := range []string{"one", "two"} {
			if ev := ana.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, want) {
				t.Errorf("got %q, want %q", ev.data, want)
			}
		}
	})
	t.Run("a node listed twice gets the event once", func(t *testing.T) {
		share("twice", 1, 1)
		share("after", 1)
		for _, want := range []string{"twice", "after"} {
			if ev := ana.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, want) {
				t.Errorf("got %q, want %q", ev.data, want)
			}
		}
	})
	t.Run("Last-Event-ID resumes from memory with exactly the missed events", func(t *testing.T) {
		resumed := lt.open(t, 1, strconv.FormatUint(first, 10))
		for _, want := range []string{"two", "twice", "after"} {
			if ev := resumed.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, want) {
				t.Errorf("got %q, want %q", ev.data, want)
			}
		}
		share("live", 1)
		if ev := resumed.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, "live") {
			t.Errorf("after the replay got %q, want the live event", ev.data)
		}
	})
	t.Run("an event to everyone", func(t *testing.T) {
		ben := lt.open(t, 2, "")
		waitUntil(t, 5*time.Second, "ben's stream open (the resumed one closed with its subtest)", func() bool { return lt.s.Clients() == 2 })
		if ev := ana.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, "live") {
			t.Errorf("ana's first stream got %q, want the live event too", ev.data)
		}
		lt.dispatch(t, community.Event{Type: "share.created", ToAll: true, Object: json.RawMessage(`{"body":"all"}`)})
		for _, st := range []*testStream{ana, ben} {
			if ev := st.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, "all") {
				t.Errorf("got %q, want the event to everyone", ev.data)
			}
		}
	})
}

func TestEachEventRenderedOncePerInstance(t *testing.T) {
	lt := newLiveTest(t)
	const n = 50
	streams := make([]*testStream, n)
	to := make([]int64, n)
	for i := range n {
		streams[i] = lt.openPath(t, "/counted", int64(i+1), "")
		to[i] = int64(i + 1)
	}
	waitUntil(t, 5*time.Second, "all streams open", func() bool { return lt.s.Clients() == n })
	for i := range 3 {
		lt.dispatch(t, community.Event{Type: "share.created", To: to, Object: json.RawMessage(`{"body":"b` + strconv.Itoa(i) + `"}`)})
	}
	for _, st := range streams {
		for i := range 3 {
			if ev := st.next(t, "share.created", 2*time.Second); !strings.Contains(ev.data, "b"+strconv.Itoa(i)) {
				t.Fatalf("got %q, want b%d", ev.data, i)
			}
		}
	}
	if got := lt.renders.Load(); got != 3 {
		t.Errorf("3 events to %d streams rendered %d times, want 3 (once each)", n, got)
	}
}

func TestIdleStreamsHoldNoGoroutine(t *testing.T) {
	lt := newLiveTest(t)
	lt.open(t, 1, "") // the hub's goroutines start with the first stream
	waitUntil(t, 5*time.Second, "first stream open", func() bool { return lt.s.Clients() == 1 })
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 200
	u := strings.TrimPrefix(lt.url, "http://")
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.Dial("tcp", u)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /api/v1/events?as=%d HTTP/1.1\r\nHost: %s\r\n\r\n", i+2, u)
		br := bufio.NewReader(c) // read up to the opening "retry:", then never again
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "retry:") {
				break
			}
		}
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	waitUntil(t, 5*time.Second, "all streams open", func() bool { return lt.s.Clients() == n+1 })
	time.Sleep(50 * time.Millisecond) // the handlers return
	if got := runtime.NumGoroutine() - before; got > n/20 {
		t.Errorf("%d idle streams added %d goroutines, want none per stream", n, got)
	}

	t.Run("a peer that hangs up is noticed without a write", func(t *testing.T) {
		for _, c := range conns[:n/2] {
			c.Close()
		}
		waitUntil(t, 3*time.Second, "the closed streams gone", func() bool { return lt.s.Clients() == n/2+1 })
	})
}

func TestDrainSaysReconnect(t *testing.T) {
	lt := newLiveTest(t)
	streams := []*testStream{lt.open(t, 1, ""), lt.open(t, 2, ""), lt.openPath(t, "/counted", 3, "")}
	waitUntil(t, 5*time.Second, "streams open", func() bool { return lt.s.Clients() == 3 })
	start := time.Now()
	lt.s.Drain()
	if took := time.Since(start); took > time.Second+200*time.Millisecond {
		t.Errorf("Drain took %s, want about 1s at most", took)
	}
	for i, st := range streams {
		st.next(t, "reconnect", time.Second)
		if !st.ended(time.Second) {
			t.Errorf("stream %d still open after its goodbye", i)
		}
	}
	if got := lt.s.Clients(); got != 0 {
		t.Errorf("Clients() = %d after Drain, want 0", got)
	}
	t.Run("new streams are refused", func(t *testing.T) {
		resp, err := http.Get(lt.url + "/api/v1/events?as=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d while draining, want 503", resp.StatusCode)
		}
	})
}

func TestLaggingStreamEnds(t *testing.T) {
	h := newHub()
	sub := h.newSubscriber(1, apiFormat, false)
	h.add(sub, 0) // still starting: nothing is written, events queue up
	for seq := uint64(1); seq <= maxQueued+1; seq++ {
		h.dispatch(&liveEvent{Seq: seq, Event: community.Event{To: []int64{1}}})
	}
	sub.mu.Lock()
	state, reason := sub.state, sub.reason
	sub.mu.Unlock()
	if state != subEnding || reason != endLagging {
		t.Errorf("after %d queued events state=%d reason=%d, want ending for lagging", maxQueued+1, state, reason)
	}
}

func TestWriteSSESplitsEveryLineBreak(t *testing.T) {
	var b bytes.Buffer
	if err := writeSSE(&b, "7", "share", "a\rid: 9\r\nb\nc"); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "id: 7\nevent: share\ndata: a\ndata: id: 9\ndata: b\ndata: c\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestHubDispatchReachesRecipientsOnly: an event is queued on the streams of
// its recipients and no others, however the hub finds them: recipients
// looked up among the streams, or (more recipients than nodes with streams,
// the list sorted) streams looked up in the list.
func TestHubDispatchReachesRecipientsOnly(t *testing.T) {
	h := newHub()
	subs := map[string]*subscriber{}
	for _, s := range []struct {
		name string
		node int64
	}{{"ana", 2}, {"ben", 5}, {"cleo", 9}, {"cleo on a phone", 9}} {
		subs[s.name] = h.newSubscriber(s.node, apiFormat, false)
		h.add(subs[s.name], 0)
	}
	cases := []struct {
		name  string
		to    []int64
		toAll bool
		want  []string
	}{
		{"many recipients, sorted", []int64{1, 2, 3, 4, 6, 7, 8, 9, 10}, false, []string{"ana", "cleo", "cleo on a phone"}},
		{"many recipients, unsorted", []int64{10, 9, 1, 5, 3, 4, 6, 7}, false, []string{"ben", "cleo", "cleo on a phone"}},
		{"many recipients, a node twice", []int64{1, 2, 2, 3, 4, 6, 7, 8}, false, []string{"ana"}},
		{"few recipients", []int64{5}, false, []string{"ben"}},
		{"nobody here", []int64{1, 3, 4, 6, 7, 8, 10, 11}, false, nil},
		{"everyone", nil, true, []string{"ana", "ben", "cleo", "cleo on a phone"}},
	}
	for i, tc := range cases {
		seq := uint64(i + 1)
		h.dispatch(&liveEvent{Seq: seq, Event: community.Event{To: tc.to, ToAll: tc.toAll}})
		for name, sub := range subs {
			var got int
			for _, ev := range sub.queue {
				if ev.Seq == seq {
					got++
				}
			}
			want := 0
			if slices.Contains(tc.want, name) {
				want = 1
			}
			if got != want {
				t.Errorf("%s: %s's stream has the event %d times, want %d", tc.name, name, got, want)
			}
		}
	}
}
