package graph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// newRand is the one seeded generator the kernels use, so that a seed means
// the same thing everywhere (Random, Louvain's node order, betweenness pivots).
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Random returns a uniform random simple graph G(n, m): m distinct undirected
// edges of weight 1 drawn uniformly from all n(n−1)/2 pairs (m is clamped to
// that number). The same seed gives the same graph. It is the graph the
// performance targets are stated on (10,000 nodes, 200,000 edges).
func Random(n, m int, seed uint64) *Graph {
	if n < 2 || m <= 0 {
		return FromEdges(max(n, 0), nil)
	}
	maxEdges := n * (n - 1) / 2
	m = min(m, maxEdges)
	r := newRand(seed)
	edges := make([]Edge, 0, m)
	if m > maxEdges/2 {
		// Dense: rejection sampling would stall near the end, so shuffle all pairs.
		all := make([]Edge, 0, maxEdges)
		for u := 0; u < n; u++ {
			for v := u + 1; v < n; v++ {
				all = append(all, Edge{U: int32(u), V: int32(v), W: 1})
			}
		}
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		return FromEdges(n, all[:m])
	}
	seen := make(map[uint64]struct{}, m)
	for len(edges) < m {
		u, v := r.IntN(n), r.IntN(n)
		if u == v {
			continue
		}
		if u > v {
			u, v = v, u
		}
		key := uint64(u)<<32 | uint64(v)
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = struct{}{}
		edges = append(edges, Edge{U: int32(u), V: int32(v), W: 1})
	}
	return FromEdges(n, edges)
}

// ReadEdgeList parses an edge list: two whitespace-separated integer ids per
// line, '#' starting a comment (whole-line or trailing), blank lines ignored.
// Edges are undirected with weight 1; duplicates and reverse duplicates are
// merged (weight stays 1: the file says a tie exists, not how strong it is);
// self-loops are dropped but their ids still become (possibly isolated) nodes,
// because a person who only appears with themselves is still a person.
//
// Nodes are numbered in ascending order of their ids; ids[i] is node i's
// original id. A bad line is reported with its line number.
func ReadEdgeList(r io.Reader) (*Graph, []int64, error) {
	type pair struct{ a, b int64 }
	var pairs []pair
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, nil, fmt.Errorf("edge list line %d: want two integer ids, got %d fields", line, len(fields))
		}
		a, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("edge list line %d: first id %q is not an integer", line, fields[0])
		}
		b, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("edge list line %d: second id %q is not an integer", line, fields[1])
		}
		pairs = append(pairs, pair{a, b})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("edge list line %d: line longer than 1 MiB", line+1)
		}
		return nil, nil, fmt.Errorf("edge list: %w", err)
	}

	ids := make([]int64, 0, 2*len(pairs))
	for _, p := range pairs {
		ids = append(ids, p.a, p.b)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 1<<31-1 {
		return nil, nil, fmt.Errorf("edge list: %d distinct ids is more than a graph can hold", len(ids))
	}
	index := func(id int64) int32 {
		i, _ := slices.BinarySearch(ids, id)
		return int32(i)
	}
	edges := make([]Edge, 0, len(pairs))
	for _, p := range pairs {
		if p.a == p.b {
			continue
		}
		edges = append(edges, Edge{U: index(p.a), V: index(p.b), W: 1})
	}
	g := FromEdges(len(ids), edges)
	// FromEdges adds the weights of merged duplicates; an unweighted list means
	// "a tie exists", so reset every weight to 1.
	for i := range g.W {
		g.W[i] = 1
	}
	return g, slices.Clip(ids), nil
}
