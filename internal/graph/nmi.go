package graph

import (
	"math"
	"slices"
)

// NMI returns the normalised mutual information of two labelings of the same
// nodes, in 0..1: 1 when they are the same partition (whatever the label
// values), near 0 when they are independent. It uses the arithmetic-mean
// normalisation, NMI = 2·I(A;B) / (H(A) + H(B)), which is what scikit-learn's
// normalized_mutual_info_score and most community-detection papers report.
// Two labelings that each put everyone in one group are identical: 1. It
// panics if the lengths differ, as comparing labelings of different node sets
// is a programming error.
func NMI(a, b []int32) float64 {
	if len(a) != len(b) {
		panic("graph.NMI: labelings of different lengths")
	}
	n := len(a)
	if n == 0 {
		return 1
	}
	la, lb := compactLabels(a), compactLabels(b)
	ka, kb := 0, 0
	for i := range la {
		ka = max(ka, int(la[i])+1)
		kb = max(kb, int(lb[i])+1)
	}
	ca := make([]float64, ka)
	cb := make([]float64, kb)
	// Sorted pair keys instead of a map: the sum below then runs in a fixed
	// order, so the result is the same to the last bit every time.
	pairs := make([]int64, n)
	for i := range la {
		ca[la[i]]++
		cb[lb[i]]++
		pairs[i] = int64(la[i])*int64(kb) + int64(lb[i])
	}
	slices.Sort(pairs)
	N := float64(n)
	entropy := func(counts []float64) float64 {
		h := 0.0
		for _, c := range counts {
			if c > 0 {
				p := c / N
				h -= p * math.Log(p)
			}
		}
		return h
	}
	ha, hb := entropy(ca), entropy(cb)
	if ha+hb == 0 {
		return 1
	}
	mi := 0.0
	for start := 0; start < n; {
		end := start + 1
		for end < n && pairs[end] == pairs[start] {
			end++
		}
		c := float64(end - start)
		i, j := pairs[start]/int64(kb), pairs[start]%int64(kb)
		mi += c / N * math.Log(c*N/(ca[i]*cb[j]))
		start = end
	}
	return math.Max(0, math.Min(1, 2*mi/(ha+hb)))
}
