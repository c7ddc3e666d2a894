package graph

import (
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
)

// Thresholds for the derived metrics. They are constants, not settings, so
// that snapshots taken at different times stay comparable.
const (
	// SiloEI: a community whose E-I index is below this is a silo. −0.5 means
	// its internal tie weight is more than three times its external tie
	// weight ((E−I)/(E+I) < −0.5 ⇔ I > 3E).
	SiloEI = -0.5
	// BrokerTopShare: brokers come from this top share of betweenness.
	BrokerTopShare = 0.10
	// BrokerMinOtherCommunities: a broker's neighbours must reach at least this
	// many communities other than its own.
	BrokerMinOtherCommunities = 2
	// PeripheralShare: people with ties whose strength is in this bottom share
	// are peripheral (as is anyone with a single tie).
	PeripheralShare = 0.05
)

// Degrees returns each node's number of neighbours.
func Degrees(g *Graph) []int {
	d := make([]int, g.N)
	for u := range d {
		d[u] = int(g.Off[u+1] - g.Off[u])
	}
	return d
}

// Strengths returns each node's weighted degree: the summed weight of its ties.
func Strengths(g *Graph) []float64 {
	s := make([]float64, g.N)
	for u := range s {
		sum := 0.0
		for k := g.Off[u]; k < g.Off[u+1]; k++ {
			sum += g.W[k]
		}
		s[u] = sum
	}
	return s
}

// CommunityStats describes one community of a partition.
type CommunityStats struct {
	ID       int
	Size     int
	Internal float64 // weight of ties with both ends inside, each tie once
	External float64 // weight of ties with exactly one end inside
	// EI is Krackhardt and Stern's E-I index (E−I)/(E+I) on tie weights: −1
	// for a community that only talks to itself, +1 for one whose ties all
	// leave it; 0 when it has no ties at all.
	EI float64
	// Silo: at least two members, some ties, and EI below SiloEI. A lone or
	// tie-less person is "isolated", not a silo.
	Silo bool
	Ties map[int]float64 // weight of ties to each other community, by ID
}

// CommunityStatsOf returns the statistics of each community of comm, whose
// labels must be dense ids 0..k−1 (as Louvain returns); result[c].ID == c.
func CommunityStatsOf(g *Graph, comm []int32) []CommunityStats {
	k := 0
	for _, c := range comm {
		k = max(k, int(c)+1)
	}
	out := make([]CommunityStats, k)
	for c := range out {
		out[c].ID = c
	}
	for u := 0; u < g.N; u++ {
		cu := comm[u]
		st := &out[cu]
		st.Size++
		for j := g.Off[u]; j < g.Off[u+1]; j++ {
			cv, w := comm[g.Adj[j]], g.W[j]
			if cv == cu {
				st.Internal += w / 2 // seen from both ends
				continue
			}
			st.External += w
			if st.Ties == nil {
				st.Ties = make(map[int]float64)
			}
			st.Ties[int(cv)] += w
		}
	}
	for c := range out {
		st := &out[c]
		if t := st.External + st.Internal; t > 0 {
			st.EI = (st.External - st.Internal) / t
			st.Silo = st.Size >= 2 && st.EI < SiloEI
		}
	}
	return out
}

// Brokers marks the people who connect communities: their betweenness is in
// the top BrokerTopShare of all nodes (and above zero), and their neighbours
// belong to at least BrokerMinOtherCommunities communities besides their own.
// High betweenness alone also picks the centre of one big community; asking
// that the ties cross community lines keeps the people information actually
// flows through between groups.
func Brokers(g *Graph, bc []float64, comm []int32) []bool {
	n := g.N
	out := make([]bool, n)
	if n == 0 {
		return out
	}
	sorted := slices.Clone(bc)
	slices.Sort(sorted)
	top := max(1, int(float64(n)*BrokerTopShare))
	threshold := sorted[n-top]
	k := 0
	for _, c := range comm {
		k = max(k, int(c)+1)
	}
	stamp := make([]int32, k) // stamp[c] == u+1: community c already counted for u
	for u := 0; u < n; u++ {
		if bc[u] <= 0 || bc[u] < threshold {
			continue
		}
		others := 0
		for j := g.Off[u]; j < g.Off[u+1]; j++ {
			c := comm[g.Adj[j]]
			if c != comm[u] && stamp[c] != int32(u+1) {
				stamp[c] = int32(u + 1)
				others++
			}
		}
		out[u] = others >= BrokerMinOtherCommunities
	}
	return out
}

// Isolated marks the people with no ties.
func Isolated(g *Graph) []bool {
	out := make([]bool, g.N)
	for u := range out {
		out[u] = g.Off[u+1] == g.Off[u]
	}
	return out
}

// Peripheral marks people on the edge of the network who still have ties:
// anyone with exactly one tie, and anyone whose strength is strictly below the
// PeripheralShare (5th) percentile of the strengths of people with ties.
// "Strictly" keeps the strength rule to at most 5% even when many people share
// the cut-off value (in an unweighted network, everyone with two ties).
// Isolated people are not peripheral: they are isolated.
func Peripheral(g *Graph) []bool {
	out := make([]bool, g.N)
	strength := Strengths(g)
	var connected []float64
	for u, s := range strength {
		if g.Degree(u) > 0 {
			connected = append(connected, s)
		}
	}
	if len(connected) == 0 {
		return out
	}
	slices.Sort(connected)
	cut := connected[int(float64(len(connected)-1)*PeripheralShare)]
	for u, s := range strength {
		d := g.Degree(u)
		out[u] = d == 1 || (d > 0 && s < cut)
	}
	return out
}

// reachBlockBytes caps the memory of Reach's two bit matrices.
const reachBlockBytes = 32 << 20

// Reach returns, for each node, how many other people are within 1, 2 and 3
// hops.
//
// A breadth-first search per node would cost N × (size of the 3-hop ball):
// on 10,000 people with 40 ties each, almost everyone is within 3 hops, which
// makes 10⁹ steps. Instead each node keeps a bit set of the nodes near it:
// B1(v) = v and its neighbours, B2(v) = ∪ B1(u) and B3(v) = ∪ B2(u) over u in
// B1(v), so each level costs one pass over the edges with 64 nodes per machine
// word (about 1.3·10⁸ word operations on that graph). When N²/4 bytes would
// exceed reachBlockBytes the target nodes are handled in blocks, so memory
// stays bounded and time grows as edges × N / 64.
func Reach(g *Graph) [][3]int32 { return reach(g, reachBlockBytes) }

// reach is Reach with the memory cap as a parameter, so tests can force blocks.
func reach(g *Graph, blockBytes int) [][3]int32 {
	n := g.N
	out := make([][3]int32, n)
	if n == 0 {
		return out
	}
	stride := max(1, blockBytes/(16*n))
	stride = min(stride, (n+63)/64)
	blockBits := stride * 64
	b1 := make([]uint64, n*stride)
	b2 := make([]uint64, n*stride)
	workers := min(runtime.GOMAXPROCS(0), 8, n/256+1)
	parallel := func(f func(lo, hi int)) {
		var wg sync.WaitGroup
		chunk := (n + workers - 1) / workers
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(lo, hi)
			}()
		}
		wg.Wait()
	}
	for lo := 0; lo < n; lo += blockBits {
		hi := min(lo+blockBits, n)
		words := (hi - lo + 63) / 64
		clear(b1)
		for x := lo; x < hi; x++ {
			word, bit := (x-lo)>>6, uint64(1)<<uint((x-lo)&63)
			b1[x*stride+word] |= bit
			for k := g.Off[x]; k < g.Off[x+1]; k++ {
				b1[int(g.Adj[k])*stride+word] |= bit
			}
		}
		parallel(func(vlo, vhi int) {
			for v := vlo; v < vhi; v++ {
				row := b2[v*stride : v*stride+words]
				copy(row, b1[v*stride:v*stride+words])
				c1 := 0
				for _, x := range row {
					c1 += bits.OnesCount64(x)
				}
				for k := g.Off[v]; k < g.Off[v+1]; k++ {
					u := int(g.Adj[k])
					src := b1[u*stride : u*stride+words]
					for i := range row {
						row[i] |= src[i]
					}
				}
				c2 := 0
				for _, x := range row {
					c2 += bits.OnesCount64(x)
				}
				out[v][0] += int32(c1)
				out[v][1] += int32(c2)
			}
		})
		parallel(func(vlo, vhi int) {
			tmp := make([]uint64, words)
			for v := vlo; v < vhi; v++ {
				copy(tmp, b2[v*stride:v*stride+words])
				for k := g.Off[v]; k < g.Off[v+1]; k++ {
					u := int(g.Adj[k])
					src := b2[u*stride : u*stride+words]
					for i := range tmp {
						tmp[i] |= src[i]
					}
				}
				c3 := 0
				for _, x := range tmp {
					c3 += bits.OnesCount64(x)
				}
				out[v][2] += int32(c3)
			}
		})
	}
	for v := range out {
		for h := range out[v] {
			out[v][h]-- // the counts included v itself
		}
	}
	return out
}

// CascadeStep is one pass of a share: From passed it on to To at At. For a
// reshare chain From is the author of the parent share and To the author of
// the reshare.
type CascadeStep struct {
	From, To int64
	At       time.Time
}

// CascadeStats describes how far and how fast a share travelled.
type CascadeStats struct {
	Reached int   // people reached, the original author excluded
	Depth   int   // longest chain of passes from the author
	Breadth int   // most people at one depth (the author's level excluded)
	Widths  []int // Widths[d]: people first reached at depth d; Widths[0] = 1, the author
	// Arrivals[i] is when the (i+1)-th person was reached, after start.
	Arrivals []time.Duration
	// Unreached counts steps that do not connect to the author (their
	// sender never got the share, e.g. because an earlier step was hidden).
	Unreached int
	// Tree maps each reached person to who passed the share to them first.
	Tree map[int64]int64
}

// Cascade builds the tree of who passed a share to whom, starting from root
// (the original author) at start. Each person counts once, reached through
// their earliest step whose sender already had the share; steps are taken in
// time order but a sender's own step may be recorded late (clock skew), so
// steps are retried until no more connect.
func Cascade(root int64, start time.Time, steps []CascadeStep) CascadeStats {
	sorted := slices.Clone(steps)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	depth := map[int64]int{root: 0}
	reachedAt := map[int64]time.Time{root: start}
	st := CascadeStats{Tree: map[int64]int64{}}
	pending := sorted
	for {
		var left []CascadeStep
		for _, s := range pending {
			if _, done := depth[s.To]; done {
				continue
			}
			d, ok := depth[s.From]
			if !ok {
				left = append(left, s)
				continue
			}
			at := s.At
			if at.Before(reachedAt[s.From]) {
				at = reachedAt[s.From] // nobody passes on what they do not yet have
			}
			depth[s.To], reachedAt[s.To], st.Tree[s.To] = d+1, at, s.From
		}
		if len(left) == len(pending) {
			for _, s := range left {
				if _, done := depth[s.To]; !done {
					st.Unreached++
				}
			}
			break
		}
		pending = left
	}
	st.Widths = []int{1}
	for id, d := range depth {
		if id == root {
			continue
		}
		for len(st.Widths) <= d {
			st.Widths = append(st.Widths, 0)
		}
		st.Widths[d]++
		st.Arrivals = append(st.Arrivals, reachedAt[id].Sub(start))
	}
	slices.Sort(st.Arrivals)
	st.Reached = len(depth) - 1
	st.Depth = len(st.Widths) - 1
	for _, w := range st.Widths[1:] {
		st.Breadth = max(st.Breadth, w)
	}
	return st
}

// TimeToReach returns how long the share took to reach n people (the author
// excluded), and false if it never did.
func (c CascadeStats) TimeToReach(n int) (time.Duration, bool) {
	if n <= 0 {
		return 0, true
	}
	if n > len(c.Arrivals) {
		return 0, false
	}
	return c.Arrivals[n-1], true
}
