package feedback

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// ReminderAfter is how much working time passes before a peer asked for
// feedback who has not answered gets one reminder: three working days.
const ReminderAfter = 3 * 24 * time.Hour

// Working time, for reminders: only time falling on Monday to Friday counts,
// measured in UTC (the organisation may span time zones; one rule for all).
// Weekends do not count, public holidays are not known. Three working days
// are 72 hours of weekday time, so a request made on Monday 10:00 is reminded
// on Thursday 10:00, one made on Friday 10:00 on Wednesday 10:00, and one
// made on a Saturday on Thursday 00:00.

// AddWorkingTime returns the moment d of working time after t.
func AddWorkingTime(t time.Time, d time.Duration) time.Time {
	t = t.UTC()
	for {
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t = nextMidnight(t)
			continue
		}
		left := nextMidnight(t).Sub(t)
		if d <= left {
			return t.Add(d)
		}
		d -= left
		t = nextMidnight(t)
	}
}

// WorkingTimeBetween is how much working time lies between from and to (0 if
// to is not after from).
func WorkingTimeBetween(from, to time.Time) time.Duration {
	from, to = from.UTC(), to.UTC()
	var sum time.Duration
	for from.Before(to) {
		end := nextMidnight(from)
		if end.After(to) {
			end = to
		}
		if wd := from.Weekday(); wd != time.Saturday && wd != time.Sunday {
			sum += end.Sub(from)
		}
		from = end
	}
	return sum
}

func nextMidnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// ReminderDue is when a request asked at askedAt gets its reminder.
func ReminderDue(askedAt time.Time) time.Time { return AddWorkingTime(askedAt, ReminderAfter) }

const reminderBatch = 200

// SendReminders sends thread.reminder, once, to every peer asked for feedback
// on an open thread they may still read who has not answered within three
// working days of being asked (as of now), and marks the request reminded.
// Any instance may run it at the same time as others: the rows are claimed
// with FOR UPDATE SKIP LOCKED and reminded_at is set in the same transaction,
// so each reminder goes out exactly once. It returns how many it sent.
func (s *Store) SendReminders(ctx context.Context, now time.Time) (int, error) {
	total := 0
	var after reminderCursor // batches move forward, past rows not due yet
	for {
		sent, claimed, err := s.reminderBatch(ctx, now, &after)
		total += sent
		if err != nil || claimed < reminderBatch {
			return total, err
		}
	}
}

// reminderCursor is the last request a batch looked at.
type reminderCursor struct {
	asked        time.Time
	thread, node int64
}

func (s *Store) reminderBatch(ctx context.Context, now time.Time, after *reminderCursor) (sent, claimed int, err error) {
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Three working days are never shorter than three calendar days: the
		// query narrows by calendar time, Go applies the working-day rule.
		// Someone who answered anonymously is spared (reply_authors, only ever
		// read for that person's own good).
		rows, err := tx.Query(ctx, `SELECT q.thread_id, q.node_id, q.asked_at FROM thread_requests q JOIN threads t ON t.id = q.thread_id
			WHERE q.answered_at IS NULL AND q.reminded_at IS NULL AND t.status = 'open'
			  AND q.asked_at <= $1::timestamptz - make_interval(secs => $2::float8)
			  AND (t.community_id IS NULL OR EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = t.community_id AND m.node_id = q.node_id))
			  AND NOT EXISTS (SELECT 1 FROM replies r JOIN reply_authors ra ON ra.reply_id = r.id WHERE r.thread_id = q.thread_id AND ra.node_id = q.node_id)
			  AND EXISTS (SELECT 1 FROM nodes n WHERE n.id = q.node_id AND n.deactivated_at IS NULL)
			  AND (q.asked_at, q.thread_id, q.node_id) > ($4::timestamptz, $5::bigint, $6::bigint)
			ORDER BY q.asked_at, q.thread_id, q.node_id
			LIMIT $3
			FOR UPDATE OF q SKIP LOCKED`, now, ReminderAfter.Seconds(), reminderBatch, after.asked, after.thread, after.node)
		if err != nil {
			return err
		}
		type due struct {
			thread, node int64
			asked        time.Time
		}
		claimedRows, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			err := r.Scan(&d.thread, &d.node, &d.asked)
			return d, err
		})
		if err != nil {
			return err
		}
		claimed = len(claimedRows)
		if claimed > 0 {
			last := claimedRows[claimed-1]
			*after = reminderCursor{asked: last.asked, thread: last.thread, node: last.node}
		}
		for _, d := range claimedRows {
			if ReminderDue(d.asked).After(now) {
				continue // a weekend lies in between: not yet
			}
			it, _, err := scanThread(tx.QueryRow(ctx, threadSelect+` WHERE t.id = $2`, int64(0), d.thread))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE thread_requests SET reminded_at = $3 WHERE thread_id = $1 AND node_id = $2`, d.thread, d.node, now); err != nil {
				return err
			}
			if err := community.AddEvent(ctx, tx, &events, threadSubject(d.thread), "thread.reminder",
				RequestNotice{Thread: it.Thread, AskedAt: d.asked}, false, []int64{d.node}); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	if err != nil {
		return 0, claimed, fmt.Errorf("send reminders: %w", err)
	}
	s.net.PublishEvents(ctx, events)
	return sent, claimed, nil
}

// RunReminders sends due reminders every interval until ctx ends.
func (s *Store) RunReminders(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.SendReminders(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("feedback reminders", "err", err)
		case n > 0:
			log.Info("feedback reminders sent", "count", n)
		}
	}
}
