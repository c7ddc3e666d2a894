package graph

import (
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestRandom(t *testing.T) {
	g := Random(1000, 5000, 42)
	if g.N != 1000 || g.EdgeCount() != 5000 {
		t.Fatalf("Random(1000, 5000): %d nodes %d edges", g.N, g.EdgeCount())
	}
	for _, w := range g.W {
		if w != 1 {
			t.Fatalf("weight %v, want 1", w)
		}
	}
	if again := Random(1000, 5000, 42); !slices.Equal(again.Edges(), g.Edges()) {
		t.Errorf("same seed gave a different graph")
	}
	if other := Random(1000, 5000, 43); slices.Equal(other.Edges(), g.Edges()) {
		t.Errorf("another seed gave the same graph")
	}
	t.Run("dense is clamped", func(t *testing.T) {
		if g := Random(10, 100, 1); g.EdgeCount() != 45 {
			t.Errorf("Random(10, 100) has %d edges, want all 45", g.EdgeCount())
		}
		if g := Random(10, 30, 1); g.EdgeCount() != 30 {
			t.Errorf("Random(10, 30) has %d edges, want 30", g.EdgeCount())
		}
	})
	t.Run("degenerate", func(t *testing.T) {
		if g := Random(1, 5, 1); g.N != 1 || g.EdgeCount() != 0 {
			t.Errorf("Random(1, 5) = %d nodes %d edges", g.N, g.EdgeCount())
		}
		if g := Random(0, 0, 1); g.N != 0 {
			t.Errorf("Random(0, 0) has %d nodes", g.N)
		}
	})
}

func TestReadEdgeList(t *testing.T) {
	in := `# a comment
10 20
20 10    # the reverse: merged
10	30

30 30    # a self-loop: dropped, but 30 is already a node
40 40    # 40 only has a self-loop: an isolated node
-5 10
10 20
`
	g, ids, err := ReadEdgeList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{-5, 10, 20, 30, 40}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	// Node indices follow the sorted ids: -5→0, 10→1, 20→2, 30→3, 40→4.
	if got, want := g.Edges(), []Edge{{0, 1, 1}, {1, 2, 1}, {1, 3, 1}}; !slices.Equal(got, want) {
		t.Errorf("edges = %v, want %v", got, want)
	}
	if g.Degree(4) != 0 {
		t.Errorf("degree of 40 = %d, want 0", g.Degree(4))
	}

	for _, tc := range []struct{ name, in, want string }{
		{"one id", "1 2\n3\n", "line 2: want two integer ids, got 1 fields"},
		{"three fields", "1 2 0.5\n", "line 1: want two integer ids, got 3 fields"},
		{"not a number", "# x\n\n1 b\n", `line 3: second id "b" is not an integer`},
		{"float id", "1.5 2\n", `line 1: first id "1.5" is not an integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadEdgeList(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		g, ids, err := ReadEdgeList(strings.NewReader("# nothing\n"))
		if err != nil || g.N != 0 || len(ids) != 0 {
			t.Errorf("got %d nodes, %v, %v; want an empty graph", g.N, ids, err)
		}
	})
}

func TestSampledBetweennessWithinBound(t *testing.T) {
	g := Random(3000, 9000, 5)
	exact, eps0 := Betweenness(g, 0, 1)
	sampled, eps := Betweenness(g, DefaultPivots, 1)
	if eps0 != 0 {
		t.Errorf("exact bound = %v, want 0", eps0)
	}
	wantEps := 3000.0 / 2999 * math.Sqrt(math.Log(2/0.05)/(2*256))
	if math.Abs(eps-wantEps) > 1e-12 {
		t.Errorf("bound = %v, want %v", eps, wantEps)
	}
	errs := make([]float64, g.N)
	within := 0
	for v := range exact {
		errs[v] = math.Abs(sampled[v] - exact[v])
		if errs[v] <= eps {
			within++
		}
	}
	sort.Float64s(errs)
	t.Logf("3,000 nodes, 256 pivots: bound %.4f; error median %.2e, 95th percentile %.2e, max %.2e; largest exact value %.4f",
		eps, errs[len(errs)/2], errs[len(errs)*95/100], errs[len(errs)-1], slices.Max(exact))
	if share := float64(within) / float64(g.N); share < 0.95 {
		t.Errorf("%.1f%% of nodes within the bound, want ≥ 95%%", 100*share)
	}
	// The bound is loose; the estimate should also be good in the way that
	// matters for brokers: the ranking.
	// (On a uniform random graph most values are close, the hardest case.)
	if r := rankCorrelation(exact, sampled); r < 0.85 {
		t.Errorf("Spearman correlation of sampled and exact = %.3f, want ≥ 0.85", r)
	} else {
		t.Logf("Spearman correlation of sampled and exact: %.3f", r)
	}
}

// rankCorrelation is Spearman's ρ (Pearson on ranks, ties by order).
func rankCorrelation(a, b []float64) float64 {
	rank := func(x []float64) []float64 {
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
		r := make([]float64, len(x))
		for pos, i := range idx {
			r[i] = float64(pos)
		}
		return r
	}
	ra, rb := rank(a), rank(b)
	n := float64(len(a))
	mean := (n - 1) / 2
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-mean, rb[i]-mean
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

func TestDeterminism(t *testing.T) {
	g := Random(800, 4000, 7)
	a, qa := Louvain(g, 11)
	b, qb := Louvain(g, 11)
	if !slices.Equal(a, b) || qa != qb {
		t.Errorf("Louvain with the same seed differs: Q %v vs %v", qa, qb)
	}
	t.Logf("Random(800, 4000): modularity %.4f, %d communities", qa, slices.Max(a)+1)
	ba, _ := Betweenness(g, 100, 3)
	bb, _ := Betweenness(g, 100, 3)
	if !slices.Equal(ba, bb) {
		t.Errorf("sampled betweenness with the same seed differs")
	}
	ma := ComputeAll(g, Options{Seed: 5, Pivots: 64})
	mb := ComputeAll(g, Options{Seed: 5, Pivots: 64})
	if !slices.Equal(ma.Community, mb.Community) || !slices.Equal(ma.Betweenness, mb.Betweenness) ||
		!slices.Equal(ma.PageRank, mb.PageRank) || !slices.Equal(ma.Reach, mb.Reach) {
		t.Errorf("ComputeAll with the same options differs")
	}
}

func TestComputeAll(t *testing.T) {
	t.Run("small graph is exact", func(t *testing.T) {
		g, _ := loadKarate(t)
		m := ComputeAll(g, Options{Seed: 1})
		if m.BetweennessPivots != 0 || m.BetweennessError != 0 {
			t.Errorf("karate betweenness pivots %d error %v, want exact", m.BetweennessPivots, m.BetweennessError)
		}
		if m.Modularity < 0.41 || len(m.Communities) != int(slices.Max(m.Community))+1 {
			t.Errorf("modularity %v with %d community stats", m.Modularity, len(m.Communities))
		}
		for _, field := range []int{len(m.Degree), len(m.Strength), len(m.PageRank), len(m.Betweenness),
			len(m.Community), len(m.Broker), len(m.Isolated), len(m.Peripheral), len(m.Reach)} {
			if field != g.N {
				t.Fatalf("a per-node slice has length %d, want %d", field, g.N)
			}
		}
		silos, brokers, isolated, peripheral := m.Counts()
		t.Logf("karate: %d communities, %d silos, %d brokers, %d isolated, %d peripheral",
			len(m.Communities), silos, brokers, isolated, peripheral)
		if m.Reach[0][0] != 16 || m.Reach[33][0] != 17 {
			t.Errorf("1-hop reach of 0 and 33 = %d, %d, want 16 and 17", m.Reach[0][0], m.Reach[33][0])
		}
	})
	t.Run("large graph is sampled", func(t *testing.T) {
		g := Random(ExactBetweennessLimit+1, 4000, 1)
		m := ComputeAll(g, Options{Seed: 1, Pivots: 50})
		if m.BetweennessPivots != 50 || m.BetweennessError <= 0 {
			t.Errorf("pivots %d error %v, want 50 and a positive bound", m.BetweennessPivots, m.BetweennessError)
		}
		exact := ComputeAll(g, Options{Seed: 1, Pivots: -1})
		if exact.BetweennessPivots != 0 || exact.BetweennessError != 0 {
			t.Errorf("Pivots −1: pivots %d error %v, want exact", exact.BetweennessPivots, exact.BetweennessError)
		}
	})
	t.Run("empty graph", func(t *testing.T) {
		m := ComputeAll(FromEdges(0, nil), Options{})
		if len(m.Degree) != 0 || m.Modularity != 0 {
			t.Errorf("empty graph metrics = %+v", m)
		}
	})
}
