package web

import "github.com/go-chi/chi/v5"

func (s *Server) mountImport(r chi.Router) {}
