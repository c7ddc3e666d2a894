package graph

import "time"

// Snapshot is one computed view of the network for a time window, as stored in
// PostgreSQL (table graph_snapshots) and read by the pages. Named per-person data
// (Nodes) is for people analysts and for each person's own row only; everything
// else shown to members goes through the privacy rules (MIN_GROUP_SIZE).
type Snapshot struct {
	ID          int64              `json:"id"`
	WindowDays  int                `json:"window_days"` // 0: all time
	Kind        string             `json:"kind"`        // current or weekly
	ComputedAt  time.Time          `json:"computed_at"`
	TookMS      int                `json:"took_ms"`
	Summary     Summary            `json:"summary"`
	Nodes       []NodeMetrics      `json:"nodes"`
	Communities []CommunityMetrics `json:"communities"`
}

// Summary is the whole network in figures.
type Summary struct {
	Nodes       int     `json:"nodes"`
	Edges       int     `json:"edges"`
	Density     float64 `json:"density"`
	Modularity  float64 `json:"modularity"`
	Communities int     `json:"communities"`
	Silos       int     `json:"silos"`    // communities whose E-I index is below SiloEI
	Isolated    int     `json:"isolated"` // people with no tie
	Brokers     int     `json:"brokers"`
	// Betweenness is exact up to ExactBetweennessLimit nodes, sampled above
	// with BetweennessPivots pivots; BetweennessError bounds the error of each
	// normalised value with 95% confidence (0 when exact).
	BetweennessPivots int     `json:"betweenness_pivots"`
	BetweennessError  float64 `json:"betweenness_error"`
}

// NodeMetrics is one person's place in the network.
type NodeMetrics struct {
	NodeID      int64   `json:"node_id"`
	Handle      string  `json:"handle"`
	DisplayName string  `json:"display_name"`
	Community   int     `json:"community"` // index into Snapshot.Communities
	Degree      int     `json:"degree"`
	Strength    float64 `json:"strength"`
	PageRank    float64 `json:"pagerank"`
	Betweenness float64 `json:"betweenness"` // normalised to 0..1
	Broker      bool    `json:"broker"`
	Isolated    bool    `json:"isolated"`
	Peripheral  bool    `json:"peripheral"`
	Reach       [3]int  `json:"reach"` // people within 1, 2 and 3 hops
	X           float64 `json:"x"`     // layout position, 0..1
	Y           float64 `json:"y"`
}

// CommunityMetrics is one detected community.
type CommunityMetrics struct {
	ID       int     `json:"id"`
	Label    string  `json:"label"` // e.g. the declared community most members share
	Size     int     `json:"size"`
	Internal float64 `json:"internal"` // weight of ties inside
	External float64 `json:"external"` // weight of ties leaving
	EI       float64 `json:"ei"`       // (E−I)/(E+I): −1 closed … +1 open
	Silo     bool    `json:"silo"`
	// Ties to other communities, by their ID: the community map's edges.
	Ties map[int]float64 `json:"ties,omitempty"`
}
