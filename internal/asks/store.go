package asks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Event types this package writes.
const (
	EventRouted   = "ask.routed"   // to the one candidate it was offered to
	EventAnswered = "ask.answered" // to the asker
	EventAccepted = "ask.accepted" // to the answerer and the asker
	EventReferred = "ask.referred" // to the asker: someone passed it on
	EventWidened  = "ask.widened"  // to the asker: routing reached further
	EventReacted  = "ask.reacted"  // to the answer's author
	EventClosed   = "ask.closed"   // to the asker and whoever still has it on offer
)

// RoutedEvent is the object of an ask.routed event: the ask and, for the one
// node that receives it, why it was offered and how they are connected.
type RoutedEvent struct {
	NodeID int64 `json:"node_id"`
	Ask    Ask   `json:"ask"`
	Route  Route `json:"route"`
}

// AnsweredEvent is the object of ask.answered and ask.accepted.
type AnsweredEvent struct {
	AskID    int64  `json:"ask_id"`
	AskTitle string `json:"ask_title"`
	Answer   Answer `json:"answer"`
}

func askSubject(id int64) string { return "nc.evt.ask." + strconv.FormatInt(id, 10) }

func askRef(id int64) string { return "ask:" + strconv.FormatInt(id, 10) }

// askSelect reads an ask for scanAsk; visibleAsk is appended by callers.
const askSelect = `SELECT a.id, n.id, n.handle, n.display_name, c.slug, c.name, a.title, a.body, a.tags,
	a.urgency, a.status, a.accepted_answer_id, a.max_hops, extract(epoch FROM a.widen_after)::float8,
	a.widened_at, (SELECT count(*) FROM ask_answers aa WHERE aa.ask_id = a.id)::int, a.created_at
	FROM asks a
	JOIN nodes n ON n.id = a.asker_id
	LEFT JOIN communities c ON c.id = a.community_id`

// visibleAsk is the condition under which ask a may be read by node $1: its
// asker and whoever it was offered to always; everyone unless it belongs to an
// invite-only community, whose members only may read it.
const visibleAsk = `(a.asker_id = $1 OR a.community_id IS NULL
	OR EXISTS (SELECT 1 FROM communities vc WHERE vc.id = a.community_id AND (vc.open
		OR EXISTS (SELECT 1 FROM community_members vm WHERE vm.community_id = vc.id AND vm.node_id = $1)))
	OR EXISTS (SELECT 1 FROM ask_routes vr WHERE vr.ask_id = a.id AND vr.node_id = $1))`

func scanAsk(row pgx.Row) (Ask, error) {
	var a Ask
	var slug, name *string
	var widen float64
	err := row.Scan(&a.ID, &a.Asker.ID, &a.Asker.Handle, &a.Asker.DisplayName, &slug, &name, &a.Title, &a.Body, &a.Tags,
		&a.Urgency, &a.Status, &a.AcceptedAnswerID, &a.MaxHops, &widen, &a.WidenedAt, &a.AnswerCount, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, community.ErrNotFound
	}
	if slug != nil {
		a.Community = &community.CommunityRef{Slug: *slug, Name: *name}
	}
	a.WidenAfter = Duration(time.Duration(widen * float64(time.Second)))
	return a, err
}

func collectAsks(rows pgx.Rows, err error) ([]Ask, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ask, error) { return scanAsk(r) })
}

// CreateAsk posts a need and offers it at once to the best candidates within
// Options.InitialHops of the asker, each told why and through whom; the
// answer lists them. Nothing is written when anything fails.
func (s *Store) CreateAsk(ctx context.Context, asker int64, in AskInput) (CreatedAsk, error) {
	o := s.options()
	if err := in.normalise(o); err != nil {
		return CreatedAsk{}, err
	}
	var communityID, onlyMembers int64
	if in.CommunitySlug != "" {
		var open, member bool
		err := s.pool.QueryRow(ctx, `SELECT c.id, c.open,
			EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $2)
			FROM communities c WHERE c.slug = $1`, in.CommunitySlug, asker).Scan(&communityID, &open, &member)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !open && !member) {
			return CreatedAsk{}, invalid("community_slug", "There is no community %q you can see.", in.CommunitySlug)
		}
		if err != nil {
			return CreatedAsk{}, fmt.Errorf("create ask: %w", err)
		}
		if !member {
			return CreatedAsk{}, community.ErrForbidden
		}
		if !open {
			onlyMembers = communityID // nobody else may read it, so nobody else is offered it
		}
	}
	cands, err := s.route(ctx, s.pool, asker, in.Tags, o.InitialHops, nil, onlyMembers, o.Fanout)
	if err != nil {
		return CreatedAsk{}, err
	}
	var out CreatedAsk
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cid *int64
		if communityID != 0 {
			cid = &communityID
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO asks (asker_id, community_id, title, body, tags, urgency, max_hops, widen_after)
			VALUES ($1, $2, $3, $4, $5, $6, $7, make_interval(secs => $8::float8)) RETURNING id`,
			asker, cid, in.Title, in.Body, in.Tags, in.Urgency, o.InitialHops, in.WidenAfter.Seconds()).Scan(&id)
		if err != nil {
			return err
		}
		if out.Ask, err = scanAsk(tx.QueryRow(ctx, askSelect+` WHERE a.id = $1`, id)); err != nil {
			return err
		}
		out.RoutedTo, err = insertRoutes(ctx, tx, &events, out.Ask, cands, nil)
		return err
	})
	if err != nil {
		return CreatedAsk{}, wrap("create ask", err)
	}
	s.net.PublishEvents(ctx, events)
	return out, nil
}

// insertRoutes records the offers of ask to the candidates and writes one
// ask.routed event to each, naming only them. via is who passed it on, if anyone.
func insertRoutes(ctx context.Context, tx pgx.Tx, events *[]community.Event, ask Ask, cands []Candidate, via *community.NodeRef) ([]Route, error) {
	routes := make([]Route, 0, len(cands))
	for _, c := range cands {
		r := Route{NodeID: c.NodeID, Handle: c.Handle, DisplayName: c.DisplayName, Reason: c.Reason(),
			Path: c.Path, Hops: c.Hops, Score: c.Score(), Status: RouteOffered}
		if r.Path == nil {
			r.Path = []string{}
		}
		var viaID *int64
		if via != nil {
			viaID, r.Via = &via.ID, via.Handle
		}
		err := tx.QueryRow(ctx, `INSERT INTO ask_routes (ask_id, node_id, reason, path, hops, score, via)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING routed_at`,
			ask.ID, r.NodeID, r.Reason, r.Path, r.Hops, r.Score, viaID).Scan(&r.RoutedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // already offered to them
		}
		if err != nil {
			return nil, err
		}
		if err := community.AddEvent(ctx, tx, events, askSubject(ask.ID), EventRouted,
			RoutedEvent{NodeID: r.NodeID, Ask: ask, Route: r}, false, []int64{r.NodeID}); err != nil {
			return nil, err
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// AskDetail is one ask as its reader sees it: the answers, why it reached the
// reader, whom it was offered to (for the asker only) and matching offers.
type AskDetail struct {
	Ask
	Answers  []Answer     `json:"answers"`
	MyRoute  *Route       `json:"my_route,omitempty"`
	RoutedTo []Route      `json:"routed_to,omitempty"`
	Offers   []OfferMatch `json:"offers"`
}

// FindAsk returns an ask viewer may read (community.ErrNotFound otherwise).
func (s *Store) FindAsk(ctx context.Context, viewer, id int64) (AskDetail, error) {
	a, err := scanAsk(s.pool.QueryRow(ctx, askSelect+` WHERE a.id = $2 AND `+visibleAsk, viewer, id))
	if err != nil {
		return AskDetail{}, wrap("find ask", err)
	}
	d := AskDetail{Ask: a}
	if d.Answers, err = s.answers(ctx, s.pool, viewer, id); err != nil {
		return AskDetail{}, err
	}
	routes, err := s.routes(ctx, id)
	if err != nil {
		return AskDetail{}, err
	}
	for i := range routes {
		if routes[i].NodeID == viewer {
			d.MyRoute = &routes[i]
		}
	}
	if a.Asker.ID == viewer {
		d.RoutedTo = routes
	}
	if d.Offers, err = s.MatchingOffers(ctx, a.Tags, a.Asker.ID, 5); err != nil {
		return AskDetail{}, err
	}
	return d, nil
}

const answerSelect = `SELECT aa.id, aa.ask_id, n.id, n.handle, n.display_name, aa.body, aa.accepted, aa.created_at,
	coalesce((SELECT jsonb_object_agg(x.reaction, x.n) FROM (SELECT r.reaction, count(*) AS n FROM answer_reactions r
		WHERE r.answer_id = aa.id GROUP BY r.reaction) x), '{}'::jsonb),
	coalesce((SELECT array_agg(r.reaction ORDER BY r.reaction) FROM answer_reactions r WHERE r.answer_id = aa.id AND r.node_id = $1), '{}')
	FROM ask_answers aa JOIN nodes n ON n.id = aa.author_id`

func scanAnswer(row pgx.Row) (Answer, error) {
	var a Answer
	err := row.Scan(&a.ID, &a.AskID, &a.Author.ID, &a.Author.Handle, &a.Author.DisplayName, &a.Body, &a.Accepted,
		&a.CreatedAt, &a.Reactions, &a.Mine)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, community.ErrNotFound
	}
	if a.Reactions == nil {
		a.Reactions = map[string]int{}
	}
	return a, err
}

// answers lists an ask's answers, the accepted one first, then oldest first.
func (s *Store) answers(ctx context.Context, db community.DBTX, viewer, askID int64) ([]Answer, error) {
	rows, err := db.Query(ctx, answerSelect+` WHERE aa.ask_id = $2 ORDER BY aa.accepted DESC, aa.id`, viewer, askID)
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Answer, error) { return scanAnswer(r) })
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	return out, nil
}

// routes lists whom an ask was offered to, in the order it happened.
func (s *Store) routes(ctx context.Context, askID int64) ([]Route, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.node_id, n.handle, n.display_name, r.reason, r.path, r.hops, r.score,
		coalesce(v.handle, ''), r.status, r.routed_at
		FROM ask_routes r JOIN nodes n ON n.id = r.node_id LEFT JOIN nodes v ON v.id = r.via
		WHERE r.ask_id = $1 ORDER BY r.routed_at, r.hops, r.score DESC, n.handle`, askID)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Route])
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	return out, nil
}

// ListFilter narrows a list of asks; Before is the keyset cursor (an ask id).
type ListFilter struct {
	Status string // open, answered, closed; "" for any
	// Scope: "" (every ask the viewer may read), "mine" (asked by the viewer),
	// "offered" (offered to the viewer), "communities" (asked by people who
	// share a community with the viewer, or in one of the viewer's
	// communities), "unanswered" (open, no answer yet) or "stale" (open, answered
	// but none accepted, older than Options.StaleAfter).
	Scope  string
	Tag    string
	Before int64
	Limit  int
}

// Scopes of ListFilter.
var Scopes = []string{"", "mine", "offered", "communities", "unanswered", "stale"}

// ListAsks lists asks viewer may read, newest first.
func (s *Store) ListAsks(ctx context.Context, viewer int64, f ListFilter) ([]Ask, error) {
	f.Status = strings.ToLower(strings.TrimSpace(f.Status))
	switch f.Status {
	case "", StatusOpen, StatusAnswered, StatusClosed:
	default:
		return nil, invalid("status", "Use open, answered or closed.")
	}
	f.Scope = strings.ToLower(strings.TrimSpace(f.Scope))
	if !slices.Contains(Scopes, f.Scope) {
		return nil, invalid("scope", "Use mine, offered, communities, unanswered or stale.")
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	tag := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(f.Tag), "#")))
	rows, err := s.pool.Query(ctx, askSelect+` WHERE `+visibleAsk+`
		AND ($2 = '' OR a.status = $2)
		AND ($3 = '' OR $3 = ANY(a.tags))
		AND ($4::bigint = 0 OR a.id < $4)
		AND CASE $5
			WHEN 'mine' THEN a.asker_id = $1
			WHEN 'offered' THEN EXISTS (SELECT 1 FROM ask_routes r WHERE r.ask_id = a.id AND r.node_id = $1)
			WHEN 'communities' THEN a.asker_id <> $1 AND (
				a.community_id IN (SELECT community_id FROM community_members WHERE node_id = $1)
				OR EXISTS (SELECT 1 FROM community_members m1 JOIN community_members m2 ON m2.community_id = m1.community_id
					WHERE m1.node_id = $1 AND m2.node_id = a.asker_id))
			WHEN 'unanswered' THEN a.status = 'open' AND NOT EXISTS (SELECT 1 FROM ask_answers aa WHERE aa.ask_id = a.id)
			WHEN 'stale' THEN a.status = 'open' AND a.created_at < now() - make_interval(secs => $7::float8)
				AND EXISTS (SELECT 1 FROM ask_answers aa WHERE aa.ask_id = a.id)
			ELSE true END
		ORDER BY a.id DESC LIMIT $6`, viewer, f.Status, tag, f.Before, f.Scope, f.Limit, s.options().StaleAfter.Seconds())
	out, err := collectAsks(rows, err)
	if err != nil {
		return nil, fmt.Errorf("list asks: %w", err)
	}
	return out, nil
}

// Offered is an ask offered to a node, with why.
type Offered struct {
	Ask   Ask   `json:"ask"`
	Route Route `json:"route"`
}

// OfferedTo lists the open asks offered to node that it has not acted on yet,
// most recently offered first.
func (s *Store) OfferedTo(ctx context.Context, node int64, limit int) ([]Offered, error) {
	rows, err := s.pool.Query(ctx, askSelect+`
		JOIN ask_routes r ON r.ask_id = a.id AND r.node_id = $1
		WHERE r.status = 'offered' AND a.status = 'open'
		ORDER BY r.routed_at DESC, a.id DESC LIMIT $2`, node, limit)
	list, err := collectAsks(rows, err)
	if err != nil {
		return nil, fmt.Errorf("offered asks: %w", err)
	}
	out := make([]Offered, 0, len(list))
	for _, a := range list {
		routes, err := s.routes(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range routes {
			if r.NodeID == node {
				out = append(out, Offered{Ask: a, Route: r})
			}
		}
	}
	return out, nil
}

// lockAsk reads an ask viewer may read, locked for the rest of tx (so that
// answering, accepting, passing on and widening one ask happen one at a time).
func lockAsk(ctx context.Context, tx pgx.Tx, viewer, id int64) (Ask, int64, error) {
	a, err := scanAsk(tx.QueryRow(ctx, askSelect+` WHERE a.id = $2 AND `+visibleAsk+` FOR UPDATE OF a`, viewer, id))
	if err != nil {
		return a, 0, err
	}
	var cid *int64
	if err := tx.QueryRow(ctx, `SELECT community_id FROM asks WHERE id = $1`, id).Scan(&cid); err != nil {
		return a, 0, err
	}
	if cid == nil {
		return a, 0, nil
	}
	return a, *cid, nil
}

// AnswerAsk adds author's answer to an ask they may read (not their own, not a
// closed one); the asker hears of it live.
func (s *Store) AnswerAsk(ctx context.Context, author, askID int64, body string) (Answer, error) {
	body, err := validAnswer(body)
	if err != nil {
		return Answer{}, err
	}
	var ans Answer
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, _, err := lockAsk(ctx, tx, author, askID)
		if err != nil {
			return err
		}
		if a.Asker.ID == author {
			return community.ErrForbidden
		}
		if a.Status == StatusClosed {
			return community.Conflict("status", "This ask is closed: it takes no more answers.")
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO ask_answers (ask_id, author_id, body) VALUES ($1, $2, $3) RETURNING id`,
			askID, author, body).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ask_routes SET status = 'answered' WHERE ask_id = $1 AND node_id = $2`, askID, author); err != nil {
			return err
		}
		if err := community.RecordInteraction(ctx, tx, author, a.Asker.ID, community.InteractionAnswer, askRef(askID)); err != nil {
			return err
		}
		if ans, err = scanAnswer(tx.QueryRow(ctx, answerSelect+` WHERE aa.id = $2`, author, id)); err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, askSubject(askID), EventAnswered,
			AnsweredEvent{AskID: askID, AskTitle: a.Title, Answer: ans}, false, []int64{a.Asker.ID})
	})
	if err != nil {
		return Answer{}, wrap("answer ask", err)
	}
	s.net.PublishEvents(ctx, events)
	return ans, nil
}

// Accepted is an ask with the answer its asker accepted.
type Accepted struct {
	Ask    Ask    `json:"ask"`
	Answer Answer `json:"answer"`
}

// AcceptAnswer marks one answer as the one that helped. Only the asker may,
// once; accepting the same answer again changes nothing. The answerer's
// expertise in each of the ask's tags rises by one, which later routing counts.
func (s *Store) AcceptAnswer(ctx context.Context, asker, askID, answerID int64) (Accepted, error) {
	var out Accepted
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, _, err := lockAsk(ctx, tx, asker, askID)
		if err != nil {
			return err
		}
		ans, err := scanAnswer(tx.QueryRow(ctx, answerSelect+` WHERE aa.id = $2 AND aa.ask_id = $3`, asker, answerID, askID))
		if err != nil {
			return err
		}
		if a.Asker.ID != asker {
			return community.ErrForbidden
		}
		switch {
		case a.AcceptedAnswerID != nil && *a.AcceptedAnswerID == answerID:
			out = Accepted{Ask: a, Answer: ans}
			return nil
		case a.AcceptedAnswerID != nil:
			return community.Conflict("answer_id", "You already accepted another answer to this ask.")
		case a.Status == StatusClosed:
			return community.Conflict("status", "This ask is closed.")
		}
		if _, err := tx.Exec(ctx, `UPDATE ask_answers SET accepted = true WHERE id = $1`, answerID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE asks SET status = 'answered', accepted_answer_id = $2 WHERE id = $1`, askID, answerID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO expertise (node_id, tag, score)
			SELECT $1, t, 1 FROM unnest($2::text[]) AS t
			ON CONFLICT (node_id, tag) DO UPDATE SET score = expertise.score + 1, updated_at = now()`,
			ans.Author.ID, a.Tags); err != nil {
			return err
		}
		if out.Ask, err = scanAsk(tx.QueryRow(ctx, askSelect+` WHERE a.id = $1`, askID)); err != nil {
			return err
		}
		ans.Accepted = true
		out.Answer = ans
		return community.AddEvent(ctx, tx, &events, askSubject(askID), EventAccepted,
			AnsweredEvent{AskID: askID, AskTitle: a.Title, Answer: ans}, false, []int64{ans.Author.ID, asker})
	})
	if err != nil {
		return Accepted{}, wrap("accept answer", err)
	}
	s.net.PublishEvents(ctx, events)
	return out, nil
}

// Refer passes an open ask on from a node who may read it to someone it is
// connected to. It records the referral edge (the route's via, and an
// interaction between the two), offers the ask to them live, and restarts
// the ask's wait before widening: someone engaged.
func (s *Store) Refer(ctx context.Context, from, askID int64, toHandle string) (Route, error) {
	toHandle = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(toHandle), "@")))
	if toHandle == "" {
		return Route{}, invalid("to_handle", "Name the person to pass the ask on to.")
	}
	var route Route
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, cid, err := lockAsk(ctx, tx, from, askID)
		if err != nil {
			return err
		}
		if a.Status != StatusOpen {
			return community.Conflict("status", "This ask is no longer open.")
		}
		var to community.NodeRef
		var connected, canRead, offered bool
		err = tx.QueryRow(ctx, `SELECT n.id, n.handle, n.display_name,
			EXISTS (SELECT 1 FROM connections c WHERE c.state = 'accepted'
				AND ((c.from_node = $2 AND c.to_node = n.id) OR (c.from_node = n.id AND c.to_node = $2))),
			($3::bigint = 0 OR EXISTS (SELECT 1 FROM communities c WHERE c.id = $3 AND (c.open
				OR EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = n.id)))),
			EXISTS (SELECT 1 FROM ask_routes r WHERE r.ask_id = $4 AND r.node_id = n.id)
			FROM nodes n WHERE n.handle = $1 AND n.deactivated_at IS NULL`,
			toHandle, from, cid, askID).Scan(&to.ID, &to.Handle, &to.DisplayName, &connected, &canRead, &offered)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return invalid("to_handle", "There is no active person @%s.", toHandle)
		case err != nil:
			return err
		case to.ID == from:
			return invalid("to_handle", "Pass it on to someone else.")
		case to.ID == a.Asker.ID:
			return invalid("to_handle", "@%s asked it.", to.Handle)
		case !connected:
			return invalid("to_handle", "You can pass an ask on only to someone you are connected to.")
		case !canRead:
			return invalid("to_handle", "@%s is not in the invite-only community this ask belongs to.", to.Handle)
		case offered:
			return community.Conflict("to_handle", fmt.Sprintf("@%s was already offered this ask.", to.Handle))
		}
		var me community.NodeRef
		if err := tx.QueryRow(ctx, `SELECT id, handle, display_name FROM nodes WHERE id = $1`, from).Scan(&me.ID, &me.Handle, &me.DisplayName); err != nil {
			return err
		}
		path, err := s.pathTo(ctx, tx, a, me)
		if err != nil {
			return err
		}
		c := Candidate{NodeID: to.ID, Handle: to.Handle, DisplayName: to.DisplayName, Path: append(path, to.Handle),
			reason: "passed on by " + me.DisplayName}
		if path[0] == a.Asker.Handle {
			c.Hops = len(c.Path) - 1
		}
		routes, err := insertRoutes(ctx, tx, &events, a, []Candidate{c}, &me)
		if err != nil {
			return err
		}
		if len(routes) != 1 {
			return community.Conflict("to_handle", fmt.Sprintf("@%s was already offered this ask.", to.Handle))
		}
		route = routes[0]
		if _, err := tx.Exec(ctx, `UPDATE ask_routes SET status = 'referred' WHERE ask_id = $1 AND node_id = $2 AND status = 'offered'`, askID, from); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE asks SET widened_at = now() WHERE id = $1`, askID); err != nil {
			return err
		}
		if err := community.RecordInteraction(ctx, tx, from, to.ID, community.InteractionReshare, askRef(askID)); err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, askSubject(askID), EventReferred,
			map[string]any{"ask_id": askID, "by": me, "to": to}, false, []int64{a.Asker.ID})
	})
	if err != nil {
		return Route{}, wrap("refer ask", err)
	}
	s.net.PublishEvents(ctx, events)
	return route, nil
}

// pathTo is the introduction path from the asker to node me: its own route's
// path if the ask was offered to it, the shortest path in the tie graph
// otherwise, or just me when there is none.
func (s *Store) pathTo(ctx context.Context, tx pgx.Tx, a Ask, me community.NodeRef) ([]string, error) {
	if me.ID == a.Asker.ID {
		return []string{me.Handle}, nil
	}
	var path []string
	err := tx.QueryRow(ctx, `SELECT path FROM ask_routes WHERE ask_id = $1 AND node_id = $2`, a.ID, me.ID).Scan(&path)
	if err == nil && len(path) > 0 {
		return path, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	t, err := s.tieGraph(ctx)
	if err != nil {
		return nil, err
	}
	src, ok1 := t.index[a.Asker.ID]
	dst, ok2 := t.index[me.ID]
	if ok1 && ok2 {
		if r := t.bfs(src, s.options().MaxHops); r.dist[dst] > 0 {
			path = path[:0]
			for _, v := range r.path(dst) {
				path = append(path, t.handles[v])
			}
			return path, nil
		}
	}
	return []string{me.Handle}, nil
}

// Decline says node will not take up an ask offered to it. When nobody it was
// offered to is left to act and nobody answered, the ask widens on the next
// pass instead of waiting out its time.
func (s *Store) Decline(ctx context.Context, node, askID int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, _, err := lockAsk(ctx, tx, node, askID)
		if err != nil {
			return err
		}
		var status string
		err = tx.QueryRow(ctx, `SELECT status FROM ask_routes WHERE ask_id = $1 AND node_id = $2`, askID, node).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return community.ErrForbidden // only those it was offered to can decline
		}
		if err != nil {
			return err
		}
		switch status {
		case RouteDeclined:
			return nil
		case RouteOffered:
		default:
			return community.Conflict("status", fmt.Sprintf("You already %s this ask.", status))
		}
		if _, err := tx.Exec(ctx, `UPDATE ask_routes SET status = 'declined' WHERE ask_id = $1 AND node_id = $2`, askID, node); err != nil {
			return err
		}
		if a.Status != StatusOpen || a.AnswerCount > 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE asks SET widened_at = now() - widen_after WHERE id = $1
			AND NOT EXISTS (SELECT 1 FROM ask_routes r WHERE r.ask_id = $1 AND r.status IN ('offered', 'referred'))`, askID)
		return err
	})
	return wrap("decline ask", err)
}

// React adds (on) or takes back one of node's reactions to an answer of an
// ask it may read; its author hears of a new one live.
func (s *Store) React(ctx context.Context, node, askID, answerID int64, reaction string, on bool) (Answer, error) {
	reaction = strings.ToLower(strings.TrimSpace(reaction))
	if !slices.Contains(Reactions, reaction) {
		return Answer{}, invalid("reaction", "Use thanks, helpful or insightful.")
	}
	var ans Answer
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := scanAsk(tx.QueryRow(ctx, askSelect+` WHERE a.id = $2 AND `+visibleAsk, node, askID))
		if err != nil {
			return err
		}
		ans, err = scanAnswer(tx.QueryRow(ctx, answerSelect+` WHERE aa.id = $2 AND aa.ask_id = $3`, node, answerID, askID))
		if err != nil {
			return err
		}
		if ans.Author.ID == node {
			return community.ErrForbidden
		}
		if !on {
			_, err := tx.Exec(ctx, `DELETE FROM answer_reactions WHERE answer_id = $1 AND node_id = $2 AND reaction = $3`, answerID, node, reaction)
			if err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, `INSERT INTO answer_reactions (answer_id, node_id, reaction) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				answerID, node, reaction)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				if err := community.RecordInteraction(ctx, tx, node, ans.Author.ID, community.InteractionReaction, askRef(askID)); err != nil {
					return err
				}
				if err := community.AddEvent(ctx, tx, &events, askSubject(askID), EventReacted,
					map[string]any{"ask_id": askID, "ask_title": a.Title, "answer_id": answerID, "reaction": reaction},
					false, []int64{ans.Author.ID}); err != nil {
					return err
				}
			}
		}
		ans, err = scanAnswer(tx.QueryRow(ctx, answerSelect+` WHERE aa.id = $2`, node, answerID))
		return err
	})
	if err != nil {
		return Answer{}, wrap("react", err)
	}
	s.net.PublishEvents(ctx, events)
	return ans, nil
}

// CloseAsk ends an ask: no more answers, no more routing. Only the asker may.
func (s *Store) CloseAsk(ctx context.Context, asker, askID int64) (Ask, error) {
	var out Ask
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, _, err := lockAsk(ctx, tx, asker, askID)
		if err != nil {
			return err
		}
		if a.Asker.ID != asker {
			return community.ErrForbidden
		}
		if a.Status == StatusClosed {
			out = a
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE asks SET status = 'closed' WHERE id = $1`, askID); err != nil {
			return err
		}
		if out, err = scanAsk(tx.QueryRow(ctx, askSelect+` WHERE a.id = $1`, askID)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT node_id FROM ask_routes WHERE ask_id = $1 AND status = 'offered'`, askID)
		if err != nil {
			return err
		}
		to, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, askSubject(askID), EventClosed, map[string]any{"ask_id": askID}, false, append(to, asker))
	})
	if err != nil {
		return Ask{}, wrap("close ask", err)
	}
	s.net.PublishEvents(ctx, events)
	return out, nil
}
