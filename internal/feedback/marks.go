package feedback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/sharetext"
)

// Peer verification of shares: any node that can read a share may mark it
// disputed (with a reason and optionally a source link) or confirmed; one
// current mark per node and share, every change kept in share_mark_history.
//
// # Disputed by the network
//
// A share is labelled *disputed by the network* when
//
//  1. at least two nodes currently dispute it, and
//  2. no single group contains all of its disputers,
//
// where a node's groups are the declared communities it belongs to
// (community_members) and a node in no community at all belongs to the one
// group "none". Put differently: the disputers must not all share one
// community, so every clique — a community, or everyone outside communities —
// can pile on disputes alone and never label a share; someone outside it has
// to agree. (Being a member of a second community does not take a disputer out
// of the first: ten members of #payments who all dispute a share do not label
// it, even if one of them is also in #platform.) Confirmations do not cancel
// disputes: the counts of both are shown beside the label.
//
// The label is computed whenever it is read, from current memberships, so it
// also follows people joining and leaving communities.
//
// # Live
//
// Every mark or its removal sends share.marked to the share's author. When it
// also switches the label on or off, everyone who hears of the share live
// (its audience, as for share.created) gets the same event, so open pages can
// show or drop the label. A correction by the author sends share.corrected to
// the same audience.

// Verdicts of a mark.
const (
	VerdictDisputed  = "disputed"
	VerdictConfirmed = "confirmed"
	// verdictRemoved is what share_mark_history records when a node takes its
	// mark back.
	verdictRemoved = "removed"
)

// Limits of marks and corrections, in characters.
const (
	MaxMarkReason = 1000
	MaxMarkSource = 2000
	MaxCorrection = 10000
)

// MarkInput is a node's verdict on a share.
type MarkInput struct {
	Verdict string // disputed or confirmed
	Reason  string // required for disputed
	Source  string // optional http(s) link
}

// Mark is one node's current verdict on a share, as readers see it.
type Mark struct {
	Verdict string    `json:"verdict"`
	Reason  string    `json:"reason"`
	Source  string    `json:"source"`
	By      string    `json:"by"` // handle
	ByName  string    `json:"by_name"`
	At      time.Time `json:"at"`
}

// MarkCounts counts a share's current marks.
type MarkCounts struct {
	Disputed  int `json:"disputed"`
	Confirmed int `json:"confirmed"`
}

// Correction is what the author of a share posted to correct it.
type Correction struct {
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MarkSummary is what a share card shows about its verification.
type MarkSummary struct {
	ShareID           int64       `json:"share_id"`
	Marks             MarkCounts  `json:"marks"`
	DisputedByNetwork bool        `json:"disputed_by_network"`
	Correction        *Correction `json:"correction"`
	Mine              string      `json:"my_mark"` // the viewer's verdict, "" if none
}

// ShareMarks is a share's verification with the reasons given.
type ShareMarks struct {
	MarkSummary
	Reasons []Mark `json:"reasons"` // newest first
}

// MaxReasons is how many marks ShareMarks lists.
const MaxReasons = 200

// markEvent is the object of share.marked.
type markEvent struct {
	ShareID           int64      `json:"share_id"`
	Change            string     `json:"change"` // "marked" or "removed"
	Verdict           string     `json:"verdict,omitempty"`
	Reason            string     `json:"reason,omitempty"`
	Source            string     `json:"source,omitempty"`
	By                string     `json:"by"` // handle of who marked
	Marks             MarkCounts `json:"marks"`
	DisputedByNetwork bool       `json:"disputed_by_network"`
	LabelChanged      bool       `json:"label_changed"`
}

// disputedByNetworkSQL is the rule above for the share whose id is the SQL
// expression that replaces SHARE_ID: at least two disputers, and no group
// (community id, or 0 for "none") that all of them are in.
const disputedByNetworkSQL = `(WITH d AS (
		SELECT dm.node_id FROM share_marks dm WHERE dm.share_id = SHARE_ID AND dm.verdict = 'disputed')
	SELECT count(*) >= 2 AND NOT EXISTS (
		SELECT 1 FROM d LEFT JOIN community_members dc ON dc.node_id = d.node_id
		GROUP BY coalesce(dc.community_id, 0)
		HAVING count(*) = (SELECT count(*) FROM d))
	FROM d)`

func disputedByNetwork(shareExpr string) string {
	return strings.ReplaceAll(disputedByNetworkSQL, "SHARE_ID", shareExpr)
}

// summarySQL reads the MarkSummary of each share id in $1 for viewer $2.
var summarySQL = `SELECT ids.id,
	coalesce(agg.disputed, 0)::int, coalesce(agg.confirmed, 0)::int,
	` + disputedByNetwork("ids.id") + `,
	coalesce(agg.mine, ''),
	c.body, c.created_at, c.updated_at
	FROM unnest($1::bigint[]) AS ids(id)
	LEFT JOIN LATERAL (
		SELECT count(*) FILTER (WHERE m.verdict = 'disputed') AS disputed,
		       count(*) FILTER (WHERE m.verdict = 'confirmed') AS confirmed,
		       max(m.verdict) FILTER (WHERE m.node_id = $2) AS mine
		FROM share_marks m WHERE m.share_id = ids.id) agg ON true
	LEFT JOIN share_corrections c ON c.share_id = ids.id`

func (s *Store) summaries(ctx context.Context, db community.DBTX, viewer int64, ids []int64) (map[int64]MarkSummary, error) {
	out := make(map[int64]MarkSummary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, summarySQL, ids, viewer)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MarkSummary, error) {
		var m MarkSummary
		var body *string
		var created, updated *time.Time
		err := r.Scan(&m.ShareID, &m.Marks.Disputed, &m.Marks.Confirmed, &m.DisputedByNetwork, &m.Mine, &body, &created, &updated)
		if body != nil {
			m.Correction = &Correction{Body: *body, CreatedAt: *created, UpdatedAt: *updated}
		}
		return m, err
	})
	if err != nil {
		return nil, err
	}
	for _, m := range list {
		out[m.ShareID] = m
	}
	return out, nil
}

// MarksOf returns the verification summary of many shares at once (one query
// for a whole feed), with viewer's own verdict. The ids must be of shares
// viewer may read — those the community store listed for viewer; a share
// nobody marked or corrected has a zero summary.
func (s *Store) MarksOf(ctx context.Context, viewer int64, ids []int64) (map[int64]MarkSummary, error) {
	out, err := s.summaries(ctx, s.pool, viewer, ids)
	if err != nil {
		return nil, fmt.Errorf("marks of shares: %w", err)
	}
	return out, nil
}

// ShareMarks returns the verification of one share viewer may read
// (ErrNotFound otherwise), with the reasons of its current marks.
func (s *Store) ShareMarks(ctx context.Context, viewer, shareID int64) (ShareMarks, error) {
	if _, err := s.net.FindShare(ctx, viewer, shareID); err != nil {
		return ShareMarks{}, err
	}
	return s.shareMarks(ctx, s.pool, viewer, shareID)
}

func (s *Store) shareMarks(ctx context.Context, db community.DBTX, viewer, shareID int64) (ShareMarks, error) {
	sums, err := s.summaries(ctx, db, viewer, []int64{shareID})
	if err != nil {
		return ShareMarks{}, fmt.Errorf("share marks: %w", err)
	}
	sm := ShareMarks{MarkSummary: sums[shareID]}
	rows, err := db.Query(ctx, `SELECT m.verdict, m.reason, m.source, n.handle, n.display_name, m.updated_at
		FROM share_marks m JOIN nodes n ON n.id = m.node_id
		WHERE m.share_id = $1 ORDER BY m.updated_at DESC, m.node_id LIMIT $2`, shareID, MaxReasons)
	if err != nil {
		return ShareMarks{}, fmt.Errorf("share marks: %w", err)
	}
	if sm.Reasons, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Mark]); err != nil {
		return ShareMarks{}, fmt.Errorf("share marks: %w", err)
	}
	return sm, nil
}

// normalise checks a mark, naming the field at fault.
func (in *MarkInput) normalise() error {
	in.Verdict = strings.ToLower(strings.TrimSpace(in.Verdict))
	in.Reason = strings.TrimSpace(strings.ToValidUTF8(in.Reason, "\uFFFD"))
	in.Source = strings.TrimSpace(in.Source)
	switch in.Verdict {
	case VerdictDisputed, VerdictConfirmed:
	default:
		return invalidField("verdict", "Use disputed or confirmed.")
	}
	if in.Verdict == VerdictDisputed && in.Reason == "" {
		return invalidField("reason", "Say why you dispute it, so the author and readers can check.")
	}
	if n := utf8.RuneCountInString(in.Reason); n > MaxMarkReason {
		return invalidField("reason", "A reason has at most %d characters; this one has %d.", MaxMarkReason, n)
	}
	if in.Source != "" {
		if err := checkSource(in.Source); err != nil {
			return err
		}
	}
	return nil
}

// checkSource accepts an absolute http or https URL with a host, so every
// source shown is a link: anything else (javascript:, relative paths, bare
// words) is no source a reader can follow safely.
func checkSource(src string) error {
	if n := utf8.RuneCountInString(src); n > MaxMarkSource {
		return invalidField("source", "A source link has at most %d characters.", MaxMarkSource)
	}
	if strings.IndexFunc(src, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return invalidField("source", "A source link has no spaces.")
	}
	// The same test the renderer applies before making a link of it.
	if !sharetext.ValidLink(src) {
		return invalidField("source", "Give the source as a link starting with http:// or https://.")
	}
	return nil
}

// MarkShare sets node's mark on a share it may read (ErrNotFound otherwise);
// a second mark replaces the first. The author cannot mark their own share
// (ErrForbidden): they answer with a correction. created reports whether the
// node had no mark before. Marking the same way twice changes nothing.
func (s *Store) MarkShare(ctx context.Context, node, shareID int64, in MarkInput) (sm ShareMarks, created bool, err error) {
	sh, err := s.net.FindShare(ctx, node, shareID)
	if err != nil {
		return ShareMarks{}, false, err
	}
	if sh.Author.ID == node {
		return ShareMarks{}, false, community.ErrForbidden
	}
	if err := in.normalise(); err != nil {
		return ShareMarks{}, false, err
	}
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err := lockForMarks(ctx, tx, shareID)
		if err != nil {
			return err
		}
		var old MarkInput
		err = tx.QueryRow(ctx, `SELECT verdict, reason, source FROM share_marks WHERE share_id = $1 AND node_id = $2`,
			shareID, node).Scan(&old.Verdict, &old.Reason, &old.Source)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			created = true
		case err != nil:
			return err
		case old == in:
			sm, err = s.shareMarks(ctx, tx, node, shareID)
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO share_marks (share_id, node_id, verdict, reason, source) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (share_id, node_id) DO UPDATE
			SET verdict = excluded.verdict, reason = excluded.reason, source = excluded.source, updated_at = now()`,
			shareID, node, in.Verdict, in.Reason, in.Source); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO share_mark_history (share_id, node_id, verdict, reason, source) VALUES ($1, $2, $3, $4, $5)`,
			shareID, node, in.Verdict, in.Reason, in.Source); err != nil {
			return err
		}
		if sm, err = s.shareMarks(ctx, tx, node, shareID); err != nil {
			return err
		}
		ev := markEvent{ShareID: shareID, Change: "marked", Verdict: in.Verdict, Reason: in.Reason, Source: in.Source}
		return s.markedEvent(ctx, tx, &events, sh, node, before, sm.MarkSummary, ev)
	})
	if err != nil {
		return ShareMarks{}, false, wrapStoreErr("mark share", err)
	}
	s.net.PublishEvents(ctx, events)
	return sm, created, nil
}

// UnmarkShare takes node's mark off a share it may read; the removal is kept
// in the history. No mark to take back is ErrNotFound.
func (s *Store) UnmarkShare(ctx context.Context, node, shareID int64) (ShareMarks, error) {
	sh, err := s.net.FindShare(ctx, node, shareID)
	if err != nil {
		return ShareMarks{}, err
	}
	var sm ShareMarks
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err := lockForMarks(ctx, tx, shareID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM share_marks WHERE share_id = $1 AND node_id = $2`, shareID, node)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return community.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `INSERT INTO share_mark_history (share_id, node_id, verdict, reason, source) VALUES ($1, $2, $3, '', '')`,
			shareID, node, verdictRemoved); err != nil {
			return err
		}
		if sm, err = s.shareMarks(ctx, tx, node, shareID); err != nil {
			return err
		}
		return s.markedEvent(ctx, tx, &events, sh, node, before, sm.MarkSummary, markEvent{ShareID: shareID, Change: "removed"})
	})
	if err != nil {
		return ShareMarks{}, wrapStoreErr("unmark share", err)
	}
	s.net.PublishEvents(ctx, events)
	return sm, nil
}

// lockForMarks locks the share row against concurrent marks (so the label
// before and after each change is seen in order) and returns whether it is
// disputed by the network now. A deleted share is ErrNotFound.
func lockForMarks(ctx context.Context, tx pgx.Tx, shareID int64) (bool, error) {
	var labelled bool
	err := tx.QueryRow(ctx, `SELECT `+disputedByNetwork("s.id")+` FROM shares s WHERE s.id = $1 AND s.deleted_at IS NULL
		FOR NO KEY UPDATE OF s`, shareID).Scan(&labelled)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, community.ErrNotFound
	}
	return labelled, err
}

// markedEvent writes share.marked: to the author, and to the share's live
// audience when the label switched.
func (s *Store) markedEvent(ctx context.Context, tx pgx.Tx, events *[]community.Event, sh community.Share, by int64,
	before bool, after MarkSummary, ev markEvent) error {
	if err := tx.QueryRow(ctx, `SELECT handle FROM nodes WHERE id = $1`, by).Scan(&ev.By); err != nil {
		return err
	}
	ev.Marks, ev.DisputedByNetwork, ev.LabelChanged = after.Marks, after.DisputedByNetwork, before != after.DisputedByNetwork
	toAll, to := false, []int64{sh.Author.ID}
	if ev.LabelChanged {
		var err error
		if toAll, to, err = community.ShareRecipients(ctx, tx, sh); err != nil {
			return err
		}
	}
	return community.AddEvent(ctx, tx, events, shareMarksSubject(sh.ID), "share.marked", ev, toAll, to)
}

func shareMarksSubject(id int64) string { return "nc.evt.share." + strconv.FormatInt(id, 10) }

// CorrectShare sets the author's correction of their own share (ErrForbidden
// for anyone else, ErrNotFound for a share they cannot read), shown with the
// share; a second correction replaces the first. Its live audience gets
// share.corrected.
func (s *Store) CorrectShare(ctx context.Context, author, shareID int64, body string) (Correction, error) {
	sh, err := s.net.FindShare(ctx, author, shareID)
	if err != nil {
		return Correction{}, err
	}
	if sh.Author.ID != author {
		return Correction{}, community.ErrForbidden
	}
	body = strings.TrimSpace(strings.ToValidUTF8(body, "\uFFFD"))
	if body == "" {
		return Correction{}, invalidField("body", "Write the correction.")
	}
	if n := utf8.RuneCountInString(body); n > MaxCorrection {
		return Correction{}, invalidField("body", "A correction has at most %d characters; this one has %d.", MaxCorrection, n)
	}
	var c Correction
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockForMarks(ctx, tx, shareID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO share_corrections (share_id, body) VALUES ($1, $2)
			ON CONFLICT (share_id) DO UPDATE SET body = excluded.body, updated_at = now()
			RETURNING body, created_at, updated_at`, shareID, body).Scan(&c.Body, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return err
		}
		toAll, to, err := community.ShareRecipients(ctx, tx, sh)
		if err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, shareMarksSubject(shareID), "share.corrected",
			map[string]any{"share_id": shareID, "correction": c}, toAll, to)
	})
	if err != nil {
		return Correction{}, wrapStoreErr("correct share", err)
	}
	s.net.PublishEvents(ctx, events)
	return c, nil
}
