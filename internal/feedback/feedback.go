// Package feedback owns real-time feedback and dialogue between equals: threads
// with replies, reactions and peer feedback requests; kudos; peer verification
// of shares (disputes and confirmations); and shared decisions (proposals and
// votes). It knows nothing of HTTP or HTML. Every write commits its rows and an
// outbox event in one transaction (community.AddEvent) and publishes after
// commit, and every act between two people is recorded as who-to-whom
// interaction metadata (community.RecordInteractions) — never its content.
package feedback

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Store reads and writes feedback in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	net  *community.Store // publishes events after commit
}

// NewStore wraps a pool; net publishes the events (community.Store.PublishEvents).
func NewStore(pool *pgxpool.Pool, net *community.Store) *Store {
	return &Store{pool: pool, net: net}
}
