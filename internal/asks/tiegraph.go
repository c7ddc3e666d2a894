package asks

import (
	"context"
	"fmt"
	"math"
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
// organisation (10,000 people, 200,000 ties) takes longer than routing may, so
// the graph is reused: reloaded at once when a connection was accepted or
// removed, or people were imported, since it was loaded (the outbox holds an
// event for each, and a range scan of the events since then is cheap), and in
// the background when it is older than Options.GraphMaxAge, for interaction
// weights, deactivations and any write that committed late.
type tieCache struct {
	mu         sync.Mutex // guards cur and refreshing
	cur        *tieGraph
	refreshing bool
	load       sync.Mutex // one synchronous load at a time
}

// tieEvents are the outbox events that change who is tied to whom.
var tieEvents = []string{"connection.accepted", "connection.removed", "network.imported"}

// tiesChangedSince reports whether ties changed after the outbox event mark.
func (s *Store) tiesChangedSince(ctx context.Context, mark int64) (bool, error) {
	var changed bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id > $1 AND type = ANY($2))`, mark, tieEvents).Scan(&changed)
	if err != nil {
		return false, fmt.Errorf("tie changes: %w", err)
	}
	return changed, nil
}

// tieGraph returns a current enough tie graph (see tieCache).
func (s *Store) tieGraph(ctx context.Context) (*tieGraph, error) {
	maxAge := s.options().GraphMaxAge
	if maxAge < 0 {
		return s.loadTies(ctx)
	}
	c := &s.ties
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur != nil {
		changed, err := s.tiesChangedSince(ctx, cur.mark)
		if err != nil {
			return nil, err
		}
		if !changed {
			if time.Since(cur.loadedAt) > maxAge {
				s.refreshTies()
			}
			return cur, nil
		}
	}
	c.load.Lock()
	defer c.load.Unlock()
	c.mu.Lock()
	latest := c.cur
	c.mu.Unlock()
	if latest != cur { // another routing loaded it while this one waited
		return latest, nil
	}
	g, err := s.loadTies(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cur = g
	c.mu.Unlock()
	return g, nil
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

// bfs searches from src up to radius hops. Among the shortest paths to a node
// it keeps the one whose weakest tie is strongest (nodes of one layer are all
// settled before the next is expanded, so each choice is final), preferring
// the lower index on equal strength so the result does not depend on order.
func (t *tieGraph) bfs(src int32, radius int) reach {
	n := t.g.N
	r := reach{dist: make([]int8, n), strength: make([]float64, n), parent: make([]int32, n)}
	for i := range r.dist {
		r.dist[i], r.parent[i] = -1, -1
	}
	r.dist[src], r.strength[src] = 0, math.Inf(1)
	queue := make([]int32, 0, 1024)
	queue = append(queue, src)
	for head := 0; head < len(queue); head++ {
		u := queue[head]
		d := r.dist[u]
		if int(d) >= radius {
			continue
		}
		adj, w := t.g.Neighbours(int(u))
		for k, v := range adj {
			s := min(r.strength[u], w[k])
			switch {
			case r.dist[v] < 0:
				r.dist[v], r.strength[v], r.parent[v] = d+1, s, u
				queue = append(queue, v)
			case r.dist[v] == d+1 && (s > r.strength[v] || (s == r.strength[v] && u < r.parent[v])):
				r.strength[v], r.parent[v] = s, u
			}
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
