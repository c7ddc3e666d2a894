package graph

import (
	"bufio"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// loadKarate reads Zachary's karate club (testdata/karate.txt) and the faction
// each member joined (0 Mr Hi, 1 Officer).
func loadKarate(t *testing.T) (*Graph, []int32) {
	t.Helper()
	f, err := os.Open("testdata/karate.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, ids, err := ReadEdgeList(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if int64(i) != id {
			t.Fatalf("karate ids not 0..33: ids[%d] = %d", i, id)
		}
	}
	ff, err := os.Open("testdata/karate-factions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	factions := make([]int32, g.N)
	sc := bufio.NewScanner(ff)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		node, _ := strconv.Atoi(fields[0])
		side, _ := strconv.Atoi(fields[1])
		factions[node] = int32(side)
	}
	return g, factions
}

func TestKarateGraph(t *testing.T) {
	g, _ := loadKarate(t)
	if g.N != 34 || g.EdgeCount() != 78 {
		t.Fatalf("karate: %d nodes %d edges, want 34 and 78", g.N, g.EdgeCount())
	}
	deg := Degrees(g)
	if deg[0] != 16 || deg[33] != 17 {
		t.Errorf("degrees of 0 and 33 = %d, %d, want 16, 17", deg[0], deg[33])
	}
}

func TestKarateLouvain(t *testing.T) {
	g, factions := loadKarate(t)
	comm, q := Louvain(g, 1)
	t.Logf("karate: %d communities, modularity %.4f (best known 0.4198)", slices.Max(comm)+1, q)
	if q < 0.41 {
		t.Errorf("modularity = %.4f, want ≥ 0.41", q)
	}
	if got := Modularity(g, comm); math.Abs(got-q) > 1e-12 {
		t.Errorf("Modularity(Louvain's partition) = %v, Louvain said %v", got, q)
	}

	// A 2-way cut along the communities: each community goes to the faction
	// most of its members joined; count the members that land on their side.
	k := int(slices.Max(comm)) + 1
	votes := make([][2]int, k)
	for u, c := range comm {
		votes[c][factions[u]]++
	}
	matched := 0
	for _, v := range votes {
		matched += max(v[0], v[1])
	}
	t.Logf("karate: 2-way cut matches the factions for %d of 34 members; NMI(communities, factions) = %.3f",
		matched, NMI(comm, factions))
	if matched < 32 {
		t.Errorf("factions recovered for %d of 34 members, want ≥ 32", matched)
	}
	if comm[0] == comm[33] {
		t.Errorf("Mr Hi (0) and the officer (33) are in the same community %d", comm[0])
	}

	for seed := uint64(2); seed <= 6; seed++ {
		_, q := Louvain(g, seed)
		t.Logf("seed %d: modularity %.4f", seed, q)
		if q < 0.40 {
			t.Errorf("seed %d: modularity = %.4f, want ≥ 0.40", seed, q)
		}
	}
}

func TestKarateBetweenness(t *testing.T) {
	g, _ := loadKarate(t)
	bc, eps := Betweenness(g, 0, 1)
	if eps != 0 {
		t.Errorf("exact betweenness error bound = %v, want 0", eps)
	}
	order := make([]int, g.N)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return -cmpFloat(bc[a], bc[b]) })
	if top := []int{order[0], order[1]}; !slices.Equal(top, []int{0, 33}) {
		t.Errorf("two highest betweenness = %v, want [0 33]", top)
	}
	// Normalised values as networkx's betweenness_centrality reports them.
	for node, want := range map[int]float64{0: 0.43763528, 33: 0.30407497, 32: 0.14524711, 2: 0.14365680} {
		if math.Abs(bc[node]-want) > 1e-6 {
			t.Errorf("betweenness(%d) = %.8f, want %.8f", node, bc[node], want)
		}
	}
}

func TestKaratePageRank(t *testing.T) {
	g, _ := loadKarate(t)
	pr := PageRank(g, 0.85, 1e-12, 500)
	sum := 0.0
	for _, x := range pr {
		sum += x
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("PageRank sums to %v, want 1", sum)
	}
	// networkx pagerank(alpha=0.85), which stops at a looser tolerance.
	for node, want := range map[int]float64{0: 0.09700182, 33: 0.10091791} {
		if math.Abs(pr[node]-want) > 1e-5 {
			t.Errorf("PageRank(%d) = %.8f, want %.8f", node, pr[node], want)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
