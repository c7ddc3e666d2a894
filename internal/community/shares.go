package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
	if strings.ContainsRune(body, 0) { // PostgreSQL text cannot hold it
		return "", invalid("body", "a share cannot contain the NUL character")
	}
	if n := utf8.RuneCountInString(body); n > MaxShareLength {
		return "", invalid("body", "a share holds at most %d characters; this one has %d", MaxShareLength, n)
	}
	return body, nil
}

// CreateShare posts a share to a community the author belongs to, to the
// author's connections, or to everyone. The share, its mention interactions
// and its outbox event are written by one statement, in one round trip and
// one commit (see writeShares); the event is published after commit. A
// ShareBatcher commits concurrent calls together.
func (s *Store) CreateShare(ctx context.Context, author int64, in ShareInput) (Share, error) {
	w, err := newShareWrite(author, in)
	if err != nil {
		return Share{}, err
	}
	if err := writeShares(ctx, s.pool, []*shareWrite{w}, false); err != nil {
		return Share{}, wrap("create share", err)
	}
	if w.err != nil {
		return Share{}, w.err
	}
	s.publish(ctx, []Event{w.event})
	return w.share, nil
}

// shareWrite is one new share on its way into the database: the checked
// input, and once written, the share as readers see it and its outbox event,
// or err, the reason it was refused (nothing was written for it).
type shareWrite struct {
	author   int64
	body     string
	audience string
	slug     string // as given; looked up in lower case
	parent   *Share // a reshare: the share passed on
	tags     []string
	mentions []string // handles as written

	share Share
	event Event
	err   error
	// listed: the event's recipients are the community's member list, which
	// insertSharesSQL answers once per community and batch.
	listed    bool
	community int64
}

// newShareWrite checks a new share before anything is written: a share that
// cannot be right never reaches the database.
func newShareWrite(author int64, in ShareInput) (*shareWrite, error) {
	body, err := validateBody(in.Body, false)
	if err != nil {
		return nil, err
	}
	audience := strings.ToLower(strings.TrimSpace(in.Audience))
	if audience == "" {
		audience = AudienceConnections
		if in.CommunitySlug != "" {
			audience = AudienceCommunity
		}
	}
	switch audience {
	case AudienceCommunity, AudienceConnections, AudienceEveryone:
	default:
		return nil, invalid("audience", "use community, connections or everyone")
	}
	if audience != AudienceCommunity && in.CommunitySlug != "" {
		return nil, invalid("audience", "a share to a community has the audience community")
	}
	return newWrite(author, body, audience, in.CommunitySlug, nil)
}

// newWrite prepares a checked share (or a reshare, with parent).
func newWrite(author int64, body, audience, slug string, parent *Share) (*shareWrite, error) {
	if audience == AudienceCommunity && slug == "" {
		return nil, invalid("community_slug", "name the community to share into")
	}
	parsed := sharetext.Parse(body)
	return &shareWrite{author: author, body: body, audience: audience, slug: slug, parent: parent,
		tags: nonNil(parsed.Tags), mentions: nonNil(parsed.Mentions)}, nil
}

// insertSharesSQL writes shares, their mention (and reshare) interactions and
// their outbox events in one statement, whatever their number: one statement
// costs PostgreSQL far less than one per share. $1 is a JSON array of
// shareInput. It answers one row per input (i): whether the community was
// found, is open and has the author as a member, and for a share written, its
// id, the names of its author and community, the mentioned handles, who may
// receive its event, and the event's id. A share into a community the author
// does not belong to writes nothing. Ids are taken from the sequences first, so
// that the rows written can be told apart; the time is the transaction's,
// as the columns' defaults. An event's payload is the share as Go encodes it
// (the input's payload: the fields Go knows) completed with what only the
// database knows (TestShareWriteMatchesStoredShare holds the two together).
const insertSharesSQL = `WITH input AS MATERIALIZED (
		SELECT x.*, c.id IS NOT NULL AS found, coalesce(c.open, false) AS open, coalesce(c.member, false) AS member,
			c.id AS community_id, c.slug AS c_slug, c.name AS c_name, a.handle AS a_handle, a.display_name AS a_name
		FROM jsonb_to_recordset($1::jsonb) AS x(i int, author bigint, audience text, slug text, body text, tags text[],
			mentions text[], parent_id bigint, origin_id bigint, parent_author bigint, subject text, payload jsonb)
		-- Lookups by key: an index probe per share, whatever the planner
		-- guesses of the input's size (OFFSET 0 keeps a lateral subquery
		-- from being flattened into a join, which scanned every node).
		LEFT JOIN LATERAL (SELECT c.id, c.slug, c.name, c.open,
				EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = x.author) AS member
			FROM communities c WHERE x.audience = 'community' AND c.slug = x.slug OFFSET 0) c ON true
		LEFT JOIN LATERAL (SELECT n.handle, n.display_name FROM nodes n WHERE n.id = x.author OFFSET 0) a ON true
	), members AS MATERIALIZED (
		-- Each community's members once, however many shares go to it: a
		-- scan of its part of the key, not of every membership.
		SELECT d.community_id, ARRAY(SELECT cm.node_id FROM community_members cm
			WHERE cm.community_id = d.community_id ORDER BY cm.node_id) AS ids
		FROM (SELECT DISTINCT community_id FROM input WHERE member) d
	), seq AS MATERIALIZED (
		-- The id sequences looked up once, not twice per share (each lookup
		-- is a catalog search).
		SELECT pg_get_serial_sequence('shares', 'id')::regclass AS shares, pg_get_serial_sequence('events', 'id')::regclass AS events
	), ok AS MATERIALIZED (
		SELECT input.*, nextval(seq.shares) AS share_id,
			nextval(seq.events) AS event_id, men.ids AS mention_ids, men.handles AS mention_handles,
			-- Who hears of the share live: its audience, never anyone who may
			-- not read it; mentioned people only in an open community.
			CASE WHEN input.audience = 'everyone' THEN '{}'::bigint[]
				WHEN input.audience = 'community' THEN CASE WHEN input.open AND cardinality(men.ids) > 0
					THEN ARRAY(SELECT DISTINCT m FROM unnest(members.ids || men.ids) AS m ORDER BY m) ELSE members.ids END
				ELSE ARRAY(SELECT input.author UNION SELECT CASE WHEN k.from_node = input.author THEN k.to_node ELSE k.from_node END
					FROM connections k WHERE k.state = 'accepted' AND (k.from_node = input.author OR k.to_node = input.author) ORDER BY 1)
			END AS recipients,
			-- The recipients are the community's member list as it stands.
			input.audience = 'community' AND NOT (input.open AND cardinality(men.ids) > 0) AS listed
		FROM input
		CROSS JOIN seq
		LEFT JOIN members ON members.community_id = input.community_id
		CROSS JOIN LATERAL (SELECT coalesce(array_agg(n.id ORDER BY n.id), '{}') AS ids, coalesce(array_agg(n.handle ORDER BY n.handle), '{}') AS handles
			FROM nodes n WHERE cardinality(input.mentions) > 0 AND n.handle = ANY(input.mentions) AND n.deactivated_at IS NULL) men
		WHERE input.audience <> 'community' OR input.member
		ORDER BY input.i
	), new_shares AS (
		INSERT INTO shares (id, author_id, audience, community_id, body, tags, mentions, parent_id, origin_id) OVERRIDING SYSTEM VALUE
		SELECT share_id, author, audience, community_id, body, tags, mention_ids, parent_id, origin_id FROM ok ORDER BY share_id
	), new_interactions AS (
		INSERT INTO interactions (from_node, to_node, kind, ref)
		SELECT ok.author, m, 'mention', 'share:' || ok.share_id FROM ok, unnest(ok.mention_ids) AS m WHERE m <> ok.author
		UNION ALL
		SELECT ok.author, ok.parent_author, 'reshare', 'share:' || ok.share_id FROM ok WHERE ok.parent_author <> ok.author
	), bundled AS MATERIALIZED (
		-- The batch's events travel as one stream message, named by the
		-- smallest of their ids (a lone event travels alone).
		SELECT ok.*, CASE WHEN count(*) OVER () > 1 THEN min(event_id) OVER () END AS bundle,
			row_number() OVER (PARTITION BY ok.community_id, ok.listed ORDER BY ok.i) AS nth FROM ok
	), new_events AS (
		INSERT INTO events (id, subject, type, payload, to_all, to_nodes, bundle) OVERRIDING SYSTEM VALUE
		SELECT event_id, subject, 'share.created', payload || jsonb_build_object('id', share_id, 'created_at', now(),
				'author', jsonb_build_object('id', author, 'handle', a_handle, 'display_name', a_name), 'mentions', to_jsonb(mention_handles))
			|| CASE WHEN community_id IS NULL THEN '{}' ELSE jsonb_build_object('community', jsonb_build_object('slug', c_slug, 'name', c_name)) END,
			audience = 'everyone', recipients, bundle
		FROM bundled ORDER BY event_id
	), new_pending AS (
		INSERT INTO events_pending (id) SELECT event_id FROM bundled
	)
	SELECT input.i, input.found, input.open, input.member, ok.share_id, now(), input.a_handle, input.a_name,
		coalesce(input.c_slug, ''), coalesce(input.c_name, ''), ok.mention_handles,
		-- A member list is sent once per community (scanShares hands it on).
		CASE WHEN ok.listed AND ok.nth > 1 THEN NULL ELSE ok.recipients END, coalesce(ok.listed, false),
		coalesce(ok.community_id, 0), ok.event_id, coalesce(ok.bundle, 0)
	FROM input LEFT JOIN bundled ok ON ok.i = input.i`

// shareInput is one share as insertSharesSQL reads it.
type shareInput struct {
	I            int      `json:"i"`
	Author       int64    `json:"author"`
	Audience     string   `json:"audience"`
	Slug         string   `json:"slug"`
	Body         string   `json:"body"`
	Tags         []string `json:"tags"`
	Mentions     []string `json:"mentions"`
	ParentID     *int64   `json:"parent_id"`
	OriginID     *int64   `json:"origin_id"`
	ParentAuthor *int64   `json:"parent_author"`
	Subject      string   `json:"subject"`
	Payload      Share    `json:"payload"` // the fields Go knows
}

// input prepares w for insertSharesSQL as input i, and resets its outcome.
func (w *shareWrite) input(i int) shareInput {
	known := Share{Audience: w.audience, Body: w.body, Tags: w.tags}
	in := shareInput{I: i, Author: w.author, Audience: w.audience, Slug: strings.ToLower(w.slug), Body: w.body,
		Tags: w.tags, Mentions: w.mentions, Subject: "nc.evt.all"}
	if p := w.parent; p != nil {
		known.ParentID, in.ParentID, in.ParentAuthor = &p.ID, &p.ID, &p.Author.ID
		// The chain starts at the parent's origin, or at the parent itself.
		known.Origin = &ShareOrigin{ID: p.ID, Author: p.Author, Body: p.Body, CreatedAt: p.CreatedAt}
		if p.Origin != nil {
			o := *p.Origin
			known.Origin = &o
		}
		in.OriginID = &known.Origin.ID
	}
	switch w.audience {
	case AudienceCommunity:
		in.Subject = communitySubject(in.Slug)
	case AudienceConnections:
		in.Subject = nodeSubject(w.author)
	}
	in.Payload = known
	w.share, w.event, w.err = known, Event{Type: "share.created", Subject: in.Subject, ToAll: w.audience == AudienceEveryone}, nil
	return in
}

// scan reads w's answer from insertSharesSQL (after its input number).
func (w *shareWrite) scan(row pgx.Rows) error {
	var found, open, member bool
	var id, eventID *int64
	var at time.Time
	var handle, name *string
	var slug, cName string
	sh := &w.share
	if err := row.Scan(nil, &found, &open, &member, &id, &at, &handle, &name, &slug, &cName, &sh.Mentions,
		&w.event.To, &w.listed, &w.community, &eventID, &w.event.Bundle); err != nil {
		return err
	}
	if id == nil {
		switch {
		case w.audience != AudienceCommunity:
			return errors.New("share not inserted")
		case !found || (!open && !member):
			w.err = invalid("community_slug", "there is no community %q you can see", w.slug)
		default:
			w.err = ErrForbidden
		}
		return nil
	}
	if handle == nil || eventID == nil {
		return errors.New("share author not found") // the insert failed first
	}
	sh.ID, sh.CreatedAt, sh.Author = *id, at, NodeRef{ID: w.author, Handle: *handle, DisplayName: *name}
	if w.audience == AudienceCommunity {
		sh.Community = &CommunityRef{Slug: slug, Name: cName}
	}
	object, err := json.Marshal(sh)
	if err != nil {
		return fmt.Errorf("share event: %w", err)
	}
	w.event.ID, w.event.At, w.event.Object = *eventID, at, object
	return nil
}

// writeShares writes the shares that may be written, each with its mention
// interactions and its outbox event, with one statement: one round trip and,
// on the pool, one commit however many they are. A share refused (w.err)
// writes nothing and does not stop the others; any other error means nothing
// was written, and is returned. With lz4, the transaction compresses large
// values with lz4 instead of the server's default, pglz: an event for a big
// community carries a recipient list long enough to be compressed, and pglz
// then takes most of PostgreSQL's time for the whole write (measured: 1.0 ms
// of CPU per share for a 243-member community, 0.4 ms with lz4). Only pass it
// when the server supports lz4 (serverHasLZ4).
func writeShares(ctx context.Context, db interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, ws []*shareWrite, lz4 bool) error {
	inputs := make([]shareInput, len(ws))
	for i, w := range ws {
		inputs[i] = w.input(i)
	}
	batch, err := json.Marshal(inputs)
	if err != nil {
		return fmt.Errorf("shares: %w", err)
	}
	// The statements of a pipelined batch share one implicit transaction: the
	// setting holds for the insert, and ends with it.
	b := &pgx.Batch{}
	if lz4 {
		b.Queue(`SELECT set_config('default_toast_compression', 'lz4', true)`)
	}
	b.Queue(insertSharesSQL, batch).Query(func(rows pgx.Rows) error { return scanShares(rows, ws) })
	return db.SendBatch(ctx, b).Close()
}

// scanShares reads insertSharesSQL's answers into ws.
func scanShares(rows pgx.Rows, ws []*shareWrite) error {
	answered := 0
	for rows.Next() {
		var i int
		skip := make([]any, len(rows.FieldDescriptions())) // nil: not read yet
		skip[0] = &i
		if err := rows.Scan(skip...); err != nil {
			return err
		}
		if i < 0 || i >= len(ws) {
			return fmt.Errorf("shares: answer for input %d of %d", i, len(ws))
		}
		if err := ws[i].scan(rows); err != nil {
			return err
		}
		answered++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if answered != len(ws) {
		return fmt.Errorf("shares: %d answers for %d inputs", answered, len(ws))
	}
	// Shares to the same community share its member list (read only).
	lists := make(map[int64][]int64)
	for _, w := range ws {
		if w.listed && w.event.To != nil {
			lists[w.community] = w.event.To
		}
	}
	for _, w := range ws {
		if w.listed && w.event.To == nil {
			to, ok := lists[w.community]
			if !ok {
				return fmt.Errorf("shares: no member list for community %d", w.community)
			}
			w.event.To = to
		}
	}
	return nil
}

// serverHasLZ4 reports whether PostgreSQL can compress with lz4 (version 14
// or later, built with it).
func serverHasLZ4(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT coalesce(bool_or('lz4' = ANY(enumvals)), false) FROM pg_settings
		WHERE name = 'default_toast_compression'`).Scan(&ok)
	return ok, err
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
			WHERE (SELECT c.open FROM communities c JOIN shares s ON s.community_id = c.id WHERE s.id = $1)`, sh.ID, nonNil(mentions))
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

// nonNil is s, or an empty slice for nil (PostgreSQL reads a nil slice as
// NULL, not as an empty array).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
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
	w, err := newWrite(node, comment, audience, communitySlug, nil)
	if err != nil {
		return Share{}, err
	}
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
		w.parent = &parent
		if err := writeShares(ctx, tx, []*shareWrite{w}, false); err != nil {
			return err
		}
		return w.err
	})
	if err != nil {
		return Share{}, wrap("reshare", err)
	}
	s.publish(ctx, []Event{w.event})
	return w.share, nil
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
//
// Walking every share newest first until enough are visible costs a scan of
// the whole network's recent shares (3.3 ms for a feed of 50 among 17
// communities). Instead each source of the feed gives its own newest matches
// by an index (feedCandidatesSQL), and the feed is the newest of their union,
// checked again in full. That is exact: each source's matches all belong to
// the feed, so a share of the feed's newest Limit is among its source's
// newest Limit (TestFeedMatchesReference holds it to the plain query).
func (s *Store) Feed(ctx context.Context, node int64, f FeedFilter) ([]Share, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	before := f.Before
	if before <= 0 {
		before = math.MaxInt64 // s.id < $2 stays an index bound
	}
	// The candidates are checked again in full (a share the viewer may not
	// read never leaves here, whatever a source says), and only the page's
	// shares are joined with their authors and communities.
	rows, err := s.pool.Query(ctx, feedSQL,
		node, before, f.Limit, strings.ToLower(f.Community), strings.ToLower(strings.TrimPrefix(f.Tag, "#")))
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Share, error) { return scanShare(r) })
	return out, wrap("feed", err)
}

// feedSQL is the feed of node $1: shares older than $2, at most $3, in the
// community with slug $4 (if any), tagged $5 (if any).
const feedSQL = feedCandidatesSQL + `, page AS (
		SELECT s.id FROM shares s WHERE s.id IN (SELECT id FROM candidates) AND ` + visibleTo + `
		AND (s.audience <> 'community' OR s.author_id = $1 OR $1 = ANY(s.mentions)
			OR s.community_id IN (SELECT community_id FROM community_members WHERE node_id = $1))
		AND ` + feedFilters + `
		ORDER BY s.id DESC LIMIT $3
	) ` + shareSelect + ` WHERE s.id IN (SELECT id FROM page) ORDER BY s.id DESC`

// feedFilters are the feed's own filters on share s: older than $2, in the
// community with slug $4 (if any), tagged $5 (if any).
const feedFilters = `s.id < $2 AND ($5 = '' OR $5 = ANY(s.tags))
	AND ($4 = '' OR s.community_id = (SELECT fc.id FROM communities fc WHERE fc.slug = $4))`

// feedCandidatesSQL is, for node $1, the newest $3 shares of each source of
// its feed, each by an index: every community it belongs to
// (shares_community), each accepted connection's shares to connections and
// its own (shares_author), shares to everyone (shares_everyone), and shares
// mentioning it that it may read (shares_mentions). Each source walks its
// index in the index's own order, which the primary key cannot give: the
// key column is bounded by BETWEEN x AND x rather than = x, because the
// planner drops an ORDER BY column fixed by equality and may then walk every
// share backwards through the primary key, filtering for one community (a
// cached generic plan did: 230 ms per feed once a few communities had most
// of the recent shares). The mentions source orders by s.id + 0, which no
// index gives, so that its shares always come from shares_mentions: where
// mentions are rare, ANALYZE keeps no statistics of their elements, the
// planner then guesses that 0.7 % of all shares mention anyone, and it
// walked the primary key backwards looking for 50 of them through all 2.5
// million shares of the bench database (the dashboard timed out at 10 s;
// 3.8 ms this way).
const feedCandidatesSQL = `WITH candidates AS (
		SELECT x.id FROM community_members m CROSS JOIN LATERAL (
			SELECT s.id FROM shares s WHERE s.community_id BETWEEN m.community_id AND m.community_id AND s.deleted_at IS NULL AND ` + feedFilters + `
			ORDER BY s.community_id, s.id DESC LIMIT $3) x
		WHERE m.node_id = $1
		UNION
		SELECT x.id FROM (SELECT CASE WHEN from_node = $1 THEN to_node ELSE from_node END AS other FROM connections
			WHERE state = 'accepted' AND (from_node = $1 OR to_node = $1)) k CROSS JOIN LATERAL (
			SELECT s.id FROM shares s WHERE s.author_id BETWEEN k.other AND k.other
				AND s.audience = 'connections' AND s.deleted_at IS NULL AND ` + feedFilters + `
			ORDER BY s.author_id, s.id DESC LIMIT $3) x
		UNION
		(SELECT s.id FROM shares s WHERE s.audience = 'everyone' AND s.deleted_at IS NULL AND ` + feedFilters + `
			ORDER BY s.id DESC LIMIT $3)
		UNION
		(SELECT s.id FROM shares s WHERE s.author_id BETWEEN $1 AND $1 AND s.deleted_at IS NULL AND ` + feedFilters + `
			ORDER BY s.author_id, s.id DESC LIMIT $3)
		UNION
		(SELECT s.id FROM shares s WHERE s.mentions @> ARRAY[$1::bigint] AND ` + visibleTo + ` AND ` + feedFilters + `
			ORDER BY s.id + 0 DESC LIMIT $3)
	) `

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
