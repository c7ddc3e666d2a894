package community

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ---------------------------------------------------------------------------
// Personal data: everything stored about one node, for that node.
//
// The rule is "yours, and nothing that is only someone else's": what the node
// wrote (anonymous replies included — they are its data, and only it receives
// them), what was given to it or asked of it, the metadata that names it, and
// the analytics computed about it. Other people appear only as the handle of
// the other side of something the node can already see (a connection, a kudos
// it gave or got, a thread it asked of them). Never exported: anyone else's
// anonymous authorship, private kudos between others, other people's replies
// and shares, who reacted to the node's replies (only the counts, as pages
// show), and any secret (password and token hashes, session tokens).
//
// The export reads one consistent snapshot of the database (a repeatable-read,
// read-only transaction), so it never mixes before and after a change.
// ---------------------------------------------------------------------------

// PersonalDataFormat names the export's layout; it changes when fields do.
const PersonalDataFormat = "nodecommunity-personal-data/1"

// PersonalData is everything stored about one node. Sections are JSON built
// by PostgreSQL from hand-picked columns, so that no column (a hash, someone
// else's identity) arrives in an export merely because it exists.
type PersonalData struct {
	Format      string          `json:"format"`
	ExportedAt  time.Time       `json:"exported_at"`
	Notes       []string        `json:"notes"`
	Profile     Profile         `json:"profile"`
	Account     json.RawMessage `json:"account"`
	Communities json.RawMessage `json:"communities"`
	Connections []Connection    `json:"connections"`
	Shares      json.RawMessage `json:"shares"`
	Threads     json.RawMessage `json:"threads"`
	Kudos       json.RawMessage `json:"kudos"`
	Marks       json.RawMessage `json:"marks"`
	Proposals   json.RawMessage `json:"proposals"`
	Asks        json.RawMessage `json:"asks"`
	// Interactions is the who-with-whom metadata naming the node, either way.
	Interactions json.RawMessage `json:"interactions"`
	// Analytics is the node's own row in every stored analytics snapshot.
	Analytics    json.RawMessage `json:"analytics"`
	AccessTokens json.RawMessage `json:"access_tokens"`
	Sessions     json.RawMessage `json:"sessions"`
	Invites      json.RawMessage `json:"invites"`
	// Audit is the audit log's rows by the node or about it.
	Audit json.RawMessage `json:"audit"`
	// Deliveries counts the outbox events addressed to the node still kept.
	Deliveries json.RawMessage `json:"deliveries"`
}

// personalDataNotes explain the export to whoever reads it.
var personalDataNotes = []string{
	"This file holds everything Node Community stores about you, read at exported_at in one consistent snapshot.",
	"Other people appear only as the handle of the other side of something you can see anyway: a connection, a kudos, a thread you asked of them.",
	"threads.replies marks each reply you wrote anonymously with \"anonymous\": true. Nobody else can see that you wrote it; this file is the only place that says so, so keep it safe.",
	"Not included because it is other people's: their replies and shares, other anonymous authors, private kudos between others, who reacted to your replies (only the counts).",
	"Interaction metadata (who interacted with whom, never what was said) is deleted after the retention period; analytics.* are the figures computed about you.",
	"Secrets are never exported: no password or token hash, no session token.",
}

// personalSection is one section of the export: a query returning one JSON value.
type personalSection struct {
	name string
	dst  func(*PersonalData) *json.RawMessage
	sql  string
}

// Parameters of the section queries: @me is the node's id, @account how the
// audit log names its sign-in attempts (SigninAccount of its email), @names
// the forms a person search for it may take (see analyticsNames).
var personalSections = []personalSection{
	{"account", func(p *PersonalData) *json.RawMessage { return &p.Account }, `
SELECT json_build_object(
	'id', n.id, 'handle', n.handle, 'email', n.email, 'display_name', n.display_name,
	'created_at', n.created_at, 'deactivated_at', n.deactivated_at,
	'steward', n.steward, 'people_analyst', n.people_analyst,
	'has_password', n.password_hash IS NOT NULL, 'imported_id', n.external_id,
	'single_sign_on', (SELECT coalesce(json_agg(json_build_object('issuer', o.issuer, 'email', o.email,
		'created_at', o.created_at, 'last_seen_at', o.last_seen_at) ORDER BY o.created_at), '[]')
		FROM oidc_identities o WHERE o.node_id = n.id))
FROM nodes n WHERE n.id = @me`},

	{"communities", func(p *PersonalData) *json.RawMessage { return &p.Communities }, `
SELECT json_build_object(
	'memberships', (SELECT coalesce(json_agg(json_build_object('slug', c.slug, 'name', c.name, 'open', c.open,
		'joined_at', m.joined_at) ORDER BY m.joined_at), '[]')
		FROM community_members m JOIN communities c ON c.id = m.community_id WHERE m.node_id = @me),
	'created', (SELECT coalesce(json_agg(json_build_object('slug', c.slug, 'name', c.name, 'created_at', c.created_at)
		ORDER BY c.id), '[]') FROM communities c WHERE c.created_by = @me),
	'purpose_edits', (SELECT coalesce(json_agg(json_build_object('slug', c.slug, 'purpose', h.purpose,
		'edited_at', h.edited_at) ORDER BY h.id), '[]')
		FROM community_purpose_history h JOIN communities c ON c.id = h.community_id WHERE h.edited_by = @me))`},

	{"shares", func(p *PersonalData) *json.RawMessage { return &p.Shares }, `
SELECT coalesce(json_agg(json_build_object(
	'id', s.id, 'audience', s.audience, 'community', c.slug, 'body', s.body, 'tags', s.tags,
	'mentions', (SELECT coalesce(array_agg(m.handle ORDER BY m.handle), '{}') FROM nodes m WHERE m.id = ANY(s.mentions)),
	'reshare_of', s.parent_id, 'created_at', s.created_at, 'edited_at', s.edited_at, 'deleted_at', s.deleted_at,
	'earlier_versions', (SELECT coalesce(json_agg(json_build_object('body', e.body, 'replaced_at', e.edited_at) ORDER BY e.id), '[]')
		FROM share_edits e WHERE e.share_id = s.id),
	'correction', (SELECT json_build_object('body', k.body, 'created_at', k.created_at, 'updated_at', k.updated_at)
		FROM share_corrections k WHERE k.share_id = s.id)
) ORDER BY s.id), '[]')
FROM shares s LEFT JOIN communities c ON c.id = s.community_id
WHERE s.author_id = @me`},

	// Replies: named ones by author_id, anonymous ones through reply_authors,
	// which is read here only for the node's own rows.
	{"threads", func(p *PersonalData) *json.RawMessage { return &p.Threads }, `
WITH mine AS (
	SELECT r.id, false AS anonymous FROM replies r WHERE r.author_id = @me
	UNION ALL
	SELECT ra.reply_id, true FROM reply_authors ra WHERE ra.node_id = @me)
SELECT json_build_object(
	'started', (SELECT coalesce(json_agg(json_build_object(
		'id', t.id, 'community', c.slug, 'kind', t.kind, 'title', t.title, 'body', t.body, 'status', t.status,
		'summary', t.summary, 'due_at', t.due_at, 'created_at', t.created_at, 'resolved_at', t.resolved_at,
		'asked', (SELECT coalesce(json_agg(json_build_object('handle', n.handle, 'asked_at', q.asked_at,
			'answered_at', q.answered_at) ORDER BY n.handle), '[]')
			FROM thread_requests q JOIN nodes n ON n.id = q.node_id WHERE q.thread_id = t.id)
		) ORDER BY t.id), '[]')
		FROM threads t LEFT JOIN communities c ON c.id = t.community_id WHERE t.author_id = @me),
	'asked_of_you', (SELECT coalesce(json_agg(json_build_object('thread_id', q.thread_id, 'title', t.title,
		'asked_at', q.asked_at, 'answered_at', q.answered_at, 'reminded_at', q.reminded_at) ORDER BY q.asked_at), '[]')
		FROM thread_requests q JOIN threads t ON t.id = q.thread_id WHERE q.node_id = @me),
	'replies', (SELECT coalesce(json_agg(json_build_object(
		'id', r.id, 'thread_id', r.thread_id, 'anonymous', m.anonymous, 'body', r.body, 'quote_id', r.quote_id,
		'created_at', r.created_at, 'edited_at', r.edited_at,
		'earlier_versions', (SELECT coalesce(json_agg(json_build_object('body', e.body, 'replaced_at', e.edited_at) ORDER BY e.id), '[]')
			FROM reply_edits e WHERE e.reply_id = r.id),
		'reactions', (SELECT coalesce(json_object_agg(x.reaction, x.n), '{}')
			FROM (SELECT reaction, count(*) AS n FROM reactions WHERE reply_id = r.id GROUP BY reaction) x)
		) ORDER BY r.id), '[]')
		FROM mine m JOIN replies r ON r.id = m.id),
	'reactions_given', (SELECT coalesce(json_agg(json_build_object('reply_id', x.reply_id, 'reaction', x.reaction,
		'created_at', x.created_at) ORDER BY x.created_at), '[]') FROM reactions x WHERE x.node_id = @me),
	'read_positions', (SELECT coalesce(json_agg(json_build_object('thread_id', x.thread_id, 'last_reply_id', x.last_reply_id)
		ORDER BY x.thread_id), '[]') FROM thread_reads x WHERE x.node_id = @me),
	'resolve_proposals', (SELECT coalesce(json_agg(json_build_object('thread_id', x.thread_id, 'summary', x.summary,
		'created_at', x.created_at) ORDER BY x.created_at), '[]') FROM resolve_proposals x WHERE x.node_id = @me))`},

	// Kudos: all the node gave and all it got, private ones included: a private
	// kudos is between its giver and its recipient, and this node is one of them.
	{"kudos", func(p *PersonalData) *json.RawMessage { return &p.Kudos }, `
SELECT json_build_object(
	'given', (SELECT coalesce(json_agg(json_build_object('id', k.id, 'to', n.handle, 'message', k.message,
		'values', k.vals, 'public', k.public, 'created_at', k.created_at) ORDER BY k.id), '[]')
		FROM kudos k JOIN nodes n ON n.id = k.to_node WHERE k.from_node = @me),
	'received', (SELECT coalesce(json_agg(json_build_object('id', k.id, 'from', n.handle, 'message', k.message,
		'values', k.vals, 'public', k.public, 'created_at', k.created_at) ORDER BY k.id), '[]')
		FROM kudos k JOIN nodes n ON n.id = k.from_node WHERE k.to_node = @me))`},

	{"marks", func(p *PersonalData) *json.RawMessage { return &p.Marks }, `
SELECT json_build_object(
	'current', (SELECT coalesce(json_agg(json_build_object('share_id', m.share_id, 'verdict', m.verdict,
		'reason', m.reason, 'source', m.source, 'updated_at', m.updated_at) ORDER BY m.updated_at), '[]')
		FROM share_marks m WHERE m.node_id = @me),
	'history', (SELECT coalesce(json_agg(json_build_object('share_id', h.share_id, 'verdict', h.verdict,
		'reason', h.reason, 'source', h.source, 'at', h.at) ORDER BY h.id), '[]')
		FROM share_mark_history h WHERE h.node_id = @me))`},

	{"proposals", func(p *PersonalData) *json.RawMessage { return &p.Proposals }, `
SELECT json_build_object(
	'proposed', (SELECT coalesce(json_agg(json_build_object('id', x.id, 'community', c.slug, 'title', x.title,
		'body', x.body, 'process', x.process, 'options', x.options, 'closes_at', x.closes_at, 'status', x.status,
		'outcome', x.outcome, 'outcome_statement', x.outcome_statement, 'created_at', x.created_at) ORDER BY x.id), '[]')
		FROM proposals x JOIN communities c ON c.id = x.community_id WHERE x.author_id = @me),
	'votes', (SELECT coalesce(json_agg(json_build_object('proposal_id', v.proposal_id, 'title', x.title,
		'position', v.position, 'choices', v.choices, 'scores', v.scores, 'reason', v.reason,
		'created_at', v.created_at, 'updated_at', v.updated_at) ORDER BY v.created_at), '[]')
		FROM votes v JOIN proposals x ON x.id = v.proposal_id WHERE v.node_id = @me))`},

	{"asks", func(p *PersonalData) *json.RawMessage { return &p.Asks }, `
SELECT json_build_object(
	'asked', (SELECT coalesce(json_agg(json_build_object('id', a.id, 'community', c.slug, 'title', a.title,
		'body', a.body, 'tags', a.tags, 'urgency', a.urgency, 'status', a.status, 'created_at', a.created_at,
		'offered_to', (SELECT coalesce(json_agg(json_build_object('handle', n.handle, 'reason', r.reason, 'path', r.path,
			'hops', r.hops, 'status', r.status, 'routed_at', r.routed_at) ORDER BY r.routed_at), '[]')
			FROM ask_routes r JOIN nodes n ON n.id = r.node_id WHERE r.ask_id = a.id)
		) ORDER BY a.id), '[]')
		FROM asks a LEFT JOIN communities c ON c.id = a.community_id WHERE a.asker_id = @me),
	'offered_to_you', (SELECT coalesce(json_agg(json_build_object('ask_id', r.ask_id, 'title', a.title,
		'reason', r.reason, 'path', r.path, 'hops', r.hops, 'status', r.status, 'routed_at', r.routed_at)
		ORDER BY r.routed_at), '[]')
		FROM ask_routes r JOIN asks a ON a.id = r.ask_id WHERE r.node_id = @me),
	'answers', (SELECT coalesce(json_agg(json_build_object('id', x.id, 'ask_id', x.ask_id, 'body', x.body,
		'accepted', x.accepted, 'created_at', x.created_at) ORDER BY x.id), '[]')
		FROM ask_answers x WHERE x.author_id = @me),
	'answer_reactions_given', (SELECT coalesce(json_agg(json_build_object('answer_id', x.answer_id,
		'reaction', x.reaction, 'created_at', x.created_at) ORDER BY x.created_at), '[]')
		FROM answer_reactions x WHERE x.node_id = @me),
	'expertise', (SELECT coalesce(json_agg(json_build_object('tag', x.tag, 'score', x.score,
		'updated_at', x.updated_at) ORDER BY x.tag), '[]') FROM expertise x WHERE x.node_id = @me))`},

	// Anonymous replies record no interaction, so none of these names an
	// anonymous author.
	{"interactions", func(p *PersonalData) *json.RawMessage { return &p.Interactions }, `
SELECT coalesce(json_agg(json_build_object(
	'direction', CASE WHEN i.from_node = @me THEN 'by_you' ELSE 'to_you' END,
	'other', n.handle, 'kind', i.kind, 'about', i.ref, 'at', i.created_at) ORDER BY i.created_at, i.id), '[]')
FROM interactions i
JOIN nodes n ON n.id = CASE WHEN i.from_node = @me THEN i.to_node ELSE i.from_node END
WHERE i.from_node = @me OR i.to_node = @me`},

	// A snapshot of an empty network stores its people as JSON null.
	{"analytics", func(p *PersonalData) *json.RawMessage { return &p.Analytics }, `
SELECT coalesce(json_agg(json_build_object('window_days', g.window_days, 'kind', g.kind, 'week', g.week,
	'computed_at', g.computed_at, 'figures', x.e) ORDER BY g.kind, g.window_days, g.week), '[]')
FROM graph_snapshots g
CROSS JOIN LATERAL (SELECT e FROM jsonb_array_elements(CASE jsonb_typeof(g.nodes) WHEN 'array' THEN g.nodes ELSE '[]' END) e
	WHERE (e->>'node_id')::bigint = @me) x`},

	{"access_tokens", func(p *PersonalData) *json.RawMessage { return &p.AccessTokens }, `
SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'created_at', t.created_at,
	'last_used_at', t.last_used_at, 'revoked_at', t.revoked_at) ORDER BY t.id), '[]')
FROM access_tokens t WHERE t.node_id = @me`},

	// Browser sessions: how many and until when; never the token or its data.
	{"sessions", func(p *PersonalData) *json.RawMessage { return &p.Sessions }, `
SELECT json_build_object('count', count(*),
	'expire_if_unused', coalesce(json_agg(s.expiry ORDER BY s.expiry), '[]'))
FROM sessions s WHERE s.node_id = @me AND s.expiry > now()`},

	// Invites the node made: when and whether used, not the invitee's address
	// (someone else's); and the invite it signed up with.
	{"invites", func(p *PersonalData) *json.RawMessage { return &p.Invites }, `
SELECT json_build_object(
	'created', (SELECT coalesce(json_agg(json_build_object('id', i.id, 'for_an_address', i.email IS NOT NULL,
		'created_at', i.created_at, 'expires_at', i.expires_at, 'used_by', u.handle, 'used_at', i.used_at)
		ORDER BY i.id), '[]')
		FROM invites i LEFT JOIN nodes u ON u.id = i.used_by WHERE i.created_by = @me),
	'used', (SELECT coalesce(json_agg(json_build_object('created_by', n.handle, 'created_at', i.created_at,
		'used_at', i.used_at) ORDER BY i.id), '[]')
		FROM invites i LEFT JOIN nodes n ON n.id = i.created_by WHERE i.used_by = @me))`},

	// The audit log by the node, or naming it: as the subject of a change
	// (detail node or handle), as the account of a sign-in attempt, or as the
	// person looked up in the organisation map. The actor and address are the
	// node's own only where it acted itself; a failed or delayed sign-in with
	// its email may be anyone's, so neither is given for those.
	{"audit", func(p *PersonalData) *json.RawMessage { return &p.Audit }, `
SELECT coalesce(json_agg(json_build_object('id', a.id, 'at', a.at, 'action', a.action,
	'by', CASE WHEN a.action IN ('signin_failed', 'signin_delayed') THEN NULL
	           WHEN a.actor_id = @me THEN 'you' ELSE n.handle END,
	'address', CASE WHEN a.actor_id = @me AND a.action NOT IN ('signin_failed', 'signin_delayed') THEN a.address END,
	'detail', a.detail) ORDER BY a.id), '[]')
FROM audit_log a LEFT JOIN nodes n ON n.id = a.actor_id
WHERE a.actor_id = @me
   OR a.detail->>'node' = @me::text
   OR a.detail->>'handle' = @handle
   OR (a.detail->>'account' = @account AND a.action IN ('signin', 'signin_failed', 'signin_delayed'))
   OR (a.action = ANY(@person_actions)
       AND (lower(btrim(a.detail->>'person')) = ANY(@names) OR lower(btrim(a.detail->>'focus')) = ANY(@names)))`},

	{"deliveries", func(p *PersonalData) *json.RawMessage { return &p.Deliveries }, `
SELECT coalesce(json_object_agg(x.type, x.n), '{}')
FROM (SELECT type, count(*) AS n FROM events WHERE @me = ANY(to_nodes) GROUP BY type ORDER BY type) x`},
}

// ExportPersonalData reads everything stored about the node (see the notes at
// the top of this file); ErrNotFound when there is no such node.
func (s *Store) ExportPersonalData(ctx context.Context, nodeID int64) (PersonalData, error) {
	out := PersonalData{Format: PersonalDataFormat, Notes: personalDataNotes}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&out.ExportedAt); err != nil {
			return err
		}
		p, err := readProfile(ctx, tx, nodeID)
		if err != nil {
			return err
		}
		out.Profile = p
		args := pgx.NamedArgs{
			"me": nodeID, "handle": p.Handle, "account": SigninAccount(p.Email),
			"names": analyticsNames(p.Node), "person_actions": analyticsPersonActions,
		}
		conn := strengthArgs(out.ExportedAt)
		conn["me"] = nodeID
		rows, err := tx.Query(ctx, connectionsSQL+` ORDER BY c.created_at, c.id`, conn)
		if err != nil {
			return err
		}
		if out.Connections, err = pgx.CollectRows(rows, scanConnection); err != nil {
			return err
		}
		for _, sec := range personalSections {
			var b []byte
			if err := tx.QueryRow(ctx, sec.sql, args).Scan(&b); err != nil {
				return fmt.Errorf("%s: %w", sec.name, err)
			}
			*sec.dst(&out) = b
		}
		return nil
	})
	if err != nil {
		return PersonalData{}, wrap("export personal data", err)
	}
	out.ExportedAt = out.ExportedAt.UTC()
	return out, nil
}

// ---------------------------------------------------------------------------
// Who viewed my named analytics.
//
// People analysts' views and exports of named analytics are in the audit log
// (web/graph.go audits each before showing anything). Two kinds concern a
// node: views that looked it up by name (the organisation map's side panel
// for it: ?person= or ?focus=), and views of the whole organisation's named
// figures (the map, the metrics table, the metrics API and the exports), which
// include everyone. Lists of a detected community's members are shown with
// the latter, saying that they named the node only if it was in that community.
// ---------------------------------------------------------------------------

// Audit actions of named analytics (web/graph.go, web/graph_api.go).
var (
	// analyticsPersonActions may look one person up (detail person or focus).
	analyticsPersonActions = []string{"view_org_map", "view_metrics_table"}
	// analyticsOrgActions show every person's named figures (or one detected
	// community's, when filtered) or list a community's members.
	analyticsOrgActions = []string{"view_org_map", "view_metrics_table", "api_metrics",
		"export_graphml", "export_gexf", "export_csv", "view_community_members"}
)

// analyticsNames are the forms a person lookup naming n takes in the audit
// log, lower-cased: its handle with or without @, and its exact name. The map
// also finds someone by a unique part of a name; such a lookup cannot be told
// apart afterwards and is shown among the organisation-wide views (the map
// shows everyone anyway).
func analyticsNames(n Node) []string {
	return []string{n.Handle, "@" + n.Handle, strings.ToLower(strings.TrimSpace(n.DisplayName))}
}

// AnalyticsView is one audited view or export of named analytics.
type AnalyticsView struct {
	ID        int64           `json:"id"`
	Actor     string          `json:"actor"` // the analyst's handle ("" once their node is gone)
	ActorName string          `json:"actor_name"`
	Action    string          `json:"action"`
	Detail    json.RawMessage `json:"detail"` // the window and filters as audited
	At        time.Time       `json:"at"`
}

// AnalyticsViews is what a node may learn about views of its named analytics.
type AnalyticsViews struct {
	// AboutYou are views that looked the node up by handle or name.
	AboutYou []AnalyticsView `json:"about_you"`
	// OrgWide are the latest views and exports of everyone's named figures.
	OrgWide []AnalyticsView `json:"org_wide"`
	// OrgWideTotal counts every organisation-wide view and export ever audited.
	OrgWideTotal int `json:"org_wide_total"`
}

const analyticsViewColumns = `SELECT a.id, coalesce(n.handle, ''), coalesce(n.display_name, ''), a.action, a.detail, a.at
FROM audit_log a LEFT JOIN nodes n ON n.id = a.actor_id`

// WhoViewed lists, newest first and at most limit of each, the audited views
// of the node's named analytics (see AnalyticsViews).
func (s *Store) WhoViewed(ctx context.Context, node Node, limit int) (AnalyticsViews, error) {
	out := AnalyticsViews{AboutYou: []AnalyticsView{}, OrgWide: []AnalyticsView{}}
	scan := func(r pgx.CollectableRow) (AnalyticsView, error) {
		var v AnalyticsView
		err := r.Scan(&v.ID, &v.Actor, &v.ActorName, &v.Action, &v.Detail, &v.At)
		v.At = v.At.UTC()
		return v, err
	}
	args := pgx.NamedArgs{"names": analyticsNames(node), "person_actions": analyticsPersonActions,
		"org_actions": analyticsOrgActions, "limit": limit}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, analyticsViewColumns+`
			WHERE a.action = ANY(@person_actions)
			  AND (lower(btrim(a.detail->>'person')) = ANY(@names) OR lower(btrim(a.detail->>'focus')) = ANY(@names))
			ORDER BY a.id DESC LIMIT @limit`, args)
		if err != nil {
			return err
		}
		if out.AboutYou, err = pgx.AppendRows(out.AboutYou, rows, scan); err != nil {
			return err
		}
		if rows, err = tx.Query(ctx, analyticsViewColumns+` WHERE a.action = ANY(@org_actions) ORDER BY a.id DESC LIMIT @limit`, args); err != nil {
			return err
		}
		if out.OrgWide, err = pgx.AppendRows(out.OrgWide, rows, scan); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = ANY(@org_actions)`, args).Scan(&out.OrgWideTotal)
	})
	if err != nil {
		return AnalyticsViews{}, fmt.Errorf("who viewed: %w", err)
	}
	return out, nil
}
