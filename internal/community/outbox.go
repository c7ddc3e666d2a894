package community

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

// Event is one change the network hears about. It is written to the outbox in
// the same transaction as the change, and published after commit.
type Event struct {
	ID      int64           `json:"id"`     // outbox id (the dedup id on NATS)
	Type    string          `json:"type"`   // e.g. "share.created"
	ToAll   bool            `json:"to_all"` // every node may see it
	To      []int64         `json:"to"`     // else: the nodes that may see it
	Object  json.RawMessage `json:"object"` // what changed, as readers see it
	At      time.Time       `json:"at"`
	Subject string          `json:"-"`
	// Bundle names the events committed together that travel as one stream
	// message (the smallest of their ids); 0: the event travels alone.
	Bundle int64 `json:"-"`
}

// Visible reports whether node may receive the event.
func (e Event) Visible(node int64) bool {
	if e.ToAll {
		return true
	}
	for _, id := range e.To {
		if id == node {
			return true
		}
	}
	return false
}

// Publisher sends committed events to the peers (the bus implements it).
type Publisher interface {
	Publish(ctx context.Context, subject string, id int64, data []byte) (uint64, error)
}

// BundlePublisher is a Publisher that can also send several committed events
// as one message (the bus implements it): the events of one group commit.
// The same id must always carry the same events (a repeat is dropped).
type BundlePublisher interface {
	PublishBundle(ctx context.Context, id int64, events [][]byte) error
}

// oneBundle reports whether events are the whole of one bundle, as committed
// (a batch whose events were each committed alone has none).
func oneBundle(events []Event) bool {
	if len(events) < 2 || events[0].Bundle == 0 {
		return false
	}
	for _, e := range events {
		if e.Bundle != events[0].Bundle {
			return false
		}
	}
	return true
}

// publishBundle publishes the events of one bundle as one message; a failure
// is logged and left to the outbox relay.
func (s *Store) publishBundle(ctx context.Context, bp BundlePublisher, events []Event) bool {
	if err := sendBundle(ctx, bp, events); err != nil {
		s.logger().Warn("publish event bundle; the outbox relay will retry", "bundle", events[0].Bundle, "events", len(events), "err", err)
		return false
	}
	return true
}

// sendBundle publishes the events of one bundle, in their binary form, as one
// message under the bundle's name.
func sendBundle(ctx context.Context, bp BundlePublisher, events []Event) error {
	data := make([][]byte, len(events))
	for i, e := range events {
		data[i] = e.AppendWire(nil)
	}
	return bp.PublishBundle(ctx, events[0].Bundle, data)
}

// SetPublisher connects the store to the bus; without one, events wait in the
// outbox for a relay.
func (s *Store) SetPublisher(p Publisher, log *slog.Logger) {
	s.pub, s.log = p, log
}

// AddEvent writes an event to the outbox inside tx, for other domain packages
// (feedback): call PublishEvents with the collected events after commit.
func AddEvent(ctx context.Context, tx pgx.Tx, pending *[]Event, subject, typ string, object any, toAll bool, to []int64) error {
	return addEvent(ctx, tx, pending, subject, typ, object, toAll, to)
}

// PublishEvents publishes events whose transaction committed (see AddEvent).
func (s *Store) PublishEvents(ctx context.Context, events []Event) { s.publish(ctx, events) }

// addEvent writes an event to the outbox inside tx and remembers it for
// publishing after commit.
func addEvent(ctx context.Context, tx pgx.Tx, pending *[]Event, subject, typ string, object any, toAll bool, to []int64) error {
	b, err := json.Marshal(object)
	if err != nil {
		return fmt.Errorf("event %s: %w", typ, err)
	}
	if to == nil {
		to = []int64{}
	}
	e := Event{Type: typ, ToAll: toAll, To: to, Object: b, Subject: subject}
	err = tx.QueryRow(ctx, `
		WITH e AS (INSERT INTO events (subject, type, payload, to_all, to_nodes) VALUES ($1, $2, $3, $4, $5)
			RETURNING id, created_at),
		p AS (INSERT INTO events_pending (id) SELECT id FROM e)
		SELECT id, created_at FROM e`, subject, typ, b, toAll, to).Scan(&e.ID, &e.At)
	if err != nil {
		return fmt.Errorf("event %s: %w", typ, err)
	}
	*pending = append(*pending, e)
	return nil
}

// publish sends events after their transaction committed. A failure is not the
// caller's problem: the change is committed, and the relay will publish it.
func (s *Store) publish(ctx context.Context, events []Event) {
	if !s.canPublish(events) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var done []int64
	for _, e := range events {
		if s.publishOne(ctx, e) {
			done = append(done, e.ID)
		}
	}
	metrics.EventsPublished.Add(float64(len(done)))
	if err := s.markPublished(ctx, done); err != nil {
		s.logger().Warn("mark events published", "err", err)
	}
}

// canPublish reports whether committed events can be published right after
// their commit: there are some, a publisher, and NATS is not away (then the
// relay publishes them when it is back).
func (s *Store) canPublish(events []Event) bool {
	if s.pub == nil || len(events) == 0 {
		return false
	}
	c, ok := s.pub.(interface{ Connected() bool })
	return !ok || c.Connected()
}

// publishOne publishes one committed event; a failure is logged and left to
// the outbox relay.
func (s *Store) publishOne(ctx context.Context, e Event) bool {
	if err := s.send(ctx, e); err != nil {
		s.logger().Warn("publish event; the outbox relay will retry", "event_id", e.ID, "err", err)
		return false
	}
	return true
}

// send publishes one event in its binary form: every instance decodes every
// event (wire.go).
func (s *Store) send(ctx context.Context, e Event) error {
	_, err := s.pub.Publish(ctx, e.Subject, e.ID, e.AppendWire(nil))
	return err
}

// markPublished records that events were published, in one round trip, and
// without waiting for the disk: the mark only spares the relay a repeat. If a
// crash loses it, the relay publishes the event again and JetStream drops the
// repeat (same message id); the event itself was committed durably before it
// was published. Waiting here would cost every write a second flush.
func (s *Store) markPublished(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	// A join on the ids rather than id = ANY($1), which PostgreSQL planned
	// afresh on almost every call.
	return s.execUnsynced(ctx, `DELETE FROM events_pending p USING unnest($1::bigint[]) AS d(id) WHERE p.id = d.id`, ids)
}

// execUnsynced runs one statement in its own transaction whose commit does
// not wait for the disk, in one round trip: for writes a crash may lose
// without harm (a mark, a hint), never for what was promised to somebody.
func (s *Store) execUnsynced(ctx context.Context, sql string, args ...any) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit = off")
	b.Queue(sql, args...)
	b.Queue("COMMIT")
	return s.pool.SendBatch(ctx, b).Close()
}

func (s *Store) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// RelayOutbox publishes events that were committed but not published (the
// process died between commit and publish, or NATS was away), until ctx ends.
// Any instance may run it: rows are claimed with SKIP LOCKED, and a repeated
// publish is dropped by JetStream's duplicate window.
func (s *Store) RelayOutbox(ctx context.Context, every, olderThan time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.pub == nil {
			continue
		}
		for {
			n, err := s.relayBatch(ctx, olderThan)
			if err != nil {
				if ctx.Err() == nil {
					s.logger().Warn("outbox relay", "err", err)
				}
				break
			}
			if n < relayBatchSize {
				break
			}
		}
	}
}

const relayBatchSize = 200

// relayBatch publishes up to relayBatchSize unpublished events older than
// olderThan (more to finish a bundle) and returns how many it published. A
// bundle is claimed and published whole, under its own name, so a repeat of
// one the stream already has is dropped, and never only part of one: for
// that, one relay works at a time in the cluster (two could each claim part
// of a bundle, and the second part would be dropped as a repeat).
func (s *Store) relayBatch(ctx context.Context, olderThan time.Duration) (int, error) {
	n, claimed := 0, 0
	bp, bundles := s.pub.(BundlePublisher)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('nodecommunity.outbox_relay'))`).Scan(&mine); err != nil || !mine {
			return err // another instance relays now
		}
		events, err := claimEvents(ctx, tx, `e.created_at < now() - $1::interval
			ORDER BY p.id LIMIT $2 FOR UPDATE OF p SKIP LOCKED`, olderThan.String(), relayBatchSize)
		if err != nil {
			return err
		}
		// The rest of the bundles the limit cut (their events have larger ids).
		var cut []int64
		for _, e := range events {
			if e.Bundle != 0 && (len(cut) == 0 || cut[len(cut)-1] != e.Bundle) {
				cut = append(cut, e.Bundle)
			}
		}
		if len(cut) > 0 {
			rest, err := claimEvents(ctx, tx, `e.bundle = ANY($1) AND p.id > $2
				ORDER BY p.id FOR UPDATE OF p`, cut, events[len(events)-1].ID)
			if err != nil {
				return err
			}
			events = append(events, rest...)
		}
		claimed = len(events)
		var done []int64
		for _, group := range bundleGroups(events) {
			if bundles && len(group) > 1 {
				err = sendBundle(ctx, bp, group)
			} else {
				for _, e := range group {
					if err = s.send(ctx, e); err != nil {
						break
					}
				}
			}
			if err != nil {
				break // NATS is away; keep order, try again next tick
			}
			for _, e := range group {
				done = append(done, e.ID)
			}
		}
		n = len(done)
		metrics.EventsPublished.Add(float64(n))
		if n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `DELETE FROM events_pending WHERE id = ANY($1)`, done)
		return err
	})
	if err == nil && n < relayBatchSize {
		// The last batch of a relay round tells the backlog without a count
		// per write: what was claimed and could not be published (a lower
		// bound when the batch was full; rows younger than olderThan, or
		// while another instance relays, are not seen).
		metrics.OutboxBacklog.Set(float64(claimed - n))
	}
	return n, err
}

// claimEvents reads the unpublished events (e) matching where, locking
// their pending rows (p). Each pending row's event is looked up by its key
// (LATERAL ... OFFSET 0, which the planner cannot turn into another join):
// weighing a merge join made the planner read the ends of events_pending's
// key through every row deleted since the last vacuum: 24-131 ms of
// planning for each claim (PostgreSQL plans this one afresh each time) once
// many events had passed through the table.
func claimEvents(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]Event, error) {
	rows, err := tx.Query(ctx, `SELECT e.id, e.subject, e.type, e.payload, e.to_all, e.to_nodes, e.created_at, coalesce(e.bundle, 0)
		FROM events_pending p CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.id = p.id OFFSET 0) e WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.Subject, &e.Type, &e.Object, &e.ToAll, &e.To, &e.At, &e.Bundle)
		return e, err
	})
}

// bundleGroups splits events (in id order) into what travels together: each
// bundle's events, in the place of its first, and each other event alone.
func bundleGroups(events []Event) [][]Event {
	var groups [][]Event
	at := map[int64]int{} // bundle → its group
	for _, e := range events {
		if e.Bundle == 0 {
			groups = append(groups, []Event{e})
			continue
		}
		if i, ok := at[e.Bundle]; ok {
			groups[i] = append(groups[i], e)
			continue
		}
		at[e.Bundle] = len(groups)
		groups = append(groups, []Event{e})
	}
	return groups
}
