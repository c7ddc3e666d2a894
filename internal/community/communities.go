package community

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Community is a group formed around a topic or need. All members are equal:
// whoever started it has no more say than anyone else.
type Community struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Purpose   string    `json:"purpose"`
	Open      bool      `json:"open"`
	Members   int       `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	IsMember  bool      `json:"is_member"` // relative to the node that asked
}

// CommunityInput is what a node gives to start a community.
type CommunityInput struct {
	Name    string
	Slug    string // derived from Name when empty
	Purpose string
	Open    bool
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Slugify derives a URL slug from a name ("Data & ML" → "data-ml").
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 63 {
		s = strings.Trim(s[:63], "-")
	}
	return s
}

func (in *CommunityInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Purpose = strings.TrimSpace(in.Purpose)
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	if n := utf8.RuneCountInString(in.Name); n < 1 || n > 100 {
		return invalid("name", "give the community a name of 1 to 100 characters")
	}
	if in.Slug == "" {
		in.Slug = Slugify(in.Name)
	}
	if !slugRe.MatchString(in.Slug) {
		return invalid("slug", "use 2 to 63 lower-case letters, digits or '-', starting with a letter or digit")
	}
	if utf8.RuneCountInString(in.Purpose) > 2000 {
		return invalid("purpose", "keep the purpose under 2,000 characters")
	}
	return nil
}

const communityColumns = `c.id, c.slug, c.name, c.purpose, c.open,
	(SELECT count(*) FROM community_members m WHERE m.community_id = c.id)::int, c.created_at,
	EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $1)`

func scanCommunity(row pgx.Row) (Community, error) {
	var c Community
	err := row.Scan(&c.ID, &c.Slug, &c.Name, &c.Purpose, &c.Open, &c.Members, &c.CreatedAt, &c.IsMember)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

func communitySubject(slug string) string { return "nc.evt.community." + slug }
func nodeSubject(id int64) string         { return "nc.evt.node." + strconv.FormatInt(id, 10) }

// CreateCommunity starts a community; its creator is its first member.
func (s *Store) CreateCommunity(ctx context.Context, creator int64, in CommunityInput) (Community, error) {
	if err := in.validate(); err != nil {
		return Community{}, err
	}
	var c Community
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO communities (slug, name, purpose, open, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			in.Slug, in.Name, in.Purpose, in.Open, creator).Scan(&id)
		if isUnique(err) {
			return Conflict("slug", fmt.Sprintf("the address %q is taken; choose another slug", in.Slug))
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2)`, id, creator); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO community_purpose_history (community_id, purpose, edited_by) VALUES ($1, $2, $3)`, id, in.Purpose, creator); err != nil {
			return err
		}
		if c, err = scanCommunity(tx.QueryRow(ctx, `SELECT `+communityColumns+` FROM communities c WHERE c.id = $2`, creator, id)); err != nil {
			return err
		}
		// An open community is news for everyone; an invite-only one only for its member.
		return addEvent(ctx, tx, &events, communitySubject(in.Slug), "community.created", c, c.Open, []int64{creator})
	})
	if err != nil {
		return Community{}, wrap("create community", err)
	}
	s.publish(ctx, events)
	return c, nil
}

// FindCommunity returns a community by slug as node `viewer` may see it:
// invite-only communities are visible to their members only (ErrNotFound else).
func (s *Store) FindCommunity(ctx context.Context, viewer int64, slug string) (Community, error) {
	c, err := scanCommunity(s.pool.QueryRow(ctx, `SELECT `+communityColumns+` FROM communities c WHERE c.slug = $2`, viewer, strings.ToLower(slug)))
	if err != nil {
		return c, wrap("find community", err)
	}
	if !c.Open && !c.IsMember {
		return Community{}, ErrNotFound
	}
	return c, nil
}

// ListCommunities lists the communities viewer may see: open ones and those it
// belongs to, largest first; mine limits to viewer's own.
func (s *Store) ListCommunities(ctx context.Context, viewer int64, mine bool, limit int) ([]Community, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+communityColumns+` FROM communities c
		WHERE (c.open AND NOT $2) OR EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $1)
		ORDER BY 6 DESC, c.name LIMIT $3`, viewer, mine, limit)
	if err != nil {
		return nil, fmt.Errorf("list communities: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Community, error) { return scanCommunity(r) })
	return out, wrap("list communities", err)
}

// JoinCommunity adds node to an open community (invite-only ones: ErrForbidden).
// Joining twice is not an error.
func (s *Store) JoinCommunity(ctx context.Context, node int64, slug string) (Community, error) {
	var c Community
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		c, err = scanCommunity(tx.QueryRow(ctx, `SELECT `+communityColumns+` FROM communities c WHERE c.slug = $2`, node, strings.ToLower(slug)))
		if err != nil {
			return err
		}
		if c.IsMember {
			return nil
		}
		if !c.Open {
			return ErrNotFound // invite-only communities are not visible to outsiders
		}
		if _, err := tx.Exec(ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c.ID, node); err != nil {
			return err
		}
		c.IsMember, c.Members = true, c.Members+1
		members, err := memberIDs(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, &events, communitySubject(c.Slug), "community.joined", map[string]any{"community": c.Slug, "node_id": node}, false, members)
	})
	if err != nil {
		return Community{}, wrap("join community", err)
	}
	s.publish(ctx, events)
	return c, nil
}

// LeaveCommunity removes node from a community it belongs to.
func (s *Store) LeaveCommunity(ctx context.Context, node int64, slug string) error {
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `DELETE FROM community_members m USING communities c
			WHERE m.community_id = c.id AND c.slug = $1 AND m.node_id = $2 RETURNING c.id`, strings.ToLower(slug), node).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		members, err := memberIDs(ctx, tx, id)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, &events, communitySubject(strings.ToLower(slug)), "community.left", map[string]any{"community": slug, "node_id": node}, false, append(members, node))
	})
	if err != nil {
		return wrap("leave community", err)
	}
	s.publish(ctx, events)
	return nil
}

// UpdatePurpose lets any member rewrite the purpose; every version is kept.
func (s *Store) UpdatePurpose(ctx context.Context, node int64, slug, purpose string) (Community, error) {
	purpose = strings.TrimSpace(purpose)
	if utf8.RuneCountInString(purpose) > 2000 {
		return Community{}, invalid("purpose", "keep the purpose under 2,000 characters")
	}
	var c Community
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		c, err = scanCommunity(tx.QueryRow(ctx, `SELECT `+communityColumns+` FROM communities c WHERE c.slug = $2 FOR UPDATE`, node, strings.ToLower(slug)))
		if err != nil {
			return err
		}
		if !c.IsMember {
			if !c.Open {
				return ErrNotFound
			}
			return ErrForbidden
		}
		if _, err := tx.Exec(ctx, `UPDATE communities SET purpose = $1 WHERE id = $2`, purpose, c.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO community_purpose_history (community_id, purpose, edited_by) VALUES ($1, $2, $3)`, c.ID, purpose, node); err != nil {
			return err
		}
		c.Purpose = purpose
		members, err := memberIDs(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, &events, communitySubject(c.Slug), "community.updated", c, false, members)
	})
	if err != nil {
		return Community{}, wrap("update purpose", err)
	}
	s.publish(ctx, events)
	return c, nil
}

// PurposeEdit is one version of a community's purpose.
type PurposeEdit struct {
	Purpose  string    `json:"purpose"`
	EditedBy string    `json:"edited_by"` // handle
	EditedAt time.Time `json:"edited_at"`
}

// PurposeHistory lists the versions of the purpose, newest first.
func (s *Store) PurposeHistory(ctx context.Context, communityID int64, limit int) ([]PurposeEdit, error) {
	rows, err := s.pool.Query(ctx, `SELECT h.purpose, coalesce(n.handle, ''), h.edited_at
		FROM community_purpose_history h LEFT JOIN nodes n ON n.id = h.edited_by
		WHERE h.community_id = $1 ORDER BY h.id DESC LIMIT $2`, communityID, limit)
	if err != nil {
		return nil, fmt.Errorf("purpose history: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[PurposeEdit])
	return out, wrap("purpose history", err)
}

// Member is a node as listed in a community.
type Member struct {
	ID          int64     `json:"id"`
	Handle      string    `json:"handle"`
	DisplayName string    `json:"display_name"`
	JoinedAt    time.Time `json:"joined_at"`
}

// Members lists a community's members, earliest first.
func (s *Store) Members(ctx context.Context, communityID int64, limit int) ([]Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.handle, n.display_name, m.joined_at
		FROM community_members m JOIN nodes n ON n.id = m.node_id
		WHERE m.community_id = $1 ORDER BY m.joined_at, n.id LIMIT $2`, communityID, limit)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Member])
	return out, wrap("members", err)
}

func memberIDs(ctx context.Context, tx pgx.Tx, communityID int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT node_id FROM community_members WHERE community_id = $1`, communityID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func isUnique(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// wrap prefixes unexpected errors and passes the domain's own through unchanged.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrForbidden) || errors.Is(err, ErrUnauthorized) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
