package web

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/metrics"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// streams is the set of live server-sent-event clients of this instance, for
// Clients and for Drain, which makes each say goodbye.
type streams struct {
	mu     sync.Mutex
	m      map[streamEnder]struct{}
	closed bool
	// onClose runs once every stream is gone after closeAll (the hub stops
	// its goroutines).
	onClose func()
}

// streamEnder is one live stream: drain says goodbye ("reconnect") and ends
// it; kill ends it at once.
type streamEnder interface {
	drain()
	kill()
}

// drainChan is a stream served by its own goroutine, which watches the channel.
type drainChan chan struct{}

func (c drainChan) drain() { close(c) }
func (c drainChan) kill()  {}

// drainWait is how long Drain waits for the streams' goodbyes before it
// closes what is left.
const drainWait = time.Second

func newStreams() *streams { return &streams{m: map[streamEnder]struct{}{}} }

// add registers a stream; false while draining.
func (s *streams) add(e streamEnder) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.m[e] = struct{}{}
	metrics.StreamClients.Inc()
	return true
}

func (s *streams) remove(e streamEnder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[e]; ok {
		delete(s.m, e)
		metrics.StreamClients.Dec()
	}
}

// closeAll refuses new streams, tells every stream to say goodbye and waits
// up to drainWait for them to end, then ends the rest.
func (s *streams) closeAll() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	all := make([]streamEnder, 0, len(s.m))
	for e := range s.m {
		all = append(all, e)
	}
	s.mu.Unlock()
	for _, e := range all {
		e.drain()
	}
	for deadline := time.Now().Add(drainWait); s.count() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	all = all[:0]
	for e := range s.m {
		all = append(all, e)
	}
	onClose := s.onClose
	s.mu.Unlock()
	for _, e := range all {
		e.kill()
	}
	if onClose != nil {
		onClose()
	}
}

// setOnClose sets what runs after closeAll; false if closeAll ran already.
func (s *streams) setOnClose(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onClose = f
	return !s.closed
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
	setSSEHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, retryLine+"\n"); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}

// sayReconnect is a stream's goodbye while the instance drains: come back soon,
// to whichever instance answers.
func sayReconnect(w http.ResponseWriter) {
	_, _ = w.Write(goodbye)
	_ = http.NewResponseController(w).Flush()
}

// clusterLive streams the cluster table, re-rendered every LiveInterval, as
// "members" events that the page swaps in place.
func (s *Server) clusterLive(w http.ResponseWriter, r *http.Request) {
	done := make(drainChan)
	if !s.streams.add(done) {
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
		if err := writeSSE(w, "", "members", buf.String()); err != nil {
			return err
		}
		return http.NewResponseController(w).Flush()
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
