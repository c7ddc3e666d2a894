package web

import (
	"net/http"
	"strconv"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
)

// apiCascade is GET /api/v1/shares/{id}/cascade: how a share travelled — who
// passed it to whom, the depth and breadth of the tree and how long it took to
// reach each further person. Only the passes the viewer may see are counted.
func (s *Server) apiCascade(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	origin, root, start := sh.ID, sh.Author.ID, sh.CreatedAt
	if sh.Origin != nil {
		origin, root, start = sh.Origin.ID, sh.Origin.Author.ID, sh.Origin.CreatedAt
	}
	spread, err := s.d.Store.ShareSpread(r.Context(), me(r).ID, origin)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	steps := make([]graph.CascadeStep, 0, len(spread))
	for _, p := range spread {
		steps = append(steps, graph.CascadeStep{From: p.FromID, To: p.ByID, At: p.At})
	}
	c := graph.Cascade(root, start, steps)
	// Time to reach the n-th person, for the first few milestones.
	reach := map[string]float64{}
	for _, n := range []int{1, 5, 10, 50, 100} {
		if n <= len(c.Arrivals) {
			reach[strconv.Itoa(n)] = c.Arrivals[n-1].Seconds()
		}
	}
	if spread == nil {
		spread = []community.Spread{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"share_id": sh.ID, "origin_id": origin, "reached": c.Reached, "depth": c.Depth,
		"breadth": c.Breadth, "widths": c.Widths, "seconds_to_reach": reach, "steps": spread,
	})
}
