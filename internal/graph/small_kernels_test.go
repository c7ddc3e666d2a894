package graph

import (
	"math"
	"slices"
	"testing"
	"time"
)

// unweighted builds a graph of n nodes from pairs.
func unweighted(n int, pairs ...[2]int32) *Graph {
	edges := make([]Edge, len(pairs))
	for i, p := range pairs {
		edges[i] = Edge{U: p[0], V: p[1], W: 1}
	}
	return FromEdges(n, edges)
}

func path(n int) *Graph {
	var pairs [][2]int32
	for i := 1; i < n; i++ {
		pairs = append(pairs, [2]int32{int32(i - 1), int32(i)})
	}
	return unweighted(n, pairs...)
}

func approxEqual(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			return false
		}
	}
	return true
}

func TestBetweennessSmall(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
		want []float64
	}{
		// The middle node of a 3-path is on the only path between the ends.
		{"path of 3", path(3), []float64{0, 1, 0}},
		// Node 1 carries (0,2) and (0,3) of the 3 pairs not involving it.
		{"path of 4", path(4), []float64{0, 2.0 / 3, 2.0 / 3, 0}},
		// Of 6 pairs: node 1 carries 3 (0 to 2,3,4), node 2 carries 4.
		{"path of 5", path(5), []float64{0, 0.5, 2.0 / 3, 0.5, 0}},
		// The centre carries all 6 pairs of leaves.
		{"star of 4 leaves", unweighted(5, [2]int32{0, 1}, [2]int32{0, 2}, [2]int32{0, 3}, [2]int32{0, 4}),
			[]float64{1, 0, 0, 0, 0}},
		// Node 2 carries (0,3) and (1,3) of its 3 pairs.
		{"triangle with pendant", unweighted(4, [2]int32{0, 1}, [2]int32{1, 2}, [2]int32{0, 2}, [2]int32{2, 3}),
			[]float64{0, 0, 2.0 / 3, 0}},
		// Two equally short paths between opposite corners: each middle node
		// gets half of one pair out of 3.
		{"square", unweighted(4, [2]int32{0, 1}, [2]int32{1, 2}, [2]int32{2, 3}, [2]int32{3, 0}),
			[]float64{1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6}},
		{"two nodes", path(2), []float64{0, 0}},
		{"isolated nodes", unweighted(3), []float64{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, eps := Betweenness(tc.g, 0, 1)
			if !approxEqual(got, tc.want, 1e-12) || eps != 0 {
				t.Errorf("Betweenness = %v (bound %v), want %v (bound 0)", got, eps, tc.want)
			}
		})
	}
}

func TestPageRankSmall(t *testing.T) {
	cycle := func(n int) *Graph {
		var pairs [][2]int32
		for i := 0; i < n; i++ {
			pairs = append(pairs, [2]int32{int32(i), int32((i + 1) % n)})
		}
		return unweighted(n, pairs...)
	}
	tests := []struct {
		name string
		g    *Graph
		want []float64
	}{
		{"cycle of 6 is uniform", cycle(6), []float64{1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6}},
		// x1 = 0.05 + 0.85·(x0+x2), x0 = x2 = 0.05 + 0.425·x1 ⇒ x1 = 0.135/0.2775.
		{"path of 3", path(3), []float64{0.05 + 0.425*0.135/0.2775, 0.135 / 0.2775, 0.05 + 0.425*0.135/0.2775}},
		// Weighted: node 1 sends a quarter of its rank to 0, three quarters to 2.
		{"weighted path", FromEdges(3, []Edge{{0, 1, 1}, {1, 2, 3}}),
			[]float64{0.05 + 0.2125*0.135/0.2775, 0.135 / 0.2775, 0.05 + 0.6375*0.135/0.2775}},
		// The isolated node is dangling: its rank is spread evenly, so
		// x2 = 0.05 + 0.85·x2/3 and the pair shares the rest.
		{"pair and isolated node", unweighted(3, [2]int32{0, 1}),
			[]float64{(1 - 0.05/(1-0.85/3)) / 2, (1 - 0.05/(1-0.85/3)) / 2, 0.05 / (1 - 0.85/3)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PageRank(tc.g, 0.85, 1e-14, 1000)
			if !approxEqual(got, tc.want, 1e-10) {
				t.Errorf("PageRank = %v, want %v", got, tc.want)
			}
		})
	}
	if got := PageRank(&Graph{Off: []int32{0}}, 0.85, 1e-10, 100); len(got) != 0 {
		t.Errorf("PageRank(empty) = %v, want []", got)
	}
}

// twoTriangles is two triangles {0,1,2} and {3,4,5} joined by the edge 2–3
// with the given weight.
func twoTriangles(bridge float64) *Graph {
	return FromEdges(6, []Edge{{0, 1, 1}, {1, 2, 1}, {0, 2, 1}, {3, 4, 1}, {4, 5, 1}, {3, 5, 1}, {2, 3, bridge}})
}

func TestModularityHand(t *testing.T) {
	split := []int32{0, 0, 0, 1, 1, 1}
	tests := []struct {
		name string
		g    *Graph
		comm []int32
		want float64
	}{
		// 2m = 14; each side: in = 6, tot = 7 ⇒ Q = 2·(6/14 − 1/4) = 5/14.
		{"two triangles split", twoTriangles(1), split, 5.0 / 14},
		// Labels are arbitrary values.
		{"same split other labels", twoTriangles(1), []int32{7, 7, 7, -3, -3, -3}, 5.0 / 14},
		{"all together", twoTriangles(1), []int32{0, 0, 0, 0, 0, 0}, 0},
		// Degrees 2,2,3,3,2,2: Q = −Σ(k/14)² = −34/196.
		{"singletons", twoTriangles(1), []int32{0, 1, 2, 3, 4, 5}, -34.0 / 196},
		// A bridge of weight 2: 2m = 16, tot = 8 each ⇒ Q = 2·(6/16 − 1/4) = 1/4.
		{"weighted bridge", twoTriangles(2), split, 0.25},
		{"no ties", unweighted(3), []int32{0, 1, 2}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Modularity(tc.g, tc.comm); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Modularity = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("Louvain finds the split", func(t *testing.T) {
		comm, q := Louvain(twoTriangles(1), 1)
		if want := []int32{0, 0, 0, 1, 1, 1}; !slices.Equal(comm, want) || math.Abs(q-5.0/14) > 1e-12 {
			t.Errorf("Louvain = %v, %v, want %v, %v", comm, q, want, 5.0/14)
		}
	})
	t.Run("Louvain on no ties", func(t *testing.T) {
		comm, q := Louvain(unweighted(3), 1)
		if want := []int32{0, 1, 2}; !slices.Equal(comm, want) || q != 0 {
			t.Errorf("Louvain = %v, %v, want %v, 0", comm, q, want)
		}
	})
}

func TestCommunityStats(t *testing.T) {
	t.Run("two triangles", func(t *testing.T) {
		st := CommunityStatsOf(twoTriangles(1), []int32{0, 0, 0, 1, 1, 1})
		if len(st) != 2 {
			t.Fatalf("got %d communities, want 2", len(st))
		}
		// I = 3, E = 1 ⇒ EI = −0.5: on the threshold, not below it.
		got := st[0]
		if got.Size != 3 || got.Internal != 3 || got.External != 1 || got.EI != -0.5 || got.Silo || got.Ties[1] != 1 {
			t.Errorf("community 0 = %+v, want size 3, internal 3, external 1, EI −0.5, not a silo, tie 1 to community 1", got)
		}
	})
	t.Run("two cliques of four are silos", func(t *testing.T) {
		var edges []Edge
		for _, base := range []int32{0, 4} {
			for i := int32(0); i < 4; i++ {
				for j := i + 1; j < 4; j++ {
					edges = append(edges, Edge{U: base + i, V: base + j, W: 1})
				}
			}
		}
		edges = append(edges, Edge{U: 0, V: 4, W: 1})
		st := CommunityStatsOf(FromEdges(8, edges), []int32{0, 0, 0, 0, 1, 1, 1, 1})
		for _, c := range st {
			if want := (1.0 - 6) / 7; math.Abs(c.EI-want) > 1e-12 || !c.Silo {
				t.Errorf("community %d: EI %v silo %v, want %v and a silo", c.ID, c.EI, c.Silo, want)
			}
		}
	})
	t.Run("lone isolated person", func(t *testing.T) {
		st := CommunityStatsOf(unweighted(1), []int32{0})
		if st[0].EI != 0 || st[0].Silo {
			t.Errorf("isolated community = %+v, want EI 0 and not a silo", st[0])
		}
	})
}

func TestBrokers(t *testing.T) {
	t.Run("hub across three groups", func(t *testing.T) {
		// Triangles A {0,1,2}, B {3,4,5}, C {6,7,8}; node 9 (in A) ties to 0, 3 and 6.
		g := unweighted(10,
			[2]int32{0, 1}, [2]int32{1, 2}, [2]int32{0, 2},
			[2]int32{3, 4}, [2]int32{4, 5}, [2]int32{3, 5},
			[2]int32{6, 7}, [2]int32{7, 8}, [2]int32{6, 8},
			[2]int32{9, 0}, [2]int32{9, 3}, [2]int32{9, 6})
		comm := []int32{0, 0, 0, 1, 1, 1, 2, 2, 2, 0}
		bc, _ := Betweenness(g, 0, 1)
		got := Brokers(g, bc, comm)
		want := make([]bool, 10)
		want[9] = true
		if !slices.Equal(got, want) {
			t.Errorf("Brokers = %v, want only node 9", got)
		}
	})
	t.Run("a bridge between two groups is not a broker", func(t *testing.T) {
		g := twoTriangles(1)
		bc, _ := Betweenness(g, 0, 1)
		if got := Brokers(g, bc, []int32{0, 0, 0, 1, 1, 1}); slices.Contains(got, true) {
			t.Errorf("Brokers = %v, want none (each bridge end reaches one other community)", got)
		}
	})
}

func TestIsolatedPeripheral(t *testing.T) {
	// Star 0–{1,2,3}, a triangle 4-5-6 with heavy ties, and 7 alone.
	g := FromEdges(8, []Edge{{0, 1, 1}, {0, 2, 1}, {0, 3, 1}, {4, 5, 5}, {5, 6, 5}, {4, 6, 5}})
	if got, want := Isolated(g), []bool{false, false, false, false, false, false, false, true}; !slices.Equal(got, want) {
		t.Errorf("Isolated = %v, want %v", got, want)
	}
	if got, want := Peripheral(g), []bool{false, true, true, true, false, false, false, false}; !slices.Equal(got, want) {
		t.Errorf("Peripheral = %v, want %v", got, want)
	}
	if got, want := Degrees(g), []int{3, 1, 1, 1, 2, 2, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("Degrees = %v, want %v", got, want)
	}
	if got, want := Strengths(g), []float64{3, 1, 1, 1, 10, 10, 10, 0}; !slices.Equal(got, want) {
		t.Errorf("Strengths = %v, want %v", got, want)
	}
}

func TestPeripheralLowStrength(t *testing.T) {
	// A cycle of 40 with weight 10 except for node 0's two ties of weight 1:
	// strengths are 2 (node 0), 11 (nodes 1 and 39) and 20. With 40 people
	// the 5th percentile is the 2nd lowest value, 11, and only strengths
	// strictly below it count: node 0 alone.
	var edges []Edge
	for i := int32(0); i < 40; i++ {
		w := 10.0
		if i == 0 || i == 39 {
			w = 1
		}
		edges = append(edges, Edge{U: i, V: (i + 1) % 40, W: w})
	}
	got := Peripheral(FromEdges(40, edges))
	for u, p := range got {
		if want := u == 0; p != want {
			t.Errorf("Peripheral[%d] = %v, want %v", u, p, want)
		}
	}
}

func TestReach(t *testing.T) {
	t.Run("path of 5", func(t *testing.T) {
		got := Reach(path(5))
		want := [][3]int32{{1, 2, 3}, {2, 3, 4}, {2, 4, 4}, {2, 3, 4}, {1, 2, 3}}
		if !slices.Equal(got, want) {
			t.Errorf("Reach = %v, want %v", got, want)
		}
	})
	t.Run("isolated", func(t *testing.T) {
		if got := Reach(unweighted(2)); !slices.Equal(got, [][3]int32{{}, {}}) {
			t.Errorf("Reach = %v, want zeros", got)
		}
	})
	// The bit-set method, whole and in blocks, against a plain search.
	g := Random(700, 1400, 3)
	want := bfsReach(g)
	for _, tc := range []struct {
		name  string
		bytes int
	}{{"one block", reachBlockBytes}, {"many blocks", 16 * 700 * 2}, {"one word per block", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			got := reach(g, tc.bytes)
			for v := range got {
				if got[v] != want[v] {
					t.Fatalf("reach of %d = %v, want %v", v, got[v], want[v])
				}
			}
		})
	}
}

// bfsReach is the obvious search, for checking Reach.
func bfsReach(g *Graph) [][3]int32 {
	out := make([][3]int32, g.N)
	dist := make([]int, g.N)
	for s := 0; s < g.N; s++ {
		for i := range dist {
			dist[i] = -1
		}
		dist[s] = 0
		queue := []int{s}
		for len(queue) > 0 {
			v := queue[0]
			queue = queue[1:]
			if dist[v] == 3 {
				continue
			}
			adj, _ := g.Neighbours(v)
			for _, w := range adj {
				if dist[w] < 0 {
					dist[w] = dist[v] + 1
					for h := dist[w] - 1; h < 3; h++ {
						out[s][h]++
					}
					queue = append(queue, int(w))
				}
			}
		}
	}
	return out
}

func TestNMI(t *testing.T) {
	tests := []struct {
		name string
		a, b []int32
		want float64
	}{
		{"identical", []int32{0, 0, 1, 1, 2}, []int32{0, 0, 1, 1, 2}, 1},
		{"relabelled", []int32{0, 0, 1, 1, 2}, []int32{5, 5, -1, -1, 9}, 1},
		{"both trivial", []int32{3, 3, 3}, []int32{1, 1, 1}, 1},
		{"independent", []int32{0, 0, 1, 1}, []int32{0, 1, 0, 1}, 0},
		{"one trivial", []int32{0, 0, 1, 1}, []int32{0, 0, 0, 0}, 0},
		// H(a) = ln 2, H(b) = −(¾ln¾ + ¼ln¼), I = 0.215762…
		{"hand computed", []int32{0, 0, 1, 1}, []int32{0, 0, 0, 1}, 0.3437110184854508},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NMI(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("NMI = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCascade(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	steps := []CascadeStep{
		{From: 1, To: 2, At: at(1)},
		{From: 1, To: 3, At: at(2)},
		{From: 2, To: 4, At: at(3)},
		{From: 2, To: 5, At: at(4)},
		{From: 3, To: 2, At: at(5)},  // 2 already has it: ignored
		{From: 4, To: 6, At: at(10)}, //
		{From: 9, To: 10, At: at(6)}, // 9 never got it
		{From: 7, To: 8, At: at(1)},  // recorded before 7 got it: counts from 7's time
		{From: 6, To: 7, At: at(11)},
	}
	got := Cascade(1, t0, steps)
	if got.Reached != 7 || got.Depth != 5 || got.Breadth != 2 || got.Unreached != 1 {
		t.Errorf("reached %d depth %d breadth %d unreached %d, want 7, 5, 2, 1",
			got.Reached, got.Depth, got.Breadth, got.Unreached)
	}
	if want := []int{1, 2, 2, 1, 1, 1}; !slices.Equal(got.Widths, want) {
		t.Errorf("Widths = %v, want %v", got.Widths, want)
	}
	if got.Tree[8] != 7 || got.Tree[2] != 1 {
		t.Errorf("Tree = %v, want 8 from 7 and 2 from 1", got.Tree)
	}
	for _, tc := range []struct {
		n    int
		want time.Duration
		ok   bool
	}{{3, 3 * time.Minute, true}, {7, 11 * time.Minute, true}, {8, 0, false}, {0, 0, true}} {
		if d, ok := got.TimeToReach(tc.n); d != tc.want || ok != tc.ok {
			t.Errorf("TimeToReach(%d) = %v, %v, want %v, %v", tc.n, d, ok, tc.want, tc.ok)
		}
	}
	if empty := Cascade(1, t0, nil); empty.Reached != 0 || empty.Depth != 0 || empty.Breadth != 0 {
		t.Errorf("Cascade of no steps = %+v, want nothing reached", empty)
	}
}
