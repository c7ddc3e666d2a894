package web

import (
	"bytes"
	"fmt"
	"net/http"
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

// startSSE answers with an event stream and tells the browser how soon to
// reconnect when it ends.
func startSSE(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", ReconnectDelay.Milliseconds()); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}

// sayReconnect is a stream's goodbye while the instance drains: come back soon,
// to whichever instance answers.
func sayReconnect(w http.ResponseWriter) {
	_, _ = fmt.Fprintf(w, "retry: %d\nevent: reconnect\ndata: draining\n\n", ReconnectDelay.Milliseconds())
	_ = http.NewResponseController(w).Flush()
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

	if startSSE(w) != nil {
		return
	}

	send := func() error {
		var buf bytes.Buffer
		if err := components.ClusterTable(s.clusterView()).Render(r.Context(), &buf); err != nil {
			return err
		}
		return writeSSE(w, "", "members", buf.String())
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
			sayReconnect(w)
			return
		case <-t.C:
			if send() != nil {
				return
			}
		}
	}
}
