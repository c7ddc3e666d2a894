package bus

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func names(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// waitMembers polls m until its member names equal want, or fails after limit.
func waitMembers(t *testing.T, m *Membership, want []string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if got := names(m.Members()); slices.Equal(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s sees %v, want %v within %s", m.Self().Name, names(m.Members()), want, limit)
}

func TestMembership(t *testing.T) {
	buses := startCluster(t, 3)
	const interval, ttl = 100 * time.Millisecond, 500 * time.Millisecond
	ms := make([]*Membership, 3)
	for i, b := range buses {
		clients := i * 10
		ms[i] = NewMembership(b.Conn(), fmt.Sprintf("inst-%d", i+1), fmt.Sprintf("127.0.0.1:%d", 8081+i), func() int { return clients }, interval, ttl)
		if err := ms[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, m := range ms {
			m.Stop()
		}
	}()
	all := []string{"inst-1", "inst-2", "inst-3"}

	t.Run("every instance sees all three", func(t *testing.T) {
		for _, m := range ms {
			waitMembers(t, m, all, 10*time.Second)
		}
		got := ms[0].Members()[2]
		if got.HTTPAddr != "127.0.0.1:8083" || got.Clients != 20 || got.StartedAt.IsZero() || got.LastSeen.IsZero() {
			t.Errorf("inst-3 as seen by inst-1 = %+v, want its address, 20 clients and times", got)
		}
	})

	t.Run("a graceful stop is seen at once", func(t *testing.T) {
		ms[2].Stop()
		waitMembers(t, ms[0], all[:2], ttl/2)
		waitMembers(t, ms[1], all[:2], ttl/2)
		if err := ms[2].Start(); err != nil {
			t.Fatal(err)
		}
		waitMembers(t, ms[0], all, 5*time.Second)
	})

	t.Run("a killed instance expires after the TTL", func(t *testing.T) {
		// Closing the connection stops heartbeats without a leave message.
		buses[2].Close()
		buses[2] = nil
		start := time.Now()
		waitMembers(t, ms[0], all[:2], 10*ttl)
		waitMembers(t, ms[1], all[:2], 10*ttl)
		if took := time.Since(start); took < ttl/2 {
			t.Errorf("dropped after %s, before the TTL of %s could pass: it was not expiry", took, ttl)
		}
	})
}
