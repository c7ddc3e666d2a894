package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// Suggestion limits of GET /api/v1/connections/suggestions (?limit=).
const (
	defaultSuggestions = 10
	maxSuggestions     = 50
)

// mountConnections registers the connections API and page; all need a signed-in node.
func (s *Server) mountConnections(r chi.Router) {
	r = r.With(s.requireNode)
	r.Get("/api/v1/connections", s.apiListConnections)
	r.Post("/api/v1/connections", s.apiRequestConnection)
	r.Get("/api/v1/connections/suggestions", s.apiConnectionSuggestions)
	r.Post("/api/v1/connections/{id}/accept", s.apiAcceptConnection)
	r.Post("/api/v1/connections/{id}/decline", s.apiConnectionAction(s.d.Store.DeclineConnection))
	r.Post("/api/v1/connections/{id}/withdraw", s.apiConnectionAction(s.d.Store.WithdrawConnection))
	r.Delete("/api/v1/connections/{id}", s.apiConnectionAction(s.d.Store.RemoveConnection))

	r.Get("/connections", s.connectionsPage)
	r.Post("/connections", s.connectionsRequest)
	r.Post("/connections/{id}/{action}", s.connectionsAction)
}

// connectionID is the {id} of the path; an id that cannot exist is answered 404.
func (s *Server) connectionID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.failErr(w, r, community.ErrNotFound)
		return 0, false
	}
	return id, true
}

func (s *Server) apiListConnections(w http.ResponseWriter, r *http.Request) {
	me, _ := currentNode(r)
	cs, err := s.d.Store.ListConnections(r.Context(), me.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if cs == nil {
		cs = []community.Connection{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"connections": cs})
}

// apiRequestConnection answers 201 with a new pending request, or 200 with the
// other node's pending request to me, now accepted (we both asked).
func (s *Server) apiRequestConnection(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ToHandle string `json:"to_handle"`
		Kind     string `json:"kind"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	me, _ := currentNode(r)
	c, err := s.d.Store.RequestConnection(r.Context(), me.ID, in.ToHandle, in.Kind)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	status := http.StatusCreated
	if c.State == community.ConnectionAccepted {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/connections/"+strconv.FormatInt(c.ID, 10))
	s.writeJSON(w, status, c)
}

func (s *Server) apiAcceptConnection(w http.ResponseWriter, r *http.Request) {
	id, ok := s.connectionID(w, r)
	if !ok {
		return
	}
	me, _ := currentNode(r)
	c, err := s.d.Store.AcceptConnection(r.Context(), me.ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, c)
}

// apiConnectionAction runs decline, withdraw or remove and answers 204.
func (s *Server) apiConnectionAction(do func(ctx context.Context, me, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.connectionID(w, r)
		if !ok {
			return
		}
		me, _ := currentNode(r)
		if err := do(r.Context(), me.ID, id); err != nil {
			s.failErr(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) apiConnectionSuggestions(w http.ResponseWriter, r *http.Request) {
	limit := defaultSuggestions
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSuggestions {
			s.failField(w, r, http.StatusUnprocessableEntity, "limit", "limit must be a whole number from 1 to "+strconv.Itoa(maxSuggestions)+".")
			return
		}
		limit = n
	}
	me, _ := currentNode(r)
	sg, err := s.d.Store.Suggestions(r.Context(), me.ID, limit)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if sg == nil {
		sg = []community.Suggestion{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"suggestions": sg})
}

// connectionNotices are the messages shown after an action (?notice=): a fixed
// set, so the address cannot put words on the page.
var connectionNotices = map[string]string{
	"requested": "Request sent. It waits below until they answer.",
	"mutual":    "They had already asked you, so you are now connected.",
	"accepted":  "Accepted: you are now connected.",
	"declined":  "Request declined. They are not told why.",
	"withdrawn": "Request withdrawn.",
	"removed":   "Connection removed.",
}

func (s *Server) connectionsPage(w http.ResponseWriter, r *http.Request) {
	s.renderConnections(w, r, http.StatusOK, components.ConnectFormView{Kind: community.KindCollaborate})
}

// renderConnections renders the page with the connect form as given (refilled
// with an error after a refused request).
func (s *Server) renderConnections(w http.ResponseWriter, r *http.Request, status int, form components.ConnectFormView) {
	me, _ := currentNode(r)
	cs, err := s.d.Store.ListConnections(r.Context(), me.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	sg, err := s.d.Store.Suggestions(r.Context(), me.ID, defaultSuggestions)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.ConnectionsView{
		Page:        s.page("Connections", "connections"),
		Notice:      connectionNotices[r.URL.Query().Get("notice")],
		Form:        form,
		StrengthMax: community.StrengthCap,
		Now:         time.Now(),
	}
	for _, c := range cs {
		item := components.ConnectionItem{
			ID: c.ID, Kind: c.Kind, Handle: c.Other.Handle, DisplayName: c.Other.DisplayName,
			Active: c.Other.Active, Since: c.CreatedAt, Strength: c.Strength,
		}
		switch {
		case c.State == community.ConnectionAccepted:
			if c.AcceptedAt != nil {
				item.Since = *c.AcceptedAt
			}
			v.Connected = append(v.Connected, item)
		case c.Direction == community.DirectionIncoming:
			v.Incoming = append(v.Incoming, item)
		default:
			v.Outgoing = append(v.Outgoing, item)
		}
	}
	for _, x := range sg {
		v.Suggestions = append(v.Suggestions, components.SuggestionItem{
			Handle: x.Node.Handle, DisplayName: x.Node.DisplayName, Interactions: x.Interactions, Last: x.LastInteraction,
		})
	}
	s.render(w, r, status, components.Connections(v))
}

// connectionsRequest is the form version of POST /api/v1/connections: a refused
// request shows the page again with the form refilled and the reason.
func (s *Server) connectionsRequest(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxJSONBody)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read. Reload the page and try again.")
		return
	}
	handle, kind := r.PostForm.Get("to_handle"), r.PostForm.Get("kind")
	me, _ := currentNode(r)
	c, err := s.d.Store.RequestConnection(r.Context(), me.ID, handle, kind)
	if err != nil {
		form := components.ConnectFormView{Handle: handle, Kind: kind}
		var ve *community.ValidationError
		switch {
		case errors.As(err, &ve):
			form.Field, form.Error = ve.Field, ve.Message
			s.renderConnections(w, r, http.StatusUnprocessableEntity, form)
		case errors.Is(err, community.ErrConflict):
			form.Field, form.Error = community.ConflictField(err), err.Error()
			s.renderConnections(w, r, http.StatusConflict, form)
		default:
			s.failErr(w, r, err)
		}
		return
	}
	notice := "requested"
	if c.State == community.ConnectionAccepted {
		notice = "mutual"
	}
	http.Redirect(w, r, "/connections?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

// connectionsAction is the form version of accept, decline, withdraw and remove
// (HTML forms cannot send DELETE).
func (s *Server) connectionsAction(w http.ResponseWriter, r *http.Request) {
	id, ok := s.connectionID(w, r)
	if !ok {
		return
	}
	me, _ := currentNode(r)
	ctx := r.Context()
	var err error
	var notice string
	switch chi.URLParam(r, "action") {
	case "accept":
		_, err = s.d.Store.AcceptConnection(ctx, me.ID, id)
		notice = "accepted"
	case "decline":
		err, notice = s.d.Store.DeclineConnection(ctx, me.ID, id), "declined"
	case "withdraw":
		err, notice = s.d.Store.WithdrawConnection(ctx, me.ID, id), "withdrawn"
	case "remove":
		err, notice = s.d.Store.RemoveConnection(ctx, me.ID, id), "removed"
	default:
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections?notice="+notice, http.StatusSeeOther)
}
