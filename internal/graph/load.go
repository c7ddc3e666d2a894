package graph

import (
	"context"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Loaded is the network read from PostgreSQL: the graph plus who each node is.
type Loaded struct {
	G      *Graph
	People []community.PersonRef // index i is node i of G
	Index  map[int64]int32       // node id → index
	Ties   []community.Tie
}

// Source is what the loader reads from (the community store).
type Source interface {
	ActivePeople(ctx context.Context) ([]community.PersonRef, error)
	Ties(ctx context.Context, f community.TieFilter) ([]community.Tie, error)
}

// Load reads every active person and the weighted ties between them for a time
// window (0: all time) into a CSR graph. Only who-interacted-with-whom metadata
// is read: no share, feedback or profile text enters the analytics.
func Load(ctx context.Context, src Source, window time.Duration, kind string) (*Loaded, error) {
	people, err := src.ActivePeople(ctx)
	if err != nil {
		return nil, err
	}
	ties, err := src.Ties(ctx, community.TieFilter{Window: window, Kind: kind})
	if err != nil {
		return nil, err
	}
	l := &Loaded{People: people, Index: make(map[int64]int32, len(people)), Ties: ties}
	for i, p := range people {
		l.Index[p.ID] = int32(i)
	}
	edges := make([]Edge, 0, len(ties))
	for _, t := range ties {
		a, okA := l.Index[t.A]
		b, okB := l.Index[t.B]
		if okA && okB {
			edges = append(edges, Edge{U: a, V: b, W: t.Weight})
		}
	}
	l.G = FromEdges(len(people), edges)
	return l, nil
}
