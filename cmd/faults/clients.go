package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const password = "fault harness password 42"

var apiClient = &http.Client{Timeout: 10 * time.Second}

// apiDo sends one JSON request and returns the status and body.
func apiDo(ctx context.Context, method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// client is one person of the run: a poster and an SSE reader.
type client struct {
	idx       int
	handle    string
	token     string
	community string // slug of the one community it belongs to
	home      int    // instance its stream first connects to

	mu          sync.Mutex
	lastID      uint64
	seenEvent   map[uint64]bool
	deliveries  []delivery // share.created after de-duplication by event id
	redelivered int        // events dropped because their id was seen already
	orderViol   int        // a new event id lower than one already received
	reloads     int
	connects    int
	disconnects int
	lastDeliver time.Time
	resume      []time.Duration // disconnect to first event after reconnecting
	reconnect   []time.Duration // disconnect to 200 OK of the new stream
	connLog     []string        // instance per connection, for diagnosis
	resumeLog   []string        // one line per resume, for diagnosis
	lastErr     string          // why the last connection ended
	downAt      time.Time       // when the pending disconnect happened
}

// delivery is one share.created a client received.
type delivery struct {
	eventID   uint64
	shareID   int64
	community string
	body      string
	instance  string
	at        time.Time
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

// pickInstance chooses a random instance the harness believes is up (a client
// cannot know, but it would learn after one failed try; this keeps retries short).
func pickInstance(insts []*instance, prefer int) int {
	if prefer >= 0 && insts[prefer].isUp() {
		return prefer
	}
	var live []int
	for i, in := range insts {
		if in.isUp() {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return rand.IntN(len(insts))
	}
	return live[rand.IntN(len(live))]
}

// follow keeps the client's event stream open until ctx ends, reconnecting on
// any error to a random live instance with its Last-Event-ID.
func (c *client) follow(ctx context.Context, insts []*instance, logf func(string, ...any)) {
	prefer := c.home
	var disconnectedAt time.Time
	for ctx.Err() == nil {
		i := pickInstance(insts, prefer)
		prefer = -1
		err := c.stream(ctx, insts[i], &disconnectedAt)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		if disconnectedAt.IsZero() {
			disconnectedAt = time.Now()
			c.disconnects++
		}
		c.lastErr = fmt.Sprintf("%s: %v (%s after the disconnect)", insts[i].name, err, time.Since(disconnectedAt).Round(time.Millisecond))
		c.resumeLog = append(c.resumeLog, "  ended "+c.lastErr)
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
		}
	}
}

// stream runs one connection. disconnectedAt is the moment the previous
// connection broke (zero when none is pending); it is cleared at the first event.
func (c *client) stream(ctx context.Context, in *instance, disconnectedAt *time.Time) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, in.httpURL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	c.mu.Lock()
	if c.lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(c.lastID, 10))
	}
	c.mu.Unlock()
	// Connect with a bound: a half-dead instance must not hold the client.
	connectTimer := time.AfterFunc(10*time.Second, cancel)
	resp, err := http.DefaultClient.Do(req)
	connectTimer.Stop()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s: status %d", in.name, resp.StatusCode)
	}
	c.mu.Lock()
	c.connects++
	c.connLog = append(c.connLog, in.name)
	if !disconnectedAt.IsZero() {
		c.reconnect = append(c.reconnect, time.Since(*disconnectedAt))
		c.resumeLog = append(c.resumeLog, fmt.Sprintf("  %s stream open %s after the disconnect, Last-Event-ID %d",
			in.name, time.Since(*disconnectedAt).Round(time.Millisecond), c.lastID))
	}
	c.mu.Unlock()

	// Idle watchdog: the server pings every 15 s; nothing for 20 s means a dead link.
	idle := time.AfterFunc(20*time.Second, cancel)
	defer idle.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var id, typ string
	var data strings.Builder
	for sc.Scan() {
		idle.Reset(20 * time.Second)
		line := sc.Text()
		switch {
		case line == "":
			if typ != "" || data.Len() > 0 {
				c.onEvent(id, typ, data.String(), in.name, disconnectedAt)
			}
			id, typ = "", ""
			data.Reset()
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "event:"):
			typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

func (c *client) onEvent(id, typ, data, inst string, disconnectedAt *time.Time) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !disconnectedAt.IsZero() {
		c.resume = append(c.resume, now.Sub(*disconnectedAt))
		c.resumeLog = append(c.resumeLog, fmt.Sprintf("  %s first event %s (%s) %s after the disconnect at %s",
			inst, id, typ, now.Sub(*disconnectedAt).Round(time.Millisecond), disconnectedAt.Format("15:04:05.000")))
		*disconnectedAt = time.Time{}
	}
	if typ == "reload" {
		c.reloads++
		return
	}
	if id == "" {
		return
	}
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return
	}
	if c.seenEvent[seq] {
		c.redelivered++
		return
	}
	c.seenEvent[seq] = true
	if seq < c.lastID {
		c.orderViol++
	} else {
		c.lastID = seq
	}
	if typ != "share.created" {
		return
	}
	var ev struct {
		Object struct {
			ID        int64  `json:"id"`
			Body      string `json:"body"`
			Community *struct {
				Slug string `json:"slug"`
			} `json:"community"`
		} `json:"object"`
	}
	if json.Unmarshal([]byte(data), &ev) != nil {
		return
	}
	d := delivery{eventID: seq, shareID: ev.Object.ID, body: ev.Object.Body, instance: inst, at: now}
	if ev.Object.Community != nil {
		d.community = ev.Object.Community.Slug
	}
	c.deliveries = append(c.deliveries, d)
	c.lastDeliver = now
}

// post is one share a poster tried to create.
type post struct {
	n        int
	token    string
	client   int
	instance string
	status   int
	err      string
	shareID  int64
	sentAt   time.Time
	took     time.Duration
}

func (p post) acked() bool { return p.status >= 200 && p.status < 300 }

// postShare sends one share and records the answer; a failure is not retried,
// since a retry of a request that did commit would be a legitimate duplicate.
func postShare(ctx context.Context, c *client, insts []*instance, p *post) {
	i := pickInstance(insts, -1)
	p.instance = insts[i].name
	p.sentAt = time.Now()
	body := map[string]string{"body": "fault-test " + p.token}
	st, resp, err := apiDo(ctx, http.MethodPost, insts[i].httpURL+"/api/v1/communities/"+c.community+"/shares", c.token, body)
	p.took = time.Since(p.sentAt)
	p.status = st
	if err != nil {
		p.err = err.Error()
		return
	}
	if p.acked() {
		var sh struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(resp, &sh)
		p.shareID = sh.ID
	} else {
		p.err = strings.TrimSpace(string(resp))
		if len(p.err) > 200 {
			p.err = p.err[:200]
		}
	}
}
