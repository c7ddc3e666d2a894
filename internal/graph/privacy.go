package graph

import "sort"

// Privacy rules, enforced here rather than in each page:
//   - named, organisation-wide data (Snapshot.Nodes) is for people analysts;
//     everyone else sees only their own row (Self) and aggregates;
//   - no aggregate describes fewer than minGroup people: smaller communities are
//     merged into one "other" group, which is itself hidden when still too small;
//   - two answers whose populations differ by fewer than minGroup people would
//     reveal that difference, so a filtered aggregate is refused when it, or what
//     it leaves out, is smaller than minGroup (AllowSubset).

// OtherCommunity is the ID of the merged group of small communities.
const OtherCommunity = -1

// Self is node's own row of the snapshot.
func (s *Snapshot) Self(nodeID int64) (NodeMetrics, bool) {
	for _, n := range s.Nodes {
		if n.NodeID == nodeID {
			return n, true
		}
	}
	return NodeMetrics{}, false
}

// PublicCommunities is the community list anyone may see: communities of at
// least minGroup people as they are, the smaller ones merged into "other"
// (hidden when the merge is still smaller than minGroup). Ties to and from the
// merged communities are summed into "other" the same way. Largest first.
func (s *Snapshot) PublicCommunities(minGroup int) []CommunityMetrics {
	var out []CommunityMetrics
	other := CommunityMetrics{ID: OtherCommunity, Label: "Other small groups", Ties: map[int]float64{}}
	mapped := map[int]int{} // community → the id it is shown as
	for _, c := range s.Communities {
		if c.Size >= minGroup {
			mapped[c.ID] = c.ID
		} else {
			mapped[c.ID] = OtherCommunity
		}
	}
	for _, c := range s.Communities {
		if mapped[c.ID] == OtherCommunity {
			other.Size += c.Size
			other.Internal += c.Internal
			other.External += c.External
			for to, w := range c.Ties {
				if mapped[to] == OtherCommunity {
					other.Internal += w / 2 // a tie between two small groups is inside "other" (seen from both)
					other.External -= w
					continue
				}
				other.Ties[mapped[to]] += w
			}
			continue
		}
		pc := c
		pc.Ties = map[int]float64{}
		for to, w := range c.Ties {
			pc.Ties[mapped[to]] += w
		}
		out = append(out, pc)
	}
	if other.Size >= minGroup {
		other.EI = ei(other.External, other.Internal)
		other.Silo = other.EI < SiloThreshold
		out = append(out, other)
	} else {
		for i := range out {
			delete(out[i].Ties, OtherCommunity)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Size > out[j].Size })
	return out
}

// SiloThreshold is the E-I index below which a community counts as a silo: it
// has clearly more weight inside than towards everyone else.
const SiloThreshold = -0.5

func ei(external, internal float64) float64 {
	if external+internal == 0 {
		return 0
	}
	return (external - internal) / (external + internal)
}

// AllowSubset reports whether an aggregate over a subset of a population may be
// shown next to the aggregate over the whole: the subset and what it leaves out
// must each be at least minGroup people (or the subset must be the whole).
func AllowSubset(total, subset, minGroup int) bool {
	if subset == total {
		return total >= minGroup
	}
	return subset >= minGroup && total-subset >= minGroup
}

// Count is a figure about people that may be shown only for groups of at least
// minGroup: ok is false when the count is below it (show "fewer than N").
func Count(n, minGroup int) (shown int, ok bool) {
	if n < minGroup {
		return 0, false
	}
	return n, true
}
