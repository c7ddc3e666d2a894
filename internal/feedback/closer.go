package feedback

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Closing proposals, exactly once.
//
// Every instance runs RunCloser; none is in charge. A proposal is closed by the
// one transaction that flips its status from open to closed: the claim is a
// single UPDATE whose rows are locked FOR UPDATE SKIP LOCKED, so two instances
// racing for the same proposal never both get it (the loser skips it, or, if
// the winner committed first, finds it closed when the row is re-checked).
// Inside that same transaction the outcome is computed from the votes (frozen:
// a vote holds the row FOR SHARE and refuses to be cast after the closing
// time) and the one proposal.closed event is written to the outbox. Readers
// that get to a due proposal before any closer close it through the same path
// (FindProposal).

// closerBatch is how many due proposals one pass claims at most.
const closerBatch = 50

// claimDueSQL closes up to $1 due proposals not being closed elsewhere.
const claimDueSQL = `
UPDATE proposals SET status = 'closed', closed_at = now()
WHERE id = ANY(ARRAY(
	SELECT id FROM proposals WHERE status = 'open' AND closes_at <= now()
	ORDER BY closes_at, id LIMIT $1 FOR UPDATE SKIP LOCKED))
  AND status = 'open'
RETURNING id`

// claimSQL closes the given proposals if they are due and still open. It waits
// for a concurrent closer or voter instead of skipping: the reader that calls
// it wants the proposal closed when it returns, and PostgreSQL re-checks
// "status = 'open'" after the wait, so a proposal closed meanwhile is left alone.
const claimSQL = `
UPDATE proposals SET status = 'closed', closed_at = now()
WHERE id = ANY($1) AND status = 'open' AND closes_at <= now()
RETURNING id`

// proposalClosedEvent is the object of a proposal.closed event: the result,
// which every reader may see once the proposal is closed.
type proposalClosedEvent struct {
	ProposalID int64                  `json:"proposal_id"`
	Community  community.CommunityRef `json:"community"`
	Title      string                 `json:"title"`
	Process    string                 `json:"process"`
	Outcome    string                 `json:"outcome"`
	Tally      ProposalTally          `json:"tally"`
	Blocks     []Objection            `json:"blocks"`
	Winners    []string               `json:"winners,omitempty"`
	ClosedAt   time.Time              `json:"closed_at"`
}

// CloseDue closes the proposals whose closing time has passed and that no
// other instance is closing, one batch at a time; it reports how many this
// call closed.
func (s *Store) CloseDue(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.closeBatch(ctx, claimDueSQL, closerBatch)
		total += n
		if err != nil || n < closerBatch {
			return total, err
		}
	}
}

// closeProposals closes the given proposals if they are due (close on read).
func (s *Store) closeProposals(ctx context.Context, ids []int64) (int, error) {
	return s.closeBatch(ctx, claimSQL, ids)
}

func (s *Store) closeBatch(ctx context.Context, claim string, arg any) (int, error) {
	var events []community.Event
	closed := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, claim, arg)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := closeOne(ctx, tx, &events, id); err != nil {
				return fmt.Errorf("proposal %d: %w", id, err)
			}
		}
		closed = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("close proposals: %w", err)
	}
	s.net.PublishEvents(ctx, events)
	return closed, nil
}

// closeOne fixes the outcome of a proposal this transaction just claimed and
// writes its proposal.closed event.
func closeOne(ctx context.Context, tx pgx.Tx, events *[]community.Event, id int64) error {
	var ev proposalClosedEvent
	var cid int64
	var open bool
	var options []string
	var quorum *int
	err := tx.QueryRow(ctx, `SELECT p.community_id, c.slug, c.name, c.open, p.title, p.process, p.options, p.quorum, p.closed_at
		FROM proposals p JOIN communities c ON c.id = p.community_id WHERE p.id = $1`, id).Scan(
		&cid, &ev.Community.Slug, &ev.Community.Name, &open, &ev.Title, &ev.Process, &options, &quorum, &ev.ClosedAt)
	if err != nil {
		return err
	}
	votes, err := proposalBallots(ctx, tx, id)
	if err != nil {
		return err
	}
	ev.ProposalID = id
	ev.Tally = countBallots(ev.Process, options, votes)
	ev.Outcome = decideOutcome(ev.Process, quorum, ev.Tally)
	ev.Blocks = []Objection{}
	for _, v := range votes {
		if v.Position == PositionBlock {
			ev.Blocks = append(ev.Blocks, Objection{Node: v.Node, Reason: v.Reason})
		}
	}
	if ev.Outcome == OutcomePassed && ev.Process != ProcessConsent {
		for _, i := range ev.Tally.Leading {
			ev.Winners = append(ev.Winners, options[i])
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE proposals SET outcome = $2 WHERE id = $1`, id, ev.Outcome); err != nil {
		return err
	}
	toAll, to, err := proposalReaders(ctx, tx, cid, open)
	if err != nil {
		return err
	}
	return community.AddEvent(ctx, tx, events, proposalSubject(id), "proposal.closed", ev, toAll, to)
}

// nextClosing is how long until the next open proposal is due, by the
// database's clock (the one the claim uses); ok is false when none is open.
func (s *Store) nextClosing(ctx context.Context) (time.Duration, bool, error) {
	var secs *float64
	err := s.pool.QueryRow(ctx, `SELECT extract(epoch FROM min(closes_at) - now())::float8 FROM proposals WHERE status = 'open'`).Scan(&secs)
	if err != nil || secs == nil {
		return 0, false, err
	}
	return time.Duration(*secs * float64(time.Second)), true, nil
}

// RunCloser closes due proposals until ctx ends: it looks at least every
// `every`, and sooner when the next proposal is due sooner, so a proposal
// closes within moments of its closing time on whichever instance wakes first.
func (s *Store) RunCloser(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n, err := s.CloseDue(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("close proposals", "err", err)
		case n > 0:
			log.Info("proposals closed", "count", n)
		}
		wait := every
		// After a failure, wait the full interval: a proposal that cannot be
		// closed must not make the loop spin. A due one another instance is
		// closing right now (skipped) is looked at again in 10 ms.
		if err == nil {
			if d, ok, err := s.nextClosing(ctx); err == nil && ok && d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		timer.Reset(wait)
	}
}
