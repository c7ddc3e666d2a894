// Package audit owns the audit log: an append-only record of the acts that
// matter for security and privacy — sign-ins and failed sign-ins, refused
// requests, capability changes, deactivations, imports, and every view or
// export of named analytics — each with who, what, when (UTC) and from where.
//
// Rows are only ever inserted; migration 0006 makes PostgreSQL refuse UPDATE,
// DELETE and TRUNCATE on the table, so not even a bug here can rewrite history.
// The package knows nothing of HTTP: the web layer puts the client address on
// the context (WithAddress) and every row written with that context carries it.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Actions written by this program. The analytics views add their own
// (view_org_map, export_csv, …: see web/graph.go); the log takes any
// lower-case name.
const (
	ActionSignin            = "signin"             // a password sign-in that worked
	ActionSigninFailed      = "signin_failed"      // a wrong email or password (the password was checked)
	ActionSigninDelayed     = "signin_delayed"     // refused unchecked: the account's progressive delay
	ActionSignout           = "signout"            // one session or token ended
	ActionSignoutEverywhere = "signout_everywhere" // every session and token of the node ended
	ActionDenied            = "denied"             // a request answered 401 or 403, or sent to sign in
	ActionGrantSteward      = "grant_steward"
	ActionRevokeSteward     = "revoke_steward"
	ActionGrantAnalyst      = "grant_people_analyst"
	ActionRevokeAnalyst     = "revoke_people_analyst"
	ActionDeactivate        = "deactivate"
	ActionImport            = "import"
	ActionReadLog           = "read_audit_log"   // who read this log is itself recorded
	ActionRateLimited       = "rate_limited"     // a request refused with 429 by a rate limit
	ActionSuppressed        = "audit_suppressed" // refusals from one address not written one by one, with their count
)

// Entry is one row of the log.
type Entry struct {
	ID      int64           `json:"id"`
	ActorID int64           `json:"actor_id,omitempty"` // 0: nobody signed in, or the operator at the command line
	Actor   string          `json:"actor"`              // the actor's handle when listed; "" when none
	Action  string          `json:"action"`
	Address string          `json:"address"` // the client address, "cli" for the command line
	Detail  json.RawMessage `json:"detail"`
	At      time.Time       `json:"at"` // UTC
}

// Record is what a caller writes; the database sets the id and the time.
type Record struct {
	Actor   int64  // the node acting, 0 for none
	Action  string // one of the Action constants, or an analytics view's name
	Address string // "" takes the address on the context (WithAddress)
	Detail  any    // encoded as a JSON object; nil is {}
}

type addressKey struct{}

// WithAddress records the client address of a request for every audit row
// written with the context, so callers deep in the domain need not pass it.
func WithAddress(ctx context.Context, address string) context.Context {
	return context.WithValue(ctx, addressKey{}, address)
}

// AddressFrom is the address WithAddress recorded, or "".
func AddressFrom(ctx context.Context) string {
	a, _ := ctx.Value(addressKey{}).(string)
	return a
}

// Execer is a pool or a transaction: a row can be written in the same
// transaction as the change it records, so that either both exist or neither.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const insertEntry = `INSERT INTO audit_log (actor_id, action, address, detail) VALUES ($1, $2, $3, $4)`

// Write appends rec through db (a pool or a transaction).
func Write(ctx context.Context, db Execer, rec Record) error {
	detail := []byte("{}")
	if rec.Detail != nil {
		b, err := json.Marshal(rec.Detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", rec.Action, err)
		}
		detail = b
	}
	address := rec.Address
	if address == "" {
		address = AddressFrom(ctx)
	}
	var actor *int64
	if rec.Actor != 0 {
		actor = &rec.Actor
	}
	if _, err := db.Exec(ctx, insertEntry, actor, rec.Action, address, detail); err != nil {
		return fmt.Errorf("audit %s: %w", rec.Action, err)
	}
	return nil
}

// Store reads and appends the log.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore wraps a pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Add appends one row.
func (s *Store) Add(ctx context.Context, rec Record) error { return Write(ctx, s.pool, rec) }

// Filter selects a page of the log, newest first.
type Filter struct {
	Action string // "" for every action
	Actor  int64  // 0 for every actor
	Before int64  // keyset cursor: only rows with a smaller id; 0 for the newest
	Limit  int    // 1–MaxLimit; 0 means DefaultLimit
}

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page is one page of the log and the cursor of the next (0 when this is the last).
type Page struct {
	Entries    []Entry `json:"entries"`
	NextBefore int64   `json:"next_before,omitempty"`
}

const listEntries = `
SELECT a.id, coalesce(a.actor_id, 0), coalesce(n.handle, ''), a.action, a.address, a.detail, a.at
FROM audit_log a LEFT JOIN nodes n ON n.id = a.actor_id
WHERE ($1 = '' OR a.action = $1) AND ($2 = 0 OR a.actor_id = $2) AND ($3 = 0 OR a.id < $3)
ORDER BY a.id DESC
LIMIT $4`

// List returns a page of the log, newest first. Pages follow the id (keyset),
// so a page stays the same however many rows are appended meanwhile.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	// One row more than asked tells whether there is a next page.
	rows, err := s.pool.Query(ctx, listEntries, f.Action, f.Actor, f.Before, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("audit log: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.ID, &e.ActorID, &e.Actor, &e.Action, &e.Address, &e.Detail, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return Page{}, fmt.Errorf("audit log: %w", err)
	}
	p := Page{Entries: entries}
	if len(entries) > limit {
		p.Entries = entries[:limit]
		p.NextBefore = p.Entries[limit-1].ID
	}
	if p.Entries == nil {
		p.Entries = []Entry{}
	}
	return p, nil
}

// Actions lists the actions present in the log, in order, for a filter. The
// recursive query skips through the (action, id) index one action at a time
// instead of reading every row.
func (s *Store) Actions(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		WITH RECURSIVE a(action) AS (
			SELECT min(action) FROM audit_log
			UNION ALL
			SELECT (SELECT min(action) FROM audit_log WHERE action > a.action) FROM a WHERE a.action IS NOT NULL
		)
		SELECT action FROM a WHERE action IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("audit actions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit actions: %w", err)
	}
	return out, nil
}

// SigninFailures counts the failed password sign-ins of an account (see
// community's account key) within window before the database's now, since its
// last successful sign-in, and returns the time of the latest and the
// database's now (the delay is measured on one clock, whatever the instance).
func (s *Store) SigninFailures(ctx context.Context, account string, window time.Duration) (n int, last, now time.Time, err error) {
	var lastAt *time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT count(*), max(f.at), now() FROM audit_log f
		WHERE f.action = 'signin_failed' AND f.detail ->> 'account' = $1 AND f.at > now() - $2::interval
		  AND f.at > coalesce((SELECT max(ok.at) FROM audit_log ok
		                       WHERE ok.action = 'signin' AND ok.detail ->> 'account' = $1), '-infinity')`,
		account, window).Scan(&n, &lastAt, &now)
	if err != nil {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("sign-in failures: %w", err)
	}
	if lastAt != nil {
		last = *lastAt
	}
	return n, last, now, nil
}
