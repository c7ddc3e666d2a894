package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// faultClient sends requests without failing the test on a transport error:
// the fault tests expect some.
var faultClient = &http.Client{Timeout: 15 * time.Second}

// faultPost posts one share and returns the status, the body and any transport error.
func faultPost(baseURL, token, body string) (int, []byte, http.Header, error) {
	data, _ := json.Marshal(map[string]string{"body": body, "audience": "everyone"})
	req, err := http.NewRequest(http.MethodPost, baseURL+"/api/v1/shares", bytes.NewReader(data))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := faultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// streamAlive reports whether an SSE client's stream is still open after d
// (events arriving meanwhile are dropped).
func streamAlive(c *sseClient, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-c.events:
			if !ok {
				return false
			}
		case <-deadline:
			return true
		}
	}
}

// settledGoroutines lets idle HTTP connections go before counting goroutines.
func settledGoroutines() int {
	faultClient.CloseIdleConnections()
	apiClient.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	runtime.GC()
	return runtime.NumGoroutine()
}

func TestFaultPostgresDown(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	in := startInstance(t, map[string]string{"DATABASE_URL": u.String(), "INSTANCE_NAME": "pg-fault", "REGISTRATION": "open"})
	waitReady(t, in.url)

	ana := signupNode(t, in.url, "ana")
	ben := signupNode(t, in.url, "ben")
	live := openEvents(t, in.url, ben, "")
	var ids []string
	for i := 1; i <= 2; i++ {
		if st, body, _, err := faultPost(in.url, ana, fmt.Sprintf("before %d", i)); err != nil || st != http.StatusCreated {
			t.Fatalf("post before the outage = %d %s %v", st, body, err)
		}
		ev := live.next(t, 5*time.Second, "share.created")
		ids = append(ids, ev.ID)
	}
	// A token used (so cached) and then revoked here must not come back from
	// the cache during the outage.
	var spare struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if st, body := apiDo(t, http.MethodPost, in.url+"/api/v1/tokens", ben, map[string]string{"name": "spare"}); st != http.StatusCreated {
		t.Fatalf("create token = %d %s", st, body)
	} else if err := json.Unmarshal(body, &spare); err != nil {
		t.Fatal(err)
	}
	if st, body := apiDo(t, http.MethodGet, in.url+"/api/v1/me", spare.Token, nil); st != http.StatusOK {
		t.Fatalf("GET /api/v1/me with the spare token = %d %s", st, body)
	}
	if st, body := apiDo(t, http.MethodDelete, fmt.Sprintf("%s/api/v1/tokens/%d", in.url, spare.ID), ben, nil); st != http.StatusNoContent {
		t.Fatalf("revoke token = %d %s", st, body)
	}

	// Warm up (pool, keep-alive connections, the resume path), then count.
	resumed := openEvents(t, in.url, ben, ids[0])
	resumed.next(t, 5*time.Second, "share.created")
	resumed.cancel()
	time.Sleep(500 * time.Millisecond)
	baseline := settledGoroutines()

	proxy.Cut()
	cutAt := time.Now()

	t.Run("a write answers 503 fast and saves nothing", func(t *testing.T) {
		start := time.Now()
		st, body, h, err := faultPost(in.url, ana, "during the outage")
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("503 latency with PostgreSQL cut off: %s", took.Round(time.Millisecond))
		if st != http.StatusServiceUnavailable || took > 3*time.Second {
			t.Fatalf("POST /api/v1/shares = %d after %s, want 503 within 3s: %s", st, took, body)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		// A share is one statement: when the cut breaks a pooled connection
		// after the statement went out, the server cannot know whether it
		// committed, and says so ("most likely not saved. Check") rather than
		// "nothing was saved"; a cut found before sending says the latter.
		// Whether it was stored is checked below.
		if e.Error.Code != "unavailable" || !(strings.Contains(e.Error.Message, "nothing was saved") || strings.Contains(e.Error.Message, "most likely not saved")) {
			t.Errorf("error = %+v, want code unavailable and a message saying nothing (most likely) was saved", e.Error)
		}
		if got := h.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2", got)
		}
	})

	t.Run("readyz says unavailable", func(t *testing.T) {
		waitFor(t, 5*time.Second, "/readyz 503", func() bool { return readyStatus(t, in.url) == http.StatusServiceUnavailable })
	})

	t.Run("an open stream stays open", func(t *testing.T) {
		if !streamAlive(live, time.Second) {
			t.Fatal("the stream opened before the outage closed")
		}
	})

	t.Run("a new stream resumes from JetStream with a cached token", func(t *testing.T) {
		start := time.Now()
		again := openEvents(t, in.url, ben, ids[0])
		ev := again.next(t, 5*time.Second, "share.created")
		if ev.ID != ids[1] || shareBody(ev) != "before 2" {
			t.Errorf("resumed with %s %q, want %s %q", ev.ID, shareBody(ev), ids[1], "before 2")
		}
		t.Logf("resume during the outage took %s", time.Since(start).Round(time.Millisecond))
		again.cancel()
	})

	t.Run("an unknown token is not let in from the cache", func(t *testing.T) {
		st, body, _, err := faultPost(in.url, community.AccessTokenPrefix+"unknown", "x")
		if err != nil || st != http.StatusServiceUnavailable {
			t.Errorf("unknown token during the outage = %d %s %v, want 503", st, body, err)
		}
	})

	t.Run("a token revoked on this instance is not let in from the cache", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, in.url+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+spare.Token)
		req.Header.Set("Last-Event-ID", ids[0])
		resp, err := faultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("revoked token during the outage = %d, want 503", resp.StatusCode)
		}
	})

	t.Logf("outage lasted %s", time.Since(cutAt).Round(time.Millisecond))
	proxy.Restore()
	restored := time.Now()

	t.Run("service recovers within 5s", func(t *testing.T) {
		var st int
		var body []byte
		for time.Since(restored) < 5*time.Second {
			st, body, _, err = faultPost(in.url, ana, "after the outage")
			if err == nil && st == http.StatusCreated {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st != http.StatusCreated {
			t.Fatalf("POST after restore = %d %s %v, want 201 within 5s", st, body, err)
		}
		t.Logf("recovered %s after PostgreSQL came back", time.Since(restored).Round(time.Millisecond))
		ev := live.next(t, 5*time.Second, "share.created")
		if shareBody(ev) != "after the outage" {
			t.Errorf("the stream kept through the outage got %q, want the new share", shareBody(ev))
		}
		if readyStatus(t, in.url) != http.StatusOK {
			t.Error("/readyz is not 200 after recovery")
		}
	})

	t.Run("the refused write is not stored", func(t *testing.T) {
		var n int
		if err := testenv.Pool(t, dbURL).QueryRow(context.Background(),
			`SELECT count(*) FROM shares WHERE body = 'during the outage'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d shares with the refused body, want 0", n)
		}
	})

	t.Run("goroutines return to the baseline", func(t *testing.T) {
		var got int
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got = settledGoroutines(); got <= baseline+10 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("goroutines: baseline %d, after recovery %d", baseline, got)
		if got > baseline+10 {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines %d, want at most baseline %d + 10\n%s", got, baseline, buf[:runtime.Stack(buf, true)])
		}
	})
}

// natsNode is a standalone NATS server with JetStream that a test stops and
// starts again on the same port and store, like an external NATS that restarts.
type natsNode struct {
	t     *testing.T
	port  int
	store string
	srv   *server.Server
}

func startNATSNode(t *testing.T) *natsNode {
	n := &natsNode{t: t, port: freePort(t), store: t.TempDir()}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsNode) start() {
	n.t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "external", Host: "127.0.0.1", Port: n.port,
		JetStream: true, StoreDir: n.store, NoSigs: true, NoLog: true,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("external NATS did not start")
	}
	n.srv = srv
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// streamEvents reads every event of the event stream (bundles split).
func streamEvents(t *testing.T, natsURL string) []community.Event {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, bus.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []community.Event
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream message %d: %v", seq, err)
		}
		err = bus.Split(seq, m.Header, m.Data, m.Time, func(m bus.Message) error {
			e, err := community.DecodeEvent(m.Data)
			out = append(out, e)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestFaultNATSDownOutboxDrains(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	node := startNATSNode(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "nats-fault", "REGISTRATION": "open", "NATS_URL": node.url()})
	waitReady(t, in.url)
	ana := signupNode(t, in.url, "ana")
	pool := testenv.Pool(t, dbURL)
	ctx := context.Background()

	node.stop()
	const posts = 20
	t.Run("writes while NATS is down are committed", func(t *testing.T) {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed []string
		for i := range posts {
			wg.Go(func() {
				st, body, _, err := faultPost(in.url, ana, fmt.Sprintf("while NATS is down %02d", i))
				if err != nil || st != http.StatusCreated {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%d %s %v", st, body, err))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Logf("%d posts with NATS down answered in %s", posts, time.Since(start).Round(time.Millisecond))
		if len(failed) > 0 {
			t.Fatalf("posts not 201 while NATS is down: %v", failed)
		}
		var waiting int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events e JOIN events_pending p ON p.id = e.id WHERE e.type = 'share.created'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting != posts {
			t.Errorf("%d share events wait in the outbox, want %d", waiting, posts)
		}
	})

	node.start()
	back := time.Now()
	t.Run("the outbox drains exactly once within 30s", func(t *testing.T) {
		waitFor(t, 30*time.Second, "every event published", func() bool {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM events_pending`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 0
		})
		t.Logf("outbox drained %s after NATS came back", time.Since(back).Round(time.Millisecond))
		checkStreamMatchesOutbox(t, pool, node.url(), posts)
	})

	t.Run("a repeated publish is stored once", func(t *testing.T) {
		// As the relay would repeat it: the first event alone, or with the
		// events committed with it (its bundle), under the same name.
		rows, err := pool.Query(ctx, `SELECT id, subject, type, payload, coalesce(bundle, 0) FROM events
			WHERE coalesce(bundle, id) = (SELECT coalesce(bundle, id) FROM events WHERE type = 'share.created' ORDER BY id LIMIT 1)
			ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		var events []community.Event
		for rows.Next() {
			var e community.Event
			if err := rows.Scan(&e.ID, &e.Subject, &e.Type, &e.Object, &e.Bundle); err != nil {
				t.Fatal(err)
			}
			e.ToAll = true
			events = append(events, e)
		}
		if rows.Err() != nil || len(events) == 0 {
			t.Fatalf("no event to repeat (%v)", rows.Err())
		}
		b, err := bus.Start(ctx, bus.Options{Name: "republisher", URLs: []string{node.url()}})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ev, err := bus.NewEvents(b, 1, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		before := len(streamEvents(t, node.url()))
		for range 2 {
			var data [][]byte
			for _, e := range events {
				d, _ := json.Marshal(e)
				data = append(data, d)
			}
			if events[0].Bundle != 0 {
				err = ev.PublishBundle(ctx, events[0].Bundle, data)
			} else {
				_, err = ev.Publish(ctx, events[0].Subject, events[0].ID, data[0])
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if after := len(streamEvents(t, node.url())); after != before {
			t.Errorf("stream holds %d events after republishing %d (bundle %d) twice, want %d", after, len(events), events[0].Bundle, before)
		}
		checkStreamMatchesOutbox(t, pool, node.url(), posts)
	})
}

// checkStreamMatchesOutbox asserts that every outbox event is in the stream
// exactly once and nothing else is, with shares share.created events.
func checkStreamMatchesOutbox(t *testing.T, pool *pgxpool.Pool, natsURL string, shares int) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, type FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	outbox := map[int64]string{}
	for rows.Next() {
		var id int64
		var typ string
		if err := rows.Scan(&id, &typ); err != nil {
			t.Fatal(err)
		}
		outbox[id] = typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	created := 0
	for _, e := range streamEvents(t, natsURL) {
		seen[e.ID]++
		if seen[e.ID] == 2 {
			t.Errorf("event %d (%s) is in the stream twice", e.ID, e.Type)
		}
		if _, ok := outbox[e.ID]; !ok {
			t.Errorf("event %d (%s) is in the stream but not in the outbox", e.ID, e.Type)
		}
		if e.Type == "share.created" && seen[e.ID] == 1 {
			created++
		}
	}
	for id, typ := range outbox {
		if seen[id] == 0 {
			t.Errorf("outbox event %d (%s) is not in the stream", id, typ)
		}
	}
	if created != shares {
		t.Errorf("stream holds %d share.created events, want %d", created, shares)
	}
}

// sseLines reads a raw event stream line by line (closing the channel at its end).
func sseLines(t *testing.T, url, token string) (<-chan string, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", url, resp, err)
	}
	lines := make(chan string, 1<<16)
	go func() {
		defer resp.Body.Close()
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, cancel
}

func TestFaultGracefulDrainWithTraffic(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	// One person posts as fast as the server answers: the per-person write
	// limit (meant for people, not for this load) is off.
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "drain-traffic", "REGISTRATION": "open", "WRITE_LIMIT_PER_MINUTE": "0"})
	waitReady(t, in.url)
	ana := signupNode(t, in.url, "ana")
	streams := make([]<-chan string, 3)
	for i := range streams {
		streams[i], _ = sseLines(t, in.url+"/api/v1/events", ana)
		if line := <-streams[i]; !strings.HasPrefix(line, "retry: ") {
			t.Fatalf("stream %d opened with %q, want retry", i, line)
		}
	}

	type result struct {
		status int
		id     int64
		err    error
	}
	var (
		mu      sync.Mutex
		results []result
		stop    = make(chan struct{})
		workers sync.WaitGroup
	)
	// Each worker has its own client, as separate users would.
	for w := range 5 {
		workers.Go(func() {
			c := &http.Client{Timeout: 15 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				data, _ := json.Marshal(map[string]string{"body": fmt.Sprintf("drain %d-%d", w, i), "audience": "everyone"})
				req, _ := http.NewRequest(http.MethodPost, in.url+"/api/v1/shares", bytes.NewReader(data))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+ana)
				res := result{}
				resp, err := c.Do(req)
				if err != nil {
					res.err = err
				} else {
					var sh struct {
						ID int64 `json:"id"`
					}
					res.status = resp.StatusCode
					_ = json.NewDecoder(resp.Body).Decode(&sh)
					resp.Body.Close()
					res.id = sh.ID
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the instance is gone: do not spin
				}
			}
		})
	}
	time.Sleep(700 * time.Millisecond) // traffic in full flow

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()

	t.Run("streams get retry and close within 1s", func(t *testing.T) {
		var wg sync.WaitGroup
		for i, lines := range streams {
			wg.Go(func() {
				sawRetry := false
				timeout := time.After(3 * time.Second)
				for {
					select {
					case line, ok := <-lines:
						if !ok {
							took := time.Since(start)
							t.Logf("stream %d closed %s after the stop", i, took.Round(time.Millisecond))
							if !sawRetry || took > time.Second {
								t.Errorf("stream %d closed after %s (retry seen: %v), want retry and close within 1s", i, took, sawRetry)
							}
							return
						}
						// The opening "retry:" was read before the stop: this is the goodbye.
						sawRetry = sawRetry || strings.HasPrefix(line, "retry: ")
					case <-timeout:
						t.Errorf("stream %d still open 3s after the stop", i)
						return
					}
				}
			})
		}
		wg.Wait()
	})

	var runErr error
	select {
	case runErr = <-stopped:
	case <-time.After(12 * time.Second):
		t.Fatal("run did not return within 12s")
	}
	drain := time.Since(start)
	close(stop)
	workers.Wait()
	t.Logf("run returned %s after the stop (err %v)", drain.Round(time.Millisecond), runErr)
	if runErr != nil || drain > 10*time.Second {
		t.Errorf("run returned %v after %s, want nil within 10s", runErr, drain)
	}

	t.Run("no 5xx, and every 2xx share is stored", func(t *testing.T) {
		var ok, transport int
		var ids []int64
		for _, r := range results {
			switch {
			case r.err != nil:
				transport++
				if !transportError(r.err) {
					t.Errorf("unexpected client error %v", r.err)
				}
			case r.status >= 200 && r.status < 300:
				ok++
				ids = append(ids, r.id)
			default:
				t.Errorf("answered %d during the drain, want 2xx or a closed connection", r.status)
			}
		}
		t.Logf("%d requests: %d answered 2xx, %d transport errors", len(results), ok, transport)
		if ok == 0 {
			t.Fatal("no request succeeded; the test did not exercise the drain")
		}
		var stored int
		if err := testenv.Pool(t, dbURL).QueryRow(context.Background(),
			`SELECT count(*) FROM shares WHERE id = ANY($1)`, ids).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != ok {
			t.Errorf("%d of the %d acknowledged shares are stored, want all", stored, ok)
		}
	})
}

// transportError reports whether err is the client's view of a server that
// stopped: refused, reset or closed connections.
func transportError(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "EOF", "server closed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
