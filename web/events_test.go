package web

import "testing"

func TestHubRemembersRecentEvents(t *testing.T) {
	h := newHub()
	const n = recentEvents + 1000 // wraps the ring
	for seq := uint64(1); seq <= n; seq++ {
		h.remember(liveEvent{Seq: seq})
	}
	t.Run("a gap inside the memory is covered, in order", func(t *testing.T) {
		_, backlog, covered, tail := h.add(1, n-5)
		if !covered || tail != n || len(backlog) != 5 {
			t.Fatalf("covered=%v tail=%d backlog=%d, want true, %d, 5", covered, tail, len(backlog), n)
		}
		for i, ev := range backlog {
			if want := uint64(n - 4 + i); ev.Seq != want {
				t.Errorf("backlog[%d] = %d, want %d", i, ev.Seq, want)
			}
		}
	})
	t.Run("the oldest remembered event is the edge", func(t *testing.T) {
		oldest := uint64(n - recentEvents + 1)
		if _, backlog, covered, _ := h.add(1, oldest-1); !covered || len(backlog) != recentEvents || backlog[0].Seq != oldest {
			t.Errorf("resume from just before the oldest: covered=%v len=%d", covered, len(backlog))
		}
		if _, _, covered, _ := h.add(1, oldest-2); covered {
			t.Error("a gap older than the memory was reported covered")
		}
	})
	t.Run("an id beyond the tail is not covered", func(t *testing.T) {
		if _, _, covered, _ := h.add(1, n+1); covered {
			t.Error("a future id was reported covered")
		}
	})
	t.Run("a gap in the sequence starts the memory afresh", func(t *testing.T) {
		h.remember(liveEvent{Seq: n + 10})
		if _, _, covered, tail := h.add(1, n); covered || tail != n+10 {
			t.Errorf("after a gap: covered=%v tail=%d, want false and %d", covered, tail, n+10)
		}
	})
}
