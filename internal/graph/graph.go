// Package graph turns the organisation's connections and interactions into
// network intelligence: communities, brokers, silos, isolated people, reach and
// the spread of shares, computed over compact in-memory graphs and shown back to
// the network.
//
// The kernels work on Graph, an undirected weighted graph in compressed sparse
// row (CSR) form: node i's neighbours are Adj[Off[i]:Off[i+1]] with weights
// W[Off[i]:Off[i+1]]. Nodes are dense indices 0..N-1; callers keep their own
// mapping to people. Kernels never allocate per edge in inner loops: the
// targets (10,000 nodes and 200,000 edges: Louvain under 1 s, 256-pivot
// betweenness under 1 s, PageRank under 0.2 s) leave no room for maps.
package graph

import (
	"cmp"
	"slices"
)

// Graph is an undirected weighted graph in CSR form. Every edge appears twice,
// once from each end. It has no self-loops and no parallel edges.
type Graph struct {
	N   int
	Off []int32   // len N+1
	Adj []int32   // len 2·edges
	W   []float64 // parallel to Adj
}

// Edge is one undirected edge.
type Edge struct {
	U, V int32
	W    float64
}

// FromEdges builds a graph of n nodes. Self-loops and edges with an end outside
// 0..n-1 or a weight ≤ 0 are dropped; parallel edges (in either direction) are
// merged by adding their weights.
func FromEdges(n int, edges []Edge) *Graph {
	half := make([]Edge, 0, len(edges))
	for _, e := range edges {
		if e.U == e.V || e.U < 0 || e.V < 0 || int(e.U) >= n || int(e.V) >= n || !(e.W > 0) {
			continue
		}
		if e.U > e.V {
			e.U, e.V = e.V, e.U
		}
		half = append(half, e)
	}
	slices.SortFunc(half, func(a, b Edge) int {
		if c := cmp.Compare(a.U, b.U); c != 0 {
			return c
		}
		return cmp.Compare(a.V, b.V)
	})
	merged := half[:0]
	for _, e := range half {
		if k := len(merged) - 1; k >= 0 && merged[k].U == e.U && merged[k].V == e.V {
			merged[k].W += e.W
			continue
		}
		merged = append(merged, e)
	}
	g := &Graph{N: n, Off: make([]int32, n+1)}
	for _, e := range merged {
		g.Off[e.U+1]++
		g.Off[e.V+1]++
	}
	for i := 0; i < n; i++ {
		g.Off[i+1] += g.Off[i]
	}
	g.Adj = make([]int32, 2*len(merged))
	g.W = make([]float64, 2*len(merged))
	next := slices.Clone(g.Off[:n])
	for _, e := range merged {
		g.Adj[next[e.U]], g.W[next[e.U]] = e.V, e.W
		next[e.U]++
		g.Adj[next[e.V]], g.W[next[e.V]] = e.U, e.W
		next[e.V]++
	}
	return g
}

// Edges returns each undirected edge once (U < V), in CSR order.
func (g *Graph) Edges() []Edge {
	out := make([]Edge, 0, len(g.Adj)/2)
	for u := 0; u < g.N; u++ {
		for k := g.Off[u]; k < g.Off[u+1]; k++ {
			if v := g.Adj[k]; int32(u) < v {
				out = append(out, Edge{U: int32(u), V: v, W: g.W[k]})
			}
		}
	}
	return out
}

// EdgeCount is the number of undirected edges.
func (g *Graph) EdgeCount() int { return len(g.Adj) / 2 }

// Degree is the number of neighbours of u.
func (g *Graph) Degree(u int) int { return int(g.Off[u+1] - g.Off[u]) }

// Neighbours returns u's neighbours and the weights of the edges to them.
func (g *Graph) Neighbours(u int) ([]int32, []float64) {
	return g.Adj[g.Off[u]:g.Off[u+1]], g.W[g.Off[u]:g.Off[u+1]]
}
