package graph

import "math"

// Louvain finds communities by multi-level modularity optimisation (Blondel,
// Guillaume, Lambiotte, Lefebvre 2008) on the weighted graph and returns each
// node's community (dense ids 0..k−1, numbered by first member) and the
// partition's modularity.
//
// Each level moves single nodes to the neighbouring community with the largest
// modularity gain, visiting nodes in a seeded random order and sweeping until a
// sweep moves nobody; it then collapses every community into one node of a new
// CSR graph (internal weight kept as a self-loop) and repeats until a level
// improves nothing. The whole multi-level pass is then repeated from its own
// result (see maxLouvainRounds) while that raises modularity, and on small
// graphs the search is restarted with new orders, keeping the best (see
// louvainRestartWork). The same seed gives the same communities.
//
// Everything runs on flat arrays: gains are gathered in a dense per-community
// array reset through a list of touched entries, so one sweep costs one pass
// over the edges and no allocation.
func Louvain(g *Graph, seed uint64) (comm []int32, q float64) {
	n := g.N
	comm = make([]int32, n)
	for i := range comm {
		comm[i] = int32(i)
	}
	if n == 0 {
		return comm, 0
	}
	base := levelFromGraph(g)
	if base.m2 == 0 {
		return comm, 0
	}
	r := newRand(seed)
	ws := newLouvainWork(n)
	restarts := min(max(louvainRestartWork/(len(g.Adj)+n), 1), maxLouvainRestarts)
	q = math.Inf(-1)
	for range restarts {
		var best []int32
		bestQ := math.Inf(-1)
		var start []int32 // nil: every node starts alone
		for round := 0; round < maxLouvainRounds; round++ {
			next := louvainPass(base, ws, r, start)
			nq := Modularity(g, next)
			if nq <= bestQ+1e-10 {
				break
			}
			best, bestQ = next, nq
			start = best
		}
		if bestQ > q+1e-10 {
			comm, q = best, bestQ
		}
	}
	return compactLabels(comm), q
}

// Small graphs are cheap, and there Louvain's node order matters most (on the
// karate club some orders end at 0.398 instead of 0.420), so the whole
// search is restarted with fresh orders and the best partition kept: up to
// maxLouvainRestarts times, as long as the runs total about
// louvainRestartWork adjacency entries. A graph of 10,000 nodes and 200,000
// edges gets two runs; one of 1,000 people gets eight.
const (
	louvainRestartWork = 1_000_000
	maxLouvainRestarts = 8
)

// maxLouvainRounds bounds the restarts of the multi-level pass. Each round
// starts its first level from the previous result, so single nodes can leave
// a community that a coarser level merged them into by mistake ("iterated
// Louvain"); rounds stop as soon as one does not raise modularity, which is
// after two or three on real graphs.
const maxLouvainRounds = 10

// louvainPass runs the levels once: local moving, aggregation, repeat until a
// level moves nobody. start, when not nil, is the first level's partition.
func louvainPass(base *louvainLevel, ws *louvainWork, r interface{ IntN(int) int }, start []int32) []int32 {
	comm := make([]int32, base.n)
	for i := range comm {
		comm[i] = int32(i)
	}
	lv := base
	for {
		moved := lv.localMove(ws, r, start)
		if !moved && start == nil {
			break
		}
		start = nil
		k := ws.renumber(lv.n)
		for i, c := range comm {
			comm[i] = ws.comm[c]
		}
		if k == lv.n {
			break
		}
		lv = lv.aggregate(ws, k)
	}
	return comm
}

// Modularity returns Newman's modularity of the partition comm on the
// weighted graph:
//
//	Q = Σ_c [ in_c/2m − (tot_c/2m)² ]
//
// where in_c is the weight of ties inside community c counted from both ends,
// tot_c the summed strength of its members and 2m the total strength. Labels
// may be any int32 values; a graph with no ties has modularity 0.
func Modularity(g *Graph, comm []int32) float64 {
	labels := compactLabels(comm)
	k := 0
	for _, c := range labels {
		k = max(k, int(c)+1)
	}
	in := make([]float64, k)
	tot := make([]float64, k)
	m2 := 0.0
	for u := 0; u < g.N; u++ {
		cu := labels[u]
		for j := g.Off[u]; j < g.Off[u+1]; j++ {
			w := g.W[j]
			tot[cu] += w
			m2 += w
			if labels[g.Adj[j]] == cu {
				in[cu] += w
			}
		}
	}
	if m2 == 0 {
		return 0
	}
	q := 0.0
	for c := range in {
		q += in[c]/m2 - (tot[c]/m2)*(tot[c]/m2)
	}
	return q
}

// compactLabels renumbers labels to 0..k−1 in order of first appearance.
func compactLabels(labels []int32) []int32 {
	out := make([]int32, len(labels))
	next := int32(0)
	inRange := true
	for _, c := range labels {
		if c < 0 || int(c) >= len(labels) {
			inRange = false
			break
		}
	}
	if inRange {
		// The usual case (labels are node-sized ids): a slice, not a map.
		dense := make([]int32, len(labels))
		for i := range dense {
			dense[i] = -1
		}
		for i, c := range labels {
			if dense[c] < 0 {
				dense[c] = next
				next++
			}
			out[i] = dense[c]
		}
		return out
	}
	dense := make(map[int32]int32)
	for i, c := range labels {
		id, ok := dense[c]
		if !ok {
			id = next
			dense[c] = id
			next++
		}
		out[i] = id
	}
	return out
}

// louvainLevel is the graph of one Louvain level: like Graph, plus self-loop
// weights (the inside of the communities collapsed into each node).
type louvainLevel struct {
	n    int
	off  []int32
	adj  []int32
	w    []float64
	self []float64 // A_ii: internal weight counted from both ends
	k    []float64 // strength including self
	m2   float64   // Σ k = 2m, the same at every level
}

func levelFromGraph(g *Graph) *louvainLevel {
	lv := &louvainLevel{n: g.N, off: g.Off, adj: g.Adj, w: g.W,
		self: make([]float64, g.N), k: make([]float64, g.N)}
	for u := 0; u < g.N; u++ {
		s := 0.0
		for j := g.Off[u]; j < g.Off[u+1]; j++ {
			s += g.W[j]
		}
		lv.k[u] = s
		lv.m2 += s
	}
	return lv
}

// louvainWork holds buffers sized for the first (largest) level and reused by
// the smaller ones.
type louvainWork struct {
	comm    []int32   // node → community at the current level
	tot     []float64 // community → summed strength
	neighW  []float64 // community → weight from the current node (dense, reset via touched)
	touched []int32
	order   []int32
	relabel []int32
	members []int32 // nodes sorted by community (aggregation)
	start   []int32
}

func newLouvainWork(n int) *louvainWork {
	return &louvainWork{
		comm:    make([]int32, n),
		tot:     make([]float64, n),
		neighW:  make([]float64, n),
		touched: make([]int32, 0, 64),
		order:   make([]int32, n),
		relabel: make([]int32, n),
		members: make([]int32, n),
		start:   make([]int32, n+1),
	}
}

// localMove runs sweeps of single-node moves from singletons until a sweep
// moves nobody, leaving the partition in ws.comm. It reports whether any node
// changed community.
func (lv *louvainLevel) localMove(ws *louvainWork, r interface{ IntN(int) int }, start []int32) bool {
	n := lv.n
	comm, tot, neighW := ws.comm[:n], ws.tot[:n], ws.neighW[:n]
	order := ws.order[:n]
	clear(tot)
	for i := 0; i < n; i++ {
		comm[i] = int32(i)
		if start != nil {
			comm[i] = start[i]
		}
		tot[comm[i]] += lv.k[i]
		order[i] = int32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	invM2 := 1 / lv.m2
	anyMove := false
	for sweep := 0; sweep < 1000; sweep++ {
		moves := 0
		for _, u := range order {
			cu := comm[u]
			ku := lv.k[u]
			touched := ws.touched[:0]
			lo, hi := lv.off[u], lv.off[u+1]
			wu := lv.w[lo:hi]
			for j, v := range lv.adj[lo:hi] {
				c := comm[v]
				if neighW[c] == 0 {
					touched = append(touched, c)
				}
				neighW[c] += wu[j]
			}
			// Take u out, then put it where ΔQ ∝ k_u,in(c) − tot_c·k_u/2m is
			// largest; staying put wins ties, so every move strictly raises Q
			// and the sweeps terminate.
			tot[cu] -= ku
			best := cu
			bestGain := neighW[cu] - tot[cu]*ku*invM2
			for _, c := range touched {
				if gain := neighW[c] - tot[c]*ku*invM2; gain > bestGain+1e-12*ku {
					best, bestGain = c, gain
				}
			}
			tot[best] += ku
			if best != cu {
				comm[u] = best
				moves++
			}
			for _, c := range touched {
				neighW[c] = 0
			}
			ws.touched = touched
		}
		if moves == 0 {
			break
		}
		anyMove = true
	}
	return anyMove
}

// renumber makes ws.comm dense (0..k−1 by first node) and returns k.
func (ws *louvainWork) renumber(n int) int {
	relabel := ws.relabel[:n]
	for i := range relabel {
		relabel[i] = -1
	}
	k := int32(0)
	for i, c := range ws.comm[:n] {
		if relabel[c] < 0 {
			relabel[c] = k
			k++
		}
		ws.comm[i] = relabel[c]
	}
	return int(k)
}

// aggregate collapses the k communities in ws.comm into the next level's nodes.
func (lv *louvainLevel) aggregate(ws *louvainWork, k int) *louvainLevel {
	n := lv.n
	comm := ws.comm[:n]
	// Counting sort of nodes by community.
	start := ws.start[:k+1]
	clear(start)
	for _, c := range comm {
		start[c+1]++
	}
	for c := 0; c < k; c++ {
		start[c+1] += start[c]
	}
	members := ws.members[:n]
	fill := ws.relabel[:k]
	copy(fill, start[:k])
	for u, c := range comm {
		members[fill[c]] = int32(u)
		fill[c]++
	}

	next := &louvainLevel{n: k, m2: lv.m2,
		off: make([]int32, k+1), self: make([]float64, k), k: make([]float64, k)}
	// At most one entry per old edge; trimmed below.
	adj := make([]int32, 0, len(lv.adj)/2+k)
	w := make([]float64, 0, len(lv.adj)/2+k)
	neighW := ws.neighW[:k]
	for c := 0; c < k; c++ {
		touched := ws.touched[:0]
		for _, u := range members[start[c]:start[c+1]] {
			next.self[c] += lv.self[u]
			next.k[c] += lv.k[u]
			for j := lv.off[u]; j < lv.off[u+1]; j++ {
				d := comm[lv.adj[j]]
				if d == int32(c) {
					next.self[c] += lv.w[j]
					continue
				}
				if neighW[d] == 0 {
					touched = append(touched, d)
				}
				neighW[d] += lv.w[j]
			}
		}
		for _, d := range touched {
			adj = append(adj, d)
			w = append(w, neighW[d])
			neighW[d] = 0
		}
		ws.touched = touched
		next.off[c+1] = int32(len(adj))
	}
	next.adj, next.w = adj, w
	return next
}
