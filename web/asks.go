package web

import "github.com/go-chi/chi/v5"

func (s *Server) mountAsks(r chi.Router) {}
