package graph

import (
	"context"
	"math"
	"sort"
	"strconv"
	"time"
)

// BuildSeed fixes the seeded parts (Louvain order, pivots, layout) so a snapshot
// recomputed on unchanged data is the same on any instance.
const BuildSeed = 20261121

// Build loads the network of a time window (0 days: all time) and computes its
// snapshot: the whole metric set, each community's label and the map layout.
// prev (may be nil) keeps the layout where it was, so the map stays familiar.
func Build(ctx context.Context, src Source, windowDays int, prev *Snapshot) (*Snapshot, error) {
	start := time.Now()
	l, err := Load(ctx, src, time.Duration(windowDays)*24*time.Hour, "")
	if err != nil {
		return nil, err
	}
	m := ComputeAll(l.G, Options{Seed: BuildSeed})

	prevPos := make([][2]float64, len(l.People))
	old := map[int64][2]float64{}
	if prev != nil {
		for _, n := range prev.Nodes {
			old[n.NodeID] = [2]float64{n.X, n.Y}
		}
	}
	for i, p := range l.People {
		if xy, ok := old[p.ID]; ok {
			prevPos[i] = xy
		} else {
			prevPos[i] = [2]float64{math.NaN(), math.NaN()}
		}
	}
	pos := Layout(l.G, prevPos, BuildSeed, 0)

	snap := &Snapshot{WindowDays: windowDays, Kind: "current", ComputedAt: time.Now().UTC()}
	silos, brokers, isolated, _ := m.Counts()
	n, e := l.G.N, l.G.EdgeCount()
	snap.Summary = Summary{
		Nodes: n, Edges: e, Modularity: m.Modularity, Communities: len(m.Communities),
		Silos: silos, Isolated: isolated, Brokers: brokers,
		BetweennessPivots: m.BetweennessPivots, BetweennessError: m.BetweennessError,
	}
	if n > 1 {
		snap.Summary.Density = 2 * float64(e) / (float64(n) * float64(n-1))
	}
	for i, p := range l.People {
		snap.Nodes = append(snap.Nodes, NodeMetrics{
			NodeID: p.ID, Handle: p.Handle, DisplayName: p.DisplayName,
			Community: int(m.Community[i]), Degree: m.Degree[i], Strength: m.Strength[i],
			PageRank: m.PageRank[i], Betweenness: m.Betweenness[i],
			Broker: m.Broker[i], Isolated: m.Isolated[i], Peripheral: m.Peripheral[i],
			Reach: [3]int{int(m.Reach[i][0]), int(m.Reach[i][1]), int(m.Reach[i][2])},
			X:     pos[i][0], Y: pos[i][1],
		})
	}
	labels := communityLabels(l, m)
	for _, c := range m.Communities {
		snap.Communities = append(snap.Communities, CommunityMetrics{
			ID: c.ID, Label: labels[c.ID], Size: c.Size, Internal: c.Internal, External: c.External,
			EI: c.EI, Silo: c.Silo, Ties: c.Ties,
		})
	}
	snap.TookMS = int(time.Since(start).Milliseconds())
	return snap, nil
}

// communityLabels names each detected community after the declared community
// most of its members belong to (e.g. "platform"), or "group N" when none stands out.
func communityLabels(l *Loaded, m *Metrics) map[int]string {
	counts := make([]map[string]int, len(m.Communities))
	for i, p := range l.People {
		c := m.Community[i]
		if counts[c] == nil {
			counts[c] = map[string]int{}
		}
		for _, slug := range p.Communities {
			counts[c][slug]++
		}
	}
	labels := map[int]string{}
	for c, cc := range counts {
		type kv struct {
			slug string
			n    int
		}
		var list []kv
		for s, n := range cc {
			list = append(list, kv{s, n})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].n != list[j].n {
				return list[i].n > list[j].n
			}
			return list[i].slug < list[j].slug
		})
		if len(list) > 0 && 2*list[0].n >= m.Communities[c].Size {
			labels[c] = list[0].slug
		} else {
			labels[c] = "group " + strconv.Itoa(c+1)
		}
	}
	return labels
}
