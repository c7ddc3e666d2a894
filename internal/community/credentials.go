package community

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// credentialsChannel is where PostgreSQL announces, after commit, that a
// node's credentials or profile changed (migration 0012's triggers).
const credentialsChannel = "nc_credentials"

// OnCredentialsChanged has fn called, after commit and before the call that
// made the change returns, with the node of every change this Store makes to
// credentials or a profile (the columns migration 0012's triggers watch). A
// cache of this process must not wait for PostgreSQL's notice of its own
// writes: a request right after a grant could still be answered with the old
// capabilities. Call it before the Store is used.
func (s *Store) OnCredentialsChanged(fn func(node int64)) {
	s.credentialsChanged = append(s.credentialsChanged, fn)
}

// changedCredentials tells OnCredentialsChanged's functions of a commit.
func (s *Store) changedCredentials(node int64) {
	for _, fn := range s.credentialsChanged {
		fn(node)
	}
}

// WatchCredentials listens for credential changes until ctx ends: changed is
// called with the node of every change committed, by whatever wrote it.
// watching(true) is called each time the listener is (again) in place, and
// watching(false) when it is lost: in between, changes may go unheard, so a
// cache relying on them must stop trusting itself (and take watching(true) as
// "anything cached before may be stale"). The listener holds one connection
// of its own, outside the pool, and reconnects after a second when it breaks.
func (s *Store) WatchCredentials(ctx context.Context, changed func(node int64), watching func(bool)) {
	for ctx.Err() == nil {
		err := s.listenCredentials(ctx, changed, watching)
		watching(false)
		if ctx.Err() != nil {
			return
		}
		s.logger().Warn("credential notices lost; bearer tokens are looked up on every request until they are back", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenCredentials(ctx context.Context, changed func(node int64), watching func(bool)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+credentialsChannel); err != nil {
		return err
	}
	watching(true)
	s.logger().Debug("credential notices heard")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			changed(id)
		}
	}
}
