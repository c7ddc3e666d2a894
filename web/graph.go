package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// The network analytics pages read the snapshots the recomputer caches in
// PostgreSQL (any instance serves them) and apply the privacy rules of
// internal/graph: members see their own row and aggregates over at least
// MIN_GROUP_SIZE people; named organisation-wide data is for people analysts,
// and each of their views writes an audit row before anything is shown.

// mountGraph registers the network analytics pages and their JSON API.
func (s *Server) mountGraph(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode, s.requireGraph)
		r.Get("/network", s.myNetworkPage)
		r.Get("/network/pulse", s.pulsePage)
		r.Get("/network/communities", s.communityMapPage)
		r.Get("/network/communities/{id}", s.communityDetailPage)
		r.Get("/network/trends", s.trendsPage)
		r.Get("/network/access", s.accessPage)
		r.With(s.requireSteward).Post("/network/access", s.accessForm)
		r.Get("/api/v1/graph/communities", s.apiGraphCommunities)
		r.Get("/api/v1/graph/me", s.apiGraphMe)
		r.Group(func(r chi.Router) {
			r.Use(s.requireAnalyst)
			r.Get("/network/map", s.orgMapPage)
			r.Get("/network/map/table", s.metricsTablePage)
			r.Get("/api/v1/graph/metrics", s.apiGraphMetrics)
			r.Get("/api/v1/graph/export.graphml", s.apiGraphExport("graphml"))
			r.Get("/api/v1/graph/export.gexf", s.apiGraphExport("gexf"))
			r.Get("/api/v1/graph/export.csv", s.apiGraphExport("csv"))
		})
	})
}

// requireGraph answers 503 on an instance started without the analytics store.
func (s *Server) requireGraph(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Graph == nil {
			s.fail(w, r, http.StatusServiceUnavailable, "Network analytics are not available on this instance.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAnalyst lets only people analysts through. Their pages carry named
// data, so no cache may keep them.
func (s *Server) requireAnalyst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !me(r).PeopleAnalyst {
			s.fail(w, r, http.StatusForbidden, "Only people analysts can see named, organisation-wide analytics. A steward can grant the capability.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// minGroup is MIN_GROUP_SIZE, never below the floor of 5 whatever the wiring.
func (s *Server) minGroup() int {
	return max(s.d.MinGroupSize, 5)
}

// graphWindow is a parsed ?window= parameter.
type graphWindow struct {
	days int    // 0: all time
	name string // "90d" or "all"
}

func (g graphWindow) duration() time.Duration { return time.Duration(g.days) * 24 * time.Hour }

// windowParam reads ?window=90d|all (default 90d); anything else is a 422
// naming the field.
func (s *Server) windowParam(w http.ResponseWriter, r *http.Request) (graphWindow, bool) {
	win, err := parseWindow(r.URL.Query().Get("window")) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return graphWindow{}, false
	}
	return win, true
}

// snapshot is the current snapshot of a window, or nil before the first.
func (s *Server) snapshot(ctx context.Context, win graphWindow) (*graph.Snapshot, error) {
	snap, err := s.d.Graph.Current(ctx, win.days)
	if errors.Is(err, graph.ErrNoSnapshot) {
		return nil, nil
	}
	return snap, err
}

// audit records a people analyst's view or export. Nothing named is shown
// when the record cannot be written: the answer is a 503 instead.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, action string, detail map[string]any) bool {
	if err := s.d.Graph.Audit(r.Context(), me(r).ID, action, detail); err != nil {
		s.d.Logger.Error("audit", "action", action, "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "Your view cannot be recorded in the audit log right now, so nothing is shown. Try again in a moment.")
		return false
	}
	return true
}

func (s *Server) graphHeader(title, sub string, win graphWindow, snap *graph.Snapshot) components.GraphHeader {
	h := components.GraphHeader{Page: s.page(title, "network"), Sub: sub, Window: win.name, Ready: snap != nil}
	if snap != nil {
		h.ComputedAt, h.TookMS = snap.ComputedAt, snap.TookMS
	}
	return h
}

// communityLabel names a detected community by its index in the snapshot.
func communityLabel(snap *graph.Snapshot, c int) string {
	if c == graph.OtherCommunity {
		return "Other small groups"
	}
	if c >= 0 && c < len(snap.Communities) && snap.Communities[c].Label != "" {
		return snap.Communities[c].Label
	}
	return "Community " + strconv.Itoa(c+1)
}

// publicCommunityOf maps a detected community to the one members may see: the
// community itself when it is large enough, else the merged "other" group.
func publicCommunityOf(snap *graph.Snapshot, c, minGroup int) int {
	if c >= 0 && c < len(snap.Communities) && snap.Communities[c].Size >= minGroup {
		return c
	}
	return graph.OtherCommunity
}

func hexColour(c int) string {
	rgb := graph.CommunityRGB(c)
	return fmt.Sprintf("#%02x%02x%02x", rgb[0], rgb[1], rgb[2])
}

// nodeColour is a person's colour on the organisation map: their community's
// (as in the exports), except that people who form a community on their own
// are grey: dozens of one-person hues would only read as noise.
func nodeColour(snap *graph.Snapshot, c int) string {
	if c >= 0 && c < len(snap.Communities) && snap.Communities[c].Size < 2 {
		return hexColour(graph.OtherCommunity)
	}
	return hexColour(c)
}

// clip shortens a label drawn inside a map (the full text stays in the title).
func clipLabel(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// ---------------------------------------------------------------------------
// My network
// ---------------------------------------------------------------------------

// egoLimits bound what the ego map draws: beyond that it becomes a hairball.
const (
	egoMaxHop1 = 24
	egoMaxHop2 = 48
	egoCentre  = 400.0
	egoRing1   = 170.0
	egoRing2   = 330.0
)

type tieNbr struct {
	id int64
	w  float64
}

// adjacency turns the tie list into neighbour lists.
func adjacency(ties []community.Tie) map[int64][]tieNbr {
	adj := make(map[int64][]tieNbr)
	for _, t := range ties {
		adj[t.A] = append(adj[t.A], tieNbr{t.B, t.Weight})
		adj[t.B] = append(adj[t.B], tieNbr{t.A, t.Weight})
	}
	return adj
}

// hops is the breadth-first distance from me to everyone it reaches.
func tieHops(adj map[int64][]tieNbr, me int64) map[int64]int {
	dist := map[int64]int{me: 0}
	queue := []int64{me}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, n := range adj[u] {
			if _, seen := dist[n.id]; !seen {
				dist[n.id] = dist[u] + 1
				queue = append(queue, n.id)
			}
		}
	}
	return dist
}

// egoMap draws the viewer in the centre, the strongest direct ties on an inner
// ring and the people they lead to on an outer ring, each next to the direct
// tie that leads there.
func buildEgoMap(meNode community.Node, adj map[int64][]tieNbr, dist map[int64]int, people map[int64]community.PersonRef) components.EgoMap {
	var e components.EgoMap
	name := func(id int64) (string, string) {
		p := people[id]
		return p.Handle, p.DisplayName
	}
	hop1 := slices.Clone(adj[meNode.ID])
	slices.SortFunc(hop1, func(a, b tieNbr) int {
		if a.w != b.w {
			return cmpDesc(a.w, b.w)
		}
		return int(a.id - b.id)
	})
	for _, d := range dist {
		if d == 2 {
			e.Hop2++
		}
	}
	e.Hop1 = len(hop1)
	for _, n := range hop1 {
		h, dn := name(n.id)
		e.Hop1People = append(e.Hop1People, components.PersonLink{Handle: h, DisplayName: dn})
	}
	slices.SortFunc(e.Hop1People, func(a, b components.PersonLink) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	shown1 := hop1[:min(len(hop1), egoMaxHop1)]
	e.Shown1 = len(shown1)

	type placed struct{ x, y float64 }
	pos := map[int64]placed{meNode.ID: {egoCentre, egoCentre}}
	index1 := map[int64]int{}
	maxW := 0.0
	for i, n := range shown1 {
		a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(len(shown1))
		pos[n.id] = placed{egoCentre + egoRing1*math.Cos(a), egoCentre + egoRing1*math.Sin(a)}
		index1[n.id] = i
		maxW = math.Max(maxW, n.w)
	}

	// Two hops: each person hangs off their strongest tie among the drawn
	// direct ties; the strongest such people are drawn.
	type cand struct {
		id     int64
		parent int
		w      float64
	}
	var cands []cand
	for id, d := range dist {
		if d != 2 {
			continue
		}
		best := cand{id: id, parent: -1}
		for _, n := range adj[id] {
			if i, ok := index1[n.id]; ok && (n.w > best.w || (n.w == best.w && best.parent >= 0 && i < best.parent)) {
				best.parent, best.w = i, n.w
			}
		}
		if best.parent >= 0 {
			cands = append(cands, best)
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.w != b.w {
			return cmpDesc(a.w, b.w)
		}
		return int(a.id - b.id)
	})
	cands = cands[:min(len(cands), egoMaxHop2)]
	slices.SortFunc(cands, func(a, b cand) int {
		if a.parent != b.parent {
			return a.parent - b.parent
		}
		return int(a.id - b.id)
	})
	e.Shown2 = len(cands)
	drawn2 := map[int64]bool{}
	// Evenly spaced, in the order of the direct ties they hang off, and the
	// ring turned so that each sits as close as it can behind its parent: the
	// turn is the circular mean of how far each is from its parent's angle.
	step := 2 * math.Pi / float64(max(len(cands), 1))
	parentAngle := func(i int) float64 { return -math.Pi/2 + 2*math.Pi*float64(i)/float64(len(shown1)) }
	var sx, sy float64
	for j, c := range cands {
		d := parentAngle(c.parent) - step*(float64(j)+0.5)
		sx, sy = sx+math.Cos(d), sy+math.Sin(d)
	}
	turn := math.Atan2(sy, sx)
	for j, c := range cands {
		a := turn + step*(float64(j)+0.5)
		pos[c.id] = placed{egoCentre + egoRing2*math.Cos(a), egoCentre + egoRing2*math.Sin(a)}
		drawn2[c.id] = true
	}

	// Ties between drawn people, except between two people two hops out.
	for id, p := range pos {
		for _, n := range adj[id] {
			q, ok := pos[n.id]
			if !ok || id >= n.id || (drawn2[id] && drawn2[n.id]) {
				continue
			}
			maxW = math.Max(maxW, n.w)
			class := "t2"
			switch {
			case id == meNode.ID || n.id == meNode.ID:
				class = "t1"
			case !drawn2[id] && !drawn2[n.id]:
				class = "t11"
			}
			e.Lines = append(e.Lines, components.SVGLine{X1: p.x, Y1: p.y, X2: q.x, Y2: q.y, Width: n.w, Class: class})
		}
	}
	for i := range e.Lines {
		w := e.Lines[i].Width
		if maxW > 0 {
			w /= maxW
		}
		e.Lines[i].Width = 0.6 + 3.4*w
	}
	// Stable output: lines drawn weakest first so strong ones stay on top.
	slices.SortStableFunc(e.Lines, func(a, b components.SVGLine) int { return cmpAsc(a.Width, b.Width) })

	e.Nodes = append(e.Nodes, components.SVGNode{X: egoCentre, Y: egoCentre, R: 16, Class: "me", Handle: meNode.Handle,
		Name: meNode.DisplayName + " (you)", Href: "/people/" + meNode.Handle, Label: "You",
		LabelX: egoCentre, LabelY: egoCentre + 34, Anchor: "middle"})
	for _, n := range shown1 {
		h, dn := name(n.id)
		p := pos[n.id]
		a := math.Atan2(p.y-egoCentre, p.x-egoCentre)
		lx, ly := egoCentre+(egoRing1+16)*math.Cos(a), egoCentre+(egoRing1+16)*math.Sin(a)+4
		anchor := "middle"
		if c := math.Cos(a); c > 0.3 {
			anchor = "start"
		} else if c < -0.3 {
			anchor = "end"
		}
		e.Nodes = append(e.Nodes, components.SVGNode{X: p.x, Y: p.y, R: 9, Class: "hop1", Handle: h, Name: dn,
			Href: "/people/" + h, Label: clipLabel(dn, 18), LabelX: lx, LabelY: ly, Anchor: anchor})
	}
	for _, c := range cands {
		h, dn := name(c.id)
		p := pos[c.id]
		e.Nodes = append(e.Nodes, components.SVGNode{X: p.x, Y: p.y, R: 6, Class: "hop2", Handle: h, Name: dn, Href: "/people/" + h})
	}
	return e
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func cmpAsc(a, b float64) int { return -cmpDesc(a, b) }

// bridges are people who share a skill with the viewer but sit three or more
// hops away (or are not connected at all): the ties worth building.
func bridgesFor(meNode community.Node, people []community.PersonRef, dist map[int64]int, limit int) []components.BridgeItem {
	mine := map[string]bool{}
	for _, s := range meNode.Skills {
		mine[strings.ToLower(strings.TrimSpace(s))] = true
	}
	var out []components.BridgeItem
	for _, p := range people {
		if p.ID == meNode.ID {
			continue
		}
		d, reached := dist[p.ID]
		if reached && d < 3 {
			continue
		}
		var shared []string
		for _, s := range p.Skills {
			if mine[strings.ToLower(strings.TrimSpace(s))] {
				shared = append(shared, s)
			}
		}
		if len(shared) == 0 {
			continue
		}
		if !reached {
			d = 0
		}
		out = append(out, components.BridgeItem{Person: components.PersonLink{Handle: p.Handle, DisplayName: p.DisplayName}, Shared: shared, Hops: d})
	}
	far := func(h int) int {
		if h == 0 {
			return math.MaxInt
		}
		return h
	}
	slices.SortStableFunc(out, func(a, b components.BridgeItem) int {
		if len(a.Shared) != len(b.Shared) {
			return len(b.Shared) - len(a.Shared)
		}
		if far(a.Hops) != far(b.Hops) {
			return far(a.Hops) - far(b.Hops) // nearest of the far first: easiest to reach
		}
		return strings.Compare(a.Person.DisplayName, b.Person.DisplayName)
	})
	return out[:min(len(out), limit)]
}

func (s *Server) myNetworkPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	node := me(r)
	win := graphWindow{days: 90, name: "90d"}
	snap, err := s.snapshot(ctx, win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	ties, err := s.d.Store.Ties(ctx, community.TieFilter{Window: win.duration()})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	people, err := s.d.Store.ActivePeople(ctx)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	mine, err := s.d.Store.ListCommunities(ctx, node.ID, true, 50)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	suggestions, err := s.d.Store.Suggestions(ctx, node.ID, 10)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	byID := make(map[int64]community.PersonRef, len(people))
	for _, p := range people {
		byID[p.ID] = p
	}
	adj := adjacency(ties)
	dist := tieHops(adj, node.ID)
	v := components.MyNetworkView{
		H:       s.graphHeader("My network", "me", win, snap),
		Ego:     buildEgoMap(node, adj, dist, byID),
		Bridges: bridgesFor(node, people, dist, 12),
		Skills:  len(node.Skills),
	}
	for _, c := range mine {
		v.Communities = append(v.Communities, communityItem(c))
	}
	for _, sg := range suggestions {
		v.Suggestions = append(v.Suggestions, components.SuggestionItem{Handle: sg.Node.Handle, DisplayName: sg.Node.DisplayName,
			Interactions: sg.Interactions, Last: sg.LastInteraction})
	}
	if snap != nil {
		if self, ok := snap.Self(node.ID); ok {
			v.Reach = &components.ReachView{
				Hops: self.Reach, Degree: self.Degree, Broker: self.Broker, Isolated: self.Isolated,
				Community:  communityLabel(snap, publicCommunityOf(snap, self.Community, s.minGroup())),
				Percentile: betweennessPercentile(snap, self),
			}
		}
	}
	s.render(w, r, http.StatusOK, components.MyNetwork(v))
}

// betweennessPercentile is the share of people whose betweenness is below
// self's, 0..100: a rank anyone may know about themselves.
func betweennessPercentile(snap *graph.Snapshot, self graph.NodeMetrics) int {
	if len(snap.Nodes) == 0 {
		return 0
	}
	below := 0
	for _, n := range snap.Nodes {
		if n.Betweenness < self.Betweenness {
			below++
		}
	}
	return below * 100 / len(snap.Nodes)
}

// ---------------------------------------------------------------------------
// Pulse
// ---------------------------------------------------------------------------

// NewcomerAge is how recently someone joined to count as a newcomer.
const NewcomerAge = 30 * 24 * time.Hour

func (s *Server) countView(n int) components.CountView {
	shown, ok := graph.Count(n, s.minGroup())
	return components.CountView{N: shown, Shown: ok, Note: "fewer than " + strconv.Itoa(s.minGroup())}
}

func (s *Server) pulsePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	snap, err := s.snapshot(ctx, win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	minGroup := s.minGroup()
	v := components.PulseView{H: s.graphHeader("Network pulse", "pulse", win, snap), MinGroup: minGroup}
	v.H.Windowed, v.H.Action = true, "/network/pulse"
	if snap == nil {
		s.render(w, r, http.StatusOK, components.Pulse(v))
		return
	}
	people, err := s.d.Store.ActivePeople(ctx)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	joined := make(map[int64]time.Time, len(people))
	for _, p := range people {
		joined[p.ID] = p.CreatedAt
	}
	public := snap.PublicCommunities(minGroup)
	v.People, v.Communities, v.Modularity = len(snap.Nodes), len(public), snap.Summary.Modularity
	for _, c := range public {
		if c.Silo {
			v.Silos = append(v.Silos, s.communityRow(snap, c, win))
		}
	}
	brokers, isolated, newcomers := 0, 0, 0
	since := time.Now().Add(-NewcomerAge)
	for _, n := range snap.Nodes {
		if n.Broker {
			brokers++
		}
		if n.Isolated {
			isolated++
			if at, ok := joined[n.NodeID]; ok && at.After(since) {
				newcomers++
			}
		}
	}
	v.Brokers, v.Isolated, v.Newcomers = s.countView(brokers), s.countView(isolated), s.countView(newcomers)
	// Newcomers are a subset of the isolated: shown side by side, the two
	// counts must not reveal a group smaller than minGroup by difference.
	if v.Newcomers.Shown && v.Isolated.Shown && !graph.AllowSubset(isolated, newcomers, minGroup) {
		v.Newcomers = components.CountView{Note: "not shown", Shown: false}
	}
	if s.d.Asks != nil {
		open, err := s.d.Asks.UnansweredCount(ctx, 24*time.Hour)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		// A count, not a group of people: shown as it is (zero included).
		v.OpenAsks = components.CountView{N: open, Shown: true}
	}
	tags, err := s.d.Store.TrendingTags(ctx, time.Now().Add(-7*24*time.Hour), minGroup, 10)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, t := range tags {
		v.Tags = append(v.Tags, components.TagTrendRow{Tag: t.Tag, Now: t.Now, Before: t.Before})
	}
	prev, err := s.d.Graph.Previous(ctx, win.days, time.Now())
	switch {
	case errors.Is(err, graph.ErrNoSnapshot):
	case err != nil:
		s.failErr(w, r, err)
		return
	default:
		v.Changes = snapshotChanges(prev, snap, minGroup)
	}
	s.render(w, r, http.StatusOK, components.Pulse(v))
}

// changes compares two snapshots in aggregates: community count and
// modularity, communities that split or merged (counting only parts of at
// least minGroup people on both sides), and silos that appeared.
func snapshotChanges(prev, cur *graph.Snapshot, minGroup int) *components.ChangesView {
	pub := cur.PublicCommunities(minGroup)
	prevPub := prev.PublicCommunities(minGroup)
	c := &components.ChangesView{
		Since:             prev.ComputedAt,
		CommunitiesBefore: len(prevPub), CommunitiesNow: len(pub),
		ModularityBefore: prev.Summary.Modularity, ModularityNow: cur.Summary.Modularity,
	}
	wasSilo := map[string]bool{}
	for _, p := range prevPub {
		if p.Silo {
			wasSilo[p.Label] = true
		}
	}
	for _, p := range pub {
		if p.Silo && !wasSilo[p.Label] && p.ID != graph.OtherCommunity {
			c.NewSilos = append(c.NewSilos, quoteLabel(communityLabel(cur, p.ID)))
		}
	}
	prevOf := make(map[int64]int, len(prev.Nodes))
	for _, n := range prev.Nodes {
		prevOf[n.NodeID] = n.Community
	}
	curOf := make(map[int64]int, len(cur.Nodes))
	for _, n := range cur.Nodes {
		curOf[n.NodeID] = n.Community
	}
	parts := func(from *graph.Snapshot, of map[int64]int, into map[int64]int) map[int][]int {
		// community of from → the communities of the other snapshot holding at
		// least minGroup of its people
		counts := map[int]map[int]int{}
		for id, c := range of {
			o, ok := into[id]
			if !ok {
				continue
			}
			if counts[c] == nil {
				counts[c] = map[int]int{}
			}
			counts[c][o]++
		}
		out := map[int][]int{}
		for c, m := range counts {
			if c < 0 || c >= len(from.Communities) || from.Communities[c].Size < minGroup {
				continue
			}
			for o, k := range m {
				if k >= minGroup {
					out[c] = append(out[c], o)
				}
			}
			slices.Sort(out[c])
		}
		return out
	}
	for p, into := range parts(prev, prevOf, curOf) {
		if len(into) >= 2 {
			var names []string
			for _, i := range into {
				names = append(names, quoteLabel(communityLabel(cur, i)))
			}
			c.Splits = append(c.Splits, quoteLabel(communityLabel(prev, p))+" split into "+joinAnd(names)+".")
		}
	}
	for k, from := range parts(cur, curOf, prevOf) {
		if len(from) >= 2 {
			var names []string
			for _, i := range from {
				names = append(names, quoteLabel(communityLabel(prev, i)))
			}
			c.Merges = append(c.Merges, joinAnd(names)+" came together as "+quoteLabel(communityLabel(cur, k))+".")
		}
	}
	slices.Sort(c.Splits)
	slices.Sort(c.Merges)
	return c
}

func quoteLabel(s string) string { return "“" + s + "”" }

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// ---------------------------------------------------------------------------
// Community map
// ---------------------------------------------------------------------------

func windowQuery(win graphWindow) string {
	if win.name == "all" {
		return "?window=all"
	}
	return ""
}

func (s *Server) communityRow(snap *graph.Snapshot, c graph.CommunityMetrics, win graphWindow) components.CommunityRow {
	label := c.Label
	if c.ID == graph.OtherCommunity || label == "" {
		label = communityLabel(snap, c.ID)
	}
	return components.CommunityRow{ID: c.ID, Label: label, Size: c.Size, Internal: c.Internal, External: c.External,
		EI: c.EI, Silo: c.Silo, Href: "/network/communities/" + strconv.Itoa(c.ID) + windowQuery(win)}
}

func (s *Server) communityMapPage(w http.ResponseWriter, r *http.Request) {
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	snap, err := s.snapshot(r.Context(), win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.CommunityMapView{H: s.graphHeader("Community map", "communities", win, snap), MinGroup: s.minGroup()}
	v.H.Windowed, v.H.Action = true, "/network/communities"
	if snap != nil {
		public := snap.PublicCommunities(s.minGroup())
		for _, c := range public {
			v.List = append(v.List, s.communityRow(snap, c, win))
		}
		v.Nodes, v.Edges = communityMap(v.List, public)
	}
	s.render(w, r, http.StatusOK, components.CommunityMap(v))
}

// communityMap places the public communities (graph.CommunityLayout: strongly
// tied communities close together) on an 800×800 canvas, circle area
// proportional to size.
func communityMap(rows []components.CommunityRow, public []graph.CommunityMetrics) ([]components.SVGNode, []components.CommunityEdge) {
	n := len(public)
	index := make(map[int]int, n)
	sizes := make([]int, n)
	maxSize := 1
	for i, c := range public {
		index[c.ID] = i
		sizes[i] = c.Size
		maxSize = max(maxSize, c.Size)
	}
	var ties [][3]float64
	for i, c := range public {
		for to, w := range c.Ties {
			j, ok := index[to]
			if !ok || j == i {
				continue
			}
			if j < i {
				// Seen from the other side already; keep the larger of the two.
				if public[j].Ties[c.ID] >= w {
					continue
				}
			} else if public[j].Ties[c.ID] > w {
				continue
			}
			if w > 0 {
				ties = append(ties, [3]float64{float64(min(i, j)), float64(max(i, j)), w})
			}
		}
	}
	pos := communityPositions(n, ties, sizes)
	nodes := make([]components.SVGNode, n)
	for i, c := range rows {
		x, y := pos[i][0], pos[i][1]
		rad := math.Max(8, 70*math.Sqrt(float64(c.Size)/float64(maxSize)))
		class := "cm-node"
		if c.Silo {
			class += " silo"
		}
		nodes[i] = components.SVGNode{X: x, Y: y, R: rad, Class: class, Name: fmt.Sprintf("%s: %d people", c.Label, c.Size),
			Href: c.Href, Label: clipLabel(c.Label, 22), LabelX: x, LabelY: y + rad + 14}
	}
	maxW := 0.0
	for _, t := range ties {
		maxW = math.Max(maxW, t[2])
	}
	var edges []components.CommunityEdge
	for _, t := range ties {
		a, b := nodes[int(t[0])], nodes[int(t[1])]
		edges = append(edges, components.CommunityEdge{X1: a.X, Y1: a.Y, X2: b.X, Y2: b.Y, Weight: t[2], Width: 1 + 11*t[2]/maxW})
	}
	return nodes, edges
}

// communityPositions places n communities on the 800×800 community map. The
// ones tied to others are laid out by graph.CommunityLayout and stretched to
// fill the canvas; the ones without a tie (a group of people alone, say) would
// drift to the edge and squeeze the rest, so they wait in a row at the bottom.
func communityPositions(n int, ties [][3]float64, sizes []int) [][2]float64 {
	tied := make([]bool, n)
	for _, t := range ties {
		tied[int(t[0])], tied[int(t[1])] = true, true
	}
	var in, out []int // in: laid out by ties; out: in the bottom row
	for i := range n {
		if tied[i] {
			in = append(in, i)
		} else {
			out = append(out, i)
		}
	}
	pos := make([][2]float64, n)
	bottom := 700.0
	if len(out) == 0 {
		bottom = 720
	}
	const left, right, top = 100.0, 700.0, 90.0
	switch len(in) {
	case 0:
	case 1:
		pos[in[0]] = [2]float64{400, (top + bottom - 40) / 2}
	default:
		sub := make(map[int]int, len(in))
		for k, i := range in {
			sub[i] = k
		}
		subTies := make([][3]float64, 0, len(ties))
		subSizes := make([]int, len(in))
		for k, i := range in {
			subSizes[k] = sizes[i]
		}
		for _, t := range ties {
			subTies = append(subTies, [3]float64{float64(sub[int(t[0])]), float64(sub[int(t[1])]), t[2]})
		}
		p := graph.CommunityLayout(len(in), subTies, subSizes, 1)
		minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, q := range p {
			minX, maxX = math.Min(minX, q[0]), math.Max(maxX, q[0])
			minY, maxY = math.Min(minY, q[1]), math.Max(maxY, q[1])
		}
		// One scale for both axes keeps distances true.
		h := bottom - 40 - top
		scale := math.Min((right-left)/math.Max(maxX-minX, 1e-9), h/math.Max(maxY-minY, 1e-9))
		cx, cy := (minX+maxX)/2, (minY+maxY)/2
		for k, i := range in {
			pos[i] = [2]float64{400 + (p[k][0]-cx)*scale, top + h/2 + (p[k][1]-cy)*scale}
		}
	}
	for k, i := range out {
		pos[i] = [2]float64{left + (right-left)*(float64(k)+0.5)/float64(len(out)), bottom + 20}
	}
	return pos
}

func (s *Server) communityDetailPage(w http.ResponseWriter, r *http.Request) {
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "There is no detected community with that number.")
		return
	}
	snap, err := s.snapshot(r.Context(), win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if snap == nil {
		v := components.CommunityMapView{H: s.graphHeader("Community map", "communities", win, nil), MinGroup: s.minGroup()}
		s.render(w, r, http.StatusOK, components.CommunityMap(v))
		return
	}
	minGroup := s.minGroup()
	public := snap.PublicCommunities(minGroup)
	i := slices.IndexFunc(public, func(c graph.CommunityMetrics) bool { return c.ID == id })
	if i < 0 {
		s.fail(w, r, http.StatusNotFound, "There is no detected community with that number that is large enough to show (communities change with each computation).")
		return
	}
	c := public[i]
	v := components.CommunityDetailView{H: s.graphHeader(communityLabel(snap, c.ID), "communities", win, snap), MinGroup: minGroup,
		C: s.communityRow(snap, c, win)}
	for to, wt := range c.Ties {
		if wt <= 0 {
			continue
		}
		v.Ties = append(v.Ties, components.CommunityTie{ID: to, Label: communityLabel(snap, to), Weight: wt})
	}
	slices.SortFunc(v.Ties, func(a, b components.CommunityTie) int {
		if a.Weight != b.Weight {
			return cmpDesc(a.Weight, b.Weight)
		}
		return a.ID - b.ID
	})
	if me(r).PeopleAnalyst {
		if !s.audit(w, r, "view_community_members", map[string]any{"window": win.name, "community": id}) {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		v.ShowMembers = true
		for _, n := range snap.Nodes {
			if publicCommunityOf(snap, n.Community, minGroup) == id {
				v.Members = append(v.Members, components.PersonLink{Handle: n.Handle, DisplayName: n.DisplayName})
			}
		}
		slices.SortFunc(v.Members, func(a, b components.PersonLink) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	}
	s.render(w, r, http.StatusOK, components.CommunityDetail(v))
}

// ---------------------------------------------------------------------------
// Organisation map and metrics table (people analysts)
// ---------------------------------------------------------------------------

// mapQuery is the organisation map's filters.
type mapQuery struct {
	win       graphWindow
	community int // -2: all
	kind      string
	focus     string
	person    string
}

const allCommunities = -2

// mapQueryParams parses the filters; a malformed one is a 422 naming it.
func (s *Server) mapQueryParams(w http.ResponseWriter, r *http.Request) (mapQuery, bool) {
	mq, err := parseMapQuery(r.URL.Query()) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return mapQuery{}, false
	}
	return mq, true
}

// checkCommunity answers 422 when the community filter names no detected community.
func (s *Server) checkCommunity(w http.ResponseWriter, r *http.Request, mq mapQuery, snap *graph.Snapshot) bool {
	if mq.community != allCommunities && mq.community >= len(snap.Communities) {
		s.failField(w, r, http.StatusUnprocessableEntity, "community", fmt.Sprintf("community must be a detected community from 0 to %d, or all.", len(snap.Communities)-1))
		return false
	}
	return true
}

func (mq mapQuery) values() url.Values {
	v := url.Values{}
	if mq.win.name == "all" {
		v.Set("window", "all")
	}
	if mq.community != allCommunities {
		v.Set("community", strconv.Itoa(mq.community))
	}
	if mq.kind != "" {
		v.Set("kind", mq.kind)
	}
	return v
}

func (mq mapQuery) filter() components.MapFilter {
	f := components.MapFilter{Window: mq.win.name, Kind: mq.kind, Focus: mq.focus, Person: mq.person}
	if mq.community != allCommunities {
		f.Community = strconv.Itoa(mq.community)
	}
	return f
}

func (mq mapQuery) auditDetail() map[string]any {
	d := map[string]any{"window": mq.win.name, "kind": "all", "community": "all"}
	if mq.kind != "" {
		d["kind"] = mq.kind
	}
	if mq.community != allCommunities {
		d["community"] = mq.community
	}
	if mq.focus != "" {
		d["focus"] = mq.focus
	}
	if mq.person != "" {
		d["person"] = mq.person
	}
	return d
}

func mapLegend(snap *graph.Snapshot, selected int) []components.LegendItem {
	out := make([]components.LegendItem, 0, len(snap.Communities))
	alone := 0
	for i, c := range snap.Communities {
		if c.Size < 2 {
			alone += c.Size
			continue
		}
		out = append(out, components.LegendItem{ID: i, Label: communityLabel(snap, i), Size: c.Size, Fill: hexColour(i), Selected: i == selected})
	}
	slices.SortStableFunc(out, func(a, b components.LegendItem) int { return b.Size - a.Size })
	if alone > 0 {
		out = append(out, components.LegendItem{ID: graph.OtherCommunity, Label: "in a community of their own", Size: alone,
			Fill: hexColour(graph.OtherCommunity)})
	}
	return out
}

// findPerson finds a person among nodes by handle (with or without @), then
// by exact display name, then by a unique part of a name, ignoring case.
func findPerson(nodes []graph.NodeMetrics, q string) (int, bool) {
	q = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(q), "@"))
	if q == "" {
		return -1, false
	}
	for i, n := range nodes {
		if n.Handle == q {
			return i, true
		}
	}
	for i, n := range nodes {
		if strings.ToLower(n.DisplayName) == q {
			return i, true
		}
	}
	found := -1
	for i, n := range nodes {
		if strings.Contains(strings.ToLower(n.DisplayName), q) || strings.Contains(n.Handle, q) {
			if found >= 0 {
				return -1, false // ambiguous
			}
			found = i
		}
	}
	return found, found >= 0
}

func panelView(snap *graph.Snapshot, n graph.NodeMetrics) *components.PanelView {
	return &components.PanelView{Handle: n.Handle, Name: n.DisplayName, Community: communityLabel(snap, n.Community),
		Degree: n.Degree, Strength: n.Strength, PageRank: n.PageRank, Betweenness: n.Betweenness, Reach: n.Reach,
		Broker: n.Broker, Isolated: n.Isolated, Peripheral: n.Peripheral}
}

// The organisation map's canvas: positions (0..1) land inside a 1000×1000
// viewBox with a margin for the largest circles.
const (
	mapSize    = 1000.0
	mapMargin  = 24.0
	mapFocus   = 300.0 // the side of the viewBox centred on a focused person
	mapMaxTies = 20000 // beyond this only the strongest ties are drawn
)

func mapX(x float64) float64 { return mapMargin + x*(mapSize-2*mapMargin) }

func (s *Server) orgMapPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mq, ok := s.mapQueryParams(w, r)
	if !ok {
		return
	}
	snap, err := s.snapshot(ctx, mq.win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.OrgMapView{H: s.graphHeader("Organisation map", "map", mq.win, snap), Filter: mq.filter(), Kinds: community.ConnectionKinds}
	if snap == nil {
		s.render(w, r, http.StatusOK, components.OrgMap(v))
		return
	}
	if !s.checkCommunity(w, r, mq, snap) {
		return
	}
	if !s.audit(w, r, "view_org_map", mq.auditDetail()) {
		return
	}
	ties, err := s.d.Store.Ties(ctx, community.TieFilter{Window: mq.win.duration(), Kind: mq.kind})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v.Legend = mapLegend(snap, mq.community)
	v.TableURL = "/network/map/table"
	if q := mq.values().Encode(); q != "" {
		v.TableURL += "?" + q
	}
	if p := snap.Summary.BetweennessPivots; p > 0 {
		v.BetweennessNote = fmt.Sprintf("Betweenness is estimated from %d sampled people (each value within ±%.3f with 95%% confidence).", p, snap.Summary.BetweennessError)
	} else {
		v.BetweennessNote = "Betweenness is exact."
	}

	// The people drawn: everyone, or one detected community.
	var nodes []graph.NodeMetrics
	for _, n := range snap.Nodes {
		if mq.community == allCommunities || n.Community == mq.community {
			nodes = append(nodes, n)
		}
	}
	v.People = len(nodes)
	status := http.StatusOK
	focus, selected := -1, -1
	if mq.focus != "" {
		if i, ok := findPerson(nodes, mq.focus); ok {
			focus, selected = i, i
		} else {
			status = http.StatusUnprocessableEntity
			v.Error, v.ErrorField = "No one on this map matches “"+mq.focus+"”: try their handle.", "focus"
		}
	}
	if mq.person != "" && selected < 0 {
		if i, ok := findPerson(nodes, mq.person); ok {
			selected = i
		} else if v.Error == "" {
			status = http.StatusUnprocessableEntity
			v.Error, v.ErrorField = "No one on this map has the handle “"+mq.person+"”.", "person"
		}
	}
	if selected >= 0 {
		v.Panel = panelView(snap, nodes[selected])
	}

	index := make(map[int64]int, len(nodes))
	maxB := 0.0
	for i, n := range nodes {
		index[n.NodeID] = i
		maxB = math.Max(maxB, n.Betweenness)
	}
	base := mq.values()
	for i, n := range nodes {
		rad := 3.0
		if maxB > 0 {
			rad += 9 * math.Sqrt(math.Max(n.Betweenness, 0)/maxB)
		}
		class := "p"
		if i == focus {
			class += " focus"
		} else if i == selected {
			class += " sel"
		}
		q := url.Values{}
		for k, vs := range base {
			q[k] = vs
		}
		q.Set("person", n.Handle)
		v.Nodes = append(v.Nodes, components.SVGNode{Index: i, X: mapX(n.X), Y: mapX(n.Y), R: rad, Fill: nodeColour(snap, n.Community), Class: class,
			Handle: n.Handle, Name: n.DisplayName, Href: "/network/map?" + q.Encode(), Community: n.Community, Degree: n.Degree,
			Strength: n.Strength, PageRank: n.PageRank, Betweenness: n.Betweenness, Reach: n.Reach, Broker: n.Broker, Isolated: n.Isolated})
	}
	// Draw the focused or selected person last so nothing covers them.
	if selected >= 0 {
		sel := v.Nodes[selected]
		v.Nodes = append(slices.Delete(v.Nodes, selected, selected+1), sel)
	}

	var drawn []community.Tie
	for _, t := range ties {
		_, okA := index[t.A]
		_, okB := index[t.B]
		if okA && okB && t.Weight > 0 {
			drawn = append(drawn, t)
		}
	}
	v.Ties = len(drawn)
	slices.SortFunc(drawn, func(a, b community.Tie) int { return cmpAsc(a.Weight, b.Weight) })
	if len(drawn) > mapMaxTies {
		drawn = drawn[len(drawn)-mapMaxTies:]
	}
	v.TiesShown = len(drawn)
	v.Edges = tiePaths(drawn, nodes, index)
	// The same ties as pairs of circle indices, for graph.js to highlight the
	// ties of whoever is clicked without asking the server.
	var pairs strings.Builder
	pairs.Grow(len(drawn) * 9)
	for k, t := range drawn {
		if k > 0 {
			pairs.WriteByte(' ')
		}
		pairs.WriteString(strconv.Itoa(index[t.A]))
		pairs.WriteByte(' ')
		pairs.WriteString(strconv.Itoa(index[t.B]))
	}
	v.TiePairs = pairs.String()
	if selected >= 0 {
		var b strings.Builder
		id := nodes[selected].NodeID
		for _, t := range drawn {
			if t.A == id || t.B == id {
				writeSegment(&b, nodes[index[t.A]], nodes[index[t.B]])
			}
		}
		v.FocusEdges = components.SVGPath{D: b.String(), Class: "focus-edges"}
	}

	v.ViewBox = components.ViewBox{W: mapSize, H: mapSize}
	if focus >= 0 {
		n := nodes[focus]
		x := math.Min(math.Max(mapX(n.X)-mapFocus/2, 0), mapSize-mapFocus)
		y := math.Min(math.Max(mapX(n.Y)-mapFocus/2, 0), mapSize-mapFocus)
		v.ViewBox = components.ViewBox{X: x, Y: y, W: mapFocus, H: mapFocus}
	}
	s.render(w, r, status, components.OrgMap(v))
}

// tiePaths draws the ties as four paths, one per band of weight (by quantile:
// the weakest half, then up to 80%, 95% and the strongest 5%), from faint and
// thin to dark and thick. ties must be sorted by weight, weakest first.
func tiePaths(ties []community.Tie, nodes []graph.NodeMetrics, index map[int64]int) []components.SVGPath {
	if len(ties) == 0 {
		return nil
	}
	bands := []struct {
		upto           float64
		width, opacity float64
	}{{0.5, 0.5, 0.07}, {0.8, 0.7, 0.11}, {0.95, 1.0, 0.2}, {1, 1.5, 0.34}}
	var out []components.SVGPath
	start := 0
	for bi, band := range bands {
		end := int(math.Round(band.upto * float64(len(ties))))
		if bi == len(bands)-1 {
			end = len(ties)
		}
		if end <= start {
			continue
		}
		var b strings.Builder
		b.Grow((end - start) * 26)
		for _, t := range ties[start:end] {
			writeSegment(&b, nodes[index[t.A]], nodes[index[t.B]])
		}
		out = append(out, components.SVGPath{D: b.String(), Width: band.width, Opacity: band.opacity, Class: "edge"})
		start = end
	}
	return out
}

func writeSegment(b *strings.Builder, a, c graph.NodeMetrics) {
	b.WriteByte('M')
	b.WriteString(strconv.FormatFloat(mapX(a.X), 'f', 1, 64))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(mapX(a.Y), 'f', 1, 64))
	b.WriteByte('L')
	b.WriteString(strconv.FormatFloat(mapX(c.X), 'f', 1, 64))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(mapX(c.Y), 'f', 1, 64))
}

// metricsPageSize is how many people one page of the metrics table lists.
const metricsPageSize = 50

var metricColumns = []struct{ key, label string }{
	{"handle", "Person"}, {"degree", "Ties"}, {"strength", "Strength"}, {"pagerank", "PageRank"}, {"betweenness", "Betweenness"},
}

func (s *Server) metricsTablePage(w http.ResponseWriter, r *http.Request) {
	mq, ok := s.mapQueryParams(w, r)
	if !ok {
		return
	}
	mt, err := parseMetricsQuery(r.URL.Query()) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	sortKey, dir, page := mt.sort, mt.dir, mt.page
	snap, err := s.snapshot(r.Context(), mq.win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.MetricsTableView{H: s.graphHeader("Network metrics", "map", mq.win, snap), Filter: mq.filter(), Kinds: community.ConnectionKinds,
		Sort: sortKey, Dir: dir, Page: int(page)}
	v.MapURL = "/network/map"
	if qs := mq.values().Encode(); qs != "" {
		v.MapURL += "?" + qs
	}
	if snap == nil {
		s.render(w, r, http.StatusOK, components.MetricsTable(v))
		return
	}
	if !s.checkCommunity(w, r, mq, snap) {
		return
	}
	var rows []graph.NodeMetrics
	for _, n := range snap.Nodes {
		if mq.community == allCommunities || n.Community == mq.community {
			rows = append(rows, n)
		}
	}
	key := func(n graph.NodeMetrics) float64 {
		switch sortKey {
		case "degree":
			return float64(n.Degree)
		case "strength":
			return n.Strength
		case "pagerank":
			return n.PageRank
		}
		return n.Betweenness
	}
	slices.SortStableFunc(rows, func(a, b graph.NodeMetrics) int {
		c := 0
		if sortKey == "handle" {
			c = strings.Compare(a.Handle, b.Handle)
		} else {
			c = cmpAsc(key(a), key(b))
		}
		if dir == "desc" {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.Handle, b.Handle)
		}
		return c
	})
	v.Total = len(rows)
	v.Pages = max(1, (len(rows)+metricsPageSize-1)/metricsPageSize)
	if v.Page > v.Pages {
		s.failField(w, r, http.StatusUnprocessableEntity, "page", fmt.Sprintf("page must be from 1 to %d.", v.Pages))
		return
	}
	if !s.audit(w, r, "view_metrics_table", mq.auditDetail()) {
		return
	}
	v.Legend = mapLegend(snap, mq.community)
	link := func(sortBy, d string, page int) string {
		vals := mq.values()
		vals.Set("sort", sortBy)
		vals.Set("dir", d)
		if page > 1 {
			vals.Set("page", strconv.Itoa(page))
		}
		return "/network/map/table?" + vals.Encode()
	}
	for _, c := range metricColumns {
		sl := components.SortLink{Key: c.key, Label: c.label, Sort: "none"}
		next := "desc"
		if c.key == "handle" {
			next = "asc"
		}
		if c.key == sortKey {
			sl.Sort = map[string]string{"asc": "ascending", "desc": "descending"}[dir]
			next = map[string]string{"asc": "desc", "desc": "asc"}[dir]
		}
		sl.Href = link(c.key, next, 1)
		v.Columns = append(v.Columns, sl)
	}
	from := (v.Page - 1) * metricsPageSize
	for i, n := range rows[from:min(len(rows), from+metricsPageSize)] {
		v.Rows = append(v.Rows, components.MetricsRow{Rank: from + i + 1, Handle: n.Handle, Name: n.DisplayName,
			Community: communityLabel(snap, n.Community), Fill: nodeColour(snap, n.Community), Degree: n.Degree, Strength: n.Strength,
			PageRank: n.PageRank, Betweenness: n.Betweenness, Broker: n.Broker, Isolated: n.Isolated})
	}
	if v.Page > 1 {
		v.PrevURL = link(sortKey, dir, v.Page-1)
	}
	if v.Page < v.Pages {
		v.NextURL = link(sortKey, dir, v.Page+1)
	}
	s.render(w, r, http.StatusOK, components.MetricsTable(v))
}

// ---------------------------------------------------------------------------
// Trends
// ---------------------------------------------------------------------------

// trendWeeks is how many weekly snapshots the trends show (half a year).
const trendWeeks = 26

func (s *Server) trendsPage(w http.ResponseWriter, r *http.Request) {
	win, ok := s.windowParam(w, r)
	if !ok {
		return
	}
	points, err := s.d.Graph.Trend(r.Context(), win.days, trendWeeks)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	snap, err := s.snapshot(r.Context(), win)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.TrendsView{H: s.graphHeader("Trends", "trends", win, snap), Weeks: len(points)}
	v.H.Windowed, v.H.Action = true, "/network/trends"
	minGroup := s.minGroup()
	series := []struct {
		id, title, desc string
		value           func(graph.Summary) float64
		people          bool // a count of people: hidden below minGroup
		format          func(float64) string
	}{
		{"density", "Density", "Share of all possible ties that exist.", func(s graph.Summary) float64 { return s.Density }, false,
			func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }},
		{"modularity", "Modularity", "How clearly the network splits into communities (0 none, 1 fully separate).", func(s graph.Summary) float64 { return s.Modularity }, false,
			func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }},
		{"silos", "Silos", "Communities with far more ties inside than out.", func(s graph.Summary) float64 { return float64(s.Silos) }, false,
			func(f float64) string { return strconv.Itoa(int(f)) }},
		{"isolated", "Isolated people", "People with no tie at all; counts below " + strconv.Itoa(minGroup) + " are not shown.", func(s graph.Summary) float64 { return float64(s.Isolated) }, true,
			func(f float64) string { return strconv.Itoa(int(f)) }},
	}
	for _, se := range series {
		v.Charts = append(v.Charts, trendChart(se.id, se.title, se.desc, points, se.value, se.format, se.people, minGroup))
	}
	for i := len(points) - 1; i >= 0; i-- { // newest first
		p := points[i]
		iso := s.countView(p.Summary.Isolated).Text()
		v.Rows = append(v.Rows, components.TrendRow{Week: p.Week, Density: series[0].format(p.Summary.Density),
			Modularity: series[1].format(p.Summary.Modularity), Silos: strconv.Itoa(p.Summary.Silos), Isolated: iso})
	}
	s.render(w, r, http.StatusOK, components.Trends(v))
}

// lineChart lays out one trend as an SVG line chart. For counts of people,
// weeks below minGroup are drawn as hollow points inside a "fewer than N"
// band, off the line, so the chart never shows such a figure.
func trendChart(id, title, desc string, points []graph.TrendPoint, value func(graph.Summary) float64, format func(float64) string, people bool, minGroup int) components.LineChart {
	c := components.LineChart{ID: "chart-" + id, Title: title, Desc: desc, Width: 360, Height: 190,
		PlotLeft: 52, PlotRite: 348, PlotTop: 12, PlotBot: 160}
	if len(points) == 0 {
		return c
	}
	lo, hi := 0.0, 0.0
	for _, p := range points {
		val := value(p.Summary)
		if people && val < float64(minGroup) {
			continue
		}
		lo, hi = math.Min(lo, val), math.Max(hi, val)
	}
	if people {
		hi = math.Max(hi, float64(minGroup)*1.5)
	}
	if hi == lo {
		hi = lo + 1
	}
	hi += (hi - lo) * 0.08
	y := func(val float64) float64 {
		return c.PlotBot - (val-lo)/(hi-lo)*(c.PlotBot-c.PlotTop)
	}
	x := func(i int) float64 {
		if len(points) == 1 {
			return (c.PlotLeft + c.PlotRite) / 2
		}
		return c.PlotLeft + 8 + float64(i)*(c.PlotRite-c.PlotLeft-16)/float64(len(points)-1)
	}
	c.YMin, c.YMax = format(lo), format(hi)
	if people {
		c.YMax = strconv.Itoa(int(hi))
	}
	c.First = points[0].Week.Format("2 Jan")
	if len(points) > 1 {
		c.Last = points[len(points)-1].Week.Format("2 Jan")
	}
	var run []string
	flush := func() {
		if len(run) >= 2 {
			c.Lines = append(c.Lines, strings.Join(run, " "))
		}
		run = nil
	}
	for i, p := range points {
		val := value(p.Summary)
		week := "week of " + p.Week.Format("2 Jan 2006") + ": "
		if people && val < float64(minGroup) {
			c.BandY = y(float64(minGroup))
			c.BandText = "fewer than " + strconv.Itoa(minGroup)
			c.Points = append(c.Points, components.ChartPoint{X: x(i), Y: (c.BandY + c.PlotBot) / 2, Label: week + c.BandText, Suppressed: true})
			flush()
			continue
		}
		pt := components.ChartPoint{X: x(i), Y: y(val), Label: week + format(val)}
		c.Points = append(c.Points, pt)
		run = append(run, strconv.FormatFloat(pt.X, 'f', 1, 64)+","+strconv.FormatFloat(pt.Y, 'f', 1, 64))
	}
	flush()
	return c
}

// ---------------------------------------------------------------------------
// Access: stewards grant the people-analyst capability; the audit log
// ---------------------------------------------------------------------------

func (s *Server) accessPage(w http.ResponseWriter, r *http.Request) {
	s.renderAccess(w, r, http.StatusOK, "", "")
}

func (s *Server) renderAccess(w http.ResponseWriter, r *http.Request, status int, handle, msg string) {
	viewer := me(r)
	if !viewer.Steward && !viewer.PeopleAnalyst {
		s.fail(w, r, http.StatusForbidden, "Only stewards and people analysts can see who may read named analytics and the audit log.")
		return
	}
	entries, err := s.d.Graph.AuditLog(r.Context(), 50)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	v := components.AccessView{H: s.graphHeader("Access and audit", "access", graphWindow{days: 90, name: "90d"}, nil),
		CanGrant: viewer.Steward, Handle: handle, Error: msg}
	v.H.Ready = true // the page does not depend on a snapshot
	for _, e := range entries {
		v.Audit = append(v.Audit, components.AuditItem{Actor: e.Actor, Action: e.Action, Detail: string(e.Detail), At: e.At})
	}
	s.render(w, r, status, components.Access(v))
}

func (s *Server) accessForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	handle := strings.TrimSpace(r.PostForm.Get("handle"))
	action := r.PostForm.Get("action")
	if action != "grant" && action != "revoke" {
		s.renderAccess(w, r, http.StatusUnprocessableEntity, handle, "Choose grant or revoke.")
		return
	}
	if handle == "" {
		s.renderAccess(w, r, http.StatusUnprocessableEntity, handle, "Enter the handle of the person.")
		return
	}
	n, err := s.d.Store.SetCapability(r.Context(), me(r).ID, handle, community.CapabilityPeopleAnalyst, action == "grant")
	var ve *community.ValidationError
	switch {
	case errors.As(err, &ve):
		s.renderAccess(w, r, http.StatusUnprocessableEntity, handle, ve.Message)
		return
	case err != nil:
		s.failErr(w, r, err)
		return
	}
	// Who may see named data is itself worth auditing.
	if err := s.d.Graph.Audit(r.Context(), me(r).ID, action+"_people_analyst", map[string]any{"handle": n.Handle}); err != nil {
		s.d.Logger.Error("audit", "action", action, "err", err)
	}
	http.Redirect(w, r, "/network/access", http.StatusSeeOther)
}
