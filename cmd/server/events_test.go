package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// sseEvent is one server-sent event as a client parsed it.
type sseEvent struct {
	ID, Type string
	Data     map[string]any // the data, when it is JSON
	Raw      string         // the data as sent (HTML on the pages' streams)
	At       time.Time      // when the client received it
}

// sseClient reads an event stream in the background.
type sseClient struct {
	events chan sseEvent
	cancel context.CancelFunc
}

// openEvents connects to /api/v1/events with a token and optional Last-Event-ID.
func openEvents(t *testing.T, baseURL, token, lastID string) *sseClient {
	t.Helper()
	return openStream(t, baseURL+"/api/v1/events", token, lastID)
}

// openStream connects to any event stream (e.g. the dashboard's /live).
func openStream(t *testing.T, url, token, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
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
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	c := &sseClient{events: make(chan sseEvent, 100), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		var data strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Type != "" || data.Len() > 0 {
					ev.At = time.Now()
					ev.Raw = data.String()
					_ = json.Unmarshal([]byte(ev.Raw), &ev.Data)
					c.events <- ev
				}
				ev, data = sseEvent{}, strings.Builder{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Type = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data.WriteString(strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return c
}

// next waits for the next event of one of the given types (others are skipped).
func (c *sseClient) next(t *testing.T, limit time.Duration, types ...string) sseEvent {
	t.Helper()
	deadline := time.After(limit)
	var skipped []string
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatalf("stream closed while waiting for %v (after %q)", types, skipped)
			}
			for _, ty := range types {
				if ev.Type == ty {
					return ev
				}
			}
			skipped = append(skipped, ev.Type+" "+ev.Raw)
		case <-deadline:
			t.Fatalf("no %v event within %s", types, limit)
		}
	}
}

// none asserts that no event of the types arrives within d.
func (c *sseClient) none(t *testing.T, d time.Duration, types ...string) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return
			}
			for _, ty := range types {
				if ev.Type == ty {
					t.Fatalf("got %s event %s %v, want none", ev.Type, ev.ID, ev.Data)
				}
			}
		case <-deadline:
			return
		}
	}
}

func shareBody(ev sseEvent) string {
	obj, _ := ev.Data["object"].(map[string]any)
	b, _ := obj["body"].(string)
	return b
}

func waitReady(t *testing.T, urls ...string) {
	t.Helper()
	for _, u := range urls {
		waitFor(t, 20*time.Second, u+" ready", func() bool { return readyStatus(t, u) == http.StatusOK })
	}
}

func TestSharesReachOtherInstancesLiveAndResume(t *testing.T) {
	envs := clusterEnvs(t, 3, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	// The third peer starts only later: its memory of recent events is empty,
	// so a resume there reads the JetStream stream.
	envs[0]["NATS_CLUSTER_PEERS"] = strings.Join(strings.Split(envs[0]["NATS_CLUSTER_PEERS"], ",")[:2], ",")
	envs[1]["NATS_CLUSTER_PEERS"] = envs[0]["NATS_CLUSTER_PEERS"]
	start := time.Now()
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	t.Logf("two instances ready (event stream created) in %s", time.Since(start).Round(time.Millisecond))

	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	cleo := signupNode(t, b.url, "cleo")
	if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/communities", ana, map[string]any{"name": "Platform", "purpose": "infra", "open": true}); st != http.StatusCreated {
		t.Fatalf("create community = %d %s", st, body)
	}
	if st, body := apiDo(t, http.MethodPost, b.url+"/api/v1/communities/platform/join", ben, nil); st != http.StatusOK {
		t.Fatalf("join = %d %s", st, body)
	}

	benLive := openEvents(t, b.url, ben, "")
	cleoLive := openEvents(t, b.url, cleo, "")
	post := func(body string) {
		t.Helper()
		if st, resp := apiDo(t, http.MethodPost, a.url+"/api/v1/communities/platform/shares", ana, map[string]string{"body": body}); st != http.StatusCreated {
			t.Fatalf("post share = %d %s", st, resp)
		}
	}

	var lastSeen string
	t.Run("a share posted on A reaches a member's stream on B within 1s", func(t *testing.T) {
		sent := time.Now()
		post("Deploy freeze from 5pm")
		ev := benLive.next(t, 5*time.Second, "share.created")
		if took := ev.At.Sub(sent); took > time.Second {
			t.Errorf("delivered after %s, want within 1s", took)
		} else {
			t.Logf("delivered across instances in %s", took.Round(time.Millisecond))
		}
		if shareBody(ev) != "Deploy freeze from 5pm" || ev.ID == "" {
			t.Errorf("event %+v, want the share with an id", ev)
		}
		lastSeen = ev.ID
	})

	t.Run("someone who may not see it receives nothing", func(t *testing.T) {
		cleoLive.none(t, 500*time.Millisecond, "share.created")
	})

	t.Run("reconnecting to A with Last-Event-ID gets exactly the missed events", func(t *testing.T) {
		benLive.cancel()
		for i := 1; i <= 3; i++ {
			post(fmt.Sprintf("missed %d", i))
		}
		// Something ben may not see, in between: it must be skipped.
		if st, _ := apiDo(t, http.MethodPost, a.url+"/api/v1/shares", cleo, map[string]string{"body": "cleo to her connections", "audience": "connections"}); st != http.StatusCreated {
			t.Fatalf("cleo's share = %d", st)
		}
		resumed := openEvents(t, a.url, ben, lastSeen)
		var got []string
		var ids []string
		for range 3 {
			ev := resumed.next(t, 5*time.Second, "share.created")
			got = append(got, shareBody(ev))
			ids = append(ids, ev.ID)
		}
		if strings.Join(got, "|") != "missed 1|missed 2|missed 3" {
			t.Errorf("resumed with %q, want the three missed shares in order", got)
		}
		resumed.none(t, 300*time.Millisecond, "share.created")
		post("live again")
		ev := resumed.next(t, 5*time.Second, "share.created")
		if shareBody(ev) != "live again" {
			t.Errorf("after the replay got %q, want the live share", shareBody(ev))
		}
		if liveID, lastID := atoi(ev.ID), atoi(ids[2]); liveID <= lastID {
			t.Errorf("live id %s not after replayed %s", ev.ID, ids[2])
		}
	})

	t.Run("an instance that did not see the events resumes from the stream", func(t *testing.T) {
		c := startInstance(t, envs[2])
		waitReady(t, c.url)
		post("before ben comes back")
		resumed := openEvents(t, c.url, ben, lastSeen)
		var got []string
		for range 5 { // the three missed, "live again", and the one just posted
			got = append(got, shareBody(resumed.next(t, 10*time.Second, "share.created")))
		}
		if want := "missed 1|missed 2|missed 3|live again|before ben comes back"; strings.Join(got, "|") != want {
			t.Errorf("resumed on a fresh instance with %q, want %q", got, want)
		}
		resumed.none(t, 300*time.Millisecond, "share.created")
	})

	t.Run("a gap the stream no longer holds gets reload", func(t *testing.T) {
		stale := openEvents(t, b.url, ben, "999999999")
		stale.next(t, 5*time.Second, "reload")
	})

	t.Run("a malformed Last-Event-ID is a 400", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+ben)
		req.Header.Set("Last-Event-ID", "abc")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("the stream needs a signed-in node", func(t *testing.T) {
		resp, err := http.Get(b.url + "/api/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous /api/v1/events = %d, want 401", resp.StatusCode)
		}
	})
}

func atoi(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}
