package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountReset adds the stewards' one-time password reset links and the page
// that uses them, open to anyone holding a link.
func (s *Server) mountReset(r chi.Router) {
	r.With(s.requireNode, s.requireSteward).Post("/api/v1/nodes/{handle}/password-reset", s.apiCreateReset)
	r.Get("/reset-password", s.resetPage)
	r.Post("/reset-password", s.resetSubmit)
}

// apiCreateReset makes a reset link for a person; the steward passes it on by
// another channel. The token is shown only here.
func (s *Server) apiCreateReset(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	reset, err := s.d.Store.CreateReset(r.Context(), n.ID, chi.URLParam(r, "handle"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	// The link carries no secret in a server log line: it is only in this
	// answer. Referrer-Policy keeps it off other sites (web/middleware.go).
	s.writeJSON(w, http.StatusCreated, map[string]any{
		"token": reset.Token, "url": "/reset-password?token=" + url.QueryEscape(reset.Token),
		"handle": reset.Handle, "expires_at": reset.ExpiresAt,
	})
}

func (s *Server) resetView(token string) components.ResetView {
	return components.ResetView{Page: s.page("Set a new password", "signin"), Token: token, Errors: components.FieldErrors{}}
}

// resetPage shows the form for a usable link, and a clear 404 page for any
// other (unknown, used, expired).
func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) {
	v := s.resetView(r.URL.Query().Get("token"))
	handle, err := s.d.Store.CheckReset(r.Context(), v.Token)
	switch {
	case errors.Is(err, community.ErrResetInvalid):
		s.render(w, r, http.StatusNotFound, components.ResetPage(v))
		return
	case err != nil:
		s.failErr(w, r, err)
		return
	}
	v.Handle = handle
	s.render(w, r, http.StatusOK, components.ResetPage(v))
}

// resetSubmit sets the password; every session and token of the person ends,
// on every instance, this browser's too, and the person signs in afresh.
func (s *Server) resetSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	v := s.resetView(r.PostFormValue("token"))
	node, err := s.d.Store.UseReset(r.Context(), v.Token, r.PostFormValue("new_password"), s.d.PasswordBannedWords)
	var ve *community.ValidationError
	switch {
	case err == nil:
		s.ended(bus.AuthEnded{Node: node, All: true})
		_ = s.endSession(r.Context())
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	case errors.Is(err, community.ErrResetInvalid):
		s.render(w, r, http.StatusNotFound, components.ResetPage(v))
	case errors.As(err, &ve):
		if v.Handle, err = s.d.Store.CheckReset(r.Context(), v.Token); err != nil {
			s.render(w, r, http.StatusNotFound, components.ResetPage(s.resetView(v.Token)))
			return
		}
		v.Errors[ve.Field] = ve.Message
		s.render(w, r, http.StatusUnprocessableEntity, components.ResetPage(v))
	default:
		s.failErr(w, r, err)
	}
}
