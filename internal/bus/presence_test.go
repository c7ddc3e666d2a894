package bus

import (
	"slices"
	"testing"
	"time"
)

// waitViewers polls p until Viewers(key) equals want, or fails after limit.
func waitViewers(t *testing.T, p *Presence, name, key string, want []int64, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(limit)
	var got []int64
	for time.Now().Before(deadline) {
		if got = p.Viewers(key); slices.Equal(got, want) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: Viewers(%q) = %v, want %v within %s", name, key, got, want, limit)
	return 0
}

func TestPresenceAcrossTwoInstances(t *testing.T) {
	buses := startCluster(t, 2)
	const interval, ttl = 100 * time.Millisecond, 500 * time.Millisecond
	a, err := NewPresence(buses[0].Conn(), interval, ttl)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewPresence(buses[1].Conn(), interval, ttl)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Routes form asynchronously: wait until an announcement from A reaches B.
	leaveWarm := a.Enter("warm-up", 1)
	waitViewers(t, b, "B", "warm-up", []int64{1}, 10*time.Second)
	leaveWarm()
	waitViewers(t, b, "B", "warm-up", nil, 5*time.Second)

	t.Run("a node entering on A is seen on B, and only on its key", func(t *testing.T) {
		leave := a.Enter("thread:1", 7)
		defer leave()
		took := waitViewers(t, b, "B", "thread:1", []int64{7}, 2*time.Second)
		t.Logf("seen on the other instance after %s", took.Round(time.Millisecond))
		if got := b.Viewers("thread:2"); len(got) != 0 {
			t.Errorf("B: Viewers(thread:2) = %v, want nobody", got)
		}
		if got := a.Viewers("thread:1"); !slices.Equal(got, []int64{7}) {
			t.Errorf("A: Viewers(thread:1) = %v, want [7] (its own stream)", got)
		}
	})

	t.Run("the union of both instances, without repeats", func(t *testing.T) {
		l1 := a.Enter("thread:1", 7)
		l2 := b.Enter("thread:1", 3)
		l3 := b.Enter("thread:1", 7) // the same node in a second tab, on B
		defer l1()
		defer l2()
		waitViewers(t, a, "A", "thread:1", []int64{3, 7}, 2*time.Second)
		waitViewers(t, b, "B", "thread:1", []int64{3, 7}, 2*time.Second)
		l3()
		l3() // a second leave changes nothing
		// 7 is still on A.
		time.Sleep(2 * interval)
		if got := b.Viewers("thread:1"); !slices.Equal(got, []int64{3, 7}) {
			t.Errorf("B after node 7 left one of two tabs: %v, want [3 7]", got)
		}
	})

	t.Run("leaving is seen at once, not after the TTL", func(t *testing.T) {
		leave := a.Enter("thread:9", 5)
		waitViewers(t, b, "B", "thread:9", []int64{5}, 2*time.Second)
		leave()
		took := waitViewers(t, b, "B", "thread:9", nil, ttl)
		if took >= ttl/2 {
			t.Errorf("leave seen after %s, want well before the TTL of %s", took, ttl)
		}
	})

	t.Run("two tabs of one node on one instance: it stays until both leave", func(t *testing.T) {
		l1 := a.Enter("thread:4", 8)
		l2 := a.Enter("thread:4", 8)
		waitViewers(t, b, "B", "thread:4", []int64{8}, 2*time.Second)
		l1()
		time.Sleep(2 * interval)
		if got := b.Viewers("thread:4"); !slices.Equal(got, []int64{8}) {
			t.Errorf("after one of two tabs left: %v, want [8]", got)
		}
		l2()
		waitViewers(t, b, "B", "thread:4", nil, 2*time.Second)
	})

	t.Run("a crashed instance's viewers expire after the TTL", func(t *testing.T) {
		a.Enter("thread:5", 11) // never left: the instance dies
		waitViewers(t, b, "B", "thread:5", []int64{11}, 2*time.Second)
		// Stop announcing without the goodbye Close would send.
		a.cancel()
		<-a.done
		a.cancel = nil
		_ = a.sub.Unsubscribe()
		start := time.Now()
		waitViewers(t, b, "B", "thread:5", nil, 10*ttl)
		if took := time.Since(start); took < ttl/2 {
			t.Errorf("dropped after %s, before the TTL of %s could pass", took, ttl)
		}
	})
}
