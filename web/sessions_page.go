package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

type userAgentKey struct{}

// withUserAgent keeps the request's browser description for signIn, which
// records it with the session (the person's list of sessions shows it).
func withUserAgent(ctx context.Context, ua string) context.Context {
	return context.WithValue(ctx, userAgentKey{}, ua)
}

func userAgentFrom(ctx context.Context) string {
	ua, _ := ctx.Value(userAgentKey{}).(string)
	return ua
}

// mountSessions adds the list of one's browser sessions (page and API), and
// the stewards' form behind "End this person's sessions".
func (s *Server) mountSessions(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/api/v1/me/sessions", s.apiListSessions)
		r.Post("/api/v1/me/sessions/end", s.apiEndSession)
		r.Get("/settings/sessions", s.sessionsPage)
		r.Post("/settings/sessions/end", s.sessionsEnd)
		r.With(s.requireSteward).Post("/nodes/{handle}/sessions/end", s.endPersonSessions)
	})
}

// currentSessionToken is this browser's session token, "" for an API client.
func (s *Server) currentSessionToken(ctx context.Context) string {
	if s.d.Sessions == nil || !s.d.Sessions.Exists(ctx, sessionNodeKey) {
		return ""
	}
	return s.d.Sessions.Token(ctx)
}

func (s *Server) apiListSessions(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	list, err := s.d.Store.ListSessions(r.Context(), n.ID, s.currentSessionToken(r.Context()))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
}

// endSession ends one of the signed-in person's sessions, or all, and closes
// their live streams on every instance. Streams are not tied to one session,
// so all of the person's streams close; the clients of the sessions that
// remain reconnect at once. Ending this browser's own session, or all, also
// expires its cookie; it reports whether it did.
func (s *Server) endOwnSession(r *http.Request, in community.SessionEnd) (signedOut bool, err error) {
	n, _ := currentNode(r)
	if err := s.d.Store.EndSession(r.Context(), n.ID, in); err != nil {
		return false, err
	}
	s.ended(bus.AuthEnded{Node: n.ID, All: true})
	if tok := s.currentSessionToken(r.Context()); tok != "" && (in.All || community.SessionID(tok) == in.ID) {
		_ = s.endSession(r.Context())
		return true, nil
	}
	return false, nil
}

func (s *Server) apiEndSession(w http.ResponseWriter, r *http.Request) {
	var in community.SessionEnd
	if !s.decodeJSON(w, r, &in) {
		return
	}
	_, err := s.endOwnSession(r, in)
	var delayed *community.ThrottledError
	switch {
	case errors.As(err, &delayed):
		s.tooMany(w, r, delayed.RetryAfter, accountDelayMessage(delayed.RetryAfter))
	case errors.Is(err, community.ErrNotFound):
		s.failField(w, r, http.StatusNotFound, "id", "There is no such session: it ended already.")
	case err != nil:
		s.failErr(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) sessionsView(r *http.Request) (components.SessionsView, error) {
	n, _ := currentNode(r)
	list, err := s.d.Store.ListSessions(r.Context(), n.ID, s.currentSessionToken(r.Context()))
	v := components.SessionsView{Page: s.page("Your sessions", "profile")}
	for _, x := range list {
		v.Sessions = append(v.Sessions, components.SessionItem{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			Address: x.Address, UserAgent: x.UserAgent, Current: x.Current})
	}
	return v, err
}

func (s *Server) sessionsPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.sessionsView(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v.Ended = r.URL.Query().Get("ended") == "1"
	s.render(w, r, http.StatusOK, components.SessionsPage(v))
}

func (s *Server) sessionsEnd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	in := community.SessionEnd{ID: r.PostFormValue("id"), All: r.PostFormValue("all") != "", Password: r.PostFormValue("password")}
	signedOut, err := s.endOwnSession(r, in)
	if err == nil {
		if signedOut {
			clearSite(w)
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/settings/sessions?ended=1", http.StatusSeeOther)
		return
	}
	var (
		ve      *community.ValidationError
		delayed *community.ThrottledError
		msg     string
	)
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &delayed):
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(delayed.RetryAfter)))
		msg = accountDelayMessage(delayed.RetryAfter)
	case errors.As(err, &ve):
		msg = ve.Message
	case errors.Is(err, community.ErrNotFound):
		status, msg = http.StatusNotFound, "There is no such session: it ended already."
	default:
		s.failErr(w, r, err)
		return
	}
	v, lerr := s.sessionsView(r)
	if lerr != nil {
		s.failErr(w, r, lerr)
		return
	}
	v.Error = msg
	s.render(w, r, status, components.SessionsPage(v))
}

// endPersonSessions is apiEndNodeSessions for the steward's button on a
// person's page: POST and redirect back.
func (s *Server) endPersonSessions(w http.ResponseWriter, r *http.Request) {
	handle := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(chi.URLParam(r, "handle")), "@"))
	if err := s.endSessionsOf(r, handle); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/people/"+handle, http.StatusSeeOther)
}
