package graph

import (
	"bufio"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// layoutEmailEuCore reads the project's copy of the SNAP email-Eu-core network
// (1,005 people, 16,064 undirected ties once directions and duplicates merge).
func layoutEmailEuCore(t testing.TB) *Graph {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "demo", "data", "email-Eu-core.txt"))
	if err != nil {
		t.Fatalf("open dataset: %v", err)
	}
	defer f.Close()
	var edges []Edge
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 2 {
			t.Fatalf("bad line %q", line)
		}
		u, err1 := strconv.Atoi(fs[0])
		v, err2 := strconv.Atoi(fs[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", line)
		}
		n = max(n, u+1, v+1)
		edges = append(edges, Edge{U: int32(u), V: int32(v), W: 1})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return FromEdges(n, edges)
}

// layoutRandomGraph has n nodes and about m distinct random ties.
func layoutRandomGraph(n, m int, seed uint64) *Graph {
	rng := rand.New(rand.NewPCG(seed, 1))
	edges := make([]Edge, 0, m)
	for len(edges) < m {
		u, v := rng.IntN(n), rng.IntN(n)
		if u != v {
			edges = append(edges, Edge{U: int32(u), V: int32(v), W: 1})
		}
	}
	return FromEdges(n, edges)
}

// layoutPlantedGraph has k groups of size each, dense inside and sparse between,
// plus a few isolated people and a separate pair: the shape of an organisation.
func layoutPlantedGraph(k, size int, seed uint64) (g *Graph, isolated []int) {
	rng := rand.New(rand.NewPCG(seed, 2))
	n := k*size + 5
	var edges []Edge
	for c := 0; c < k; c++ {
		for a := 0; a < size; a++ {
			for b := a + 1; b < size; b++ {
				if rng.Float64() < 0.3 {
					edges = append(edges, Edge{U: int32(c*size + a), V: int32(c*size + b), W: 1})
				}
			}
		}
	}
	for e := 0; e < k*2; e++ {
		edges = append(edges, Edge{U: int32(rng.IntN(k * size)), V: int32(rng.IntN(k * size)), W: 1})
	}
	edges = append(edges, Edge{U: int32(n - 2), V: int32(n - 1), W: 1}) // a pair on its own
	return FromEdges(n, edges), []int{n - 5, n - 4, n - 3}
}

func layoutMeanDisplacement(a, b [][2]float64) float64 {
	sum := 0.0
	for i := range a {
		sum += math.Hypot(a[i][0]-b[i][0], a[i][1]-b[i][1])
	}
	return sum / float64(len(a))
}

func layoutCheckBox(t *testing.T, pos [][2]float64) {
	t.Helper()
	for i, p := range pos {
		if !(p[0] >= 0 && p[0] <= 1 && p[1] >= 0 && p[1] <= 1) {
			t.Fatalf("node %d at %v, outside [0,1]²", i, p)
		}
	}
}

func TestLayoutDeterministic(t *testing.T) {
	g, _ := layoutPlantedGraph(6, 30, 1)
	a := Layout(g, nil, 42, 200)
	b := Layout(g, nil, 42, 200)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("node %d: %v then %v with the same seed", i, a[i], b[i])
		}
	}
	c := Layout(g, nil, 43, 200)
	if layoutMeanDisplacement(a, c) == 0 {
		t.Errorf("seed 42 and 43 gave identical layouts; the seed is not used")
	}
	t.Run("parallel force pass", func(t *testing.T) {
		// From 512 nodes on, the force pass is split over goroutines; the
		// result must not depend on how many.
		g := layoutRandomGraph(2500, 6000, 3)
		a := Layout(g, nil, 7, 40)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		b := Layout(g, nil, 7, 40)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("node %d: %v then %v", i, a[i], b[i])
			}
		}
	})
}

func TestLayoutInUnitBox(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    *Graph
	}{
		{"empty", FromEdges(0, nil)},
		{"single", FromEdges(1, nil)},
		{"no ties", FromEdges(7, nil)},
		{"pair", FromEdges(2, []Edge{{0, 1, 1}})},
		{"planted", func() *Graph { g, _ := layoutPlantedGraph(4, 20, 5); return g }()},
		{"extreme weights", FromEdges(4, []Edge{{0, 1, math.Inf(1)}, {1, 2, 1}, {2, 3, 1e300}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pos := Layout(tc.g, nil, 1, 100)
			// Previous positions that are not numbers or lie outside the
			// box are ignored or clamped, never propagated.
			bad := Layout(tc.g, [][2]float64{{math.NaN(), 0}, {2, -1}, {math.Inf(1), 0.5}}, 1, 100)
			layoutCheckBox(t, bad)
			if len(pos) != tc.g.N {
				t.Fatalf("got %d positions, want %d", len(pos), tc.g.N)
			}
			layoutCheckBox(t, pos)
			if tc.g.N >= 2 {
				// The longer side spans the whole box.
				var lo, hi [2]float64 = [2]float64{1, 1}, [2]float64{0, 0}
				for _, p := range pos {
					for a := 0; a < 2; a++ {
						lo[a], hi[a] = math.Min(lo[a], p[a]), math.Max(hi[a], p[a])
					}
				}
				if got := math.Max(hi[0]-lo[0], hi[1]-lo[1]); math.Abs(got-1) > 1e-9 {
					t.Errorf("longer side spans %v, want 1", got)
				}
			}
		})
	}
}

func TestLayoutStable(t *testing.T) {
	g := layoutEmailEuCore(t)
	first := Layout(g, nil, 1, 300)
	again := Layout(g, first, 2, 300) // another seed: only prev should matter
	layoutCheckBox(t, again)
	d := layoutMeanDisplacement(first, again)
	t.Logf("mean displacement when recomputed from the previous layout: %.4f", d)
	if d >= 0.05 {
		t.Errorf("mean displacement %.4f, want < 0.05", d)
	}

	t.Run("newcomers", func(t *testing.T) {
		// prev shorter than the graph: the last people are new. The known
		// ones must stay put and the new ones land near their ties.
		known := first[:g.N-50]
		got := Layout(g, known, 3, 300)
		d := layoutMeanDisplacement(known, got[:len(known)])
		t.Logf("mean displacement of known people with 50 newcomers: %.4f", d)
		if d >= 0.05 {
			t.Errorf("mean displacement %.4f, want < 0.05", d)
		}
	})
	t.Run("changed ties", func(t *testing.T) {
		// Drop every 20th tie: the map should still look like the last one.
		var edges []Edge
		for k, e := range g.Edges() {
			if k%20 != 0 {
				edges = append(edges, e)
			}
		}
		got := Layout(FromEdges(g.N, edges), first, 4, 300)
		d := layoutMeanDisplacement(first, got)
		t.Logf("mean displacement after dropping 5%% of ties: %.4f", d)
		if d >= 0.05 {
			t.Errorf("mean displacement %.4f, want < 0.05", d)
		}
	})
}

func TestLayoutNeighboursCloser(t *testing.T) {
	g := layoutEmailEuCore(t)
	pos := Layout(g, nil, 1, 300)
	var tie float64
	for _, e := range g.Edges() {
		tie += math.Hypot(pos[e.U][0]-pos[e.V][0], pos[e.U][1]-pos[e.V][1])
	}
	tie /= float64(g.EdgeCount())
	rng := rand.New(rand.NewPCG(9, 9))
	var random float64
	const pairs = 20000
	for k := 0; k < pairs; k++ {
		a, b := rng.IntN(g.N), rng.IntN(g.N)
		random += math.Hypot(pos[a][0]-pos[b][0], pos[a][1]-pos[b][1])
	}
	random /= pairs
	t.Logf("mean tie length %.4f, mean random pair distance %.4f", tie, random)
	if tie >= 0.7*random {
		t.Errorf("ties average %.4f, random pairs %.4f: want ties clearly shorter", tie, random)
	}

	t.Run("planted groups", func(t *testing.T) {
		g, _ := layoutPlantedGraph(6, 30, 2)
		pos := Layout(g, nil, 1, 300)
		var in, out float64
		var nin, nout int
		for a := 0; a < 180; a++ {
			for b := a + 1; b < 180; b++ {
				d := math.Hypot(pos[a][0]-pos[b][0], pos[a][1]-pos[b][1])
				if a/30 == b/30 {
					in, nin = in+d, nin+1
				} else {
					out, nout = out+d, nout+1
				}
			}
		}
		in, out = in/float64(nin), out/float64(nout)
		t.Logf("within groups %.4f, between groups %.4f", in, out)
		if in >= 0.5*out {
			t.Errorf("within-group distance %.4f not well below between-group %.4f", in, out)
		}
	})
}

func TestLayoutIsolatedStayIn(t *testing.T) {
	g, isolated := layoutPlantedGraph(5, 30, 3)
	pos := Layout(g, nil, 1, 300)
	layoutCheckBox(t, pos)
	// The connected part must not be squeezed into a corner by people who
	// drifted away: it spans most of the box.
	lo, hi := [2]float64{1, 1}, [2]float64{0, 0}
	for i := 0; i < 150; i++ {
		for a := 0; a < 2; a++ {
			lo[a], hi[a] = math.Min(lo[a], pos[i][a]), math.Max(hi[a], pos[i][a])
		}
	}
	if span := math.Max(hi[0]-lo[0], hi[1]-lo[1]); span < 0.6 {
		t.Errorf("connected people span %.3f of the box, want ≥ 0.6 (isolated people flew off?)", span)
	}
	for _, i := range isolated {
		t.Logf("isolated node %d at (%.3f, %.3f)", i, pos[i][0], pos[i][1])
	}

	t.Run("email-Eu-core", func(t *testing.T) {
		g := layoutEmailEuCore(t)
		pos := Layout(g, nil, 1, 300)
		var lone []int
		for i := 0; i < g.N; i++ {
			if g.Degree(i) == 0 {
				lone = append(lone, i)
			}
		}
		lo, hi := [2]float64{1, 1}, [2]float64{0, 0}
		for i := 0; i < g.N; i++ {
			if g.Degree(i) == 0 {
				continue
			}
			for a := 0; a < 2; a++ {
				lo[a], hi[a] = math.Min(lo[a], pos[i][a]), math.Max(hi[a], pos[i][a])
			}
		}
		span := math.Max(hi[0]-lo[0], hi[1]-lo[1])
		t.Logf("%d isolated people; connected people span %.3f of the box", len(lone), span)
		if span < 0.6 {
			t.Errorf("connected people span %.3f, want ≥ 0.6", span)
		}
	})
}

func TestLayoutComponentsPacked(t *testing.T) {
	// A main group of 60, a separate group of 40, a chain of 5 and 10 people
	// with no tie.
	rng := rand.New(rand.NewPCG(1, 1))
	var edges []Edge
	group := func(lo, hi int) {
		for a := lo; a < hi; a++ {
			for b := a + 1; b < hi; b++ {
				if rng.Float64() < 0.15 {
					edges = append(edges, Edge{U: int32(a), V: int32(b), W: 1})
				}
			}
		}
	}
	group(0, 60)
	group(60, 100)
	for i := 100; i < 104; i++ {
		edges = append(edges, Edge{U: int32(i), V: int32(i + 1), W: 1})
	}
	g := FromEdges(115, edges)
	pos := Layout(g, nil, 1, 300)
	layoutCheckBox(t, pos)
	disc := func(lo, hi int) (cx, cy, r float64) {
		for i := lo; i < hi; i++ {
			cx, cy = cx+pos[i][0], cy+pos[i][1]
		}
		cx, cy = cx/float64(hi-lo), cy/float64(hi-lo)
		for i := lo; i < hi; i++ {
			r += math.Hypot(pos[i][0]-cx, pos[i][1]-cy)
		}
		return cx, cy, 1.5 * r / float64(hi-lo)
	}
	ax, ay, ar := disc(0, 60)
	bx, by, br := disc(60, 100)
	if d := math.Hypot(ax-bx, ay-by); d < 0.8*(ar+br) {
		t.Errorf("groups overlap: centres %.3f apart, radii %.3f and %.3f", d, ar, br)
	}
	for i := 100; i < 104; i++ {
		if d := math.Hypot(pos[i][0]-pos[i+1][0], pos[i][1]-pos[i+1][1]); d > 0.15 {
			t.Errorf("chain tie %d–%d is %.3f long: the chain was torn apart", i, i+1, d)
		}
	}
	for i := 105; i < 115; i++ {
		if d := math.Hypot(pos[i][0]-ax, pos[i][1]-ay); d > 1.6*ar {
			t.Errorf("isolated node %d is %.3f from the main group's centre (radius %.3f)", i, d, ar)
		}
	}
}

func TestLayoutTiming(t *testing.T) {
	g := layoutEmailEuCore(t)
	start := time.Now()
	pos := Layout(g, nil, 1, DefaultLayoutIterations)
	took := time.Since(start)
	t.Logf("email-Eu-core: %d nodes, %d ties, %d iterations: %v", g.N, g.EdgeCount(), DefaultLayoutIterations, took)
	if took > 2*time.Second && !layoutRace() {
		t.Errorf("layout took %v, want well under 2 s", took)
	}
	start = time.Now()
	Layout(g, pos, 1, DefaultLayoutIterations)
	t.Logf("email-Eu-core warm start: %v", time.Since(start))
	if p := os.Getenv("LAYOUT_PNG"); p != "" {
		layoutWritePNG(t, p, g, pos, layoutDepartments(t, g.N))
	}

	if testing.Short() || layoutRace() {
		t.Skip("10,000-node layout skipped in -short and under the race detector")
	}
	big := layoutRandomGraph(10000, 200000, 1)
	start = time.Now()
	pos = Layout(big, nil, 1, DefaultLayoutIterations)
	t.Logf("random graph: %d nodes, %d ties, %d iterations: %v", big.N, big.EdgeCount(), DefaultLayoutIterations, time.Since(start))
	layoutCheckBox(t, pos)
}

func TestCommunityLayout(t *testing.T) {
	sizes := []int{120, 80, 40, 10, 5, 5, 200}
	ties := [][3]float64{{0, 1, 30}, {1, 2, 5}, {2, 3, 1}, {0, 6, 50}, {4, 5, 2}}
	a := CommunityLayout(len(sizes), ties, sizes, 1)
	b := CommunityLayout(len(sizes), ties, sizes, 1)
	if len(a) != len(sizes) {
		t.Fatalf("got %d positions, want %d", len(a), len(sizes))
	}
	layoutCheckBox(t, a)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("community %d: %v then %v with the same seed", i, a[i], b[i])
		}
	}
	dist := func(i, j int) float64 { return math.Hypot(a[i][0]-a[j][0], a[i][1]-a[j][1]) }
	// Strongly tied communities sit closer than untied ones.
	if dist(0, 6) >= dist(3, 6) {
		t.Errorf("0–6 (tie 50) at %.3f, 3–6 (no tie) at %.3f: want the tied pair closer", dist(0, 6), dist(3, 6))
	}
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			if dist(i, j) < 0.02 {
				t.Errorf("communities %d and %d overlap (%.3f apart)", i, j, dist(i, j))
			}
		}
	}
	if got := CommunityLayout(0, nil, nil, 1); len(got) != 0 {
		t.Errorf("no communities: got %v", got)
	}
}

// layoutWritePNG draws a layout for a person to look at (LAYOUT_PNG=file).
func layoutWritePNG(t *testing.T, path string, g *Graph, pos [][2]float64, group []int) {
	t.Helper()
	const size = 900
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	at := func(p [2]float64) (int, int) { return int(20 + p[0]*(size-40)), int(20 + p[1]*(size-40)) }
	for _, e := range g.Edges() {
		x0, y0 := at(pos[e.U])
		x1, y1 := at(pos[e.V])
		steps := max(layoutAbs(x1-x0), layoutAbs(y1-y0), 1)
		for s := 0; s <= steps; s++ {
			x, y := x0+(x1-x0)*s/steps, y0+(y1-y0)*s/steps
			c := img.RGBAAt(x, y)
			if c.R > 40 {
				c.R, c.G, c.B = c.R-12, c.G-12, c.B-8
			}
			img.SetRGBA(x, y, c)
		}
	}
	for i, p := range pos {
		x, y := at(p)
		rgb := CommunityRGB(group[i])
		col := color.RGBA{rgb[0], rgb[1], rgb[2], 255}
		if g.Degree(i) == 0 {
			col = color.RGBA{0, 0, 0, 255}
		}
		for dx := -2; dx <= 2; dx++ {
			for dy := -2; dy <= 2; dy++ {
				img.SetRGBA(x+dx, y+dy, col)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// layoutRace reports whether the test binary was built with -race, which
// slows the kernels tenfold and makes timings meaningless.
func layoutRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// layoutDepartments colours the picture by the dataset's departments (the
// community column of people.csv), the ground truth a layout should show.
func layoutDepartments(t *testing.T, n int) []int {
	t.Helper()
	out := make([]int, n)
	f, err := os.Open(filepath.Join("..", "demo", "data", "people.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, r := range rows[1:] {
		id, _ := strconv.Atoi(r[0])
		if _, ok := ids[r[5]]; !ok {
			ids[r[5]] = len(ids)
		}
		if id < n {
			out[id] = ids[r[5]]
		}
	}
	return out
}

func layoutAbs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
