package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
)

// EventLog is the ordered event stream the live views read (JetStream).
type EventLog interface {
	Bounds(ctx context.Context) (first, last uint64, err error)
	Replay(ctx context.Context, from, to uint64, fn func(bus.Message) error) error
}

// liveEvent is one event of the stream, decoded once per instance.
type liveEvent struct {
	Seq   uint64
	Event community.Event
}

// subscriber is one live stream of one signed-in node.
type subscriber struct {
	node int64
	ch   chan liveEvent
	// lagging is closed when the subscriber fell too far behind; its stream ends
	// and the browser resumes from its last event id, which loses nothing.
	lagging chan struct{}
	once    sync.Once
}

// hub fans the instance's one tail of the event stream out to its local streams,
// each receiving only what its node may see. It also keeps the most recent
// events in order, so a browser that reconnects after a short gap resumes from
// memory, without a JetStream request (which, while a failed node's stream
// leadership moves, can take seconds).
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	// ring holds the last recentEvents events by Seq % recentEvents; they are
	// contiguous from first to last (both 0 while empty).
	ring        []liveEvent
	first, last uint64
}

// recentEvents is how many events the hub keeps for resuming (about a minute
// at 100 events a second).
const recentEvents = 8192

func newHub() *hub {
	return &hub{subs: map[*subscriber]struct{}{}, ring: make([]liveEvent, recentEvents)}
}

// add subscribes a stream and returns, atomically with it, the remembered
// events after lastID (covered is false when the memory does not reach back to
// lastID+1) and the newest sequence dispatched (0: none yet).
func (h *hub) add(node int64, lastID uint64) (sub *subscriber, backlog []liveEvent, covered bool, tail uint64) {
	sub = &subscriber{node: node, ch: make(chan liveEvent, 256), lagging: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[sub] = struct{}{}
	if h.last > 0 {
		tail = h.last
		if h.first <= lastID+1 && lastID <= h.last {
			covered = true
			for seq := max(lastID+1, h.first); seq <= h.last; seq++ {
				backlog = append(backlog, h.ring[seq%recentEvents])
			}
		}
	}
	return sub, backlog, covered, tail
}

func (h *hub) remember(ev liveEvent) {
	if h.last > 0 && ev.Seq != h.last+1 {
		h.first, h.last = 0, 0 // a gap (the tail restarted): start afresh
	}
	h.ring[ev.Seq%recentEvents] = ev
	if h.first == 0 {
		h.first = ev.Seq
	}
	h.last = ev.Seq
	if h.last-h.first >= recentEvents {
		h.first = h.last - recentEvents + 1
	}
}

func (h *hub) remove(sub *subscriber) {
	h.mu.Lock()
	delete(h.subs, sub)
	h.mu.Unlock()
}

// Dispatch hands one event from the stream to every local subscriber allowed to see it.
func (s *Server) Dispatch(m bus.Message) {
	var e community.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		s.d.Logger.Warn("undecodable event", "seq", m.Seq, "err", err)
		return
	}
	ev := liveEvent{Seq: m.Seq, Event: e}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remember(ev)
	for sub := range s.hub.subs {
		if !e.Visible(sub.node) {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			sub.once.Do(func() { close(sub.lagging) })
		}
	}
}

// OnlineNodes lists the nodes with a live stream on this instance.
func (s *Server) OnlineNodes() []int64 {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	seen := map[int64]bool{}
	var out []int64
	for sub := range s.hub.subs {
		if !seen[sub.node] {
			seen[sub.node] = true
			out = append(out, sub.node)
		}
	}
	return out
}

// eventWriter writes one event in a stream's format.
type eventWriter func(w http.ResponseWriter, r *http.Request, ev liveEvent) error

// ticker is optional periodic output on a stream (e.g. who is online).
type ticker struct {
	every time.Duration
	fn    func(w http.ResponseWriter, r *http.Request) error
}

// apiEvents is GET /api/v1/events: the signed-in node's events as JSON over SSE.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	s.streamEvents(w, r, func(w http.ResponseWriter, _ *http.Request, ev liveEvent) error {
		data, _ := json.Marshal(map[string]any{"type": ev.Event.Type, "object": ev.Event.Object, "at": ev.Event.At})
		return writeSSE(w, strconv.FormatUint(ev.Seq, 10), ev.Event.Type, string(data))
	}, nil)
}

func writeSSE(w http.ResponseWriter, id, event, data string) error {
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	for _, line := range strings.Split(data, "\n") {
		fmt.Fprintf(&b, "data: %s\n", line)
	}
	b.WriteString("\n")
	if _, err := w.Write([]byte(b.String())); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}

// streamEvents serves one live stream: it resumes after Last-Event-ID from the
// event stream (on any instance: the sequence is cluster-wide), then follows live
// events, skipping what the replay already sent. A gap older than the stream
// keeps gets a "reload" event.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, write eventWriter, tick *ticker) {
	node := me(r)
	done, ok := s.streams.add()
	if !ok {
		w.Header().Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, "This instance is shutting down; reconnect to another one.")
		return
	}
	defer s.streams.remove(done)
	if s.d.Events == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "Live events are not available on this instance.")
		return
	}
	var lastID uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.failField(w, r, http.StatusBadRequest, "Last-Event-ID", "Last-Event-ID must be an event id this stream sent.")
			return
		}
		lastID = n
	}

	// Subscribe before reading the log, so nothing falls between the two.
	sub, backlog, covered, tail := s.hub.add(node.ID, lastID)
	defer s.hub.remove(sub)

	if startSSE(w) != nil {
		return
	}

	sent := lastID
	switch {
	case lastID == 0:
	case covered:
		// Resume from memory: the missed events, then live.
		for _, ev := range backlog {
			if !ev.Event.Visible(node.ID) {
				continue
			}
			if write(w, r, ev) != nil {
				return
			}
		}
		sent = max(lastID, tail)
		lastID = 0
	case tail > 0 && lastID >= tail && lastID-tail < recentEvents:
		// The client saw events this instance has not dispatched yet (its tail
		// lags a little): they will come live; nothing to replay.
		lastID = 0
	}
	if lastID > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		first, last, err := s.d.Events.Bounds(ctx)
		if err == nil && (lastID > last || (first > 0 && lastID+1 < first) || (first == 0 && last > 0)) {
			err = bus.ErrGone
		}
		if err == nil {
			err = s.d.Events.Replay(ctx, lastID+1, last, func(m bus.Message) error {
				var e community.Event
				if json.Unmarshal(m.Data, &e) != nil || !e.Visible(node.ID) {
					return nil
				}
				sent = m.Seq
				return write(w, r, liveEvent{Seq: m.Seq, Event: e})
			})
			if err == nil {
				sent = max(sent, last)
			}
		}
		cancel()
		if errors.Is(err, bus.ErrGone) {
			_ = writeSSE(w, "", "reload", `{"reason":"the events since your last one are no longer kept; reload the page"}`)
			return
		}
		if err != nil {
			s.d.Logger.Warn("event replay", "err", err, "last_event_id", lastID)
			return // the client reconnects and tries again
		}
	}

	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	var tickC <-chan time.Time
	if tick != nil {
		if tick.fn(w, r) != nil {
			return
		}
		t := time.NewTicker(tick.every)
		defer t.Stop()
		tickC = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			sayReconnect(w)
			return
		case <-sub.lagging:
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			_ = http.NewResponseController(w).Flush()
		case <-tickC:
			if tick.fn(w, r) != nil {
				return
			}
		case ev := <-sub.ch:
			if ev.Seq <= sent {
				continue // already sent by the replay
			}
			if err := write(w, r, ev); err != nil {
				return
			}
			sent = ev.Seq
		}
	}
}
