package graph

import (
	"runtime"
	"sync"
	"testing"
)

// The benchmarks run on the graph the performance targets are stated on: a
// uniform random graph of 10,000 nodes and 200,000 edges (seed 1). Targets:
// Louvain < 1 s, 256-pivot betweenness < 1 s, PageRank < 0.2 s, everything
// < 3 s and < 200 MB. They report figures; they never fail on time.

var bench10k = sync.OnceValue(func() *Graph { return Random(10_000, 200_000, 1) })

func BenchmarkLouvain10k(b *testing.B) {
	g := bench10k()
	var q float64
	var k int
	for b.Loop() {
		comm, mod := Louvain(g, 1)
		q = mod
		k = 0
		for _, c := range comm {
			k = max(k, int(c)+1)
		}
	}
	b.ReportMetric(q, "modularity")
	b.ReportMetric(float64(k), "communities")
}

func BenchmarkBetweenness256(b *testing.B) {
	g := bench10k()
	var eps float64
	for b.Loop() {
		_, eps = Betweenness(g, DefaultPivots, 1)
	}
	b.ReportMetric(eps, "error_bound")
}

func BenchmarkPageRank10k(b *testing.B) {
	g := bench10k()
	for b.Loop() {
		PageRank(g, DefaultDamping, DefaultPageRankTol, DefaultPageRankMax)
	}
}

func BenchmarkReach10k(b *testing.B) {
	g := bench10k()
	for b.Loop() {
		Reach(g)
	}
}

func BenchmarkComputeAll10k(b *testing.B) {
	g := bench10k()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var m *Metrics
	for b.Loop() {
		m = ComputeAll(g, Options{Seed: 1})
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(m.Modularity, "modularity")
	b.ReportMetric(float64(len(m.Communities)), "communities")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "alloc_MB/op")
}
