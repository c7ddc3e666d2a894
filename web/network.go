package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
)

// mountNetwork registers the JSON API for communities, shares, the feed and search.
func (s *Server) mountNetwork(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/api/v1/communities", s.apiListCommunities)
		r.Post("/api/v1/communities", s.apiCreateCommunity)
		r.Get("/api/v1/communities/{slug}", s.apiGetCommunity)
		r.Patch("/api/v1/communities/{slug}", s.apiUpdateCommunity)
		r.Post("/api/v1/communities/{slug}/join", s.apiJoinCommunity)
		r.Post("/api/v1/communities/{slug}/leave", s.apiLeaveCommunity)
		r.Get("/api/v1/communities/{slug}/shares", s.apiCommunityShares)
		r.Post("/api/v1/communities/{slug}/shares", s.apiShareToCommunity)
		r.Post("/api/v1/shares", s.apiCreateShare)
		r.Get("/api/v1/shares/{id}", s.apiGetShare)
		r.Patch("/api/v1/shares/{id}", s.apiEditShare)
		r.Delete("/api/v1/shares/{id}", s.apiDeleteShare)
		r.Get("/api/v1/shares/{id}/history", s.apiShareHistory)
		r.Post("/api/v1/shares/{id}/reshare", s.apiReshare)
		r.Get("/api/v1/shares/{id}/cascade", s.apiCascade)
		r.Get("/api/v1/feed", s.apiFeed)
		r.Get("/api/v1/search", s.apiSearch)
	})
	s.mountNetworkPages(r)
}

func me(r *http.Request) community.Node {
	n, _ := currentNode(r)
	return n
}

// pathID parses the {id} URL parameter; a malformed one is a 404 (no such share).
func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	return s.idParam(w, r, "id", "share")
}

// idParam parses a positive id URL parameter; a malformed one answers 404
// ("There is no <what> with that id."), as an unknown id would.
func (s *Server) idParam(w http.ResponseWriter, r *http.Request, name, what string) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, http.StatusNotFound, "There is no "+what+" with that id.")
		return 0, false
	}
	return id, true
}

// queryInt reads an optional non-negative integer query parameter.
func (s *Server) queryInt(w http.ResponseWriter, r *http.Request, name string, def, max int64) (int64, bool) {
	n, err := parseCount(name, r.URL.Query().Get(name), def, max)
	if err != nil {
		s.failParam(w, r, err)
		return 0, false
	}
	return n, true
}

type communityRequest struct {
	Name    string `json:"name"`
	Slug    string `json:"slug"`
	Purpose string `json:"purpose"`
	Open    *bool  `json:"open"`
}

func (s *Server) apiCreateCommunity(w http.ResponseWriter, r *http.Request) {
	var req communityRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	open := true
	if req.Open != nil {
		open = *req.Open
	}
	c, err := s.d.Store.CreateCommunity(r.Context(), me(r).ID, community.CommunityInput{Name: req.Name, Slug: req.Slug, Purpose: req.Purpose, Open: open})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiListCommunities(w http.ResponseWriter, r *http.Request) {
	list, err := s.d.Store.ListCommunities(r.Context(), me(r).ID, r.URL.Query().Get("mine") == "true", 200)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"communities": list})
}

func (s *Server) apiGetCommunity(w http.ResponseWriter, r *http.Request) {
	c, err := s.d.Store.FindCommunity(r.Context(), me(r).ID, chi.URLParam(r, "slug"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	members, err := s.d.Store.Members(r.Context(), c.ID, 500)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	history, err := s.d.Store.PurposeHistory(r.Context(), c.ID, 20)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"community": c, "members": members, "purpose_history": history})
}

func (s *Server) apiUpdateCommunity(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Purpose *string `json:"purpose"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	if req.Purpose == nil {
		s.failField(w, r, http.StatusUnprocessableEntity, "purpose", "Send the new purpose (the only field members edit).")
		return
	}
	c, err := s.d.Store.UpdatePurpose(r.Context(), me(r).ID, chi.URLParam(r, "slug"), *req.Purpose)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiJoinCommunity(w http.ResponseWriter, r *http.Request) {
	c, err := s.d.Store.JoinCommunity(r.Context(), me(r).ID, chi.URLParam(r, "slug"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiLeaveCommunity(w http.ResponseWriter, r *http.Request) {
	if err := s.d.Store.LeaveCommunity(r.Context(), me(r).ID, chi.URLParam(r, "slug")); err != nil {
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiCommunityShares(w http.ResponseWriter, r *http.Request) {
	c, err := s.d.Store.FindCommunity(r.Context(), me(r).ID, chi.URLParam(r, "slug"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	before, ok := s.queryInt(w, r, "before", 0, 0)
	if !ok {
		return
	}
	limit, ok := s.queryInt(w, r, "limit", 20, 100)
	if !ok {
		return
	}
	shares, err := s.d.Store.CommunityShares(r.Context(), me(r).ID, c.ID, before, int(limit))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, page(shares, int(limit)))
}

type shareRequest struct {
	Body          string `json:"body"`
	Audience      string `json:"audience"`
	CommunitySlug string `json:"community_slug"`
}

func (s *Server) apiShareToCommunity(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	in := community.ShareInput{Body: req.Body, Audience: community.AudienceCommunity, CommunitySlug: chi.URLParam(r, "slug")}
	s.writeShare(w, r, in, func(err error) error {
		// The share's own statement looks the community up (no lookup of its
		// own per share): one that does not exist or that the caller cannot
		// see is a 404 for the path, as on the community's other URLs.
		var ve *community.ValidationError
		if errors.As(err, &ve) && ve.Field == "community_slug" {
			return community.ErrNotFound
		}
		return err
	})
}

func (s *Server) apiCreateShare(w http.ResponseWriter, r *http.Request) {
	var req shareRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	s.writeShare(w, r, community.ShareInput{Body: req.Body, Audience: req.Audience, CommunitySlug: req.CommunitySlug}, nil)
}

// ShareCreator writes a new share: the store, or a community.ShareBatcher,
// which commits concurrent shares in one transaction (one flush of the
// database's log for many shares).
type ShareCreator interface {
	CreateShare(ctx context.Context, author int64, in community.ShareInput) (community.Share, error)
}

// shareCreator is Deps.Shares (which batches concurrent writes), or the store.
func (s *Server) shareCreator() ShareCreator {
	if s.d.Shares != nil {
		return s.d.Shares
	}
	return s.d.Store
}

// writeShare creates a share through Deps.Shares (or the store) and answers
// 201 with it, or the error (translated by mapErr, if any).
func (s *Server) writeShare(w http.ResponseWriter, r *http.Request, in community.ShareInput, mapErr func(error) error) {
	sh, err := s.shareCreator().CreateShare(r.Context(), me(r).ID, in)
	if err != nil {
		if mapErr != nil {
			err = mapErr(err)
		}
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, sh)
}

func (s *Server) apiGetShare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	sh, err := s.d.Store.FindShare(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	// The share with its peer verification: marks {disputed, confirmed},
	// reasons, disputed_by_network, correction and the caller's my_mark.
	marks, err := s.d.Feedback.ShareMarks(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, struct {
		community.Share
		feedback.ShareMarks
	}{sh, marks})
}

func (s *Server) apiEditShare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	sh, err := s.d.Store.EditShare(r.Context(), me(r).ID, id, req.Body)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, sh)
}

func (s *Server) apiDeleteShare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.d.Store.DeleteShare(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiShareHistory(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	hist, err := s.d.Store.ShareHistory(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"edits": hist})
}

func (s *Server) apiReshare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var req struct {
		CommunitySlug string `json:"community_slug"`
		Body          string `json:"body"`
	}
	// An empty body is a plain reshare.
	if r.ContentLength != 0 && !s.decodeJSON(w, r, &req) {
		return
	}
	sh, err := s.d.Store.Reshare(r.Context(), me(r).ID, id, strings.TrimSpace(req.CommunitySlug), req.Body)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, sh)
}

// feedPage is a keyset page: pass next_before as ?before= for the next one.
type feedPage struct {
	Shares     []community.Share `json:"shares"`
	NextBefore int64             `json:"next_before,omitempty"`
}

func page(shares []community.Share, limit int) feedPage {
	p := feedPage{Shares: shares}
	if p.Shares == nil {
		p.Shares = []community.Share{}
	}
	if len(shares) == limit && limit > 0 {
		p.NextBefore = shares[len(shares)-1].ID
	}
	return p
}

func (s *Server) apiFeed(w http.ResponseWriter, r *http.Request) {
	filter, err := parseFeedFilter(r.URL.Query()) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	shares, err := s.d.Store.Feed(r.Context(), me(r).ID, filter)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, page(shares, filter.Limit))
}

func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	q, err := parseSearchQuery(r.URL.Query().Get("q"))
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	res, err := s.d.Store.Search(r.Context(), me(r).ID, q, 20)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, res)
}
