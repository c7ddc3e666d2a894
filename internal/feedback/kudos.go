package feedback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Limits of kudos.
const (
	MaxKudosMessage = 1000 // characters
	MaxKudosValues  = 5
	MaxValueLen     = community.MaxLabelLen // characters in one value tag, as for skills
)

// Kudos is thanks from one node to another. A private one is for its
// recipient only: not even its giver reads it back through the lists.
type Kudos struct {
	ID        int64             `json:"id"`
	From      community.NodeRef `json:"from"`
	To        community.NodeRef `json:"to"`
	Message   string            `json:"message"`
	Values    []string          `json:"values"`
	Public    bool              `json:"public"`
	CreatedAt time.Time         `json:"created_at"`
}

// KudosInput is kudos to give.
type KudosInput struct {
	ToHandle string
	Message  string
	Values   []string // value tags, normalised like skills
	Public   bool
}

// KudosFilter narrows a list of kudos: to or from a node (either or both),
// newest first; Before is the keyset cursor (a kudos id).
type KudosFilter struct {
	To, From int64 // node ids; 0: any
	// PublicOnly leaves out private kudos even for their recipient (profiles
	// of other people show only public ones).
	PublicOnly bool
	Before     int64
	Limit      int
}

// NormaliseValues turns value tags into the form they are stored in, as skills
// are: trimmed, lower-case, without a leading '#', de-duplicated in first-seen
// order, each 1–MaxValueLen characters, at most MaxKudosValues. Blank entries
// are dropped, so a form's "care, , rigour" is two values.
func NormaliseValues(in []string) ([]string, error) {
	out, err := community.NormaliseLabels(in, MaxValueLen, MaxKudosValues, true)
	if err != nil {
		return nil, invalidField("values", "Values: %s.", err)
	}
	return out, nil
}

// SplitValues reads value tags typed as free text in a form ("care, rigour;
// #craft"): separated by commas, semicolons or line breaks.
func SplitValues(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
}

// invalidField is a *community.ValidationError naming the field.
func invalidField(field, format string, args ...any) error {
	return &community.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

const kudosSelect = `SELECT k.id, f.id, f.handle, f.display_name, t.id, t.handle, t.display_name,
	k.message, k.vals, k.public, k.created_at
	FROM kudos k JOIN nodes f ON f.id = k.from_node JOIN nodes t ON t.id = k.to_node`

func scanKudos(row pgx.Row) (Kudos, error) {
	var k Kudos
	err := row.Scan(&k.ID, &k.From.ID, &k.From.Handle, &k.From.DisplayName, &k.To.ID, &k.To.Handle, &k.To.DisplayName,
		&k.Message, &k.Values, &k.Public, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, community.ErrNotFound
	}
	return k, err
}

// GiveKudos records kudos from one node to another active node (never to
// oneself), tells the recipient live (kudos.received) and records a kudos
// interaction between the two — the message never goes there.
func (s *Store) GiveKudos(ctx context.Context, from int64, in KudosInput) (Kudos, error) {
	handle := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(in.ToHandle), "@"))
	if handle == "" {
		return Kudos{}, invalidField("to_handle", "Name the person to thank.")
	}
	message := strings.TrimSpace(strings.ToValidUTF8(in.Message, "\uFFFD"))
	if n := utf8.RuneCountInString(message); n > MaxKudosMessage {
		return Kudos{}, invalidField("message", "A message has at most %d characters; this one has %d.", MaxKudosMessage, n)
	}
	values, err := NormaliseValues(in.Values)
	if err != nil {
		return Kudos{}, err
	}
	var k Kudos
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var to int64
		err := tx.QueryRow(ctx, `SELECT id FROM nodes WHERE handle = $1 AND deactivated_at IS NULL`, handle).Scan(&to)
		if errors.Is(err, pgx.ErrNoRows) {
			return invalidField("to_handle", "There is no active person @%s.", handle)
		}
		if err != nil {
			return err
		}
		if to == from {
			return invalidField("to_handle", "Kudos are for someone else.")
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO kudos (from_node, to_node, message, vals, public) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			from, to, message, values, in.Public).Scan(&id); err != nil {
			return err
		}
		if k, err = scanKudos(tx.QueryRow(ctx, kudosSelect+` WHERE k.id = $1`, id)); err != nil {
			return err
		}
		ref := "kudos:" + strconv.FormatInt(id, 10)
		if err := community.RecordInteractions(ctx, tx, from, []int64{to}, community.InteractionKudos, ref); err != nil {
			return err
		}
		// Only the recipient is told: a public kudos is there for anyone who
		// looks, but nobody else needs to be interrupted by it.
		return community.AddEvent(ctx, tx, &events, "nc.evt.node."+strconv.FormatInt(to, 10), "kudos.received", k, false, []int64{to})
	})
	if err != nil {
		return Kudos{}, wrapStoreErr("give kudos", err)
	}
	s.net.PublishEvents(ctx, events)
	return k, nil
}

// ListKudos lists kudos viewer may read, newest first: public ones, and
// private ones addressed to viewer (unless f.PublicOnly).
func (s *Store) ListKudos(ctx context.Context, viewer int64, f KudosFilter) ([]Kudos, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	rows, err := s.pool.Query(ctx, kudosSelect+`
		WHERE (k.public OR (NOT $1 AND k.to_node = $2))
		AND ($3::bigint = 0 OR k.to_node = $3)
		AND ($4::bigint = 0 OR k.from_node = $4)
		AND ($5::bigint = 0 OR k.id < $5)
		ORDER BY k.id DESC LIMIT $6`, f.PublicOnly, viewer, f.To, f.From, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list kudos: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Kudos, error) { return scanKudos(r) })
	if err != nil {
		return nil, fmt.Errorf("list kudos: %w", err)
	}
	return out, nil
}

// wrapStoreErr adds an operation to unclassified errors; domain errors pass through
// unchanged so the web layer can map them.
func wrapStoreErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *community.ValidationError
	if errors.As(err, &ve) || errors.Is(err, community.ErrNotFound) || errors.Is(err, community.ErrForbidden) ||
		errors.Is(err, community.ErrConflict) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
