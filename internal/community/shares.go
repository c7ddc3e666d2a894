package community

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/sharetext"
)

// MaxShareLength is the longest share body, in characters.
const MaxShareLength = 10000

// Audiences of a share.
const (
	AudienceCommunity   = "community"
	AudienceConnections = "connections"
	AudienceEveryone    = "everyone"
)

// NodeRef names a node in lists.
type NodeRef struct {
	ID          int64  `json:"id"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
}

// CommunityRef names a community in lists.
type CommunityRef struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Share is one piece of information flowing through the network, as a reader sees it.
type Share struct {
	ID        int64         `json:"id"`
	Author    NodeRef       `json:"author"`
	Audience  string        `json:"audience"`
	Community *CommunityRef `json:"community,omitempty"`
	Body      string        `json:"body"`
	Tags      []string      `json:"tags"`
	Mentions  []string      `json:"mentions"` // handles
	ParentID  *int64        `json:"parent_id,omitempty"`
	Origin    *ShareOrigin  `json:"origin,omitempty"` // for a reshare: the first share of the chain
	CreatedAt time.Time     `json:"created_at"`
	EditedAt  *time.Time    `json:"edited_at,omitempty"`
}

// ShareOrigin is the share a reshare passes on.
type ShareOrigin struct {
	ID        int64     `json:"id"`
	Author    NodeRef   `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// ShareInput is a new share.
type ShareInput struct {
	Body          string
	Audience      string // community, connections or everyone
	CommunitySlug string // for audience community
}

// visibleTo is the condition under which share s may be read by node $1.
// Invite-only community shares are for members; connection shares for the
// author's accepted connections; everyone-shares and open communities for all.
const visibleTo = `s.deleted_at IS NULL AND (
	s.author_id = $1 OR s.audience = 'everyone'
	OR (s.audience = 'community' AND EXISTS (SELECT 1 FROM communities vc WHERE vc.id = s.community_id
		AND (vc.open OR EXISTS (SELECT 1 FROM community_members vm WHERE vm.community_id = vc.id AND vm.node_id = $1))))
	OR (s.audience = 'connections' AND EXISTS (SELECT 1 FROM connections vk WHERE vk.state = 'accepted'
		AND ((vk.from_node = s.author_id AND vk.to_node = $1) OR (vk.to_node = s.author_id AND vk.from_node = $1)))))`

const shareSelect = `SELECT s.id, a.id, a.handle, a.display_name, s.audience, c.slug, c.name, s.body, s.tags,
	coalesce((SELECT array_agg(mn.handle ORDER BY mn.handle) FROM nodes mn WHERE mn.id = ANY(s.mentions)), '{}'),
	s.parent_id, o.id, oa.id, oa.handle, oa.display_name, o.body, o.created_at, s.created_at, s.edited_at
	FROM shares s
	JOIN nodes a ON a.id = s.author_id
	LEFT JOIN communities c ON c.id = s.community_id
	LEFT JOIN shares o ON o.id = s.origin_id AND o.deleted_at IS NULL
	LEFT JOIN nodes oa ON oa.id = o.author_id`

func scanShare(row pgx.Row) (Share, error) {
	var sh Share
	var cSlug, cName, oBody, oHandle, oName *string
	var oID, oaID *int64
	var oAt *time.Time
	err := row.Scan(&sh.ID, &sh.Author.ID, &sh.Author.Handle, &sh.Author.DisplayName, &sh.Audience, &cSlug, &cName,
		&sh.Body, &sh.Tags, &sh.Mentions, &sh.ParentID, &oID, &oaID, &oHandle, &oName, &oBody, &oAt, &sh.CreatedAt, &sh.EditedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sh, ErrNotFound
	}
	if err != nil {
		return sh, err
	}
	if cSlug != nil {
		sh.Community = &CommunityRef{Slug: *cSlug, Name: *cName}
	}
	if oID != nil && oaID != nil {
		sh.Origin = &ShareOrigin{ID: *oID, Author: NodeRef{ID: *oaID, Handle: *oHandle, DisplayName: *oName}, Body: *oBody, CreatedAt: *oAt}
	}
	return sh, nil
}

func shareSubject(sh Share) string {
	switch sh.Audience {
	case AudienceCommunity:
		return communitySubject(sh.Community.Slug)
	case AudienceEveryone:
		return "nc.evt.all"
	default:
		return nodeSubject(sh.Author.ID)
	}
}

func validateBody(body string, allowEmpty bool) (string, error) {
	body = strings.TrimSpace(strings.ToValidUTF8(body, "\uFFFD"))
	if body == "" && !allowEmpty {
		return "", invalid("body", "write something to share")
	}
	if n := utf8.RuneCountInString(body); n > MaxShareLength {
		return "", invalid("body", "a share holds at most %d characters; this one has %d", MaxShareLength, n)
	}
	return body, nil
}

// CreateShare posts a share to a community the author belongs to, to the
// author's connections, or to everyone.
func (s *Store) CreateShare(ctx context.Context, author int64, in ShareInput) (Share, error) {
	body, err := validateBody(in.Body, false)
	if err != nil {
		return Share{}, err
	}
	in.Audience = strings.ToLower(strings.TrimSpace(in.Audience))
	if in.Audience == "" {
		in.Audience = AudienceConnections
		if in.CommunitySlug != "" {
			in.Audience = AudienceCommunity
		}
	}
	switch in.Audience {
	case AudienceCommunity, AudienceConnections, AudienceEveryone:
	default:
		return Share{}, invalid("audience", "use community, connections or everyone")
	}
	if in.Audience != AudienceCommunity && in.CommunitySlug != "" {
		return Share{}, invalid("audience", "a share to a community has the audience community")
	}
	var sh Share
	var events []Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		sh, err = insertShare(ctx, tx, &events, author, body, in.Audience, in.CommunitySlug, nil)
		return err
	})
	if err != nil {
		return Share{}, wrap("create share", err)
	}
	s.publish(ctx, events)
	return sh, nil
}

// insertShare writes a share (or a reshare, with parent), its mention
// interactions and its event.
func insertShare(ctx context.Context, tx pgx.Tx, events *[]Event, author int64, body, audience, slug string, parent *Share) (Share, error) {
	var communityID *int64
	var open bool
	if audience == AudienceCommunity {
		if slug == "" {
			return Share{}, invalid("community_slug", "name the community to share into")
		}
		var id int64
		var member bool
		err := tx.QueryRow(ctx, `SELECT c.id, c.open, EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $2)
			FROM communities c WHERE c.slug = $1`, strings.ToLower(slug), author).Scan(&id, &open, &member)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !open && !member) {
			return Share{}, invalid("community_slug", "there is no community %q you can see", slug)
		}
		if err != nil {
			return Share{}, err
		}
		if !member {
			return Share{}, ErrForbidden
		}
		communityID = &id
	}
	parsed := sharetext.Parse(body)
	mentions, err := resolveHandles(ctx, tx, parsed.Mentions)
	if err != nil {
		return Share{}, err
	}
	var parentID, originID *int64
	if parent != nil {
		parentID = &parent.ID
		origin := parent.ID
		if parent.Origin != nil {
			origin = parent.Origin.ID
		}
		originID = &origin
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO shares (author_id, audience, community_id, body, tags, mentions, parent_id, origin_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		author, audience, communityID, body, nonNil(parsed.Tags), mentions, parentID, originID).Scan(&id)
	if err != nil {
		return Share{}, err
	}
	ref := "share:" + strconv.FormatInt(id, 10)
	if _, err := tx.Exec(ctx, `INSERT INTO interactions (from_node, to_node, kind, ref)
		SELECT $1, m, 'mention', $3 FROM unnest($2::bigint[]) AS m WHERE m <> $1`, author, mentions, ref); err != nil {
		return Share{}, err
	}
	if parent != nil && parent.Author.ID != author {
		if _, err := tx.Exec(ctx, `INSERT INTO interactions (from_node, to_node, kind, ref) VALUES ($1, $2, 'reshare', $3)`,
			author, parent.Author.ID, ref); err != nil {
			return Share{}, err
		}
	}
	sh, err := scanShare(tx.QueryRow(ctx, shareSelect+` WHERE s.id = $1`, id))
	if err != nil {
		return Share{}, err
	}
	toAll, to, err := shareRecipients(ctx, tx, sh, mentions)
	if err != nil {
		return Share{}, err
	}
	if err := addEvent(ctx, tx, events, shareSubject(sh), "share.created", sh, toAll, to); err != nil {
		return Share{}, err
	}
	return sh, nil
}

// ShareRecipients is who hears of news about a share live (a mark, a
// correction): its audience, never anyone who may not read it. Other domain
// packages call it inside their own transaction.
func ShareRecipients(ctx context.Context, tx pgx.Tx, sh Share) (toAll bool, to []int64, err error) {
	return shareRecipients(ctx, tx, sh, nil)
}

// shareRecipients is who hears of a share live: its audience, plus mentioned
// people who may read it.
func shareRecipients(ctx context.Context, tx pgx.Tx, sh Share, mentions []int64) (bool, []int64, error) {
	var rows pgx.Rows
	var err error
	switch sh.Audience {
	case AudienceEveryone:
		return true, nil, nil
	case AudienceCommunity:
		rows, err = tx.Query(ctx, `SELECT node_id FROM community_members WHERE community_id = (SELECT community_id FROM shares WHERE id = $1)
			UNION SELECT m FROM unnest($2::bigint[]) AS m
			WHERE (SELECT c.open FROM communities c JOIN shares s ON s.community_id = c.id WHERE s.id = $1)`, sh.ID, nonNilIDs(mentions))
	default:
		rows, err = tx.Query(ctx, `SELECT $1::bigint UNION
			SELECT CASE WHEN from_node = $1 THEN to_node ELSE from_node END FROM connections
			WHERE state = 'accepted' AND (from_node = $1 OR to_node = $1)`, sh.Author.ID)
	}
	if err != nil {
		return false, nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return false, ids, err
}

func resolveHandles(ctx context.Context, tx pgx.Tx, handles []string) ([]int64, error) {
	if len(handles) == 0 {
		return []int64{}, nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM nodes WHERE handle = ANY($1) AND deactivated_at IS NULL ORDER BY id`, handles)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func nonNilIDs(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FindShare returns a share viewer may read (ErrNotFound otherwise).
func (s *Store) FindShare(ctx context.Context, viewer, id int64) (Share, error) {
	sh, err := scanShare(s.pool.QueryRow(ctx, shareSelect+` WHERE s.id = $2 AND `+visibleTo, viewer, id))
	return sh, wrap("find share", err)
}

// EditShare replaces the body of the author's own share; the old text is kept.
func (s *Store) EditShare(ctx context.Context, author, id int64, body string) (Share, error) {
	body, err := validateBody(body, false)
	if err != nil {
		return Share{}, err
	}
	var sh Share
	var events []Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var owner int64
		var old string
		err := tx.QueryRow(ctx, `SELECT s.author_id, s.body FROM shares s WHERE s.id = $2 AND `+visibleTo+` FOR UPDATE OF s`, author, id).Scan(&owner, &old)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if owner != author {
			return ErrForbidden
		}
		if old == body {
			sh, err = scanShare(tx.QueryRow(ctx, shareSelect+` WHERE s.id = $1`, id))
			return err
		}
		parsed := sharetext.Parse(body)
		mentions, err := resolveHandles(ctx, tx, parsed.Mentions)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO share_edits (share_id, body) VALUES ($1, $2)`, id, old); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE shares SET body = $2, tags = $3, mentions = $4, edited_at = now() WHERE id = $1`,
			id, body, nonNil(parsed.Tags), mentions); err != nil {
			return err
		}
		if sh, err = scanShare(tx.QueryRow(ctx, shareSelect+` WHERE s.id = $1`, id)); err != nil {
			return err
		}
		toAll, to, err := shareRecipients(ctx, tx, sh, mentions)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, &events, shareSubject(sh), "share.updated", sh, toAll, to)
	})
	if err != nil {
		return Share{}, wrap("edit share", err)
	}
	s.publish(ctx, events)
	return sh, nil
}

// ShareEdit is an earlier version of a share's text.
type ShareEdit struct {
	Body     string    `json:"body"`
	EditedAt time.Time `json:"edited_at"`
}

// ShareHistory lists the earlier versions of a share viewer may read, newest first.
func (s *Store) ShareHistory(ctx context.Context, viewer, id int64) ([]ShareEdit, error) {
	if _, err := s.FindShare(ctx, viewer, id); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT body, edited_at FROM share_edits WHERE share_id = $1 ORDER BY id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("share history: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ShareEdit])
	return out, wrap("share history", err)
}

// DeleteShare removes the author's own share from every feed.
func (s *Store) DeleteShare(ctx context.Context, author, id int64) error {
	var events []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sh, err := scanShare(tx.QueryRow(ctx, shareSelect+` WHERE s.id = $2 AND `+visibleTo, author, id))
		if err != nil {
			return err
		}
		if sh.Author.ID != author {
			return ErrForbidden
		}
		if _, err := tx.Exec(ctx, `UPDATE shares SET deleted_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		toAll, to, err := shareRecipients(ctx, tx, sh, nil)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, &events, shareSubject(sh), "share.deleted", map[string]int64{"id": id}, toAll, to)
	})
	if err != nil {
		return wrap("delete share", err)
	}
	s.publish(ctx, events)
	return nil
}

// Reshare passes a share on, into a community the node belongs to or to its
// connections. Only shares everyone may read can be passed on, so a reshare
// never shows anyone what they could not see before. The chain is kept
// (parent: who it came from; origin: where it started) for the spread analytics.
func (s *Store) Reshare(ctx context.Context, node, id int64, communitySlug, comment string) (Share, error) {
	comment, err := validateBody(comment, true)
	if err != nil {
		return Share{}, err
	}
	audience := AudienceConnections
	if communitySlug != "" {
		audience = AudienceCommunity
	}
	var sh Share
	var events []Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		parent, err := scanShare(tx.QueryRow(ctx, shareSelect+` WHERE s.id = $2 AND `+visibleTo, node, id))
		if err != nil {
			return err
		}
		public, err := readableByAll(ctx, tx, parent)
		if err != nil {
			return err
		}
		if !public {
			return ErrForbidden
		}
		sh, err = insertShare(ctx, tx, &events, node, comment, audience, communitySlug, &parent)
		return err
	})
	if err != nil {
		return Share{}, wrap("reshare", err)
	}
	s.publish(ctx, events)
	return sh, nil
}

func readableByAll(ctx context.Context, tx pgx.Tx, sh Share) (bool, error) {
	switch sh.Audience {
	case AudienceEveryone:
		return true, nil
	case AudienceCommunity:
		var open bool
		err := tx.QueryRow(ctx, `SELECT open FROM communities WHERE slug = $1`, sh.Community.Slug).Scan(&open)
		return open, err
	}
	return false, nil
}

// FeedFilter narrows a feed; Before is the keyset cursor (a share id).
type FeedFilter struct {
	Before    int64
	Limit     int
	Community string // slug
	Tag       string
}

// Feed is what reaches node: shares in its communities, from its connections,
// to everyone, mentioning it, and its own; newest first.
func (s *Store) Feed(ctx context.Context, node int64, f FeedFilter) ([]Share, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	rows, err := s.pool.Query(ctx, shareSelect+` WHERE `+visibleTo+`
		AND (s.audience <> 'community' OR s.author_id = $1 OR $1 = ANY(s.mentions)
			OR s.community_id IN (SELECT community_id FROM community_members WHERE node_id = $1))
		AND ($2::bigint = 0 OR s.id < $2)
		AND ($4 = '' OR c.slug = $4)
		AND ($5 = '' OR $5 = ANY(s.tags))
		ORDER BY s.id DESC LIMIT $3`,
		node, f.Before, f.Limit, strings.ToLower(f.Community), strings.ToLower(strings.TrimPrefix(f.Tag, "#")))
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Share, error) { return scanShare(r) })
	return out, wrap("feed", err)
}

// CommunityShares lists the recent shares of a community viewer may see.
func (s *Store) CommunityShares(ctx context.Context, viewer, communityID, before int64, limit int) ([]Share, error) {
	rows, err := s.pool.Query(ctx, shareSelect+` WHERE `+visibleTo+` AND s.community_id = $2 AND ($3::bigint = 0 OR s.id < $3)
		ORDER BY s.id DESC LIMIT $4`, viewer, communityID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("community shares: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Share, error) { return scanShare(r) })
	return out, wrap("community shares", err)
}

// AuthorShares lists shares by author that viewer may see.
func (s *Store) AuthorShares(ctx context.Context, viewer, author int64, limit int) ([]Share, error) {
	rows, err := s.pool.Query(ctx, shareSelect+` WHERE `+visibleTo+` AND s.author_id = $2 ORDER BY s.id DESC LIMIT $3`, viewer, author, limit)
	if err != nil {
		return nil, fmt.Errorf("author shares: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Share, error) { return scanShare(r) })
	return out, wrap("author shares", err)
}

// Spread is one step of a share's cascade: who passed it to whom, when.
type Spread struct {
	ShareID   int64     `json:"share_id"`
	FromID    int64     `json:"-"`
	From      string    `json:"from"` // handle of the parent's author
	ByID      int64     `json:"-"`
	By        string    `json:"by"` // handle of who reshared
	Community string    `json:"community,omitempty"`
	At        time.Time `json:"at"`
}

// ShareSpread lists the reshares in the cascade that started at origin that
// viewer may see (a reshare into an invite-only community stays private), in
// time order.
func (s *Store) ShareSpread(ctx context.Context, viewer, origin int64) ([]Spread, error) {
	rows, err := s.pool.Query(ctx, `SELECT s.id, pa.id, pa.handle, a.id, a.handle, coalesce(c.slug, ''), s.created_at
		FROM shares s JOIN nodes a ON a.id = s.author_id
		JOIN shares p ON p.id = s.parent_id JOIN nodes pa ON pa.id = p.author_id
		LEFT JOIN communities c ON c.id = s.community_id
		WHERE s.origin_id = $2 AND `+visibleTo+` ORDER BY s.created_at, s.id`, viewer, origin)
	if err != nil {
		return nil, fmt.Errorf("share spread: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Spread])
	return out, wrap("share spread", err)
}
