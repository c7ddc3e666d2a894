package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

// EventLog is the ordered event stream the live views read (JetStream).
type EventLog interface {
	Bounds(ctx context.Context) (first, last uint64, err error)
	Replay(ctx context.Context, from, to uint64, fn func(bus.Message) error) error
}

// eventWriter writes one event in a stream's per-viewer format (owned streams,
// which may read the database for it).
type eventWriter func(w io.Writer, r *http.Request, ev *liveEvent) error

// ticker is periodic output on an owned stream (e.g. who is viewing).
type ticker struct {
	every time.Duration
	fn    func(w io.Writer, r *http.Request) error
}

// streamSpec is how a stream renders its events: a format (rendered once per
// instance and event, so the writers' pool can serve the stream) or a
// per-viewer writer (the handler's goroutine serves the stream).
type streamSpec struct {
	format *streamFormat
	write  eventWriter
	tick   *ticker // owned streams only
}

// apiFormat is /api/v1/events: data {"type","object","at"}.
var apiFormat = &streamFormat{slot: formatAPI, render: func(ev *liveEvent, _ int, b *bytes.Buffer) {
	data, err := json.Marshal(struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
		At     time.Time       `json:"at"`
	}{ev.Event.Type, ev.Event.Object, ev.Event.At})
	if err != nil { // an object that is not JSON: keep the id moving
		_ = writeSSE(b, strconv.FormatUint(ev.Seq, 10), "skip", "")
		return
	}
	_ = writeSSE(b, strconv.FormatUint(ev.Seq, 10), ev.Event.Type, string(data))
}}

// apiEvents is GET /api/v1/events: the signed-in node's events as JSON over SSE.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	s.streamEvents(w, r, streamSpec{format: apiFormat})
}

// writeSSE writes one event (nothing is flushed). Data is split into lines at
// CR, LF and CRLF alike, since each ends a line for EventSource: no text can
// start a field ("id:", "event:", "retry:") of its own.
func writeSSE(w io.Writer, id, event, data string) error {
	if b, ok := w.(*bytes.Buffer); ok {
		_, err := b.Write(appendSSE(b.AvailableBuffer(), id, event, data))
		return err
	}
	_, err := w.Write(appendSSE(make([]byte, 0, len(data)+64), id, event, data))
	return err
}

func appendSSE(b []byte, id, event, data string) []byte {
	if id != "" {
		b = append(b, "id: "...)
		b = appendFieldValue(b, id)
		b = append(b, '\n')
	}
	if event != "" {
		b = append(b, "event: "...)
		b = appendFieldValue(b, event)
		b = append(b, '\n')
	}
	for {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		b = append(b, "data: "...)
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, '\n', '\n')
}

// appendFieldValue appends an id or event name without line breaks.
func appendFieldValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] != '\r' && v[i] != '\n' {
			b = append(b, v[i])
		}
	}
	return b
}

// streamEvents serves one live stream: it resumes after Last-Event-ID from the
// hub's memory or the event stream (on any instance: the sequence is
// cluster-wide), then follows live events, skipping what the replay already
// sent. A gap older than the stream keeps gets a "reload" event.
//
// A stream with a format is handed to the writers' pool once the replay is
// written, on the connection taken over from net/http, and the handler
// returns; one with a per-viewer writer (or whose connection cannot be taken
// over) is written by this goroutine until it ends.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, spec streamSpec) {
	node := me(r)
	sub := s.hub.newSubscriber(node.ID, spec.format, spec.write != nil)
	sub.token, _ = currentTokenID(r)
	if !s.streams.add(sub) {
		w.Header().Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, "This instance is shutting down; reconnect to another one.")
		return
	}
	s.hub.start(s)
	if s.d.Events == nil {
		s.streams.remove(sub)
		s.fail(w, r, http.StatusServiceUnavailable, "Live events are not available on this instance.")
		return
	}
	lastID, idErr := parseLastEventID(r.Header.Get("Last-Event-ID")) // web/params.go (fuzzed)
	if idErr != nil {
		s.streams.remove(sub)
		s.failField(w, r, http.StatusBadRequest, "Last-Event-ID", "Last-Event-ID must be an event id this stream sent.")
		return
	}

	write := spec.write
	if write == nil {
		write = func(w io.Writer, _ *http.Request, ev *liveEvent) error {
			_, err := w.Write(spec.format.frame(ev, node.ID))
			return err
		}
	}
	var out *bufio.Writer
	if spec.write == nil {
		if conn, bw, ok := takeOver(w, r); ok {
			out = bw
			sub.mu.Lock()
			sub.conn = conn
			sub.mu.Unlock()
		}
	}
	if out == nil {
		if sub.wake == nil {
			sub.mu.Lock()
			sub.wake = make(chan struct{}, 1) // owned after all
			sub.mu.Unlock()
		}
		setSSEHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
		out = bufio.NewWriterSize(w, 4<<10)
	}
	// Subscribe before reading the log, so nothing falls between the two.
	backlog, covered, tail := s.hub.add(sub, lastID)
	pooled := false // handed to the pool, which closes it
	defer func() {
		if !pooled {
			sub.close() // owned streams end with their handler, and streams that never went live
		}
	}()
	flush := func() error {
		if err := out.Flush(); err != nil {
			return err
		}
		if sub.conn == nil {
			return http.NewResponseController(w).Flush()
		}
		return nil
	}

	// The opening goes out at once: a replay from the event stream can take
	// a while, and the client should not wait for the headers meanwhile.
	_, _ = out.WriteString(retryLine + "\n")
	if flush() != nil {
		return
	}
	sent, replayed, ok := s.replay(out, r, write, node.ID, lastID, backlog, covered, tail)
	if !ok {
		_ = flush()
		return
	}
	metrics.EventsDelivered.Add(float64(replayed))
	if sub.online {
		if frame, ok := s.onlineFrame(r.Context(), node.ID, nil, onlineEvery); ok {
			_, _ = out.Write(frame)
			sub.mu.Lock()
			sub.onlineOld = frame
			sub.mu.Unlock()
		}
	}
	if spec.tick != nil && spec.tick.fn(out, r) != nil {
		return
	}
	if flush() != nil {
		return
	}
	if !s.handOff(sub, sent, out, flush) {
		return
	}
	if sub.conn != nil {
		pooled = true
		return // the writers' pool serves it from here
	}
	s.serveOwned(w, r, sub, out, write, spec.tick)
}

// replay writes what the client missed after lastID: from the hub's memory
// when it reaches back far enough, else from the event stream. It returns the
// newest sequence covered, how many events it wrote, and false when the stream
// must end (a write failed, or the gap is gone and "reload" was sent).
func (s *Server) replay(out io.Writer, r *http.Request, write eventWriter, node int64, lastID uint64,
	backlog []*liveEvent, covered bool, tail uint64) (sent uint64, n int, ok bool) {
	sent = lastID
	switch {
	case lastID == 0:
		return sent, 0, true
	case covered:
		// Resume from memory: the missed events, then live.
		for _, ev := range backlog {
			if !ev.Event.Visible(node) {
				continue
			}
			if write(out, r, ev) != nil {
				return sent, n, false
			}
			n++
		}
		return max(lastID, tail), n, true
	case tail > 0 && lastID >= tail && lastID-tail < recentEvents:
		// The client saw events this instance has not dispatched yet (its tail
		// lags a little): they will come live; nothing to replay.
		return sent, 0, true
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	first, last, err := s.d.Events.Bounds(ctx)
	// Replay itself tells events gone before the first kept.
	if err == nil && (lastID > last || (first == 0 && last > 0)) {
		err = bus.ErrGone
	}
	if err == nil {
		err = s.d.Events.Replay(ctx, lastID+1, last, func(m bus.Message) error {
			ev, err := decodeLiveEvent(m)
			if err != nil || !ev.Event.Visible(node) {
				return nil
			}
			sent = m.Seq
			n++
			return write(out, r, ev)
		})
		if err == nil {
			sent = max(sent, last)
		}
	}
	if errors.Is(err, bus.ErrGone) {
		_ = writeSSE(out, "", "reload", `{"reason":"the events since your last one are no longer kept; reload the page"}`)
		return sent, n, false
	}
	if err != nil {
		s.d.Logger.Warn("event replay", "err", err, "last_event_id", lastID)
		return sent, n, false // the client reconnects and tries again
	}
	return sent, n, true
}

// handOff makes a stream live once its opening is written: events queued
// meanwhile that the replay covered are dropped, and the rest are written by
// the pool (or the owned loop). It reports false when the stream ended while
// starting (drained, lagging or closed), after saying goodbye if drained.
func (s *Server) handOff(sub *subscriber, sent uint64, out io.Writer, flush func() error) bool {
	sub.mu.Lock()
	if sub.state != subStarting {
		reason := sub.reason
		sub.mu.Unlock()
		if reason == endDrain {
			_, _ = out.Write(goodbye)
			_ = flush()
		}
		return false
	}
	kept := sub.queue[:0]
	for _, ev := range sub.queue {
		if ev.Seq > sent {
			kept = append(kept, ev)
		}
	}
	clear(sub.queue[len(kept):])
	sub.queue = kept
	sub.sent = max(sub.sent, sent)
	sub.state = subLive
	schedule := sub.pending() && sub.want()
	sub.mu.Unlock()
	if sub.conn != nil {
		s.hub.watcher.add(sub, sub.conn)
	}
	if schedule {
		s.hub.run.push(sub)
	}
	return true
}

// serveOwned writes an owned stream from its handler's goroutine: whatever is
// queued when woken, in one flush, until the stream ends or the peer leaves.
func (s *Server) serveOwned(w http.ResponseWriter, r *http.Request, sub *subscriber, out *bufio.Writer, write eventWriter, tick *ticker) {
	rc := http.NewResponseController(w)
	flush := func() error {
		if out.Buffered() == 0 {
			return nil
		}
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := out.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	var tickC <-chan time.Time
	if tick != nil {
		t := time.NewTicker(tick.every)
		defer t.Stop()
		tickC = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tickC:
			if tick.fn(out, r) != nil || flush() != nil {
				return
			}
		case <-sub.wake:
			b := sub.take()
			ending := b.state >= subEnding
			if ending && b.reason != endDrain {
				return
			}
			for _, ev := range b.events {
				if write(out, r, ev) != nil {
					return
				}
			}
			_, _ = out.Write(b.online)
			if ending {
				_, _ = out.Write(goodbye)
			} else if out.Buffered() == 0 && b.ping {
				_, _ = out.Write(pingFrame)
			}
			if flush() != nil || ending {
				return
			}
			if n := len(b.events); n > 0 {
				metrics.EventsDelivered.Add(float64(n))
			}
			sub.written(b)
		}
	}
}
