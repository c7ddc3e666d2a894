package web

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodecommunity/nodecommunity/web/components"
)

// onlineEvery is how often the dashboard's "who of your connections is
// online" is recomputed: by one timer for all dashboard streams, once per node
// however many streams it has open, and sent only to streams whose list changed.
const onlineEvery = 5 * time.Second

// onlineCache keeps each node's online-list frame between two rounds, so the
// node's streams share it and a stream opened meanwhile reuses it.
type onlineCache struct {
	mu sync.Mutex
	m  map[int64]onlineEntry
}

type onlineEntry struct {
	ids   []int64 // the node's connections that were online, sorted
	frame []byte  // their list as an "online" SSE frame
	at    time.Time
}

// membersOnline is every node with a live stream on any instance.
func (s *Server) membersOnline() map[int64]bool {
	if s.d.Members == nil {
		return nil
	}
	return s.d.Members.Online()
}

// onlineIDs are node's accepted connections that are online (online: the
// cluster's online set, nil to ask the members), in id order.
func (s *Server) onlineIDs(ctx context.Context, node int64, online map[int64]bool) ([]int64, error) {
	ids, err := s.d.Store.ConnectedIDs(ctx, node)
	if err != nil {
		return nil, err
	}
	if online == nil {
		online = s.membersOnline()
	}
	var on []int64
	for _, id := range ids {
		if online[id] {
			on = append(on, id)
		}
	}
	slices.Sort(on)
	return on, nil
}

// onlineFrame is node's "online" frame: its accepted connections that have a
// live stream on any instance of the cluster. A cached frame younger than
// maxAge is used as is; online is the cluster's online set (nil: ask). ok is
// false when the database could not answer.
func (s *Server) onlineFrame(ctx context.Context, node int64, online map[int64]bool, maxAge time.Duration) (frame []byte, ok bool) {
	c := &s.hub.online
	c.mu.Lock()
	e, had := c.m[node]
	c.mu.Unlock()
	if had && time.Since(e.at) < maxAge {
		return e.frame, true
	}
	if s.d.Store == nil {
		return nil, false
	}
	on, err := s.onlineIDs(ctx, node, online)
	if err != nil {
		return nil, false
	}
	if !had || !slices.Equal(on, e.ids) {
		// Who is online changed: name them (otherwise the frame stands).
		refs, err := s.d.Store.NodeRefs(ctx, on)
		if err != nil {
			return nil, false
		}
		var html, b bytes.Buffer
		if err := components.OnlineList(personLinks(refs)).Render(ctx, &html); err != nil {
			return nil, false
		}
		_ = writeSSE(&b, "", "online", html.String())
		e.ids, e.frame = on, b.Bytes()
	}
	e.at = time.Now()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[int64]onlineEntry{}
	}
	c.m[node] = e
	c.mu.Unlock()
	return e.frame, true
}

// onlineLoop refreshes the online lists of every node with a dashboard stream.
func (s *Server) onlineLoop(stop <-chan struct{}) {
	t := time.NewTicker(onlineEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.refreshOnline()
		}
	}
}

// onlineConcurrency is how many nodes' lists are read from the database at
// once: enough to finish a round of thousands in time, few enough to leave
// the pool to requests.
const onlineConcurrency = 4

func (s *Server) refreshOnline() {
	nodes := s.hub.onlineNodes()
	frames := make([][]byte, len(nodes))
	if len(nodes) > 0 {
		online := s.membersOnline()
		ctx, cancel := context.WithTimeout(context.Background(), onlineEvery)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(onlineConcurrency, len(nodes)) {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(nodes) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
					frames[i], _ = s.onlineFrame(ctx, nodes[i], online, 0)
				}
			})
		}
		wg.Wait()
		cancel()
		s.hub.offerOnline(nodes, frames)
	}
	// Forget the nodes whose dashboards closed.
	c := &s.hub.online
	c.mu.Lock()
	keep := make(map[int64]onlineEntry, len(nodes))
	for _, n := range nodes {
		if e, ok := c.m[n]; ok {
			keep[n] = e
		}
	}
	c.m = keep
	c.mu.Unlock()
}

// onlineNodes lists the nodes with a stream that shows the online list.
func (h *hub) onlineNodes() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int64
	for node, list := range h.byNode {
		for _, sub := range list {
			if sub.online {
				out = append(out, node)
				break
			}
		}
	}
	return out
}

// offerOnline gives each node's online-list streams its frame (nil: none
// this round), to be written where it changed.
func (h *hub) offerOnline(nodes []int64, frames [][]byte) {
	var ready []*subscriber
	h.mu.Lock()
	for i, node := range nodes {
		if frames[i] == nil {
			continue
		}
		for _, sub := range h.byNode[node] {
			if sub.online && sub.offerOnline(frames[i]) {
				ready = append(ready, sub)
			}
		}
	}
	h.mu.Unlock()
	h.run.push(ready...)
}
