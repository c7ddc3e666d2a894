package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/audit"
)

// ErrNoSnapshot means the analytics have not been computed for that window yet.
var ErrNoSnapshot = errors.New("no snapshot yet")

// Windows are the time windows kept computed: the last 90 days, and all time.
var Windows = []int{90, 0}

// Store keeps computed snapshots and the audit log in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// NewStore wraps a pool.
func NewStore(pool *pgxpool.Pool, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, log: log}
}

// Save stores snap as the current snapshot of its window and as this week's
// weekly snapshot (the last one computed in a week stands for the week).
func (s *Store) Save(ctx context.Context, snap *Snapshot, mark int64) error {
	summary, err := json.Marshal(snap.Summary)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	nodes, err := json.Marshal(snap.Nodes)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	comms, err := json.Marshal(snap.Communities)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	week := weekStart(snap.ComputedAt)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			INSERT INTO graph_snapshots (window_days, kind, computed_at, source_mark, took_ms, summary, nodes, communities)
			VALUES ($1, 'current', $2, $3, $4, $5, $6, $7)
			ON CONFLICT (window_days) WHERE kind = 'current' DO UPDATE SET computed_at = EXCLUDED.computed_at,
				source_mark = EXCLUDED.source_mark, took_ms = EXCLUDED.took_ms, summary = EXCLUDED.summary,
				nodes = EXCLUDED.nodes, communities = EXCLUDED.communities
			RETURNING id`, snap.WindowDays, snap.ComputedAt, mark, snap.TookMS, summary, nodes, comms).Scan(&snap.ID); err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO graph_snapshots (window_days, kind, week, computed_at, source_mark, took_ms, summary, nodes, communities)
			VALUES ($1, 'weekly', $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (window_days, week) WHERE kind = 'weekly' DO UPDATE SET computed_at = EXCLUDED.computed_at,
				source_mark = EXCLUDED.source_mark, took_ms = EXCLUDED.took_ms, summary = EXCLUDED.summary,
				nodes = EXCLUDED.nodes, communities = EXCLUDED.communities`,
			snap.WindowDays, week, snap.ComputedAt, mark, snap.TookMS, summary, nodes, comms)
		if err != nil {
			return fmt.Errorf("save weekly snapshot: %w", err)
		}
		return nil
	})
}

func weekStart(t time.Time) time.Time {
	t = t.UTC()
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return time.Date(t.Year(), t.Month(), t.Day()-wd, 0, 0, 0, 0, time.UTC)
}

// Current is the latest snapshot of a window (ErrNoSnapshot before the first).
func (s *Store) Current(ctx context.Context, windowDays int) (*Snapshot, error) {
	return s.scan(s.pool.QueryRow(ctx, `SELECT id, window_days, kind, computed_at, took_ms, summary, nodes, communities
		FROM graph_snapshots WHERE kind = 'current' AND window_days = $1`, windowDays))
}

func (s *Store) scan(row pgx.Row) (*Snapshot, error) {
	var snap Snapshot
	var summary, nodes, comms []byte
	err := row.Scan(&snap.ID, &snap.WindowDays, &snap.Kind, &snap.ComputedAt, &snap.TookMS, &summary, &nodes, &comms)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if err := json.Unmarshal(summary, &snap.Summary); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if err := json.Unmarshal(nodes, &snap.Nodes); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if err := json.Unmarshal(comms, &snap.Communities); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return &snap, nil
}

// TrendPoint is one week's figures.
type TrendPoint struct {
	Week    time.Time `json:"week"`
	Summary Summary   `json:"summary"`
}

// Trend lists the weekly figures of a window, oldest first, at most limit weeks.
func (s *Store) Trend(ctx context.Context, windowDays, limit int) ([]TrendPoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT week, summary FROM (
		SELECT week, summary FROM graph_snapshots WHERE kind = 'weekly' AND window_days = $1 ORDER BY week DESC LIMIT $2) x
		ORDER BY week`, windowDays, limit)
	if err != nil {
		return nil, fmt.Errorf("trend: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TrendPoint, error) {
		var p TrendPoint
		var b []byte
		if err := r.Scan(&p.Week, &b); err != nil {
			return p, err
		}
		return p, json.Unmarshal(b, &p.Summary)
	})
}

// Previous is the weekly snapshot before this week's, for "since last
// snapshot" comparisons (ErrNoSnapshot when there is none).
func (s *Store) Previous(ctx context.Context, windowDays int, now time.Time) (*Snapshot, error) {
	return s.scan(s.pool.QueryRow(ctx, `SELECT id, window_days, kind, computed_at, took_ms, summary, nodes, communities
		FROM graph_snapshots WHERE kind = 'weekly' AND window_days = $1 AND week < $2 ORDER BY week DESC LIMIT 1`,
		windowDays, weekStart(now)))
}

// Audit records that actor looked at or exported named analytics, in the
// audit log (internal/audit), with the client address on ctx.
func (s *Store) Audit(ctx context.Context, actor int64, action string, detail any) error {
	return audit.Write(ctx, s.pool, audit.Record{Actor: actor, Action: action, Detail: detail})
}

// AuditEntry is one audited view or export.
type AuditEntry struct {
	Actor  string          `json:"actor"` // handle
	Action string          `json:"action"`
	Detail json.RawMessage `json:"detail"`
	At     time.Time       `json:"at"`
}

// AuditLog lists the latest views, exports and people-analyst grants, newest
// first. The audit log holds sign-ins, refusals and more besides (all of it on
// /audit); these are the entries about named analytics.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT coalesce(n.handle, ''), a.action, a.detail, a.at
		FROM audit_log a LEFT JOIN nodes n ON n.id = a.actor_id
		WHERE a.action LIKE 'view\_%' OR a.action LIKE 'export\_%' OR a.action LIKE 'api\_%' OR a.action LIKE '%\_people\_analyst'
		ORDER BY a.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[AuditEntry])
}

// mark is the newest outbox event that may change the network the analytics
// read: a snapshot computed at a mark is stale once a newer one exists (every
// write that changes people, memberships, connections or interactions writes
// an event). A new share changes nothing there unless it mentions somebody or
// passes a share on, so plain shares do not count (events_graph_changes):
// under a stream of posts the whole graph was otherwise recomputed every
// Debounce for nothing. Ids only grow, so a purged event cannot hide a change.
func (s *Store) mark(ctx context.Context) (int64, error) {
	var m int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events
		WHERE type <> 'share.created' OR payload -> 'mentions' <> '[]'::jsonb OR payload ? 'parent_id'`).Scan(&m)
	return m, err
}

func (s *Store) currentMark(ctx context.Context, windowDays int) (int64, time.Time, error) {
	var m int64
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT source_mark, computed_at FROM graph_snapshots WHERE kind = 'current' AND window_days = $1`, windowDays).Scan(&m, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1, time.Time{}, nil
	}
	return m, at, err
}

// RecomputeLock is the advisory lock that lets exactly one instance recompute.
const RecomputeLock = 7_110_001

// Recomputer refreshes the snapshots when the network changed, on whichever
// instance holds the lock: every instance runs it, none is in charge.
type Recomputer struct {
	Store    *Store
	Compute  func(ctx context.Context, windowDays int, prev *Snapshot) (*Snapshot, error)
	Every    time.Duration // how often to look (default 5s)
	Debounce time.Duration // at most one recompute per window this often (default 30s)
}

// Run looks every Every until ctx ends.
func (r *Recomputer) Run(ctx context.Context) {
	if r.Every == 0 {
		r.Every = 5 * time.Second
	}
	if r.Debounce == 0 {
		r.Debounce = 30 * time.Second
	}
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.Store.log.Warn("graph recompute", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once recomputes every stale window if this instance gets the lock; it
// reports how many windows it recomputed.
func (r *Recomputer) Once(ctx context.Context) (int, error) {
	conn, err := r.Store.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, RecomputeLock).Scan(&got); err != nil || !got {
		return 0, err
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, RecomputeLock)
	}()
	done := 0
	for _, w := range Windows {
		mark, err := r.Store.mark(ctx)
		if err != nil {
			return done, err
		}
		have, at, err := r.Store.currentMark(ctx, w)
		if err != nil {
			return done, err
		}
		upToDate := have >= 0 && have >= mark
		tooSoon := have >= 0 && time.Since(at) < r.Debounce
		if upToDate || tooSoon {
			continue
		}
		prev, err := r.Store.Current(ctx, w)
		if err != nil && !errors.Is(err, ErrNoSnapshot) {
			return done, err
		}
		start := time.Now()
		snap, err := r.Compute(ctx, w, prev)
		if err != nil {
			return done, err
		}
		snap.TookMS = int(time.Since(start).Milliseconds())
		if err := r.Store.Save(ctx, snap, mark); err != nil {
			return done, err
		}
		r.Store.log.Info("graph snapshot computed", "window_days", w, "nodes", snap.Summary.Nodes,
			"edges", snap.Summary.Edges, "took_ms", snap.TookMS)
		done++
	}
	return done, nil
}
