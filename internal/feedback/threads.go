package feedback

// Feedback threads.
//
// Who may read a thread:
//   - a community thread: the community's current members (open and invite-only
//     communities alike: feedback is for members, so an open community's thread
//     is not public);
//   - a thread addressed to peers: its author and the peers asked.
//
// Every reader is a participant: any reader may reply, react and propose a
// summary. The thread resolves when its author proposes a summary, or when two
// different participants have proposed one (whatever their wording; the
// latest proposal becomes the summary). A resolved thread stays readable and
// searchable but takes no new replies and no edits (409).
//
// Anonymous replies are allowed where the group is at least MinAnonymousGroup:
// for a peer thread the people asked, for a community thread its members. An
// anonymous reply has no author in replies; the author is kept apart in
// reply_authors, which is read only to check the author's own edits and to
// spare them their own unread counts, reminders and "asked of you" entries
// (answers only they see), never to show anyone who wrote it. For the same
// reason an anonymous reply records no interaction (reply, mention, feedback,
// nor reactions to it): interaction metadata feeds the analytics and the
// connection strengths, and would name its author there. It does not mark a
// feedback request answered either: the author sees who has answered, and an
// answer appearing with an anonymous reply would name its writer.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/sharetext"
)

// Kinds of thread.
const (
	KindFeedbackRequest = "feedback_request"
	KindRetrospective   = "retrospective"
	KindIdea            = "idea"
	KindQuestion        = "question"
)

// ThreadKinds lists the kinds of thread, in the order forms offer them.
var ThreadKinds = []string{KindFeedbackRequest, KindRetrospective, KindIdea, KindQuestion}

// Reactions is the fixed set of reactions to a reply, in display order.
var Reactions = []string{"thanks", "agree", "insightful", "question", "celebrate"}

// Statuses of a thread.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
)

const (
	// MinAnonymousGroup is how many people must be asked (peer thread) or be
	// members (community thread) before anyone may reply anonymously: in a
	// smaller group an anonymous reply is hardly anonymous.
	MinAnonymousGroup = 5
	// MaxThreadPeers is how many peers one thread may ask.
	MaxThreadPeers = 50
	// MaxThreadTitle and MaxThreadBody bound a thread's text, in characters.
	MaxThreadTitle = 200
	MaxThreadBody  = 10000
	// MaxReplyBody bounds a reply, in characters.
	MaxReplyBody = 10000
	// MaxSummary bounds a resolution summary, in characters.
	MaxSummary = 2000
	// maxThreadReplies is how many replies one thread read returns.
	maxThreadReplies = 1000
)

// ThreadInput is a new thread: in a community (CommunitySlug) or addressed to
// peers (ToHandles). A community thread may also ask some of its members
// (ToHandles), who then get the request, reminders and answered tracking.
type ThreadInput struct {
	CommunitySlug string
	ToHandles     []string
	Kind          string
	Title         string
	Body          string
	DueAt         *time.Time
}

// Thread is a thread as every reader sees it.
type Thread struct {
	ID         int64                   `json:"id"`
	Author     community.NodeRef       `json:"author"`
	Community  *community.CommunityRef `json:"community,omitempty"`
	To         []community.NodeRef     `json:"to"` // the peers asked
	Kind       string                  `json:"kind"`
	Title      string                  `json:"title"`
	Body       string                  `json:"body"`
	DueAt      *time.Time              `json:"due_at,omitempty"`
	Status     string                  `json:"status"`
	Summary    string                  `json:"summary,omitempty"`
	ResolvedAt *time.Time              `json:"resolved_at,omitempty"`
	CreatedAt  time.Time               `json:"created_at"`
	Replies    int                     `json:"replies"`
	// AnonymousAllowed says whether replies may be anonymous (MinAnonymousGroup).
	AnonymousAllowed bool `json:"anonymous_allowed"`
}

// ThreadItem is a thread as one viewer sees it in a list: with its unread count.
type ThreadItem struct {
	Thread
	Unread    int  `json:"unread"`      // replies after the viewer's read position, not the viewer's own
	Seen      bool `json:"seen"`        // the viewer has a read position (opened it)
	AskedOfMe bool `json:"asked_of_me"` // the viewer was asked for feedback
	Answered  bool `json:"answered"`    // … and has replied
}

// Request is one peer asked for feedback, as the thread's author sees it.
type Request struct {
	Node       community.NodeRef `json:"node"`
	AskedAt    time.Time         `json:"asked_at"`
	Answered   bool              `json:"answered"`
	AnsweredAt *time.Time        `json:"answered_at,omitempty"`
}

// Quote is the reply a reply quotes.
type Quote struct {
	ID        int64              `json:"id"`
	Author    *community.NodeRef `json:"author"` // nil when anonymous
	Anonymous bool               `json:"anonymous"`
	Body      string             `json:"body"`
}

// Reply is one reply in a thread. Author is nil for an anonymous reply.
type Reply struct {
	ID        int64              `json:"id"`
	ThreadID  int64              `json:"thread_id"`
	Author    *community.NodeRef `json:"author"`
	Anonymous bool               `json:"anonymous"`
	Quote     *Quote             `json:"quote,omitempty"`
	Body      string             `json:"body"`
	Mentions  []string           `json:"mentions"` // handles
	Reactions map[string]int     `json:"reactions"`
	CreatedAt time.Time          `json:"created_at"`
	EditedAt  *time.Time         `json:"edited_at,omitempty"`
	// Viewer-specific, absent from events: the viewer wrote it (also an
	// anonymous one: only its author is told), and the viewer's reactions.
	Mine        bool     `json:"mine,omitempty"`
	MyReactions []string `json:"my_reactions,omitempty"`
}

// ReplyInput is a new reply.
type ReplyInput struct {
	Body      string
	Anonymous bool
	QuoteID   int64 // 0: quotes nothing
}

// ReplyEdit is an earlier version of a reply.
type ReplyEdit struct {
	Body     string    `json:"body"`
	EditedAt time.Time `json:"edited_at"`
}

// ResolveProposal is a participant's proposed summary.
type ResolveProposal struct {
	By        community.NodeRef `json:"by"`
	Summary   string            `json:"summary"`
	CreatedAt time.Time         `json:"created_at"`
}

// ThreadDetail is one thread with everything its viewer may see.
type ThreadDetail struct {
	Thread    ThreadItem        `json:"thread"`
	Replies   []Reply           `json:"replies"`
	Requests  []Request         `json:"requests,omitempty"` // for the author only
	Proposals []ResolveProposal `json:"resolve_proposals"`
	LastRead  int64             `json:"last_read_reply_id"`
}

// ReactionState is a reply's reactions after a toggle.
type ReactionState struct {
	ThreadID    int64          `json:"thread_id"`
	ReplyID     int64          `json:"reply_id"`
	Reactions   map[string]int `json:"reactions"`
	MyReactions []string       `json:"my_reactions"`
	Added       bool           `json:"added"` // false: the toggle took it back
}

// ReadState is a viewer's read position in a thread.
type ReadState struct {
	ThreadID    int64 `json:"thread_id"`
	LastReplyID int64 `json:"last_reply_id"`
	Unread      int   `json:"unread"`
}

// Resolution is the outcome of proposing a summary.
type Resolution struct {
	Resolved  bool              `json:"resolved"`
	Thread    Thread            `json:"thread"`
	Proposals []ResolveProposal `json:"resolve_proposals"`
}

// RequestNotice is the object of thread.requested and thread.reminder events.
type RequestNotice struct {
	Thread  Thread    `json:"thread"`
	AskedAt time.Time `json:"asked_at"`
}

// ThreadFilter narrows a list of threads; Before is the keyset cursor (a thread id).
type ThreadFilter struct {
	Community string // slug
	Status    string // open, resolved or "" for both
	// Scope: "" every thread the viewer may read; "mine" the viewer's own;
	// "asked" where the viewer was asked for feedback; "community" community
	// threads by others.
	Scope      string
	Unanswered bool   // with scope asked: only requests the viewer has not answered
	Q          string // full-text search in title, body and summary
	Before     int64
	Limit      int
}

// ---------------------------------------------------------------------------
// SQL.
// ---------------------------------------------------------------------------

// threadReadable is the condition under which thread t may be read by node $1.
const threadReadable = `(CASE WHEN t.community_id IS NULL
	THEN t.author_id = $1 OR EXISTS (SELECT 1 FROM thread_requests vq WHERE vq.thread_id = t.id AND vq.node_id = $1)
	ELSE EXISTS (SELECT 1 FROM community_members vm WHERE vm.community_id = t.community_id AND vm.node_id = $1) END)`

// threadReadersSQL lists the nodes that may read thread $1.
const threadReadersSQL = `SELECT m.node_id FROM threads t JOIN community_members m ON m.community_id = t.community_id WHERE t.id = $1
	UNION SELECT t.author_id FROM threads t WHERE t.id = $1 AND t.community_id IS NULL
	UNION SELECT q.node_id FROM threads t JOIN thread_requests q ON q.thread_id = t.id WHERE t.id = $1 AND t.community_id IS NULL`

// threadGroupSize is the size of thread t's group for the anonymity rule.
const threadGroupSize = `(CASE WHEN t.community_id IS NULL
	THEN (SELECT count(*) FROM thread_requests gq WHERE gq.thread_id = t.id)
	ELSE (SELECT count(*) FROM community_members gm WHERE gm.community_id = t.community_id) END)::int`

// answeredByViewer is whether viewer $1 answered thread t: their request (rq)
// is marked answered, or they replied, by name or anonymously.
const answeredByViewer = `(rq.answered_at IS NOT NULL OR EXISTS (SELECT 1 FROM replies r JOIN reply_authors ra ON ra.reply_id = r.id
		WHERE r.thread_id = t.id AND ra.node_id = $1))`

// threadSelect reads a thread and its viewer's state (viewer $1; 0 for none).
const threadSelect = `SELECT t.id, a.id, a.handle, a.display_name, c.slug, c.name,
	coalesce((SELECT json_agg(json_build_object('id', n.id, 'handle', n.handle, 'display_name', n.display_name) ORDER BY n.display_name, n.id)
		FROM thread_requests q JOIN nodes n ON n.id = q.node_id WHERE q.thread_id = t.id), '[]'),
	t.kind, t.title, t.body, t.due_at, t.status, t.summary, t.resolved_at, t.created_at,
	(SELECT count(*) FROM replies r WHERE r.thread_id = t.id)::int,
	` + threadGroupSize + `,
	(SELECT count(*) FROM replies r WHERE r.thread_id = t.id AND r.id > coalesce(tr.last_reply_id, 0)
		AND r.author_id IS DISTINCT FROM $1
		AND NOT EXISTS (SELECT 1 FROM reply_authors ra WHERE ra.reply_id = r.id AND ra.node_id = $1))::int,
	tr.node_id IS NOT NULL, coalesce(tr.last_reply_id, 0),
	rq.node_id IS NOT NULL,
	` + answeredByViewer + `
	FROM threads t
	JOIN nodes a ON a.id = t.author_id
	LEFT JOIN communities c ON c.id = t.community_id
	LEFT JOIN thread_reads tr ON tr.thread_id = t.id AND tr.node_id = $1
	LEFT JOIN thread_requests rq ON rq.thread_id = t.id AND rq.node_id = $1`

// collectThreads reads the rows of a threadSelect query.
func collectThreads(rows pgx.Rows) ([]ThreadItem, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ThreadItem, error) {
		it, _, err := scanThread(r)
		return it, err
	})
}

func scanThread(row pgx.Row) (ThreadItem, int64, error) {
	var it ThreadItem
	var slug, name *string
	var group int
	var lastRead int64
	err := row.Scan(&it.ID, &it.Author.ID, &it.Author.Handle, &it.Author.DisplayName, &slug, &name, &it.To,
		&it.Kind, &it.Title, &it.Body, &it.DueAt, &it.Status, &it.Summary, &it.ResolvedAt, &it.CreatedAt,
		&it.Replies, &group, &it.Unread, &it.Seen, &lastRead, &it.AskedOfMe, &it.Answered)
	if errors.Is(err, pgx.ErrNoRows) {
		return it, 0, community.ErrNotFound
	}
	if err != nil {
		return it, 0, err
	}
	if slug != nil {
		it.Community = &community.CommunityRef{Slug: *slug, Name: *name}
	}
	if it.To == nil {
		it.To = []community.NodeRef{}
	}
	it.AnonymousAllowed = group >= MinAnonymousGroup
	return it, lastRead, nil
}

// replySelect reads replies with the viewer's state (viewer $1; 0 for none).
// The author of an anonymous reply is never joined.
const replySelect = `SELECT r.id, r.thread_id, a.id, a.handle, a.display_name, r.anonymous, r.body,
	coalesce((SELECT array_agg(mn.handle ORDER BY mn.handle) FROM nodes mn WHERE mn.id = ANY(r.mentions)), '{}'),
	r.created_at, r.edited_at,
	q.id, coalesce(q.anonymous, false), qa.id, qa.handle, qa.display_name, q.body,
	coalesce((SELECT json_object_agg(x.reaction, x.n) FROM (SELECT reaction, count(*) AS n FROM reactions
		WHERE reply_id = r.id GROUP BY reaction) x), '{}'),
	$1::bigint <> 0 AND (r.author_id IS NOT DISTINCT FROM $1 OR EXISTS (SELECT 1 FROM reply_authors ra WHERE ra.reply_id = r.id AND ra.node_id = $1)),
	coalesce((SELECT array_agg(reaction ORDER BY reaction) FROM reactions WHERE reply_id = r.id AND node_id = $1), '{}')
	FROM replies r
	LEFT JOIN nodes a ON a.id = r.author_id AND NOT r.anonymous
	LEFT JOIN replies q ON q.id = r.quote_id AND q.thread_id = r.thread_id
	LEFT JOIN nodes qa ON qa.id = q.author_id AND NOT q.anonymous`

func scanReply(row pgx.Row) (Reply, error) {
	var rp Reply
	var aID, qID, qaID *int64
	var aHandle, aName, qaHandle, qaName, qBody *string
	var qAnon bool
	err := row.Scan(&rp.ID, &rp.ThreadID, &aID, &aHandle, &aName, &rp.Anonymous, &rp.Body, &rp.Mentions,
		&rp.CreatedAt, &rp.EditedAt, &qID, &qAnon, &qaID, &qaHandle, &qaName, &qBody,
		&rp.Reactions, &rp.Mine, &rp.MyReactions)
	if errors.Is(err, pgx.ErrNoRows) {
		return rp, community.ErrNotFound
	}
	if err != nil {
		return rp, err
	}
	if aID != nil && !rp.Anonymous {
		rp.Author = &community.NodeRef{ID: *aID, Handle: *aHandle, DisplayName: *aName}
	}
	if qID != nil {
		rp.Quote = &Quote{ID: *qID, Anonymous: qAnon, Body: *qBody}
		if qaID != nil && !qAnon {
			rp.Quote.Author = &community.NodeRef{ID: *qaID, Handle: *qaHandle, DisplayName: *qaName}
		}
	}
	rp.Reactions = fullReactions(rp.Reactions)
	if len(rp.MyReactions) == 0 {
		rp.MyReactions = nil
	}
	return rp, nil
}

// fullReactions gives every reaction of the set a count, zero included.
func fullReactions(m map[string]int) map[string]int {
	out := make(map[string]int, len(Reactions))
	for _, r := range Reactions {
		out[r] = m[r]
	}
	return out
}

// neutral strips the viewer's state from a reply, for events every reader gets.
func (rp Reply) neutral() Reply {
	rp.Mine, rp.MyReactions = false, nil
	return rp
}

func threadSubject(id int64) string { return "nc.evt.thread." + strconv.FormatInt(id, 10) }
func threadRef(id int64) string     { return "thread:" + strconv.FormatInt(id, 10) }

func threadInvalid(field, format string, args ...any) error {
	return &community.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// threadErr prefixes unexpected errors and passes the domain's own through.
func threadErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *community.ValidationError
	if errors.As(err, &ve) || errors.Is(err, community.ErrNotFound) || errors.Is(err, community.ErrConflict) ||
		errors.Is(err, community.ErrForbidden) || errors.Is(err, community.ErrUnauthorized) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// threadText trims text and replaces invalid UTF-8, as shares do.
func threadText(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")) }

func threadReaders(ctx context.Context, tx pgx.Tx, id int64) ([]int64, error) {
	rows, err := tx.Query(ctx, threadReadersSQL, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// threadMentions resolves the @handles of body to active nodes.
func threadMentions(ctx context.Context, tx pgx.Tx, body string) ([]int64, error) {
	handles := sharetext.Parse(body).Mentions
	if len(handles) == 0 {
		return []int64{}, nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM nodes WHERE handle = ANY($1) AND deactivated_at IS NULL ORDER BY id`, handles)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// threadOnly keeps the ids that are in allowed.
func threadOnly(ids, allowed []int64) []int64 {
	out := []int64{}
	for _, id := range ids {
		if slices.Contains(allowed, id) {
			out = append(out, id)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Threads.
// ---------------------------------------------------------------------------

func (in *ThreadInput) normalise(now time.Time) error {
	in.Kind = strings.ToLower(strings.TrimSpace(in.Kind))
	in.Title = threadText(in.Title)
	in.Body = threadText(in.Body)
	in.CommunitySlug = strings.ToLower(strings.TrimSpace(in.CommunitySlug))
	if !slices.Contains(ThreadKinds, in.Kind) {
		return threadInvalid("kind", "choose one of feedback_request, retrospective, idea or question")
	}
	if n := utf8.RuneCountInString(in.Title); n < 1 || n > MaxThreadTitle {
		return threadInvalid("title", "give the thread a title of 1 to %d characters", MaxThreadTitle)
	}
	if n := utf8.RuneCountInString(in.Body); n > MaxThreadBody {
		return threadInvalid("body", "a thread holds at most %d characters; this one has %d", MaxThreadBody, n)
	}
	if in.DueAt != nil && !in.DueAt.After(now) {
		return threadInvalid("due_at", "the due date has passed; choose a later one")
	}
	var handles []string
	for _, h := range in.ToHandles {
		h = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
		if h != "" && !slices.Contains(handles, h) {
			handles = append(handles, h)
		}
	}
	in.ToHandles = handles
	if in.CommunitySlug == "" && len(in.ToHandles) == 0 {
		return threadInvalid("to_handles", "name a community, or the people to ask")
	}
	if len(in.ToHandles) > MaxThreadPeers {
		return threadInvalid("to_handles", "ask at most %d people in one thread", MaxThreadPeers)
	}
	return nil
}

// CreateThread starts a thread in a community the author belongs to, or
// addressed to peers; each peer asked gets a thread.requested event at once.
func (s *Store) CreateThread(ctx context.Context, author int64, in ThreadInput) (Thread, error) {
	if err := in.normalise(time.Now()); err != nil {
		return Thread{}, err
	}
	var th Thread
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var communityID *int64
		if in.CommunitySlug != "" {
			var id int64
			var open, member bool
			err := tx.QueryRow(ctx, `SELECT c.id, c.open, EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $2)
				FROM communities c WHERE c.slug = $1`, in.CommunitySlug, author).Scan(&id, &open, &member)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && !open && !member) {
				return threadInvalid("community_slug", "there is no community %q you can see", in.CommunitySlug)
			}
			if err != nil {
				return err
			}
			if !member {
				return community.ErrForbidden
			}
			communityID = &id
		}
		asked, err := threadPeers(ctx, tx, author, communityID, in.ToHandles)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO threads (author_id, community_id, kind, title, body, due_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			author, communityID, in.Kind, in.Title, in.Body, in.DueAt).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO thread_requests (thread_id, node_id) SELECT $1, unnest($2::bigint[])`, id, asked); err != nil {
			return err
		}
		readers, err := threadReaders(ctx, tx, id)
		if err != nil {
			return err
		}
		// A mention counts as an interaction only with someone who can read it.
		mentions, err := threadMentions(ctx, tx, in.Body)
		if err != nil {
			return err
		}
		if err := community.RecordInteractions(ctx, tx, author, threadOnly(mentions, readers), community.InteractionMention, threadRef(id)); err != nil {
			return err
		}
		it, _, err := scanThread(tx.QueryRow(ctx, threadSelect+` WHERE t.id = $2`, int64(0), id))
		if err != nil {
			return err
		}
		th = it.Thread
		if err := community.AddEvent(ctx, tx, &events, threadSubject(id), "thread.created", th, false, readers); err != nil {
			return err
		}
		if len(asked) > 0 {
			var at time.Time
			if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&at); err != nil {
				return err
			}
			return community.AddEvent(ctx, tx, &events, threadSubject(id), "thread.requested", RequestNotice{Thread: th, AskedAt: at}, false, asked)
		}
		return nil
	})
	if err != nil {
		return Thread{}, threadErr("create thread", err)
	}
	s.net.PublishEvents(ctx, events)
	return th, nil
}

// threadPeers resolves the handles to ask: active people other than the author
// and, in a community thread, its members.
func threadPeers(ctx context.Context, tx pgx.Tx, author int64, communityID *int64, handles []string) ([]int64, error) {
	ids := []int64{}
	for _, h := range handles {
		var id int64
		var member bool
		err := tx.QueryRow(ctx, `SELECT n.id, $2::bigint IS NULL OR EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = $2 AND m.node_id = n.id)
			FROM nodes n WHERE n.handle = $1 AND n.deactivated_at IS NULL`, h, communityID).Scan(&id, &member)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, threadInvalid("to_handles", "there is no one with the handle %q", h)
		}
		if err != nil {
			return nil, err
		}
		if id == author {
			return nil, threadInvalid("to_handles", "you cannot ask yourself; name the people whose feedback you want")
		}
		if !member {
			return nil, threadInvalid("to_handles", "%q is not a member of this community", h)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// FindThread returns a thread viewer may read, with its replies; the author
// also gets who was asked and who has answered (ErrNotFound when viewer may
// not read it).
func (s *Store) FindThread(ctx context.Context, viewer, id int64) (ThreadDetail, error) {
	var d ThreadDetail
	it, lastRead, err := scanThread(s.pool.QueryRow(ctx, threadSelect+` WHERE t.id = $2 AND `+threadReadable, viewer, id))
	if err != nil {
		return d, threadErr("find thread", err)
	}
	d.Thread, d.LastRead = it, lastRead
	rows, err := s.pool.Query(ctx, replySelect+` WHERE r.thread_id = $2 ORDER BY r.id LIMIT $3`, viewer, id, maxThreadReplies)
	if err != nil {
		return d, fmt.Errorf("find thread: replies: %w", err)
	}
	if d.Replies, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reply, error) { return scanReply(r) }); err != nil {
		return d, fmt.Errorf("find thread: replies: %w", err)
	}
	if it.Author.ID == viewer {
		if d.Requests, err = s.threadRequests(ctx, id); err != nil {
			return d, fmt.Errorf("find thread: %w", err)
		}
	}
	if d.Proposals, err = resolveProposals(ctx, s.pool, id); err != nil {
		return d, fmt.Errorf("find thread: %w", err)
	}
	return d, nil
}

func (s *Store) threadRequests(ctx context.Context, id int64) ([]Request, error) {
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.handle, n.display_name, q.asked_at, q.answered_at IS NOT NULL, q.answered_at
		FROM thread_requests q JOIN nodes n ON n.id = q.node_id WHERE q.thread_id = $1 ORDER BY q.answered_at IS NOT NULL, n.display_name, n.id`, id)
	if err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Request, error) {
		var q Request
		err := r.Scan(&q.Node.ID, &q.Node.Handle, &q.Node.DisplayName, &q.AskedAt, &q.Answered, &q.AnsweredAt)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	return out, nil
}

// ThreadRequests lists who was asked and who has answered, for the thread's
// author only (ErrForbidden for other readers, ErrNotFound for the rest).
func (s *Store) ThreadRequests(ctx context.Context, viewer, id int64) ([]Request, error) {
	var author int64
	err := s.pool.QueryRow(ctx, `SELECT t.author_id FROM threads t WHERE t.id = $2 AND `+threadReadable, viewer, id).Scan(&author)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, community.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("thread requests: %w", err)
	}
	if author != viewer {
		return nil, community.ErrForbidden
	}
	return s.threadRequests(ctx, id)
}

// CanReadThread reports whether viewer may read thread id (ErrNotFound if not).
func (s *Store) CanReadThread(ctx context.Context, viewer, id int64) error {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT true FROM threads t WHERE t.id = $2 AND `+threadReadable, viewer, id).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return community.ErrNotFound
	}
	return threadErr("can read thread", err)
}

// ListThreads lists the threads viewer may read, newest first.
func (s *Store) ListThreads(ctx context.Context, viewer int64, f ThreadFilter) ([]ThreadItem, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	f.Status = strings.ToLower(strings.TrimSpace(f.Status))
	if f.Status != "" && f.Status != StatusOpen && f.Status != StatusResolved {
		return nil, threadInvalid("status", "use open or resolved")
	}
	switch f.Scope {
	case "", "mine", "asked", "community":
	default:
		return nil, threadInvalid("scope", "use mine, asked or community")
	}
	q := threadText(f.Q)
	rows, err := s.pool.Query(ctx, threadSelect+` WHERE `+threadReadable+`
		AND ($2::bigint = 0 OR t.id < $2)
		AND ($4 = '' OR c.slug = $4)
		AND ($5 = '' OR t.status = $5)
		AND ($6 = '' OR ($6 = 'mine' AND t.author_id = $1) OR ($6 = 'asked' AND rq.node_id IS NOT NULL)
			OR ($6 = 'community' AND t.community_id IS NOT NULL AND t.author_id <> $1))
		AND (NOT $7 OR NOT `+answeredByViewer+`)
		AND ($8 = '' OR t.search @@ plainto_tsquery('simple', $8))
		ORDER BY t.id DESC LIMIT $3`,
		viewer, f.Before, f.Limit, strings.ToLower(f.Community), f.Status, f.Scope, f.Unanswered, q)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	out, err := collectThreads(rows)
	return out, threadErr("list threads", err)
}

// FeedbackRequests lists the open threads that ask node for feedback it has
// not given yet, newest first: the dashboard's "Feedback asked of you".
//
// It is ListThreads' scope "asked", open, unanswered, as a query of its own:
// the dashboard asks it on every view, and ListThreads' catch-all filters
// make PostgreSQL plan that query afresh each time (1.7 ms of planning for
// 0.015 ms of work); this one starts from the node's requests and keeps one plan.
func (s *Store) FeedbackRequests(ctx context.Context, node int64, limit int) ([]ThreadItem, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	rows, err := s.pool.Query(ctx, threadSelect+` WHERE rq.node_id IS NOT NULL AND `+threadReadable+`
		AND t.status = 'open' AND NOT `+answeredByViewer+`
		ORDER BY t.id DESC LIMIT $2`, node, limit)
	if err != nil {
		return nil, fmt.Errorf("feedback requests: %w", err)
	}
	out, err := collectThreads(rows)
	return out, threadErr("feedback requests", err)
}

// ---------------------------------------------------------------------------
// Replies.
// ---------------------------------------------------------------------------

// lockThread reads thread id for a write by node: FOR SHARE lets replies run
// side by side while a resolution (FOR UPDATE) waits for them and they for it.
func lockThread(ctx context.Context, tx pgx.Tx, node, id int64, forUpdate bool) (ThreadItem, error) {
	lock := ` FOR SHARE OF t`
	if forUpdate {
		lock = ` FOR UPDATE OF t`
	}
	it, _, err := scanThread(tx.QueryRow(ctx, threadSelect+` WHERE t.id = $2 AND `+threadReadable+lock, node, id))
	return it, err
}

func validReplyBody(body string) (string, error) {
	body = threadText(body)
	if body == "" {
		return "", threadInvalid("body", "write something to reply")
	}
	if n := utf8.RuneCountInString(body); n > MaxReplyBody {
		return "", threadInvalid("body", "a reply holds at most %d characters; this one has %d", MaxReplyBody, n)
	}
	return body, nil
}

var errThreadResolved = community.Conflict("thread", "this thread is resolved: it takes no new replies or edits")

// Reply adds a reply to a thread node may read. See the package notes for
// what an anonymous reply does and does not record.
func (s *Store) Reply(ctx context.Context, node, threadID int64, in ReplyInput) (Reply, error) {
	body, err := validReplyBody(in.Body)
	if err != nil {
		return Reply{}, err
	}
	var rp Reply
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		th, err := lockThread(ctx, tx, node, threadID, false)
		if err != nil {
			return err
		}
		if th.Status == StatusResolved {
			return errThreadResolved
		}
		if in.Anonymous && !th.AnonymousAllowed {
			what := "members in the community"
			if th.Community == nil {
				what = "people asked"
			}
			return threadInvalid("anonymous", "anonymous replies need at least %d %s; here you reply under your name", MinAnonymousGroup, what)
		}
		var quoted *Reply
		if in.QuoteID != 0 {
			q, err := scanReply(tx.QueryRow(ctx, replySelect+` WHERE r.id = $2 AND r.thread_id = $3`, int64(0), in.QuoteID, threadID))
			if errors.Is(err, community.ErrNotFound) {
				return threadInvalid("quote_id", "quote a reply of this thread")
			}
			if err != nil {
				return err
			}
			quoted = &q
		}
		mentions, err := threadMentions(ctx, tx, body)
		if err != nil {
			return err
		}
		var authorID, quoteID *int64
		if !in.Anonymous {
			authorID = &node
		}
		if quoted != nil {
			quoteID = &quoted.ID
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO replies (thread_id, author_id, anonymous, quote_id, body, mentions)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, threadID, authorID, in.Anonymous, quoteID, body, mentions).Scan(&id); err != nil {
			return err
		}
		readers, err := threadReaders(ctx, tx, threadID)
		if err != nil {
			return err
		}
		if in.Anonymous {
			if _, err := tx.Exec(ctx, `INSERT INTO reply_authors (reply_id, node_id) VALUES ($1, $2)`, id, node); err != nil {
				return err
			}
		} else if err := recordReplyInteractions(ctx, tx, node, th.Thread, quoted, threadOnly(mentions, readers)); err != nil {
			return err
		}
		if rp, err = scanReply(tx.QueryRow(ctx, replySelect+` WHERE r.id = $2`, node, id)); err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, threadSubject(threadID), "thread.reply", rp.neutral(), false, readers)
	})
	if err != nil {
		return Reply{}, threadErr("reply", err)
	}
	s.net.PublishEvents(ctx, events)
	return rp, nil
}

// recordReplyInteractions records a named reply: reply to the thread's author
// and to the quoted reply's author, mention to those mentioned who may read it,
// and — when it answers a request for feedback — feedback to the thread's
// author, marking the request answered.
func recordReplyInteractions(ctx context.Context, tx pgx.Tx, node int64, th Thread, quoted *Reply, mentions []int64) error {
	ref := threadRef(th.ID)
	to := []int64{th.Author.ID}
	if quoted != nil && quoted.Author != nil {
		to = append(to, quoted.Author.ID)
	}
	if err := community.RecordInteractions(ctx, tx, node, to, community.InteractionReply, ref); err != nil {
		return err
	}
	if err := community.RecordInteractions(ctx, tx, node, mentions, community.InteractionMention, ref); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE thread_requests SET answered_at = now() WHERE thread_id = $1 AND node_id = $2 AND answered_at IS NULL`, th.ID, node)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return community.RecordInteraction(ctx, tx, node, th.Author.ID, community.InteractionFeedback, ref)
	}
	return nil
}

// EditReply replaces the text of node's own reply (anonymous ones included:
// the author is checked in reply_authors and never revealed); the old text is
// kept in reply_edits.
func (s *Store) EditReply(ctx context.Context, node, threadID, replyID int64, body string) (Reply, error) {
	body, err := validReplyBody(body)
	if err != nil {
		return Reply{}, err
	}
	var rp Reply
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		th, err := lockThread(ctx, tx, node, threadID, false)
		if err != nil {
			return err
		}
		var old string
		var mine bool
		err = tx.QueryRow(ctx, `SELECT r.body, r.author_id IS NOT DISTINCT FROM $3 OR EXISTS (SELECT 1 FROM reply_authors ra WHERE ra.reply_id = r.id AND ra.node_id = $3)
			FROM replies r WHERE r.id = $1 AND r.thread_id = $2 FOR UPDATE`, replyID, threadID, node).Scan(&old, &mine)
		if errors.Is(err, pgx.ErrNoRows) {
			return community.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !mine {
			return community.ErrForbidden
		}
		if th.Status == StatusResolved {
			return errThreadResolved
		}
		if old != body {
			mentions, err := threadMentions(ctx, tx, body)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO reply_edits (reply_id, body) VALUES ($1, $2)`, replyID, old); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE replies SET body = $2, mentions = $3, edited_at = now() WHERE id = $1`, replyID, body, mentions); err != nil {
				return err
			}
		}
		if rp, err = scanReply(tx.QueryRow(ctx, replySelect+` WHERE r.id = $2`, node, replyID)); err != nil {
			return err
		}
		if old == body {
			return nil
		}
		readers, err := threadReaders(ctx, tx, threadID)
		if err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, threadSubject(threadID), "thread.reply_edited", rp.neutral(), false, readers)
	})
	if err != nil {
		return Reply{}, threadErr("edit reply", err)
	}
	s.net.PublishEvents(ctx, events)
	return rp, nil
}

// FindReply returns one reply of a thread viewer may read.
func (s *Store) FindReply(ctx context.Context, viewer, threadID, replyID int64) (Reply, error) {
	if err := s.CanReadThread(ctx, viewer, threadID); err != nil {
		return Reply{}, err
	}
	rp, err := scanReply(s.pool.QueryRow(ctx, replySelect+` WHERE r.id = $2 AND r.thread_id = $3`, viewer, replyID, threadID))
	return rp, threadErr("find reply", err)
}

// ReplyHistory lists the earlier versions of a reply viewer may read, newest first.
func (s *Store) ReplyHistory(ctx context.Context, viewer, threadID, replyID int64) ([]ReplyEdit, error) {
	if _, err := s.FindReply(ctx, viewer, threadID, replyID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT body, edited_at FROM reply_edits WHERE reply_id = $1 ORDER BY id DESC`, replyID)
	if err != nil {
		return nil, fmt.Errorf("reply history: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ReplyEdit])
	return out, threadErr("reply history", err)
}

// React toggles node's reaction on a reply: the first call adds it, the next
// takes it back. Adding one records a reaction interaction with the reply's
// author, unless the reply is anonymous.
func (s *Store) React(ctx context.Context, node, threadID, replyID int64, reaction string) (ReactionState, error) {
	reaction = strings.ToLower(strings.TrimSpace(reaction))
	if !slices.Contains(Reactions, reaction) {
		return ReactionState{}, threadInvalid("reaction", "use one of %s", strings.Join(Reactions, ", "))
	}
	st := ReactionState{ThreadID: threadID, ReplyID: replyID}
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockThread(ctx, tx, node, threadID, false); err != nil {
			return err
		}
		var author *int64
		err := tx.QueryRow(ctx, `SELECT CASE WHEN anonymous THEN NULL ELSE author_id END FROM replies WHERE id = $1 AND thread_id = $2 FOR UPDATE`,
			replyID, threadID).Scan(&author)
		if errors.Is(err, pgx.ErrNoRows) {
			return community.ErrNotFound
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM reactions WHERE reply_id = $1 AND node_id = $2 AND reaction = $3`, replyID, node, reaction)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			st.Added = true
			if _, err := tx.Exec(ctx, `INSERT INTO reactions (reply_id, node_id, reaction) VALUES ($1, $2, $3)`, replyID, node, reaction); err != nil {
				return err
			}
			if author != nil {
				if err := community.RecordInteraction(ctx, tx, node, *author, community.InteractionReaction, threadRef(threadID)); err != nil {
					return err
				}
			}
		}
		if st.Reactions, st.MyReactions, err = reactionCounts(ctx, tx, node, replyID); err != nil {
			return err
		}
		readers, err := threadReaders(ctx, tx, threadID)
		if err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, threadSubject(threadID), "thread.reaction",
			map[string]any{"thread_id": threadID, "reply_id": replyID, "reactions": st.Reactions}, false, readers)
	})
	if err != nil {
		return ReactionState{}, threadErr("react", err)
	}
	s.net.PublishEvents(ctx, events)
	return st, nil
}

func reactionCounts(ctx context.Context, db community.DBTX, viewer, replyID int64) (map[string]int, []string, error) {
	var counts map[string]int
	var mine []string
	err := db.QueryRow(ctx, `SELECT
		coalesce((SELECT json_object_agg(x.reaction, x.n) FROM (SELECT reaction, count(*) AS n FROM reactions WHERE reply_id = $2 GROUP BY reaction) x), '{}'),
		coalesce((SELECT array_agg(reaction ORDER BY reaction) FROM reactions WHERE reply_id = $2 AND node_id = $1), '{}')`,
		viewer, replyID).Scan(&counts, &mine)
	return fullReactions(counts), mine, err
}

// ReactionsOf returns a reply's reaction counts and viewer's own reactions.
func (s *Store) ReactionsOf(ctx context.Context, viewer, threadID, replyID int64) (ReactionState, error) {
	rp, err := s.FindReply(ctx, viewer, threadID, replyID)
	if err != nil {
		return ReactionState{}, err
	}
	return ReactionState{ThreadID: threadID, ReplyID: replyID, Reactions: rp.Reactions, MyReactions: rp.MyReactions}, nil
}

// MarkRead moves node's read position in a thread forward to lastReplyID
// (never back; past the newest reply it stops at the newest).
func (s *Store) MarkRead(ctx context.Context, node, threadID, lastReplyID int64) (ReadState, error) {
	if lastReplyID < 0 {
		return ReadState{}, threadInvalid("last_reply_id", "give the id of the last reply you read (0 for none)")
	}
	st := ReadState{ThreadID: threadID}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockThread(ctx, tx, node, threadID, false); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO thread_reads (thread_id, node_id, last_reply_id)
			VALUES ($1, $2, least($3, coalesce((SELECT max(id) FROM replies WHERE thread_id = $1), 0)))
			ON CONFLICT (thread_id, node_id) DO UPDATE SET last_reply_id = greatest(thread_reads.last_reply_id, EXCLUDED.last_reply_id)
			RETURNING last_reply_id`, threadID, node, lastReplyID).Scan(&st.LastReplyID)
		if err != nil {
			return err
		}
		it, _, err := scanThread(tx.QueryRow(ctx, threadSelect+` WHERE t.id = $2`, node, threadID))
		st.Unread = it.Unread
		return err
	})
	return st, threadErr("mark read", err)
}

// ---------------------------------------------------------------------------
// Resolution.
// ---------------------------------------------------------------------------

func resolveProposals(ctx context.Context, db community.DBTX, threadID int64) ([]ResolveProposal, error) {
	rows, err := db.Query(ctx, `SELECT n.id, n.handle, n.display_name, p.summary, p.created_at
		FROM resolve_proposals p JOIN nodes n ON n.id = p.node_id WHERE p.thread_id = $1 ORDER BY p.created_at, n.id`, threadID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ResolveProposal, error) {
		var p ResolveProposal
		err := r.Scan(&p.By.ID, &p.By.Handle, &p.By.DisplayName, &p.Summary, &p.CreatedAt)
		return p, err
	})
}

// ProposeResolution records node's proposed summary (replacing its earlier
// one). The thread resolves at once when node is its author, or when two
// different participants have now proposed a summary, whatever their words:
// the summary is the latest proposal, this one. Otherwise the proposal waits
// for a second participant (event thread.resolve_proposed).
func (s *Store) ProposeResolution(ctx context.Context, node, threadID int64, summary string) (Resolution, error) {
	summary = threadText(summary)
	if n := utf8.RuneCountInString(summary); n < 1 || n > MaxSummary {
		return Resolution{}, threadInvalid("summary", "write a summary of 1 to %d characters", MaxSummary)
	}
	var res Resolution
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		th, err := lockThread(ctx, tx, node, threadID, true)
		if err != nil {
			return err
		}
		if th.Status == StatusResolved {
			return community.Conflict("thread", "this thread is already resolved")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO resolve_proposals (thread_id, node_id, summary) VALUES ($1, $2, $3)
			ON CONFLICT (thread_id, node_id) DO UPDATE SET summary = EXCLUDED.summary, created_at = now()`, threadID, node, summary); err != nil {
			return err
		}
		if res.Proposals, err = resolveProposals(ctx, tx, threadID); err != nil {
			return err
		}
		res.Resolved = node == th.Author.ID || len(res.Proposals) >= 2
		readers, err := threadReaders(ctx, tx, threadID)
		if err != nil {
			return err
		}
		if !res.Resolved {
			res.Thread = th.Thread
			var by community.NodeRef
			for _, p := range res.Proposals {
				if p.By.ID == node {
					by = p.By
				}
			}
			return community.AddEvent(ctx, tx, &events, threadSubject(threadID), "thread.resolve_proposed",
				map[string]any{"thread_id": threadID, "by": by, "summary": summary, "proposals": len(res.Proposals)}, false, readers)
		}
		if _, err := tx.Exec(ctx, `UPDATE threads SET status = 'resolved', summary = $2, resolved_at = now() WHERE id = $1`, threadID, summary); err != nil {
			return err
		}
		it, _, err := scanThread(tx.QueryRow(ctx, threadSelect+` WHERE t.id = $2`, int64(0), threadID))
		if err != nil {
			return err
		}
		res.Thread = it.Thread
		return community.AddEvent(ctx, tx, &events, threadSubject(threadID), "thread.resolved", res.Thread, false, readers)
	})
	if err != nil {
		return Resolution{}, threadErr("resolve thread", err)
	}
	s.net.PublishEvents(ctx, events)
	return res, nil
}
