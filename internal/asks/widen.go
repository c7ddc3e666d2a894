package asks

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// widenBatch is how many asks one widening transaction claims.
const widenBatch = 20

// WidenedEvent is the object of ask.widened, for the asker.
type WidenedEvent struct {
	AskID    int64   `json:"ask_id"`
	MaxHops  int     `json:"max_hops"`
	RoutedTo []Route `json:"routed_to"`
}

// WidenOnce widens every open ask nobody answered within its widen_after
// (since it was asked, last widened or last passed on): routing reaches one
// hop further and offers it, live, to the best candidates not offered it yet.
// Any instance may run it at any time: each ask is claimed with FOR UPDATE
// SKIP LOCKED, so two instances never widen the same ask twice. It reports
// how many asks widened.
func (s *Store) WidenOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.widenBatch(ctx)
		total += n
		if err != nil || n < widenBatch {
			return total, err
		}
	}
}

func (s *Store) widenBatch(ctx context.Context) (int, error) {
	o := s.options()
	n := 0
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT a.id FROM asks a
			WHERE a.status = 'open' AND a.max_hops < $1 AND a.widened_at <= now() - a.widen_after
			  AND NOT EXISTS (SELECT 1 FROM ask_answers aa WHERE aa.ask_id = a.id)
			ORDER BY a.widened_at, a.id LIMIT $2 FOR UPDATE OF a SKIP LOCKED`, o.MaxHops, widenBatch)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.widen(ctx, tx, &events, id, o); err != nil {
				return fmt.Errorf("ask %d: %w", id, err)
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("widen asks: %w", err)
	}
	s.net.PublishEvents(ctx, events)
	return n, nil
}

// widen reaches one hop further for one claimed ask.
func (s *Store) widen(ctx context.Context, tx pgx.Tx, events *[]community.Event, id int64, o Options) error {
	a, err := scanAsk(tx.QueryRow(ctx, askSelect+` WHERE a.id = $1`, id))
	if err != nil {
		return err
	}
	var onlyMembers int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(c.id, 0) FROM asks a LEFT JOIN communities c ON c.id = a.community_id AND NOT c.open
		WHERE a.id = $1`, id).Scan(&onlyMembers); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT node_id FROM ask_routes WHERE ask_id = $1`, id)
	if err != nil {
		return err
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	skip := make(map[int64]bool, len(done))
	for _, n := range done {
		skip[n] = true
	}
	radius := min(a.MaxHops+1, o.MaxHops)
	cands, err := s.route(ctx, tx, a.Asker.ID, a.Tags, radius, skip, onlyMembers, o.Fanout)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE asks SET max_hops = $2, widened_at = now() WHERE id = $1`, id, radius); err != nil {
		return err
	}
	a.MaxHops = radius
	routes, err := insertRoutes(ctx, tx, events, a, cands, nil)
	if err != nil {
		return err
	}
	return community.AddEvent(ctx, tx, events, askSubject(id), EventWidened,
		WidenedEvent{AskID: id, MaxHops: radius, RoutedTo: routes}, false, []int64{a.Asker.ID})
}

// RunWidener widens stale asks every interval until ctx ends. Every instance
// runs it; none is in charge (see WidenOnce).
func (s *Store) RunWidener(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.WidenOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("widen asks", "err", err)
		case n > 0:
			log.Info("asks widened", "asks", n)
		}
	}
}
