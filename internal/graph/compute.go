package graph

// Options tune ComputeAll. The zero value gives the defaults.
type Options struct {
	// Seed makes Louvain's node order and the betweenness pivots repeatable.
	Seed uint64
	// Pivots is the number of sampled betweenness sources when the graph has
	// more than ExactBetweennessLimit nodes (0: DefaultPivots). Below the
	// limit betweenness is always exact. A negative value forces exact
	// betweenness at any size.
	Pivots int
	// Damping is PageRank's damping factor (0: DefaultDamping).
	Damping float64
}

// Metrics is the whole metric set of one graph, indexed by node.
type Metrics struct {
	Degree   []int
	Strength []float64 // weighted degree
	PageRank []float64 // sums to 1
	// Betweenness is normalised to 0..1. BetweennessPivots is 0 when it is
	// exact; otherwise each value is within BetweennessError of the exact one
	// with 95% confidence (see Betweenness).
	Betweenness       []float64
	BetweennessPivots int
	BetweennessError  float64
	Community         []int32 // Louvain community, dense ids 0..len(Communities)−1
	Modularity        float64
	Communities       []CommunityStats // by community id
	Broker            []bool           // see Brokers
	Isolated          []bool           // no ties
	Peripheral        []bool           // see Peripheral
	Reach             [][3]int32       // people within 1, 2, 3 hops
}

// Counts returns how many communities are silos and how many people are
// brokers, isolated and peripheral: the figures of a snapshot's summary.
func (m *Metrics) Counts() (silos, brokers, isolated, peripheral int) {
	for _, c := range m.Communities {
		if c.Silo {
			silos++
		}
	}
	for u := range m.Broker {
		if m.Broker[u] {
			brokers++
		}
		if m.Isolated[u] {
			isolated++
		}
		if m.Peripheral[u] {
			peripheral++
		}
	}
	return silos, brokers, isolated, peripheral
}

// ComputeAll runs every kernel on g. On 10,000 nodes and 200,000 ties it takes
// well under the 3-second budget on two cores (see cmd/graphbench).
func ComputeAll(g *Graph, opts Options) *Metrics {
	damping := opts.Damping
	if damping == 0 {
		damping = DefaultDamping
	}
	pivots := 0 // exact
	if g.N > ExactBetweennessLimit {
		switch {
		case opts.Pivots == 0:
			pivots = DefaultPivots
		case opts.Pivots > 0:
			pivots = opts.Pivots
		}
	}
	m := &Metrics{
		Degree:   Degrees(g),
		Strength: Strengths(g),
		PageRank: PageRank(g, damping, DefaultPageRankTol, DefaultPageRankMax),
	}
	m.Betweenness, m.BetweennessError = Betweenness(g, pivots, opts.Seed)
	if m.BetweennessError > 0 {
		m.BetweennessPivots = pivots
	}
	m.Community, m.Modularity = Louvain(g, opts.Seed)
	m.Communities = CommunityStatsOf(g, m.Community)
	m.Broker = Brokers(g, m.Betweenness, m.Community)
	m.Isolated = Isolated(g)
	m.Peripheral = Peripheral(g)
	m.Reach = Reach(g)
	return m
}
