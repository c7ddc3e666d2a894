package community

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Kinds of declared connection (the schema's CHECK lists the same).
const (
	KindCollaborate = "collaborate"
	KindAdvice      = "advice"
	KindMentor      = "mentor"
	KindSocial      = "social"
)

// ConnectionKinds lists the kinds of connection, in the order forms offer them.
var ConnectionKinds = []string{KindCollaborate, KindAdvice, KindMentor, KindSocial}

// Connection states and directions.
const (
	ConnectionPending  = "pending"
	ConnectionAccepted = "accepted"

	DirectionOutgoing = "outgoing" // I asked
	DirectionIncoming = "incoming" // I was asked
)

// Connection is a declared connection as one of its two nodes sees it.
type Connection struct {
	ID         int64         `json:"id"`
	Kind       string        `json:"kind"`
	State      string        `json:"state"`
	Direction  string        `json:"direction"` // relative to the node that asked for it
	Other      ConnectedNode `json:"other"`
	CreatedAt  time.Time     `json:"created_at"`
	AcceptedAt *time.Time    `json:"accepted_at"`
	Strength   float64       `json:"strength"` // see Strength; 0 while pending
}

// ConnectedNode is the other side of a connection or suggestion: enough to name
// and link to them.
type ConnectedNode struct {
	ID          int64  `json:"id"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	Active      bool   `json:"active"`
}

// connectionsSQL selects connections as @me sees them, with their strength at
// @now; callers append conditions on c.
const connectionsSQL = `
WITH w AS (` + interactionWeightsSQL + `),
b AS (SELECT * FROM unnest(@base_kinds::text[], @base_values::float8[]) AS b(kind, base))
SELECT c.id, c.kind, c.state,
       CASE WHEN c.from_node = @me THEN 'outgoing' ELSE 'incoming' END,
       n.id, n.handle, n.display_name, n.deactivated_at IS NULL,
       c.created_at, c.accepted_at,
       CASE WHEN c.state = 'accepted'
            THEN least(@cap::float8, b.base + coalesce(s.score, 0))::float8
            ELSE 0::float8 END AS strength
FROM connections c
JOIN nodes n ON n.id = CASE WHEN c.from_node = @me THEN c.to_node ELSE c.from_node END
JOIN b ON b.kind = c.kind
LEFT JOIN LATERAL (
	SELECT sum(` + decayedWeightSQL + `) AS score
	FROM interactions i JOIN w ON w.kind = i.kind
	WHERE c.state = 'accepted' AND ` + recentSQL + `
	  AND ((i.from_node = c.from_node AND i.to_node = c.to_node)
	    OR (i.from_node = c.to_node AND i.to_node = c.from_node))
) s ON true
WHERE (c.from_node = @me OR c.to_node = @me)`

func scanConnection(r pgx.CollectableRow) (Connection, error) {
	var c Connection
	err := r.Scan(&c.ID, &c.Kind, &c.State, &c.Direction,
		&c.Other.ID, &c.Other.Handle, &c.Other.DisplayName, &c.Other.Active,
		&c.CreatedAt, &c.AcceptedAt, &c.Strength)
	return c, err
}

// ListConnections lists me's connections: requests waiting for an answer first
// (newest first), then accepted ones, strongest first.
func (s *Store) ListConnections(ctx context.Context, me int64) ([]Connection, error) {
	return s.listConnections(ctx, me, time.Now())
}

func (s *Store) listConnections(ctx context.Context, me int64, now time.Time) ([]Connection, error) {
	args := strengthArgs(now)
	args["me"] = me
	rows, err := s.pool.Query(ctx, connectionsSQL+`
		ORDER BY c.state = 'pending' DESC, strength DESC, c.created_at DESC, c.id DESC`, args)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return out, nil
}

// PendingRequests counts the connection requests waiting for me to answer:
// the dashboard's badge, without ListConnections' strengths.
func (s *Store) PendingRequests(ctx context.Context, me int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM connections WHERE to_node = $1 AND state = 'pending'`, me).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pending requests: %w", err)
	}
	return n, nil
}

// findConnection is one connection as me sees it, read through db (the caller's
// transaction, so it sees what the transaction just wrote).
func findConnection(ctx context.Context, db DBTX, me, id int64, now time.Time) (Connection, error) {
	args := strengthArgs(now)
	args["me"], args["id"] = me, id
	rows, err := db.Query(ctx, connectionsSQL+` AND c.id = @id`, args)
	if err != nil {
		return Connection{}, fmt.Errorf("find connection: %w", err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanConnection)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("find connection: %w", err)
	}
	return c, nil
}

// RequestConnection asks the node with toHandle for a connection of kind. There
// is at most one connection per pair, whoever asked: if the other node already
// asked me and is waiting, that request is accepted instead (we both want it)
// and returned; any other existing connection is a conflict.
func (s *Store) RequestConnection(ctx context.Context, from int64, toHandle, kind string) (Connection, error) {
	if _, ok := connectionBase[kind]; !ok {
		return Connection{}, invalid("kind", "Choose what kind of connection this is: %s.", strings.Join(ConnectionKinds, ", "))
	}
	handle := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(toHandle), "@"))
	if handle == "" {
		return Connection{}, invalid("to_handle", "Enter the handle of the person to connect with.")
	}
	var out Connection
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var to int64
		var active bool
		err := tx.QueryRow(ctx, `SELECT id, deactivated_at IS NULL FROM nodes WHERE handle = $1`, handle).Scan(&to, &active)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return invalid("to_handle", "No one has the handle @%s. Check the spelling.", handle)
		case err != nil:
			return err
		case to == from:
			return invalid("to_handle", "You cannot connect with yourself.")
		case !active:
			return invalid("to_handle", "@%s has left the network and cannot be asked to connect.", handle)
		}
		// One connection per unordered pair: the unique key covers only one
		// direction, so requests between the same two nodes are serialised here.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(format('nc.connection:%s:%s', $1::bigint, $2::bigint), 0))`,
			min(from, to), max(from, to)); err != nil {
			return err
		}
		var id, reqFrom int64
		var state string
		event, asker, asked := "connection.requested", from, to
		err = tx.QueryRow(ctx, `
			SELECT id, from_node, state FROM connections
			WHERE (from_node = $1 AND to_node = $2) OR (from_node = $2 AND to_node = $1)
			FOR UPDATE`,
			from, to).Scan(&id, &reqFrom, &state)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			err = tx.QueryRow(ctx, `INSERT INTO connections (from_node, to_node, kind) VALUES ($1, $2, $3) RETURNING id`,
				from, to, kind).Scan(&id)
			if isConnectionDuplicate(err) {
				return Conflict("to_handle", fmt.Sprintf("You have already asked @%s to connect.", handle))
			}
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case state == ConnectionAccepted:
			return Conflict("to_handle", fmt.Sprintf("You are already connected with @%s.", handle))
		case reqFrom == from:
			return Conflict("to_handle", fmt.Sprintf("You have already asked @%s to connect; wait for their answer.", handle))
		default: // they asked me and are waiting: my request is my answer
			if _, err := tx.Exec(ctx, `UPDATE connections SET state = 'accepted', accepted_at = now() WHERE id = $1`, id); err != nil {
				return err
			}
			event, asker, asked = "connection.accepted", to, from
		}
		if out, err = findConnection(ctx, tx, from, id, time.Now()); err != nil {
			return err
		}
		return addConnectionEvent(ctx, tx, &events, event, out, asker, asked)
	})
	if err != nil {
		return out, connectionErr("request connection", err)
	}
	s.publish(ctx, events)
	return out, nil
}

// AcceptConnection accepts a request made to me; accepting it twice is harmless.
// Only the node asked may accept.
func (s *Store) AcceptConnection(ctx context.Context, me, id int64) (Connection, error) {
	var out Connection
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		from, to, state, err := lockConnection(ctx, tx, me, id)
		if err != nil {
			return err
		}
		if from == me {
			return fmt.Errorf("%w: only the person asked can accept", ErrForbidden)
		}
		if state == ConnectionAccepted {
			out, err = findConnection(ctx, tx, me, id, time.Now())
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET state = 'accepted', accepted_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		if out, err = findConnection(ctx, tx, me, id, time.Now()); err != nil {
			return err
		}
		return addConnectionEvent(ctx, tx, &events, "connection.accepted", out, from, to)
	})
	if err != nil {
		return out, connectionErr("accept connection", err)
	}
	s.publish(ctx, events)
	return out, nil
}

// DeclineConnection turns down a request made to me; nothing of it is kept, so
// the other node may ask again later.
func (s *Store) DeclineConnection(ctx context.Context, me, id int64) error {
	return s.deleteConnection(ctx, "connection.declined", me, id, func(from int64, state string) error {
		switch {
		case from == me:
			return fmt.Errorf("%w: only the person asked can decline; withdraw your own request instead", ErrForbidden)
		case state != ConnectionPending:
			return Conflict("", "This connection was already accepted; remove it instead.")
		}
		return nil
	})
}

// WithdrawConnection takes back my request while it is still pending.
func (s *Store) WithdrawConnection(ctx context.Context, me, id int64) error {
	return s.deleteConnection(ctx, "connection.withdrawn", me, id, func(from int64, state string) error {
		switch {
		case from != me:
			return fmt.Errorf("%w: only the person who asked can withdraw; decline it instead", ErrForbidden)
		case state != ConnectionPending:
			return Conflict("", "This connection was already accepted; remove it instead.")
		}
		return nil
	})
}

// RemoveConnection ends an accepted connection; either side may.
func (s *Store) RemoveConnection(ctx context.Context, me, id int64) error {
	return s.deleteConnection(ctx, "connection.removed", me, id, func(_ int64, state string) error {
		if state != ConnectionAccepted {
			return Conflict("", "This request has not been accepted yet; withdraw or decline it instead.")
		}
		return nil
	})
}

// deleteConnection deletes connection id if me is party to it and allowed says
// so, and tells both sides with an event of type typ.
func (s *Store) deleteConnection(ctx context.Context, typ string, me, id int64, allowed func(from int64, state string) error) error {
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		from, to, state, err := lockConnection(ctx, tx, me, id)
		if err != nil {
			return err
		}
		if err := allowed(from, state); err != nil {
			return err
		}
		c, err := findConnection(ctx, tx, me, id, time.Now())
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `DELETE FROM connections WHERE id = $1`, id); err != nil {
			return err
		}
		return addConnectionEvent(ctx, tx, &events, typ, c, from, to)
	})
	if err != nil {
		return connectionErr(strings.ReplaceAll(typ, ".", " "), err)
	}
	s.publish(ctx, events)
	return nil
}

// connectionEvent is what the two nodes of a connection hear about it: neutral,
// not seen from either side.
type connectionEvent struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	State    string `json:"state"` // after the change; "" once deleted
	FromNode int64  `json:"from_node"`
	ToNode   int64  `json:"to_node"`
}

// addConnectionEvent writes a connection event to the outbox for both nodes
// only: who connects with whom is theirs to know first.
func addConnectionEvent(ctx context.Context, tx pgx.Tx, events *[]Event, typ string, c Connection, from, to int64) error {
	state := c.State
	if typ != "connection.requested" && typ != "connection.accepted" {
		state = ""
	}
	e := connectionEvent{ID: c.ID, Kind: c.Kind, State: state, FromNode: from, ToNode: to}
	return addEvent(ctx, tx, events, "nc.evt.connection."+strconv.FormatInt(c.ID, 10), typ, e, false, []int64{from, to})
}

// lockConnection locks connection id for the rest of tx. A connection me is not
// party to is reported as not found: others need not learn it exists.
func lockConnection(ctx context.Context, tx pgx.Tx, me, id int64) (from, to int64, state string, err error) {
	err = tx.QueryRow(ctx, `SELECT from_node, to_node, state FROM connections WHERE id = $1 FOR UPDATE`, id).
		Scan(&from, &to, &state)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && from != me && to != me) {
		return 0, 0, "", ErrNotFound
	}
	return from, to, state, err
}

// connectionErr passes the errors callers act on (validation, not found, forbidden,
// conflict) through as they are and wraps everything else with op.
func connectionErr(op string, err error) error {
	var ve *ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve), errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden), errors.Is(err, ErrConflict):
		return err
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func isConnectionDuplicate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
