package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/config"
)

// SessionCookie is the browser session cookie's name. The __Host- prefix makes
// browsers accept it only when Secure, with Path=/ and no Domain, so no
// sibling host can set or overwrite it. Browsers treat http://127.0.0.1 and
// localhost as secure, so it works in development too.
const SessionCookie = "__Host-nc_session"

// sessionSweepEvery is how often expired sessions are deleted.
const sessionSweepEvery = 5 * time.Minute

// newSessionManager builds the browser session manager, stored in the sessions
// table (which the migrations create; pgxstore never does).
func newSessionManager(pool *pgxpool.Pool, cfg config.Config) *scs.SessionManager {
	m := scs.New()
	// Interval 0: pgxstore starts no cleanup goroutine, which would outlive the
	// pool (and every test instance). Expired rows are swept by sweepingStore
	// instead; they are never served in the meantime, as Find checks expiry.
	m.Store = &sweepingStore{PostgresStore: pgxstore.NewWithCleanupInterval(pool, 0), pool: pool, every: sessionSweepEvery}
	m.IdleTimeout = cfg.SessionIdle
	m.Lifetime = cfg.SessionLifetime
	m.Cookie = scs.SessionCookie{
		Name:     SessionCookie,
		HttpOnly: true,
		Path:     "/",
		SameSite: http.SameSiteLaxMode,
		Secure:   true,
		Persist:  true,
	}
	return m
}

// sweepingStore is pgxstore that also records each session's node (the
// sessions.node_id column, so that every session of a node can be deleted at
// once: web/auth.go, community.Store.EndSessions) and deletes expired sessions
// at most once per interval, on the back of a commit: no goroutine to start or
// stop, and an idle instance does no work.
type sweepingStore struct {
	*pgxstore.PostgresStore
	pool  *pgxpool.Pool
	every time.Duration
	last  atomic.Int64 // unix nanoseconds of the last sweep
}

// sessionNodeKey is the session value web/auth.go keeps the node's id in.
const sessionNodeKey = "node_id"

// commitSession is pgxstore's upsert with the node's id.
const commitSession = `
INSERT INTO sessions (token, data, expiry, node_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry, node_id = EXCLUDED.node_id`

func (s *sweepingStore) Commit(token string, b []byte, expiry time.Time) error {
	// The values are encoded by scs (gob); the node's id is read back from
	// them rather than passed alongside, since scs saves after the handler.
	var node *int64
	if _, values, err := (scs.GobCodec{}).Decode(b); err == nil {
		if id, ok := values[sessionNodeKey].(int64); ok && id != 0 {
			node = &id
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.pool.Exec(ctx, commitSession, token, b, expiry, node); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	last := s.last.Load()
	if now-last >= int64(s.every) && s.last.CompareAndSwap(last, now) {
		// A failed sweep is retried at the next interval; the session was saved.
		_, _ = s.pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < now()`)
	}
	return nil
}
