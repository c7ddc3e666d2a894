package graph

import (
	"math"
	"runtime"
	"sync"
)

// Betweenness settings used by ComputeAll.
const (
	// ExactBetweennessLimit is the largest graph whose betweenness ComputeAll
	// computes exactly (one breadth-first search from every node: about a
	// second at 2,000 nodes of a dense organisation). Above it, pivots are sampled.
	ExactBetweennessLimit = 2000
	// DefaultPivots is the number of sampled source nodes above the limit.
	DefaultPivots = 256
	// BetweennessDelta is the failure probability of the stated error bound:
	// each sampled value is within the bound of the exact one with
	// probability at least 1 − BetweennessDelta (95%).
	BetweennessDelta = 0.05
)

// Betweenness returns each node's betweenness centrality normalised to 0..1
// (for undirected graphs: the share of the (n−1)(n−2)/2 pairs of other nodes
// whose shortest paths run through the node, split evenly among equally short
// paths), and an error bound that holds for each node's value with 95%
// confidence (0 when exact).
//
// Paths are counted in hops, ignoring weights (Brandes' unweighted algorithm):
// weights here measure how strong a tie is, not how far apart two people are,
// and turning them into distances (1/w) would make a single chatty pair decide
// who is "between" whom. Hop-based betweenness is also what the people-analysis
// literature reports, and a breadth-first search is several times faster than
// Dijkstra with a heap.
//
// With pivots <= 0 or pivots >= N every node is a source and the result is
// exact. Otherwise pivots distinct sources are drawn uniformly at random
// (seeded) and the sum of their dependencies is scaled by N/pivots, an unbiased
// estimate. Each source s contributes X_s = N·δ_s(v)/((N−1)(N−2)) to the
// normalised estimate, and 0 ≤ δ_s(v) ≤ N−2, so X_s lies in [0, N/(N−1)]; by
// Hoeffding's inequality (which also holds for sampling without replacement)
// the estimate is within
//
//	ε = N/(N−1) · sqrt(ln(2/δ) / (2·pivots)),  δ = BetweennessDelta = 0.05
//
// of the exact value with probability at least 95%. For 256 pivots ε ≈ 0.085
// on the 0..1 scale: a guarantee, and a conservative one (the errors seen in
// practice are far smaller), fit for ranking brokers rather than for quoting
// small values.
//
// Sources are split across the available cores; each worker keeps its own
// buffers for the whole run and its own accumulator, so the inner loops touch
// only flat arrays.
func Betweenness(g *Graph, pivots int, seed uint64) (bc []float64, errBound float64) {
	n := g.N
	bc = make([]float64, n)
	if n < 3 {
		return bc, 0
	}
	var sources []int32
	scale := 1.0
	if pivots <= 0 || pivots >= n {
		sources = make([]int32, n)
		for i := range sources {
			sources[i] = int32(i)
		}
	} else {
		// Partial Fisher–Yates: pivots distinct nodes, uniformly.
		perm := make([]int32, n)
		for i := range perm {
			perm[i] = int32(i)
		}
		r := newRand(seed)
		for i := 0; i < pivots; i++ {
			j := i + r.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
		}
		sources = perm[:pivots]
		scale = float64(n) / float64(pivots)
		errBound = float64(n) / float64(n-1) * math.Sqrt(math.Log(2/BetweennessDelta)/(2*float64(pivots)))
	}

	workers := min(runtime.GOMAXPROCS(0), len(sources)/8+1, 8)
	accs := make([][]float64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		acc := bc // the first worker accumulates straight into the result
		if w > 0 {
			acc = make([]float64, n)
		}
		accs[w] = acc
		// Interleaved sources balance the work; a fixed assignment keeps the
		// floating-point sums the same from run to run.
		var mine []int32
		for i := w; i < len(sources); i += workers {
			mine = append(mine, sources[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			newBrandes(n).run(g, mine, acc)
		}()
	}
	wg.Wait()
	for _, acc := range accs[1:] {
		for v, x := range acc {
			bc[v] += x
		}
	}
	// Each unordered pair is counted once from each end when every node is a
	// source, hence (n−1)(n−2) rather than (n−1)(n−2)/2.
	norm := scale / (float64(n-1) * float64(n-2))
	for v := range bc {
		bc[v] *= norm
	}
	return bc, errBound
}

// brandes holds one worker's buffers, reused across sources.
type brandes struct {
	dist  []int32 // -1: not reached from the current source
	sigma []float64
	delta []float64
	order []int32 // nodes in the order the search reached them
	seen  int     // how many entries of order the last search filled
}

func newBrandes(n int) *brandes {
	b := &brandes{
		dist:  make([]int32, n),
		sigma: make([]float64, n),
		delta: make([]float64, n),
		order: make([]int32, n),
	}
	for i := range b.dist {
		b.dist[i] = -1
	}
	return b
}

// run adds each source's dependencies δ_s(v) to acc.
func (b *brandes) run(g *Graph, sources []int32, acc []float64) {
	off, adj := g.Off, g.Adj
	dist, sigma, delta, order := b.dist, b.sigma, b.delta, b.order
	for _, s := range sources {
		// Reset only what the previous search touched: on a graph with many
		// components most of the arrays are already clean.
		for _, v := range order[:b.seen] {
			dist[v], sigma[v], delta[v] = -1, 0, 0
		}
		dist[s], sigma[s] = 0, 1
		order[0] = s
		head, tail := 0, 1
		for head < tail {
			v := order[head]
			head++
			dv, sv := dist[v]+1, sigma[v]
			for _, w := range adj[off[v]:off[v+1]] {
				if d := dist[w]; d < 0 {
					dist[w] = dv
					sigma[w] = sv
					order[tail] = w
					tail++
				} else if d == dv {
					sigma[w] += sv
				}
			}
		}
		b.seen = tail
		// Walk back from the farthest nodes; predecessors are the neighbours one
		// hop closer, found again from the adjacency instead of stored lists,
		// which saves an allocation per edge and is as fast on CSR.
		for i := tail - 1; i > 0; i-- {
			w := order[i]
			coeff := (1 + delta[w]) / sigma[w]
			dw := dist[w] - 1
			for _, v := range adj[off[w]:off[w+1]] {
				if dist[v] == dw {
					delta[v] += sigma[v] * coeff
				}
			}
			acc[w] += delta[w]
		}
	}
}
