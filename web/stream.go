package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/web/components"
)

// streams is the set of live server-sent-event clients of this instance. Each
// stream owns a channel that Drain closes to make it say goodbye.
type streams struct {
	mu     sync.Mutex
	m      map[chan struct{}]struct{}
	closed bool
}

func newStreams() *streams { return &streams{m: map[chan struct{}]struct{}{}} }

func (s *streams) add() (chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	ch := make(chan struct{})
	s.m[ch] = struct{}{}
	return ch, true
}

func (s *streams) remove(ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[ch]; ok {
		delete(s.m, ch)
		close(ch)
	}
}

func (s *streams) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for ch := range s.m {
		delete(s.m, ch)
		close(ch)
	}
}

func (s *streams) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// ReconnectDelay is the retry interval streams give browsers when they close.
const ReconnectDelay = time.Second

// writeEvent writes one SSE event; every line of data gets its own "data:" field.
func writeEvent(w http.ResponseWriter, event, data string) error {
	var b strings.Builder
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

// clusterLive streams the cluster table, re-rendered every LiveInterval, as
// "members" events that the page swaps in place.
func (s *Server) clusterLive(w http.ResponseWriter, r *http.Request) {
	done, ok := s.streams.add()
	if !ok {
		w.Header().Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, "This instance is shutting down; reconnect to another one.")
		return
	}
	defer s.streams.remove(done)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", ReconnectDelay.Milliseconds()); err != nil {
		return
	}

	send := func() error {
		var buf bytes.Buffer
		if err := components.ClusterTable(s.clusterView()).Render(r.Context(), &buf); err != nil {
			return err
		}
		return writeEvent(w, "members", buf.String())
	}
	if send() != nil {
		return
	}
	t := time.NewTicker(s.d.LiveInterval)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			// Draining: tell the browser to come back soon (to whichever instance
			// answers), then end the stream.
			_, _ = fmt.Fprintf(w, "retry: %d\nevent: reconnect\ndata: draining\n\n", ReconnectDelay.Milliseconds())
			_ = http.NewResponseController(w).Flush()
			return
		case <-t.C:
			if send() != nil {
				return
			}
		}
	}
}
