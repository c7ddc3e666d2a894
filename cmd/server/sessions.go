package main

import (
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/config"
)

// newSessionManager builds the PostgreSQL-backed session manager (placeholder).
func newSessionManager(pool *pgxpool.Pool, cfg config.Config) *scs.SessionManager { return nil }
