package community

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// ---------------------------------------------------------------------------
// Retention: metadata is kept only as long as it is useful.
//
// Interaction metadata (who interacted with whom, when, about what) exists to
// weigh connections and feed the analytics; an interaction's weight halves
// every StrengthHalfLife, so after a year it is worth 0.02 % of a fresh one.
// Keeping it longer would keep a record of people's working lives for no
// purpose, so it is deleted once older than the retention
// (INTERACTION_RETENTION). Strengths and ties are computed from whatever
// remains, at read time, so they stay consistent by construction; the stored
// analytics snapshots are recomputed after a purge (see Purge).
//
// The purge also removes other metadata past its use, each for its reason:
//   - published outbox events older than OutboxRetention (or the retention, if
//     shorter): copies of what was delivered, kept only so a peer can relay
//     what another failed to publish; the newest is always kept, as the
//     analytics and routing measure staleness by the newest event id;
//   - expired browser sessions (they can never be used again);
//   - access tokens revoked longer ago than the retention (name and dates);
//   - invites used or expired longer ago than the retention (an email address
//     and who invited whom);
//   - the per-person figures of weekly analytics snapshots older than the
//     retention (the organisation-wide aggregates stay, for the trends).
//
// Deliberately kept: thread read positions (no date; they are the unread state
// of a thread that still exists), the audit log (accountability: its retention
// is the operator's legal decision), a token's last use (shown to its owner to
// spot misuse) and everything people wrote (it is content, not metadata).
// ---------------------------------------------------------------------------

// PurgeBatch is the most rows one purge statement deletes: each statement holds
// its row locks for milliseconds, so writes go on beside it, and rows another
// instance's purge has locked are skipped rather than waited for.
const PurgeBatch = 5000

// OutboxRetention is how long a published outbox event is kept: the event
// stream itself keeps 24 hours, so a week leaves ample room to investigate.
const OutboxRetention = 7 * 24 * time.Hour

// PurgeEvery is how often each instance runs the purge (and once at start).
const PurgeEvery = time.Hour

// PurgeResult counts what one purge removed.
type PurgeResult struct {
	Interactions int64 `json:"interactions"` // interaction rows deleted
	Events       int64 `json:"events"`       // published outbox events deleted
	Sessions     int64 `json:"sessions"`     // expired sessions deleted
	Tokens       int64 `json:"tokens"`       // long-revoked access tokens deleted
	Invites      int64 `json:"invites"`      // long-used or long-expired invites deleted
	Snapshots    int64 `json:"snapshots"`    // weekly snapshots whose per-person figures were dropped
}

// Total is every row the purge removed or changed.
func (r PurgeResult) Total() int64 {
	return r.Interactions + r.Events + r.Sessions + r.Tokens + r.Invites + r.Snapshots
}

// purgeStep is one kind of row past retention. Its SQL deletes (or blanks) at
// most $2 rows older than $1 and is repeated until a batch comes back short.
// With bound, that query (of $1) is asked first, and its answer passed as $3:
// nothing (NULL) means there is nothing to purge.
type purgeStep struct {
	name   string
	cutoff func(now time.Time, retention time.Duration) time.Time
	bound  string
	sql    string
	count  func(*PurgeResult) *int64
}

func olderThanRetention(now time.Time, retention time.Duration) time.Time { return now.Add(-retention) }

var purgeSteps = []purgeStep{
	{
		name:   "interactions",
		cutoff: olderThanRetention,
		sql: `DELETE FROM interactions WHERE id IN (
			SELECT id FROM interactions WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		count: func(r *PurgeResult) *int64 { return &r.Interactions },
	},
	{
		name: "outbox events",
		cutoff: func(now time.Time, retention time.Duration) time.Time {
			return now.Add(-min(retention, OutboxRetention))
		},
		// Events are in id order and nearly in time order, and the old are
		// few between purges: the batches look only below the first event
		// young enough to keep (or the newest, which is always kept). The
		// walk in id order alone went through the whole table whenever
		// nothing was old (0.9–1.8 s of PostgreSQL at 630,000 events, by every
		// instance at start and hourly).
		bound: `SELECT least((SELECT id FROM events WHERE created_at >= $1 ORDER BY id LIMIT 1), (SELECT max(id) FROM events))`,
		sql: `DELETE FROM events WHERE id IN (
			SELECT id FROM events
			WHERE created_at < $1 AND id < $3 AND NOT EXISTS (SELECT 1 FROM events_pending p WHERE p.id = events.id)
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		count: func(r *PurgeResult) *int64 { return &r.Events },
	},
	{
		name:   "sessions",
		cutoff: func(now time.Time, _ time.Duration) time.Time { return now },
		sql: `DELETE FROM sessions WHERE token IN (
			SELECT token FROM sessions WHERE expiry < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		count: func(r *PurgeResult) *int64 { return &r.Sessions },
	},
	{
		name:   "access tokens",
		cutoff: olderThanRetention,
		sql: `DELETE FROM access_tokens WHERE id IN (
			SELECT id FROM access_tokens WHERE revoked_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		count: func(r *PurgeResult) *int64 { return &r.Tokens },
	},
	{
		name:   "invites",
		cutoff: olderThanRetention,
		sql: `DELETE FROM invites WHERE id IN (
			SELECT id FROM invites WHERE used_at < $1 OR (used_at IS NULL AND expires_at < $1)
			LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		count: func(r *PurgeResult) *int64 { return &r.Invites },
	},
	{
		// Only weekly snapshots: the current ones are replaced by every
		// recomputation. Their summaries and communities are aggregates (no
		// person named), which the trends keep showing.
		name:   "weekly snapshots",
		cutoff: olderThanRetention,
		sql: `UPDATE graph_snapshots SET nodes = '[]'::jsonb WHERE id IN (
			SELECT id FROM graph_snapshots
			WHERE kind = 'weekly' AND computed_at < $1 AND nodes <> '[]'::jsonb
			LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		count: func(r *PurgeResult) *int64 { return &r.Snapshots },
	},
}

// Purge removes what is past retention at now (see the notes above), in
// batches of PurgeBatch rows, and records the run in retention_state. Every
// instance may run it at the same time: a row is deleted by one of them, the
// others skip it. When interactions or snapshot figures went, an outbox event
// tells the analytics their input changed, so the next recomputation (on
// whichever instance) reflects it. On an error it returns what it removed so
// far.
func (s *Store) Purge(ctx context.Context, retention time.Duration, now time.Time) (PurgeResult, error) {
	var res PurgeResult
	if retention <= 0 {
		return res, fmt.Errorf("purge: retention must be positive, got %s", retention)
	}
	for _, step := range purgeSteps {
		cutoff := step.cutoff(now, retention)
		n := step.count(&res)
		args := []any{cutoff, PurgeBatch}
		if step.bound != "" {
			var bound *int64
			if err := s.pool.QueryRow(ctx, step.bound, cutoff).Scan(&bound); err != nil {
				return res, fmt.Errorf("purge %s: %w", step.name, err)
			}
			if bound == nil {
				continue
			}
			args = append(args, *bound)
		}
		for {
			tag, err := s.pool.Exec(ctx, step.sql, args...)
			if err != nil {
				return res, fmt.Errorf("purge %s: %w", step.name, err)
			}
			*n += tag.RowsAffected()
			if tag.RowsAffected() < PurgeBatch {
				break
			}
		}
	}
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO retention_state (retention_seconds, purged_at, purged) VALUES ($1, $2, $3)
			ON CONFLICT (singleton) DO UPDATE SET retention_seconds = EXCLUDED.retention_seconds,
				purged_at = EXCLUDED.purged_at, purged = EXCLUDED.purged`,
			int64(retention.Seconds()), now, res); err != nil {
			return err
		}
		if res.Interactions == 0 && res.Snapshots == 0 {
			return nil
		}
		// Addressed to nobody: no one's screen changes, only the analytics' input.
		return addEvent(ctx, tx, &events, "nc.evt.retention.purged", "retention.purged", map[string]any{
			"interactions": res.Interactions, "snapshots": res.Snapshots,
		}, false, nil)
	})
	if err != nil {
		return res, fmt.Errorf("purge: record: %w", err)
	}
	s.publish(ctx, events)
	return res, nil
}

// RetentionState is the last purge, as recorded by whichever instance ran it.
type RetentionState struct {
	Retention time.Duration // the INTERACTION_RETENTION it enforced
	PurgedAt  time.Time
	Purged    PurgeResult
}

// LastPurge is the last purge run; ErrNotFound before the first.
func (s *Store) LastPurge(ctx context.Context) (RetentionState, error) {
	var st RetentionState
	var secs int64
	err := s.pool.QueryRow(ctx, `SELECT retention_seconds, purged_at, purged FROM retention_state`).Scan(&secs, &st.PurgedAt, &st.Purged)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("last purge: %w", err)
	}
	st.Retention = time.Duration(secs) * time.Second
	return st, nil
}

// RunPurge purges with retention at once and then every interval until ctx
// ends. Every instance runs it; none is in charge.
func (s *Store) RunPurge(ctx context.Context, retention, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		res, err := s.Purge(ctx, retention, start)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention purge; retried next time", "err", err)
		case err == nil && res.Total() > 0:
			log.Info("retention purge", "interactions", res.Interactions, "events", res.Events,
				"sessions", res.Sessions, "tokens", res.Tokens, "invites", res.Invites,
				"snapshots", res.Snapshots, "took", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
