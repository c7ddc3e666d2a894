package main

import (
	"context"
	"encoding/csv"
	"sync"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/demo"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// importEmailEuCore fills a fresh database with the real organisation.
func importEmailEuCore(t *testing.T) (string, *community.Store) {
	t.Helper()
	dbURL := testenv.DatabaseURL(t)
	cs := community.NewStore(testenv.Pool(t, dbURL))
	if _, err := cs.Import(context.Background(), community.ImportInput{Nodes: demo.People(), Edges: demo.Edges()}); err != nil {
		t.Fatal(err)
	}
	return dbURL, cs
}

func TestBuildSnapshotOfTheRealOrganisation(t *testing.T) {
	dbURL, cs := importEmailEuCore(t)
	ctx := context.Background()
	start := time.Now()
	snap, err := graph.Build(ctx, cs, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	s := snap.Summary
	t.Logf("email-eu-core snapshot: %d people, %d ties, %d communities, modularity %.3f, %d silos, %d brokers, %d isolated, in %s",
		s.Nodes, s.Edges, s.Communities, s.Modularity, s.Silos, s.Brokers, s.Isolated, took.Round(time.Millisecond))
	if s.Nodes != 1005 || s.Edges != 16064 {
		t.Errorf("snapshot has %d people and %d ties, want 1005 and 16064", s.Nodes, s.Edges)
	}
	if s.Isolated != 19 {
		t.Errorf("%d isolated people, want the dataset's 19", s.Isolated)
	}
	if s.Modularity < 0.3 || s.Communities < 5 {
		t.Errorf("modularity %.3f with %d communities: the real organisation has clear structure", s.Modularity, s.Communities)
	}

	// Detected communities against the departments (ground truth of the dataset).
	depts := departmentOfHandle(t)
	var found, truth []int32
	for _, n := range snap.Nodes {
		if d, ok := depts[n.Handle]; ok {
			found = append(found, int32(n.Community))
			truth = append(truth, d)
		}
	}
	nmi := graph.NMI(found, truth)
	t.Logf("NMI of detected communities vs departments: %.3f", nmi)
	if nmi < 0.58 {
		t.Errorf("NMI %.3f, want at least 0.58 (the first version reached 0.593)", nmi)
	}
	for _, n := range snap.Nodes {
		if n.X < 0 || n.X > 1 || n.Y < 0 || n.Y > 1 {
			t.Fatalf("%s at (%v, %v): outside the map", n.Handle, n.X, n.Y)
		}
	}

	t.Run("a recomputed snapshot keeps the map where it was", func(t *testing.T) {
		again, err := graph.Build(ctx, cs, 0, snap)
		if err != nil {
			t.Fatal(err)
		}
		moved := 0.0
		for i := range again.Nodes {
			dx, dy := again.Nodes[i].X-snap.Nodes[i].X, again.Nodes[i].Y-snap.Nodes[i].Y
			moved += dx*dx + dy*dy
		}
		if mean := moved / float64(len(again.Nodes)); mean > 0.0025 {
			t.Errorf("mean squared move %.4f, want the layout stable", mean)
		}
	})

	t.Run("the recomputer saves, then waits for changes, and only one instance computes", func(t *testing.T) {
		gs := graph.NewStore(testenv.Pool(t, dbURL), nil)
		var mu sync.Mutex
		computed := 0
		rc := func() *graph.Recomputer {
			return &graph.Recomputer{Store: gs, Debounce: time.Millisecond, Compute: func(ctx context.Context, w int, prev *graph.Snapshot) (*graph.Snapshot, error) {
				mu.Lock()
				computed++
				mu.Unlock()
				return graph.Build(ctx, cs, w, prev)
			}}
		}
		var wg sync.WaitGroup
		for range 3 { // three instances at once
			wg.Go(func() {
				if _, err := rc().Once(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if computed != len(graph.Windows) {
			t.Errorf("%d computations by three instances, want %d (one per window)", computed, len(graph.Windows))
		}
		cur, err := gs.Current(ctx, 0)
		if err != nil || cur.Summary.Nodes != 1005 {
			t.Fatalf("current snapshot = %+v, %v", cur, err)
		}
		if n, _ := rc().Once(ctx); n != 0 {
			t.Errorf("recomputed %d windows with nothing changed", n)
		}
		// A share changes no tie; one mentioning somebody is an interaction.
		if _, err := cs.CreateShare(ctx, cur.Nodes[0].NodeID, community.ShareInput{Body: "hello", Audience: "everyone"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := rc().Once(ctx); n != 0 {
			t.Errorf("recomputed %d windows after a share that changes no tie, want 0", n)
		}
		if _, err := cs.CreateShare(ctx, cur.Nodes[0].NodeID, community.ShareInput{
			Body: "hello @" + cur.Nodes[1].Handle, Audience: "everyone"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := rc().Once(ctx); n != len(graph.Windows) {
			t.Errorf("recomputed %d windows after a mention, want %d", n, len(graph.Windows))
		}
		trend, err := gs.Trend(ctx, 0, 10)
		if err != nil || len(trend) != 1 {
			t.Errorf("trend = %+v, %v; want this week's point", trend, err)
		}
	})
}

// departmentOfHandle reads the department of each person from the demo data.
func departmentOfHandle(t *testing.T) map[string]int32 {
	t.Helper()
	rows, err := csv.NewReader(demo.People()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ids := map[string]int32{}
	out := map[string]int32{}
	for _, r := range rows[1:] {
		c := r[col["community"]]
		if _, ok := ids[c]; !ok {
			ids[c] = int32(len(ids))
		}
		out[r[col["handle"]]] = ids[c]
	}
	if len(ids) != 42 {
		t.Fatalf("%d departments in the demo data, want 42", len(ids))
	}
	return out
}
