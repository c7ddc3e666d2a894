// Package asks lets any node post a need and finds, through the graph rather
// than through a manager, who may help: candidates whose skills, offers or past
// accepted answers match the need, nearest in the network first. There is no
// central dispatcher: routing is a query any instance runs, and widening a
// stale ask is claimed by one instance at a time.
package asks

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Store reads and writes asks in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	net  *community.Store // publishes events after commit

	// opts are the routing settings (Configure); the zero value means defaults.
	opts Options
	// ties is this instance's cached tie graph (see tiegraph.go).
	ties tieCache
}

// NewStore wraps a pool; net publishes the events (community.Store.PublishEvents).
func NewStore(pool *pgxpool.Pool, net *community.Store) *Store {
	return &Store{pool: pool, net: net}
}
