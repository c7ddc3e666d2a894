package graph

import (
	"slices"
	"testing"
)

func TestFromEdges(t *testing.T) {
	g := FromEdges(4, []Edge{
		{0, 1, 1}, {1, 0, 2}, // parallel, merged: weight 3
		{1, 2, 1}, {2, 2, 5}, // self-loop dropped
		{0, 9, 1}, {2, 3, 0}, // out of range, zero weight: dropped
	})
	if g.N != 4 || g.EdgeCount() != 2 {
		t.Fatalf("N=%d edges=%d, want 4 and 2", g.N, g.EdgeCount())
	}
	if got, want := g.Edges(), []Edge{{0, 1, 3}, {1, 2, 1}}; !slices.Equal(got, want) {
		t.Errorf("Edges = %v, want %v", got, want)
	}
	adj, w := g.Neighbours(1)
	if !slices.Equal(adj, []int32{0, 2}) || !slices.Equal(w, []float64{3, 1}) {
		t.Errorf("neighbours of 1 = %v %v", adj, w)
	}
	if g.Degree(3) != 0 || g.Degree(1) != 2 {
		t.Errorf("degrees %d %d", g.Degree(3), g.Degree(1))
	}
}
