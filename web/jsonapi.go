package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// MaxJSONBody bounds every JSON request body.
const MaxJSONBody = 1 << 20

// decodeJSON reads one JSON object into v. On failure it has already answered:
// 413 for a body over MaxJSONBody, 400 for malformed JSON or unknown fields.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxJSONBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.fail(w, r, http.StatusRequestEntityTooLarge, "The request body is larger than 1 MiB.")
		return false
	}
	msg := "The request body is not valid JSON: " + err.Error()
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		msg = "The request has a field this endpoint does not take: " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	s.fail(w, r, http.StatusBadRequest, msg)
	return false
}

// failErr answers with the status a domain error stands for. Only errors the
// domain classified reach the user with their message; an unreachable database
// is a 503 with Retry-After; anything else is logged and answered with a
// generic 500.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var ve *community.ValidationError
	switch {
	case errors.As(err, &ve):
		s.failField(w, r, http.StatusUnprocessableEntity, ve.Field, ve.Message)
	case errors.Is(err, community.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "Not found: it does not exist, or you cannot see it.")
	case errors.Is(err, community.ErrConflict):
		msg := err.Error()
		if msg == community.ErrConflict.Error() {
			msg = "That already exists."
		}
		s.failField(w, r, http.StatusConflict, community.ConflictField(err), msg)
	case errors.Is(err, community.ErrForbidden):
		s.fail(w, r, http.StatusForbidden, "You are not allowed to do that.")
	case errors.Is(err, community.ErrUnauthorized):
		s.fail(w, r, http.StatusUnauthorized, "Sign in first.")
	case unavailable(err):
		// The database is away (web/unavailable.go): the request failed as a
		// whole (one transaction), so the client is told to retry, never that
		// it worked and never that it was our bug.
		s.d.Logger.Warn("database unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", RetryAfterUnavailable)
		s.fail(w, r, http.StatusServiceUnavailable, unavailableMessage(err))
	default:
		s.d.Logger.Error("request failed", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment.")
	}
}
