package asks

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
)

// tieGraph is the network as routing sees it: every active person and the
// weighted ties between them (community.Store.Ties: a declared connection's
// strength, or the decayed interactions of a pair without one), in CSR form.
type tieGraph struct {
	g        *graph.Graph
	ids      []int64 // index → node id
	handles  []string
	names    []string
	index    map[int64]int32
	mark     int64 // the newest outbox event when it was loaded
	loadedAt time.Time
}

// tieCache keeps one tieGraph per instance. Loading the ties of a large
// organisation (10,000 people, 200,000 ties) takes longer than routing may
// (about half a second), so the graph is reused, and routing still sees every
// declared connection at once: the outbox holds an event for each connection
// accepted or removed, and each routing reads the few written since the graph
// was loaded (a range scan of the outbox by id) and lays them over it (see
// tieView). A change the overlay cannot express (people imported, someone
// new, too many changes) reloads at once. Whenever there is an overlay, and
// when the graph is older than Options.GraphMaxAge (interaction weights,
// deactivations, any write that committed out of order), it is reloaded in
// the background while routing goes on with what it has.
type tieCache struct {
	mu         sync.Mutex // guards cur and refreshing
	cur        *tieGraph
	refreshing bool
	load       sync.Mutex // one synchronous load at a time
}

// tieEvents are the outbox events that change who is tied to whom.
var tieEvents = []string{"connection.accepted", "connection.removed", "network.imported"}

// maxOverlay is how many connection changes routing lays over a cached graph
// before it reloads instead.
const maxOverlay = 2000

// tieView is a tie graph with the declared connections accepted (add) and
// removed (cut) since it was loaded.
type tieView struct {
	*tieGraph
	add   map[int32][]halfEdge
	cut   map[[2]int32]bool
	cutAt map[int32]bool // nodes with a cut edge: only those need the check
}

// halfEdge is a tie to v of weight w.
type halfEdge struct {
	v int32
	w float64
}

func pairKey(a, b int32) [2]int32 {
	if a > b {
		a, b = b, a
	}
	return [2]int32{a, b}
}

// overlay reads the connection changes after t's mark; ok is false when they
// cannot be laid over t and it must be reloaded.
func (s *Store) overlay(ctx context.Context, t *tieGraph) (v *tieView, ok bool, err error) {
	rows, err := s.pool.Query(ctx, `SELECT type, payload FROM events WHERE id > $1 AND type = ANY($2) ORDER BY id LIMIT $3`,
		t.mark, tieEvents, maxOverlay+1)
	if err != nil {
		return nil, false, fmt.Errorf("tie changes: %w", err)
	}
	type change struct {
		typ string
		c   struct {
			Kind     string `json:"kind"`
			FromNode int64  `json:"from_node"`
			ToNode   int64  `json:"to_node"`
		}
	}
	var changes []change
	var (
		typ     string
		payload []byte
	)
	if _, err := pgx.ForEachRow(rows, []any{&typ, &payload}, func() error {
		ch := change{typ: typ}
		if err := json.Unmarshal(payload, &ch.c); err != nil {
			return err
		}
		changes = append(changes, ch)
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("tie changes: %w", err)
	}
	v = &tieView{tieGraph: t}
	if len(changes) > maxOverlay {
		return v, false, nil
	}
	now := time.Now()
	for _, ch := range changes {
		a, okA := t.index[ch.c.FromNode]
		b, okB := t.index[ch.c.ToNode]
		if ch.typ == "network.imported" || !okA || !okB {
			return v, false, nil // new people: only a reload knows them
		}
		key := pairKey(a, b)
		v.remove(a, b)
		if ch.typ == "connection.accepted" {
			delete(v.cut, key)
			// What declaring it is worth; the interactions come with the reload.
			w := community.Strength(ch.c.Kind, nil, now)
			if v.add == nil {
				v.add = map[int32][]halfEdge{}
			}
			v.add[a] = append(v.add[a], halfEdge{b, w})
			v.add[b] = append(v.add[b], halfEdge{a, w})
			continue
		}
		if v.cut == nil {
			v.cut, v.cutAt = map[[2]int32]bool{}, map[int32]bool{}
		}
		v.cut[key], v.cutAt[a], v.cutAt[b] = true, true, true
	}
	return v, true, nil
}

// remove takes a pair out of the added edges.
func (v *tieView) remove(a, b int32) {
	if v.add == nil {
		return
	}
	v.add[a] = slices.DeleteFunc(v.add[a], func(e halfEdge) bool { return e.v == b })
	v.add[b] = slices.DeleteFunc(v.add[b], func(e halfEdge) bool { return e.v == a })
}

// tieGraph returns a current tie graph (see tieCache).
func (s *Store) tieGraph(ctx context.Context) (*tieView, error) {
	if s.options().GraphMaxAge < 0 {
		t, err := s.loadTies(ctx)
		if err != nil {
			return nil, err
		}
		return &tieView{tieGraph: t}, nil
	}
	c := &s.ties
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur != nil {
		v, ok, err := s.overlay(ctx, cur)
		if err != nil {
			return nil, err
		}
		if ok {
			if len(v.add) > 0 || len(v.cut) > 0 || time.Since(cur.loadedAt) > s.options().GraphMaxAge {
				s.refreshTies()
			}
			return v, nil
		}
	}
	c.load.Lock()
	defer c.load.Unlock()
	c.mu.Lock()
	latest := c.cur
	c.mu.Unlock()
	if latest != cur { // another routing loaded it while this one waited
		return s.tieGraphFrom(ctx, latest)
	}
	t, err := s.loadTies(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.cur == nil || c.cur.mark <= t.mark {
		c.cur = t
	}
	c.mu.Unlock()
	return s.tieGraphFrom(ctx, t)
}

// tieGraphFrom lays the changes since t was loaded over it; a freshly loaded
// graph rarely has any.
func (s *Store) tieGraphFrom(ctx context.Context, t *tieGraph) (*tieView, error) {
	v, ok, err := s.overlay(ctx, t)
	if err != nil {
		return nil, err
	}
	if !ok { // changed again while loading: use it as it is, the next routing reloads
		return &tieView{tieGraph: t}, nil
	}
	return v, nil
}

// refreshTies reloads the graph in the background; routing goes on with the
// one it has meanwhile.
func (s *Store) refreshTies() {
	c := &s.ties
	c.mu.Lock()
	if c.refreshing {
		c.mu.Unlock()
		return
	}
	c.refreshing = true
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		g, err := s.loadTies(ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.refreshing = false
		if err == nil && (c.cur == nil || c.cur.mark <= g.mark) {
			c.cur = g
		}
	}()
}

// loadTies reads every active person and every tie between them, and the
// outbox mark they are current to (read first, so nothing after it is missed).
func (s *Store) loadTies(ctx context.Context) (*tieGraph, error) {
	t := &tieGraph{loadedAt: time.Now()}
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&t.mark); err != nil {
		return nil, fmt.Errorf("load ties: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, handle, display_name FROM nodes WHERE deactivated_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load ties: %w", err)
	}
	var (
		id           int64
		handle, name string
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &handle, &name}, func() error {
		t.ids = append(t.ids, id)
		t.handles = append(t.handles, handle)
		t.names = append(t.names, name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load ties: %w", err)
	}
	t.index = make(map[int64]int32, len(t.ids))
	for i, id := range t.ids {
		t.index[id] = int32(i)
	}
	ties, err := s.net.Ties(ctx, community.TieFilter{})
	if err != nil {
		return nil, err
	}
	edges := make([]graph.Edge, 0, len(ties))
	for _, tie := range ties {
		a, okA := t.index[tie.A]
		b, okB := t.index[tie.B]
		if okA && okB {
			edges = append(edges, graph.Edge{U: a, V: b, W: tie.Weight})
		}
	}
	t.g = graph.FromEdges(len(t.ids), edges)
	return t, nil
}

// reach is what a breadth-first search from the asker found: for each node its
// hop distance (-1: not within the radius), the strongest bottleneck tie over
// its shortest paths, and the previous node on that path.
type reach struct {
	dist     []int8
	strength []float64
	parent   []int32
}

// bfs searches from src up to radius hops, over the cached ties and the
// changes laid over them. Among the shortest paths to a node it keeps the one
// whose weakest tie is strongest (nodes of one layer are all settled before
// the next is expanded, so each choice is final), preferring the lower index
// on equal strength so the result does not depend on order.
func (t *tieView) bfs(src int32, radius int) reach {
	n := t.g.N
	r := reach{dist: make([]int8, n), strength: make([]float64, n), parent: make([]int32, n)}
	for i := range r.dist {
		r.dist[i], r.parent[i] = -1, -1
	}
	r.dist[src], r.strength[src] = 0, math.Inf(1)
	queue := make([]int32, 0, 1024)
	queue = append(queue, src)
	visit := func(u, v int32, w float64) {
		d := r.dist[u]
		s := min(r.strength[u], w)
		switch {
		case r.dist[v] < 0:
			r.dist[v], r.strength[v], r.parent[v] = d+1, s, u
			queue = append(queue, v)
		case r.dist[v] == d+1 && (s > r.strength[v] || (s == r.strength[v] && u < r.parent[v])):
			r.strength[v], r.parent[v] = s, u
		}
	}
	for head := 0; head < len(queue); head++ {
		u := queue[head]
		if int(r.dist[u]) >= radius {
			continue
		}
		adj, w := t.g.Neighbours(int(u))
		checkCut := t.cutAt[u]
		for k, v := range adj {
			if checkCut && t.cut[pairKey(u, v)] {
				continue
			}
			visit(u, v, w[k])
		}
		for _, e := range t.add[u] {
			visit(u, e.v, e.w)
		}
	}
	return r
}

// path lists the nodes from src to v (inclusive) along the parents.
func (r reach) path(v int32) []int32 {
	var p []int32
	for ; v >= 0; v = r.parent[v] {
		p = append(p, v)
	}
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
	return p
}
