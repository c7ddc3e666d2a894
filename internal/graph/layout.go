package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// The layout is a Fruchterman–Reingold style force simulation: every tie pulls
// its ends together with d²/k (scaled by the tie's weight), every pair of
// people pushes apart with k²·mᵢ·mⱼ/d, and a linear pull toward the centre
// (gravity, g·mᵢ·r) holds the picture together. Masses are degree+1, as in
// ForceAtlas2: a hub pushes harder, so its many ties get room instead of
// collapsing into a knot, and a node moves by its force per unit of mass.
//
// Gravity matters: with repulsion between all pairs, a harmonic pull exactly
// balances the far-field push of a uniform crowd, so nothing drifts off and
// squeezes the rest into a corner once positions are normalised. People with
// no tie (and small separate components) are also held at the rim of the main
// component by pack, or they would float in a ring well outside it.
//
// Repulsion between all pairs is approximated on a pyramid of square grids
// (a fixed-depth quadtree): a node meets the people in its own and the eight
// adjacent finest cells one by one, and everything further away as the mass
// and centroid of grid cells, taking at each coarser level only the cells that
// the finer level did not cover (the usual interaction list: children of the
// parent's neighbours that are not the cell's own neighbours). That is O(n log
// n) per iteration, versus O(n²) exact, and it is deterministic: each node's
// force is a sum in a fixed order, so the result does not depend on how the
// work is split between goroutines.
//
// Stability between snapshots comes from three things: a warm start at the
// size where the stored picture is in balance (virialScale), a bounded travel
// for people who were already on the map (layoutBudget), and a final rotation
// back onto their old places (align).

const (
	layoutK       = 1.0  // ideal edge length, internal units
	layoutGravity = 1.0  // strength of the pull toward the centre
	layoutMinD2   = 1e-4 // softening: nodes closer than 0.01·k push as if at 0.01·k
	// layoutHot is the first step's limit on a cold start, as a share of
	// rNat (where the far field holds a lone node). Large on purpose: a step
	// is min(force, temperature), so a high ceiling lets the early steps
	// follow the forces fully and the slow, global rearrangements finish
	// within the iterations; a timid start leaves a picture that is still
	// moving when it is stored, and the next snapshot would finish the move.
	layoutHot = 0.5
	// layoutBudget bounds how far, as a share of the picture, a node with a
	// previous position may travel in one run, whatever the iterations: a
	// person whose ties changed drifts toward the new ones over a few
	// snapshots rather than jumping across the map.
	layoutBudget = 0.1
	// DefaultLayoutIterations is what Layout runs when given iterations ≤ 0.
	DefaultLayoutIterations = 300
)

// Layout computes positions for g's nodes, normalised to 0..1 on both axes (the
// longer side spans exactly 0..1, the shorter is centred; aspect is kept so
// distances mean the same in both directions).
//
// It is deterministic for a given graph, prev, seed and iterations, and stable
// between snapshots: a node i < len(prev) with finite prev[i] starts from that
// position and moves little unless its ties changed, so a recomputed map looks
// like the last one. A node without a previous position starts near the
// weighted mean of its already-placed neighbours, or at a seeded random spot.
func Layout(g *Graph, prev [][2]float64, seed uint64, iterations int) [][2]float64 {
	mass := make([]float64, g.N)
	for i := range mass {
		mass[i] = float64(g.Degree(i) + 1)
	}
	return layout(g, prev, mass, seed, iterations)
}

// CommunityLayout lays out the community map: n communities, ties between them
// as (a, b, weight) and each community's size. Bigger communities push their
// neighbours further away (repulsion scaled by sqrt(size)), so the circles the
// map draws for them have room; positions are normalised to 0..1 as in Layout.
func CommunityLayout(n int, ties [][3]float64, sizes []int, seed uint64) [][2]float64 {
	edges := make([]Edge, 0, len(ties))
	for _, t := range ties {
		edges = append(edges, Edge{U: int32(t[0]), V: int32(t[1]), W: t[2]})
	}
	g := FromEdges(n, edges)
	mass := make([]float64, n)
	total := 0.0
	for i := range mass {
		s := 1
		if i < len(sizes) && sizes[i] > 1 {
			s = sizes[i]
		}
		mass[i] = math.Sqrt(float64(s))
		total += mass[i]
	}
	for i := range mass { // mean mass 1 keeps the scale of Layout
		mass[i] *= float64(n) / total
	}
	return layout(g, nil, mass, seed, 500)
}

type layoutSim struct {
	g       *Graph
	n       int
	x, y    []float64
	x0, y0  []float64 // starting positions, for align
	fx, fy  []float64
	mass    []float64 // how hard a node pushes; Layout uses degree+1
	inertia []float64 // what its ties' pull is divided by: mass, before pack's floor
	wf      []float64 // per CSR entry: attraction factor from the tie weight
	tscale  []float64 // per node: how far it may move relative to the temperature
	cx, cy  float64   // centre of gravity's pull

	// Components: nodes outside the largest one get an extra pull on their
	// component's centroid (see pack).
	comp         []int32
	compN        []int
	main         int32
	rNat         float64   // where the far field would hold a lone node
	cm, csx, csy []float64 // per component: members, then centroid
	crad         []float64 // per component: radius
	cax, cay     []float64 // extra acceleration per component

	depth int // finest level of the pyramid; 2^depth cells per side
	// pyramid[l] holds, for each cell of level l (row-major, 2^l per side),
	// the mass and mass-weighted coordinate sums.
	pm, psx, psy [][]float64 // psx, psy become centroids once a level is summed
	// Positions and masses copied in cell order, so the near-field loop reads
	// memory in sequence; rank[i] is node i's place in that order.
	ox, oy, om []float64
	rank       []int32
	start      []int32 // finest cell c holds order[start[c]:start[c+1]]
	order      []int32
	cellOf     []int32
}

func layout(g *Graph, prev [][2]float64, mass []float64, seed uint64, iterations int) [][2]float64 {
	n := g.N
	out := make([][2]float64, n)
	if n == 0 {
		return out
	}
	if n == 1 {
		out[0] = [2]float64{0.5, 0.5}
		return out
	}
	if iterations <= 0 {
		iterations = DefaultLayoutIterations
	}
	s := &layoutSim{
		g: g, n: n, mass: mass,
		x: make([]float64, n), y: make([]float64, n),
		fx: make([]float64, n), fy: make([]float64, n),
		tscale: make([]float64, n),
		cellOf: make([]int32, n), order: make([]int32, n),
		ox: make([]float64, n), oy: make([]float64, n), om: make([]float64, n),
		rank: make([]int32, n),
	}
	s.weights()
	s.components()
	// People outside the main component have few or no ties, so a mass of
	// degree+1 would let them pile onto one spot beside it (they would push
	// each other 30 times less than they are pushed by the crowd). Giving
	// them the crowd's typical mass as they push spaces them like everyone
	// else; their ties still pull them by their own mass (inertia), or a
	// small separate chain would be torn apart by the crowd's push.
	s.inertia = s.mass
	if len(s.compN) > 1 {
		s.mass = slices.Clone(s.mass)
		typical := 0.0
		for i, m := range s.mass {
			if s.comp[i] == s.main {
				typical += m
			}
		}
		typical /= float64(s.compN[s.main])
		for i, m := range s.mass {
			if s.comp[i] != s.main && m < typical {
				s.mass[i] = typical
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	total := 0.0
	for _, m := range s.mass {
		total += m
	}
	s.rNat = layoutK * math.Sqrt(total/layoutGravity)
	warm, extent := s.place(prev, rng)
	s.x0, s.y0 = slices.Clone(s.x), slices.Clone(s.y)

	// Temperature: how far a node may move in one step. It falls from hot to
	// almost nothing; people already on the map move on a scale of their own
	// whose sum over the run is layoutBudget of the picture, while newcomers
	// travel freely to their place.
	hot := layoutHot * s.rNat
	cool := 3 * layoutBudget * extent / float64(iterations)
	for i := range s.tscale {
		s.tscale[i] = 1
		if warm[i] {
			s.tscale[i] = cool / hot
		}
	}
	s.depth = 0
	for (1<<(2*(s.depth+1))) <= n && s.depth < 10 { // about one node per finest cell
		s.depth++
	}
	s.alloc()

	workers := 1
	if n >= 512 { // below this the goroutines cost more than they save
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	for it := 0; it < iterations; it++ {
		f := float64(it) / float64(iterations)
		t := hot*(1-f)*(1-f) + 0.01*layoutK
		s.build()
		s.pack()
		s.forces(workers)
		for i := 0; i < n; i++ {
			fx, fy := s.fx[i], s.fy[i]
			d := math.Sqrt(fx*fx + fy*fy)
			if d == 0 || math.IsNaN(d) {
				continue
			}
			step := math.Min(d, t*s.tscale[i])
			s.x[i] += fx / d * step
			s.y[i] += fy / d * step
		}
	}
	s.align(warm)
	return s.normalise(out)
}

// weights turns tie weights into attraction factors relative to the mean tie,
// compressed (square root) and clamped so one very strong tie cannot collapse
// a pair onto itself and weak ties still hold.
func (s *layoutSim) weights() {
	g := s.g
	s.wf = make([]float64, len(g.W))
	if len(g.W) == 0 {
		return
	}
	sum := 0.0
	for _, w := range g.W {
		sum += w
	}
	mean := sum / float64(len(g.W))
	for k, w := range g.W {
		v := math.Sqrt(w / mean)
		if math.IsNaN(v) { // an infinite weight somewhere: treat ties alike
			v = 1
		}
		s.wf[k] = math.Min(math.Max(v, 0.2), 5)
	}
}

// place sets the starting positions, reports which nodes had one before and
// returns the size of the starting picture. Positions are first set in unit
// coordinates (as stored, centred on 0) and then scaled to the size at which
// they are in balance (virialScale): the known nodes decide it on a warm
// start, everyone on a cold one.
func (s *layoutSim) place(prev [][2]float64, rng *rand.Rand) ([]bool, float64) {
	n := s.n
	placed := make([]bool, n)
	warm := make([]bool, n)
	anyWarm := false
	for i := 0; i < n && i < len(prev); i++ {
		p := prev[i]
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
			continue
		}
		s.x[i] = clamp01(p[0]) - 0.5
		s.y[i] = clamp01(p[1]) - 0.5
		placed[i], warm[i], anyWarm = true, true, true
	}
	// Newcomers next to placed neighbours, repeatedly, so a chain of new
	// people grows out of the known part of the map rather than appearing at
	// random; the jitter separates people who share all their neighbours.
	for anyWarm {
		progress := false
		for i := 0; i < n; i++ {
			if placed[i] {
				continue
			}
			adj, _ := s.g.Neighbours(i)
			w := s.wf[s.g.Off[i]:s.g.Off[i+1]] // tamed weights: no Inf/Inf
			var sx, sy, sw float64
			for k, j := range adj {
				if placed[j] {
					sx += s.x[j] * w[k]
					sy += s.y[j] * w[k]
					sw += w[k]
				}
			}
			if sw == 0 {
				continue
			}
			s.x[i] = sx/sw + (rng.Float64()-0.5)*0.01
			s.y[i] = sy/sw + (rng.Float64()-0.5)*0.01
			placed[i] = true
			progress = true
		}
		if !progress {
			break
		}
	}
	for i := 0; i < n; i++ {
		if !placed[i] {
			s.x[i] = rng.Float64() - 0.5
			s.y[i] = rng.Float64() - 0.5
		}
	}
	basis := warm
	if !anyWarm {
		basis = placed
		for i := range basis {
			basis[i] = true
		}
	}
	scale := s.virialScale(basis, s.rNat)
	for i := 0; i < n; i++ {
		s.x[i] = s.cx + s.x[i]*scale
		s.y[i] = s.cy + s.y[i]*scale
	}
	return warm, scale
}

// virialScale finds the size at which the previous picture (unit
// coordinates in s.x, s.y for the warm nodes) is in balance, so that a warm
// start neither swells nor shrinks: the positions were normalised when they
// were stored, and starting them at the wrong size would make every node move
// and blur the map people know. At rest the virial Σ Fᵢ·pᵢ is zero; with
// pair repulsion k²·mᵢmⱼ/d its part is k²·Σᵢ<ⱼ mᵢmⱼ whatever the size S, the
// ties give −S³·Σ w·|qᵢ−qⱼ|³/k and gravity −S²·g·Σ mᵢ|qᵢ|², so S is the one
// positive root, found by bisection.
func (s *layoutSim) virialScale(warm []bool, fallback float64) float64 {
	var sum, sum2, grav, ties float64
	var cx, cy, cw float64
	for i, ok := range warm {
		if ok {
			cx += s.mass[i] * s.x[i]
			cy += s.mass[i] * s.y[i]
			cw += s.mass[i]
		}
	}
	if cw == 0 {
		return fallback
	}
	cx, cy = cx/cw, cy/cw
	for i, ok := range warm {
		if !ok {
			continue
		}
		m := s.mass[i]
		sum += m
		sum2 += m * m
		dx, dy := s.x[i]-cx, s.y[i]-cy
		grav += layoutGravity * m * (dx*dx + dy*dy)
		adj := s.g.Adj[s.g.Off[i]:s.g.Off[i+1]]
		for k, j := range adj {
			if int(j) > i && warm[j] {
				d := math.Hypot(s.x[i]-s.x[j], s.y[i]-s.y[j])
				ties += s.wf[int(s.g.Off[i])+k] * d * d * d / layoutK
			}
		}
	}
	rep := layoutK * layoutK * (sum*sum - sum2) / 2
	if rep <= 0 || (grav <= 0 && ties <= 0) {
		return fallback
	}
	f := func(S float64) float64 { return rep - ties*S*S*S - grav*S*S }
	hi := fallback
	for f(hi) > 0 {
		hi *= 2
	}
	lo := 0.0
	for it := 0; it < 60; it++ {
		mid := (lo + hi) / 2
		if f(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func clamp01(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

func (s *layoutSim) alloc() {
	s.pm = make([][]float64, s.depth+1)
	s.psx = make([][]float64, s.depth+1)
	s.psy = make([][]float64, s.depth+1)
	for l := 0; l <= s.depth; l++ {
		c := 1 << (2 * l)
		s.pm[l] = make([]float64, c)
		s.psx[l] = make([]float64, c)
		s.psy[l] = make([]float64, c)
	}
	s.start = make([]int32, (1<<(2*s.depth))+1)
}

func (s *layoutSim) m(i int) float64 { return s.mass[i] }

// build bins the nodes into the finest grid over their bounding square and
// sums masses and centroids up the pyramid.
func (s *layoutSim) build() {
	n, side := s.n, 1<<s.depth
	minX, maxX, minY, maxY := s.x[0], s.x[0], s.y[0], s.y[0]
	for i := 1; i < n; i++ {
		minX, maxX = math.Min(minX, s.x[i]), math.Max(maxX, s.x[i])
		minY, maxY = math.Min(minY, s.y[i]), math.Max(maxY, s.y[i])
	}
	span := math.Max(math.Max(maxX-minX, maxY-minY), 1e-9) * (1 + 1e-9)
	cell := span / float64(side)

	D := s.depth
	pm, psx, psy := s.pm[D], s.psx[D], s.psy[D]
	clear(pm)
	clear(psx)
	clear(psy)
	clear(s.start)
	for i := 0; i < n; i++ {
		cx := min(int((s.x[i]-minX)/cell), side-1)
		cy := min(int((s.y[i]-minY)/cell), side-1)
		c := cy*side + cx
		s.cellOf[i] = int32(c)
		s.start[c+1]++
		m := s.m(i)
		pm[c] += m
		psx[c] += m * s.x[i]
		psy[c] += m * s.y[i]
	}
	for c := 0; c < side*side; c++ {
		s.start[c+1] += s.start[c]
	}
	// Counting sort by cell, stable in node order.
	next := make([]int32, side*side)
	copy(next, s.start[:side*side])
	for i := 0; i < n; i++ {
		c := s.cellOf[i]
		s.order[next[c]] = int32(i)
		next[c]++
	}
	for k, i := range s.order {
		s.ox[k], s.oy[k], s.om[k] = s.x[i], s.y[i], s.mass[i]
		s.rank[i] = int32(k)
	}
	for l := D - 1; l >= 0; l-- {
		cs, fs := 1<<l, 1<<(l+1)
		pm, psx, psy := s.pm[l], s.psx[l], s.psy[l]
		fm, fsx, fsy := s.pm[l+1], s.psx[l+1], s.psy[l+1]
		for cy := 0; cy < cs; cy++ {
			for cx := 0; cx < cs; cx++ {
				c := cy*cs + cx
				a, b := (2*cy)*fs+2*cx, (2*cy+1)*fs+2*cx
				pm[c] = fm[a] + fm[a+1] + fm[b] + fm[b+1]
				psx[c] = fsx[a] + fsx[a+1] + fsx[b] + fsx[b+1]
				psy[c] = fsy[a] + fsy[a+1] + fsy[b] + fsy[b+1]
			}
		}
	}
	// Sums to centroids, once per cell rather than once per visit.
	for l := 0; l <= D; l++ {
		pm, psx, psy := s.pm[l], s.psx[l], s.psy[l]
		for c, m := range pm {
			if m > 0 {
				psx[c] /= m
				psy[c] /= m
			}
		}
	}
}

// forces computes every node's net force, split over workers by node ranges.
func (s *layoutSim) forces(workers int) {
	if workers <= 1 {
		s.forceRange(0, s.n)
		return
	}
	var wg sync.WaitGroup
	chunk := (s.n + workers - 1) / workers
	for lo := 0; lo < s.n; lo += chunk {
		hi := min(lo+chunk, s.n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.forceRange(lo, hi)
		}()
	}
	wg.Wait()
}

func (s *layoutSim) forceRange(lo, hi int) {
	const k2 = layoutK * layoutK
	D, side := s.depth, 1<<s.depth
	for i := lo; i < hi; i++ {
		xi, yi := s.x[i], s.y[i]
		var fx, fy float64
		c := int(s.cellOf[i])
		cx, cy := c%side, c/side

		// Near field: people in the 3×3 finest cells, one by one.
		self := int(s.rank[i])
		for y := max(cy-1, 0); y <= min(cy+1, side-1); y++ {
			lo := int(s.start[y*side+max(cx-1, 0)])
			hi := int(s.start[y*side+min(cx+1, side-1)+1])
			// The cells of one row are adjacent in the order: one run.
			ox, oy, om := s.ox[lo:hi], s.oy[lo:hi], s.om[lo:hi]
			for k := range ox {
				dx, dy := xi-ox[k], yi-oy[k]
				d2 := dx*dx + dy*dy
				if d2 < layoutMinD2 {
					if lo+k == self {
						continue
					}
					// Same spot: push apart along a direction fixed by the
					// pair, so the result stays deterministic.
					j := int(s.order[lo+k])
					a := float64((i*7919+j*104729)%360) * math.Pi / 180
					dx, dy = math.Cos(a)*0.01, math.Sin(a)*0.01
					d2 = layoutMinD2
				}
				f := k2 * om[k] / d2
				fx += dx * f
				fy += dy * f
			}
		}
		// Far field: grid cells as point masses, level by level.
		ax, ay := cx, cy
		for l := D; l >= 1; l-- {
			cs := 1 << l
			pm, pcx, pcy := s.pm[l], s.psx[l], s.psy[l]
			px, py := ax>>1, ay>>1
			for y := max(2*(py-1), 0); y <= min(2*(py+1)+1, cs-1); y++ {
				for x := max(2*(px-1), 0); x <= min(2*(px+1)+1, cs-1); x++ {
					if x >= ax-1 && x <= ax+1 && y >= ay-1 && y <= ay+1 {
						continue
					}
					cc := y*cs + x
					m := pm[cc]
					if m == 0 {
						continue
					}
					dx, dy := xi-pcx[cc], yi-pcy[cc]
					d2 := dx*dx + dy*dy
					if d2 < layoutMinD2 {
						d2 = layoutMinD2
					}
					f := k2 * m / d2
					fx += dx * f
					fy += dy * f
				}
			}
			ax, ay = px, py
		}
		// Ties pull with d²/k, i.e. (pj−pi)·d/k. Everything here is per
		// unit of the node's mass (repulsion m_i·m_j, gravity m_i), so the
		// pull of the ties is divided by it.
		adj := s.g.Adj[s.g.Off[i]:s.g.Off[i+1]]
		wf := s.wf[s.g.Off[i]:s.g.Off[i+1]]
		var ax2, ay2 float64
		for k, j := range adj {
			dx, dy := s.x[j]-xi, s.y[j]-yi
			d := math.Sqrt(dx*dx + dy*dy)
			f := d / layoutK * wf[k]
			ax2 += dx * f
			ay2 += dy * f
		}
		mi := s.inertia[i]
		fx += ax2/mi - layoutGravity*(xi-s.cx) + s.cax[s.comp[i]]
		fy += ay2/mi - layoutGravity*(yi-s.cy) + s.cay[s.comp[i]]
		s.fx[i], s.fy[i] = fx, fy
	}
}

// components labels the connected components and picks the largest (by
// node count, the first on ties) as the main one.
func (s *layoutSim) components() {
	s.comp = make([]int32, s.n)
	for i := range s.comp {
		s.comp[i] = -1
	}
	stack := make([]int32, 0, 64)
	var nc int32
	for r := 0; r < s.n; r++ {
		if s.comp[r] >= 0 {
			continue
		}
		size := 0
		s.comp[r] = nc
		stack = append(stack[:0], int32(r))
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			adj, _ := s.g.Neighbours(int(u))
			for _, v := range adj {
				if s.comp[v] < 0 {
					s.comp[v] = nc
					stack = append(stack, v)
				}
			}
		}
		s.compN = append(s.compN, size)
		if size > s.compN[s.main] {
			s.main = nc
		}
		nc++
	}
	s.cm = make([]float64, nc)
	s.csx = make([]float64, nc)
	s.csy = make([]float64, nc)
	s.cax = make([]float64, nc)
	s.crad = make([]float64, nc)
	s.cay = make([]float64, nc)
}

// pack holds the other components against the main one. A person with no tie
// is held only by gravity against the push of everyone else, which balances
// at rNat, while ties pull the main component well inside that radius: left
// alone, isolated people would float in a ring far outside the map and, once
// positions are normalised, shrink it. So each other component is pulled by a
// spring toward the rim of the main component, applied to its centroid (the
// same acceleration for all its members, so it moves whole without being
// squashed).
func (s *layoutSim) pack() {
	clear(s.cax)
	clear(s.cay)
	if len(s.compN) < 2 || s.compN[s.main] < 2 {
		return
	}
	clear(s.cm)
	clear(s.csx)
	clear(s.csy)
	clear(s.crad)
	for i := 0; i < s.n; i++ {
		c := s.comp[i]
		s.cm[c]++
		s.csx[c] += s.x[i]
		s.csy[c] += s.y[i]
	}
	for c := range s.cm {
		s.csx[c] /= s.cm[c]
		s.csy[c] /= s.cm[c]
	}
	// Each component's radius: 1.5 × its members' mean distance from its
	// centroid (exact for a uniform disc), which a few long arms cannot
	// inflate the way the farthest member would.
	for i := 0; i < s.n; i++ {
		c := s.comp[i]
		s.crad[c] += math.Hypot(s.x[i]-s.csx[c], s.y[i]-s.csy[c])
	}
	for c := range s.crad {
		s.crad[c] = 1.5 * s.crad[c] / s.cm[c]
	}
	mx, my := s.csx[s.main], s.csy[s.main]
	rim := s.crad[s.main] + layoutK
	// A spring toward the rim, not a pull toward the centre: at the rim it
	// adds nothing, so it does not squeeze the isolated people into one
	// clump (a central pull converges and presses neighbours together).
	// Its stiffness leaves them about 5% of the rim outside it, where the
	// spring meets the excess of the far-field push over gravity.
	if rim >= s.rNat {
		return
	}
	stiff := 20 * layoutGravity * (s.rNat*s.rNat - rim*rim) / (rim * rim)
	for c := range s.cm {
		if int32(c) == s.main {
			continue
		}
		// The spring's rest length keeps the whole component outside the
		// rim: pressed against it, a big one would be squashed into a
		// crescent round the main one.
		dx, dy := s.csx[c]-mx, s.csy[c]-my
		r := math.Hypot(dx, dy)
		if r == 0 {
			continue
		}
		a := -stiff * (r - rim - s.crad[c]) / r
		s.cax[c], s.cay[c] = a*dx, a*dy
	}
}

// align turns and shifts the picture back onto the known nodes' starting
// places (the rotation and translation that fit best in least squares,
// never a mirror image). Forces only fix a layout up to a rotation, and the
// grid approximation lets it turn slowly; without this a recomputed map
// could come back rotated though nobody moved.
func (s *layoutSim) align(warm []bool) {
	var n, ax, ay, bx, by float64
	for i, ok := range warm {
		if ok {
			n++
			ax += s.x0[i]
			ay += s.y0[i]
			bx += s.x[i]
			by += s.y[i]
		}
	}
	if n < 2 {
		return
	}
	ax, ay, bx, by = ax/n, ay/n, bx/n, by/n
	var dot, cross float64
	for i, ok := range warm {
		if ok {
			px, py := s.x[i]-bx, s.y[i]-by
			qx, qy := s.x0[i]-ax, s.y0[i]-ay
			dot += px*qx + py*qy
			cross += px*qy - py*qx
		}
	}
	if dot == 0 && cross == 0 {
		return
	}
	th := math.Atan2(cross, dot)
	c, sn := math.Cos(th), math.Sin(th)
	for i := range s.x {
		px, py := s.x[i]-bx, s.y[i]-by
		s.x[i] = ax + c*px - sn*py
		s.y[i] = ay + sn*px + c*py
	}
}

// normalise maps the positions onto 0..1, keeping the aspect ratio.
func (s *layoutSim) normalise(out [][2]float64) [][2]float64 {
	minX, maxX, minY, maxY := s.x[0], s.x[0], s.y[0], s.y[0]
	for i := 1; i < s.n; i++ {
		minX, maxX = math.Min(minX, s.x[i]), math.Max(maxX, s.x[i])
		minY, maxY = math.Min(minY, s.y[i]), math.Max(maxY, s.y[i])
	}
	span := math.Max(maxX-minX, maxY-minY)
	if !(span > 0) {
		for i := range out {
			out[i] = [2]float64{0.5, 0.5}
		}
		return out
	}
	ox := (1 - (maxX-minX)/span) / 2
	oy := (1 - (maxY-minY)/span) / 2
	for i := range out {
		out[i] = [2]float64{
			clamp01(ox + (s.x[i]-minX)/span),
			clamp01(oy + (s.y[i]-minY)/span),
		}
	}
	return out
}
