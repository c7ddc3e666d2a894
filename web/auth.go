package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// authenticate resolves the signed-in node (placeholder until accounts land).
func (s *Server) authenticate(next http.Handler) http.Handler { return next }

func (s *Server) mountAuth(r chi.Router) {}
