package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
)

// The graph JSON API: /api/v1/graph/communities and /me for everyone (aggregates
// and the caller's own row), /metrics and the exports for people analysts
// (audited). Before the first computation they answer 503 with Retry-After.

// snapshotOr503 loads the window's snapshot, answering 503 when there is none yet.
func (s *Server) snapshotOr503(w http.ResponseWriter, r *http.Request, win graphWindow) (*graph.Snapshot, bool) {
	snap, err := s.snapshot(r.Context(), win)
	if err != nil {
		s.failErr(w, r, err)
		return nil, false
	}
	if snap == nil {
		w.Header().Set("Retry-After", "30")
		s.fail(w, r, http.StatusServiceUnavailable, "The network's analytics have not been computed yet for this window; try again within a minute.")
		return nil, false
	}
	return snap, true
}

type graphMetricsNode struct {
	Handle      string  `json:"handle"`
	Community   int     `json:"community"`
	Degree      int     `json:"degree"`
	Strength    float64 `json:"strength"`
	PageRank    float64 `json:"pagerank"`
	Betweenness float64 `json:"betweenness"`
}

type graphMetricsResponse struct {
	ComputedAt time.Time          `json:"computed_at"`
	Window     string             `json:"window"`
	Modularity float64            `json:"modularity"`
	Nodes      []graphMetricsNode `json:"nodes"`
}

// apiGraphMetrics is every person's metrics (people analysts; audited).
func (s *Server) apiGraphMetrics(w http.ResponseWriter, r *http.Request) {
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	snap, ok := s.snapshotOr503(w, r, win)
	if !ok {
		return
	}
	if !s.audit(w, r, "api_metrics", map[string]any{"window": win.name}) {
		return
	}
	resp := graphMetricsResponse{ComputedAt: snap.ComputedAt, Window: win.name, Modularity: snap.Summary.Modularity,
		Nodes: make([]graphMetricsNode, 0, len(snap.Nodes))}
	for _, n := range snap.Nodes {
		resp.Nodes = append(resp.Nodes, graphMetricsNode{Handle: n.Handle, Community: n.Community, Degree: n.Degree,
			Strength: n.Strength, PageRank: n.PageRank, Betweenness: n.Betweenness})
	}
	s.writeJSON(w, http.StatusOK, resp)
}

type graphCommunityTie struct {
	Community int     `json:"community"`
	Weight    float64 `json:"weight"`
}

type graphCommunity struct {
	ID       int                 `json:"id"` // -1: the merged small groups
	Label    string              `json:"label"`
	Size     int                 `json:"size"`
	Internal float64             `json:"internal"`
	External float64             `json:"external"`
	EI       float64             `json:"ei"`
	Silo     bool                `json:"silo"`
	Ties     []graphCommunityTie `json:"ties"`
}

// apiGraphCommunities is the public community list: groups smaller than
// MIN_GROUP_SIZE merged into "other" (or hidden), no names.
func (s *Server) apiGraphCommunities(w http.ResponseWriter, r *http.Request) {
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	snap, ok := s.snapshotOr503(w, r, win)
	if !ok {
		return
	}
	public := snap.PublicCommunities(s.minGroup())
	out := make([]graphCommunity, 0, len(public))
	for _, c := range public {
		gc := graphCommunity{ID: c.ID, Label: c.Label, Size: c.Size, Internal: c.Internal, External: c.External, EI: c.EI,
			Silo: c.Silo, Ties: []graphCommunityTie{}}
		if c.ID == graph.OtherCommunity || gc.Label == "" {
			gc.Label = communityLabel(snap, c.ID)
		}
		for to, wt := range c.Ties {
			if wt > 0 {
				gc.Ties = append(gc.Ties, graphCommunityTie{Community: to, Weight: wt})
			}
		}
		sortTies(gc.Ties)
		out = append(out, gc)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"computed_at": snap.ComputedAt, "window": win.name, "min_group_size": s.minGroup(),
		"modularity": snap.Summary.Modularity, "communities": out,
	})
}

func sortTies(t []graphCommunityTie) {
	for i := 1; i < len(t); i++ { // insertion sort: a handful of ties, by weight then id
		for j := i; j > 0 && (t[j].Weight > t[j-1].Weight || (t[j].Weight == t[j-1].Weight && t[j].Community < t[j-1].Community)); j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

type graphReach struct {
	Hop1 int `json:"hop1"`
	Hop2 int `json:"hop2"`
	Hop3 int `json:"hop3"`
}

type graphMe struct {
	ComputedAt            time.Time  `json:"computed_at"`
	Window                string     `json:"window"`
	Handle                string     `json:"handle"`
	Community             int        `json:"community"` // the public community: -1 when one's group is too small to show
	CommunityLabel        string     `json:"community_label"`
	Degree                int        `json:"degree"`
	Strength              float64    `json:"strength"`
	PageRank              float64    `json:"pagerank"`
	Betweenness           float64    `json:"betweenness"`
	BetweennessPercentile int        `json:"betweenness_percentile"`
	Reach                 graphReach `json:"reach"`
	Broker                bool       `json:"broker"`
	Isolated              bool       `json:"isolated"`
	Peripheral            bool       `json:"peripheral"`
}

// apiGraphMe is the caller's own row, never anyone else's.
func (s *Server) apiGraphMe(w http.ResponseWriter, r *http.Request) {
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	snap, ok := s.snapshotOr503(w, r, win)
	if !ok {
		return
	}
	self, ok := snap.Self(me(r).ID)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "You are not in the latest computation yet (you joined after it); your metrics appear within a minute.")
		return
	}
	pub := publicCommunityOf(snap, self.Community, s.minGroup())
	s.writeJSON(w, http.StatusOK, graphMe{
		ComputedAt: snap.ComputedAt, Window: win.name, Handle: self.Handle,
		Community: pub, CommunityLabel: communityLabel(snap, pub),
		Degree: self.Degree, Strength: self.Strength, PageRank: self.PageRank, Betweenness: self.Betweenness,
		BetweennessPercentile: betweennessPercentile(snap, self),
		Reach:                 graphReach{Hop1: self.Reach[0], Hop2: self.Reach[1], Hop3: self.Reach[2]},
		Broker:                self.Broker, Isolated: self.Isolated, Peripheral: self.Peripheral,
	})
}

// exportTies are the window's ties between people of the snapshot (someone who
// joined after the computation is not in it), in the exports' shape.
func (s *Server) exportTies(r *http.Request, snap *graph.Snapshot, win graphWindow, kind string) ([]graph.ExportEdge, error) {
	ties, err := s.d.Store.Ties(r.Context(), community.TieFilter{Window: win.duration(), Kind: kind})
	if err != nil {
		return nil, err
	}
	in := make(map[int64]bool, len(snap.Nodes))
	for _, n := range snap.Nodes {
		in[n.NodeID] = true
	}
	edges := make([]graph.ExportEdge, 0, len(ties))
	for _, t := range ties {
		if !in[t.A] || !in[t.B] {
			continue
		}
		k := t.Kind
		if !t.Declared || k == "" {
			k = "interaction"
		}
		edges = append(edges, graph.ExportEdge{Source: t.A, Target: t.B, Weight: t.Weight, Kind: k})
	}
	return edges, nil
}

// apiGraphExport downloads the snapshot as GraphML, GEXF 1.3 or CSV (?what=nodes
// or edges) for Gephi, networkx or a spreadsheet (people analysts; audited).
// The file is built in memory first so a failure never sends half of one.
func (s *Server) apiGraphExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mq, ok := s.mapQueryParams(w, r)
		if !ok {
			return
		}
		what := r.URL.Query().Get("what")
		switch {
		case format != "csv" && what != "":
			s.failField(w, r, http.StatusUnprocessableEntity, "what", "what applies to the CSV export only.")
			return
		case format == "csv" && what == "":
			what = "nodes"
		case format == "csv" && what != "nodes" && what != "edges":
			s.failField(w, r, http.StatusUnprocessableEntity, "what", "what must be nodes or edges.")
			return
		}
		snap, ok := s.snapshotOr503(w, r, mq.win)
		if !ok {
			return
		}
		var edges []graph.ExportEdge
		if what != "nodes" {
			var err error
			if edges, err = s.exportTies(r, snap, mq.win, mq.kind); err != nil {
				s.failErr(w, r, err)
				return
			}
		}
		detail := map[string]any{"window": mq.win.name, "format": format, "kind": "all"}
		if mq.kind != "" {
			detail["kind"] = mq.kind
		}
		if what != "" {
			detail["what"] = what
		}
		if !s.audit(w, r, "export_"+format, detail) {
			return
		}
		var buf bytes.Buffer
		var err error
		name, contentType := "nodecommunity-network-"+mq.win.name, "text/csv; charset=utf-8"
		switch {
		case format == "graphml":
			err = graph.WriteGraphML(&buf, snap, edges)
			name, contentType = name+".graphml", "application/graphml+xml; charset=utf-8"
		case format == "gexf":
			err = graph.WriteGEXF(&buf, snap, edges)
			name, contentType = name+".gexf", "application/gexf+xml; charset=utf-8"
		case what == "edges":
			err = graph.WriteEdgesCSV(&buf, snap, edges)
			name += "-edges.csv"
		default:
			err = graph.WriteNodesCSV(&buf, snap)
			name += "-nodes.csv"
		}
		if err != nil {
			s.failErr(w, r, fmt.Errorf("export %s: %w", format, err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
		_, _ = buf.WriteTo(w)
	}
}
