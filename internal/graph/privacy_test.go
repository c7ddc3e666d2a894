package graph

import "testing"

func snapWith(sizes ...int) *Snapshot {
	s := &Snapshot{}
	for i, n := range sizes {
		s.Communities = append(s.Communities, CommunityMetrics{ID: i, Size: n, Internal: float64(n), Ties: map[int]float64{}})
	}
	return s
}

func TestPublicCommunitiesMergesSmallGroups(t *testing.T) {
	for _, tiny := range []int{1, 2, 3, 4} {
		s := snapWith(10, 7, tiny, tiny) // two tiny groups: merged 2·tiny
		s.Communities[0].Ties[2] = 1
		s.Communities[2].Ties[0] = 1
		s.Communities[2].Ties[3] = 2
		s.Communities[3].Ties[2] = 2
		got := s.PublicCommunities(5)
		for _, c := range got {
			if c.Size < 5 {
				t.Errorf("tiny=%d: a group of %d is shown: %+v", tiny, c.Size, c)
			}
			for to := range c.Ties {
				if to == 2 || to == 3 {
					t.Errorf("tiny=%d: a tie names small community %d", tiny, to)
				}
			}
		}
		other := 2 * tiny
		wantOther := other >= 5
		var found bool
		for _, c := range got {
			if c.ID == OtherCommunity {
				found = true
				if c.Size != other {
					t.Errorf("tiny=%d: other has %d, want %d", tiny, c.Size, other)
				}
				if c.Ties[0] != 1 {
					t.Errorf("tiny=%d: other's tie to 0 = %v, want 1", tiny, c.Ties[0])
				}
			}
		}
		if found != wantOther {
			t.Errorf("tiny=%d: other shown = %v, want %v (merged size %d)", tiny, found, wantOther, other)
		}
		if !wantOther {
			if _, ok := got[0].Ties[OtherCommunity]; ok {
				t.Errorf("tiny=%d: a tie points at the hidden other group", tiny)
			}
		}
	}
}

func TestAllowSubset(t *testing.T) {
	cases := []struct {
		total, subset int
		want          bool
	}{
		{100, 100, true}, {4, 4, false}, {100, 5, true}, {100, 4, false},
		{100, 96, false}, {100, 95, true}, {10, 5, true}, {9, 5, false}, {100, 0, false},
	}
	for _, c := range cases {
		if got := AllowSubset(c.total, c.subset, 5); got != c.want {
			t.Errorf("AllowSubset(%d, %d, 5) = %v, want %v", c.total, c.subset, got, c.want)
		}
	}
	for n := 0; n < 5; n++ {
		if _, ok := Count(n, 5); ok {
			t.Errorf("Count(%d, 5) shown", n)
		}
	}
}

func TestSelf(t *testing.T) {
	s := &Snapshot{Nodes: []NodeMetrics{{NodeID: 7, Handle: "ana"}, {NodeID: 9, Handle: "ben"}}}
	if n, ok := s.Self(9); !ok || n.Handle != "ben" {
		t.Errorf("Self(9) = %+v %v", n, ok)
	}
	if _, ok := s.Self(1); ok {
		t.Error("Self of a stranger found")
	}
}
