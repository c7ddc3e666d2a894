package main

import (
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestThreeInstancesSeeEachOther(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	envs := clusterEnvs(t, 3, dbURL)
	insts := make([]*instance, 3)
	for i, env := range envs {
		env["SEED_DEMO"] = "true" // all three at once: the seed must happen exactly once
		insts[i] = startInstance(t, env)
	}
	all := []string{"peer-1", "peer-2", "peer-3"}
	for _, in := range insts {
		waitClusterNames(t, in.url, all, 15*time.Second)
	}
	start := time.Now()
	waitReady(t, insts[0].url, insts[1].url, insts[2].url)
	t.Logf("three instances ready (event stream with 3 replicas) after %s", time.Since(start).Round(time.Millisecond))

	t.Run("every entry has the documented fields", func(t *testing.T) {
		var c clusterJSON
		getJSON(t, insts[0].url+"/api/v1/cluster", &c)
		for i, m := range c.Instances {
			if want := strings.TrimPrefix(insts[i].url, "http://"); m.HTTPAddr != want {
				t.Errorf("%s http_addr = %q, want %q", m.Name, m.HTTPAddr, want)
			}
			if m.StartedAt.IsZero() || m.LastSeen.IsZero() || m.Clients == nil {
				t.Errorf("%s: missing started_at, last_seen or clients: %+v", m.Name, m)
			}
		}
	})

	t.Run("the demo organisation was seeded once", func(t *testing.T) {
		pool := testenv.Pool(t, dbURL)
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM nodes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 30 {
			t.Errorf("%d people after three seeding starts, want 30", n)
		}
	})

	t.Run("a stopped instance is dropped by the others", func(t *testing.T) {
		if err := insts[2].stop(); err != nil {
			t.Fatalf("peer-3 stopped with %v", err)
		}
		waitClusterNames(t, insts[0].url, all[:2], 5*time.Second)
		waitClusterNames(t, insts[1].url, all[:2], 5*time.Second)
	})

	t.Run("the others still serve and are ready", func(t *testing.T) {
		// Two of three nodes keep a JetStream quorum: the event stream stays
		// available and both stay ready.
		for _, in := range insts[:2] {
			if st := readyStatus(t, in.url); st != 200 {
				t.Errorf("%s /readyz = %d after a peer stopped, want 200", in.name, st)
			}
		}
	})
}
