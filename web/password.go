package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountPassword adds the password change (page and API) and the stewards'
// "end this person's sessions". It is called inside mountAuth's signed-in
// group.
func (s *Server) mountPassword(r chi.Router) {
	r.Post("/api/v1/me/password", s.apiChangePassword)
	r.Get("/settings/password", s.passwordPage)
	r.Post("/settings/password", s.passwordSubmit)
	r.With(s.requireSteward).Post("/api/v1/nodes/{handle}/sessions/end", s.apiEndNodeSessions)
}

// changePassword changes the signed-in node's password and then renews this
// browser's session (a new token, and the new epoch when the other sessions
// ended, so this one stays signed in); the other instances are told when
// sessions ended. On failure it returns the error, having answered nothing.
func (s *Server) changePassword(r *http.Request, in community.PasswordChange) error {
	n, _ := currentNode(r)
	in.KeepToken, _ = currentTokenID(r)
	in.BannedWords = s.d.PasswordBannedWords
	if err := s.d.Store.ChangePassword(r.Context(), n.ID, in); err != nil {
		return err
	}
	if in.EndOtherSessions {
		s.ended(bus.AuthEnded{Node: n.ID, All: true})
	}
	if s.d.Sessions != nil && s.d.Sessions.Exists(r.Context(), sessionNodeKey) {
		return s.signIn(r.Context(), n)
	}
	return nil
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request) {
	var in community.PasswordChange
	if !s.decodeJSON(w, r, &in) {
		return
	}
	err := s.changePassword(r, in)
	var delayed *community.ThrottledError
	switch {
	case errors.As(err, &delayed):
		s.tooMany(w, r, delayed.RetryAfter, accountDelayMessage(delayed.RetryAfter))
	case err != nil:
		s.failErr(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.render(w, r, http.StatusOK, components.PasswordPage(components.PasswordView{
		Page: s.page("Change your password", "profile"), Changed: q.Get("changed") == "1", EndedOthers: q.Get("ended") == "1",
	}))
}

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	in := community.PasswordChange{
		Current: r.PostFormValue("current_password"), New: r.PostFormValue("new_password"),
		EndOtherSessions: r.PostFormValue("end_other_sessions") != "",
	}
	err := s.changePassword(r, in)
	if err == nil {
		to := "/settings/password?changed=1"
		if in.EndOtherSessions {
			to += "&ended=1"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	v := components.PasswordView{Page: s.page("Change your password", "profile"), Errors: components.FieldErrors{}}
	var (
		ve      *community.ValidationError
		delayed *community.ThrottledError
	)
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &delayed):
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(delayed.RetryAfter)))
		v.Errors["current_password"] = accountDelayMessage(delayed.RetryAfter)
	case errors.As(err, &ve):
		v.Errors[ve.Field] = ve.Message
	case errors.Is(err, community.ErrConflict):
		status = http.StatusConflict
		v.Errors["current_password"] = err.Error()
	default:
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, status, components.PasswordPage(v))
}

// apiEndNodeSessions ends every session and token of one person, who stays
// active (unlike deactivation), on every instance.
func (s *Server) apiEndNodeSessions(w http.ResponseWriter, r *http.Request) {
	if err := s.endSessionsOf(r, chi.URLParam(r, "handle")); err != nil {
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// endSessionsOf is a steward ending every session and token of the person
// with handle, and telling every instance (its streams close, its cached
// tokens go).
func (s *Server) endSessionsOf(r *http.Request, handle string) error {
	n, _ := currentNode(r)
	handle = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	if err := s.d.Store.EndNodeSessions(r.Context(), n.ID, handle); err != nil {
		return err
	}
	if target, err := s.d.Store.FindNodeByHandle(r.Context(), handle); err == nil {
		s.ended(bus.AuthEnded{Node: target.ID, All: true})
	} else {
		// Ended all the same: the other instances refuse the sessions at
		// their next lookup, without the notice.
		s.d.Logger.Warn("node whose sessions ended not found for the notice", "handle", handle, "err", err)
	}
	return nil
}
