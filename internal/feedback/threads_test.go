package feedback

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// thrFixture is a fresh database with a feedback store whose published events
// are recorded.
type thrFixture struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *Store
	pub   *recordingPublisher
}

func newThrFixture(t *testing.T) *thrFixture {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	net := community.NewStore(pool)
	f := &thrFixture{t: t, ctx: context.Background(), pool: pool, store: NewStore(pool, net), pub: &recordingPublisher{}}
	net.SetPublisher(f.pub, nil)
	return f
}

func (f *thrFixture) node(handle string) int64 {
	f.t.Helper()
	var id int64
	err := f.pool.QueryRow(f.ctx, `INSERT INTO nodes (handle, display_name, email) VALUES ($1, $2, $3) RETURNING id`,
		handle, strings.ToUpper(handle[:1])+handle[1:], handle+"@example.test").Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// nodes creates people named prefix1, prefix2, …
func (f *thrFixture) nodes(prefix string, n int) ([]int64, []string) {
	f.t.Helper()
	var ids []int64
	var handles []string
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("%s%d", prefix, i)
		ids = append(ids, f.node(h))
		handles = append(handles, h)
	}
	return ids, handles
}

func (f *thrFixture) community(slug string, open bool, members ...int64) {
	f.t.Helper()
	var id int64
	if err := f.pool.QueryRow(f.ctx, `INSERT INTO communities (slug, name, open) VALUES ($1, $1, $2) RETURNING id`, slug, open).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	for _, m := range members {
		if _, err := f.pool.Exec(f.ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2)`, id, m); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *thrFixture) thread(author int64, in ThreadInput) Thread {
	f.t.Helper()
	if in.Kind == "" {
		in.Kind = KindFeedbackRequest
	}
	if in.Title == "" {
		in.Title = "Feedback on my draft"
	}
	th, err := f.store.CreateThread(f.ctx, author, in)
	if err != nil {
		f.t.Fatalf("create thread: %v", err)
	}
	return th
}

func (f *thrFixture) reply(node, thread int64, body string) Reply {
	f.t.Helper()
	rp, err := f.store.Reply(f.ctx, node, thread, ReplyInput{Body: body})
	if err != nil {
		f.t.Fatalf("reply: %v", err)
	}
	return rp
}

// interactions lists "from>to:kind" for every interaction recorded.
func (f *thrFixture) interactions() []string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT fn.handle || '>' || tn.handle || ':' || i.kind FROM interactions i
		JOIN nodes fn ON fn.id = i.from_node JOIN nodes tn ON tn.id = i.to_node ORDER BY i.id`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func thrSortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestThreadVisibility(t *testing.T) {
	f := newThrFixture(t)
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.community("open-c", true, ana, ben)
	f.community("closed-c", false, ana, cleo)

	t.Run("a community thread is for members, even in an open community", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{CommunitySlug: "open-c", Kind: KindIdea, Title: "Rotate on-call"})
		created := f.pub.take("thread.created")
		if len(created) != 1 || !slices.Equal(thrSortedIDs(created[0].To), thrSortedIDs([]int64{ana, ben})) || created[0].ToAll {
			t.Fatalf("thread.created went to %v (all %v), want the members ana and ben", created[0].To, created[0].ToAll)
		}
		if _, err := f.store.FindThread(f.ctx, ben, th.ID); err != nil {
			t.Errorf("member ben: %v", err)
		}
		_, err := f.store.FindThread(f.ctx, dan, th.ID)
		wantErr(t, err, community.ErrNotFound)
		_, err = f.store.Reply(f.ctx, dan, th.ID, ReplyInput{Body: "me too"})
		wantErr(t, err, community.ErrNotFound)
		list, err := f.store.ListThreads(f.ctx, dan, ThreadFilter{})
		if err != nil || len(list) != 0 {
			t.Errorf("dan's list = %v, %v; want nothing", list, err)
		}
	})

	t.Run("an invite-only community thread is for its members", func(t *testing.T) {
		th := f.thread(cleo, ThreadInput{CommunitySlug: "closed-c", Title: "Retro"})
		if _, err := f.store.FindThread(f.ctx, ana, th.ID); err != nil {
			t.Errorf("member ana: %v", err)
		}
		_, err := f.store.FindThread(f.ctx, ben, th.ID)
		wantErr(t, err, community.ErrNotFound)
	})

	t.Run("starting a thread in a community needs membership", func(t *testing.T) {
		_, err := f.store.CreateThread(f.ctx, dan, ThreadInput{CommunitySlug: "open-c", Kind: KindIdea, Title: "x"})
		wantErr(t, err, community.ErrForbidden)
		_, err = f.store.CreateThread(f.ctx, dan, ThreadInput{CommunitySlug: "closed-c", Kind: KindIdea, Title: "x"})
		wantField(t, err, "community_slug") // invisible: like one that does not exist
	})

	t.Run("a peer thread is for its author and the peers asked", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{ToHandles: []string{"@Ben", "cleo", "ben"}, Title: "My talk"})
		if got := len(th.To); got != 2 {
			t.Errorf("asked %d people, want 2 (duplicates and @ folded)", got)
		}
		requested := f.pub.take("thread.requested")
		if len(requested) != 1 || !slices.Equal(thrSortedIDs(requested[0].To), thrSortedIDs([]int64{ben, cleo})) {
			t.Errorf("thread.requested = %+v, want one event to ben and cleo", requested)
		}
		for _, n := range []int64{ana, ben, cleo} {
			if _, err := f.store.FindThread(f.ctx, n, th.ID); err != nil {
				t.Errorf("node %d: %v", n, err)
			}
		}
		_, err := f.store.FindThread(f.ctx, dan, th.ID)
		wantErr(t, err, community.ErrNotFound)
		asked, err := f.store.FeedbackRequests(f.ctx, ben, 10)
		if err != nil || len(asked) != 1 || asked[0].ID != th.ID || !asked[0].AskedOfMe {
			t.Errorf("ben's requests = %+v, %v; want this thread", asked, err)
		}
	})

	t.Run("validation", func(t *testing.T) {
		cases := []struct {
			name  string
			in    ThreadInput
			field string
		}{
			{"no audience", ThreadInput{Kind: KindIdea, Title: "x"}, "to_handles"},
			{"unknown kind", ThreadInput{ToHandles: []string{"ben"}, Kind: "rant", Title: "x"}, "kind"},
			{"empty title", ThreadInput{ToHandles: []string{"ben"}, Kind: KindIdea, Title: "  "}, "title"},
			{"long title", ThreadInput{ToHandles: []string{"ben"}, Kind: KindIdea, Title: strings.Repeat("t", 201)}, "title"},
			{"long body", ThreadInput{ToHandles: []string{"ben"}, Kind: KindIdea, Title: "x", Body: strings.Repeat("b", 10001)}, "body"},
			{"unknown handle", ThreadInput{ToHandles: []string{"nobody"}, Kind: KindIdea, Title: "x"}, "to_handles"},
			{"oneself", ThreadInput{ToHandles: []string{"ana"}, Kind: KindIdea, Title: "x"}, "to_handles"},
			{"non-member in a community thread", ThreadInput{CommunitySlug: "open-c", ToHandles: []string{"dan"}, Kind: KindIdea, Title: "x"}, "to_handles"},
			{"due date passed", ThreadInput{ToHandles: []string{"ben"}, Kind: KindIdea, Title: "x", DueAt: new(time.Now().Add(-time.Hour))}, "due_at"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.store.CreateThread(f.ctx, ana, c.in)
				wantField(t, err, c.field)
			})
		}
		var n int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM threads`).Scan(&n); err != nil || n != 3 {
			t.Errorf("%d threads, want the 3 valid ones only (%v)", n, err)
		}
	})

	t.Run("a community thread can ask some of its members", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{CommunitySlug: "open-c", ToHandles: []string{"ben"}, Title: "Review my RFC"})
		if len(th.To) != 1 || th.To[0].ID != ben {
			t.Errorf("to = %+v, want ben", th.To)
		}
		d, err := f.store.FindThread(f.ctx, ana, th.ID)
		if err != nil || len(d.Requests) != 1 || d.Requests[0].Answered {
			t.Fatalf("author's requests = %+v, %v; want ben, not answered", d.Requests, err)
		}
		d, err = f.store.FindThread(f.ctx, ben, th.ID)
		if err != nil || d.Requests != nil {
			t.Errorf("ben (not the author) sees requests %+v, %v; want none", d.Requests, err)
		}
	})
}

func TestThreadAnonymityRule(t *testing.T) {
	f := newThrFixture(t)
	ana := f.node("ana")
	four, fourHandles := f.nodes("p", 4)
	fifth := f.node("p5")

	t.Run("a peer thread asking 4 refuses anonymous replies", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{ToHandles: fourHandles})
		if th.AnonymousAllowed {
			t.Error("anonymous_allowed = true with 4 asked")
		}
		_, err := f.store.Reply(f.ctx, four[0], th.ID, ReplyInput{Body: "honest view", Anonymous: true})
		wantField(t, err, "anonymous")
	})

	t.Run("a peer thread asking 5 takes them, and keeps the author apart", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{ToHandles: append(slices.Clone(fourHandles), "p5")})
		if !th.AnonymousAllowed {
			t.Fatal("anonymous_allowed = false with 5 asked")
		}
		before := f.interactions()
		f.pub.take("")
		rp, err := f.store.Reply(f.ctx, four[1], th.ID, ReplyInput{Body: "Slides 3-5 lose me @ana", Anonymous: true})
		if err != nil {
			t.Fatal(err)
		}
		if rp.Author != nil || !rp.Anonymous || !rp.Mine {
			t.Errorf("reply to its author = %+v; want no author, anonymous, mine", rp)
		}
		var authorID *int64
		var stored int64
		if err := f.pool.QueryRow(f.ctx, `SELECT r.author_id, a.node_id FROM replies r JOIN reply_authors a ON a.reply_id = r.id WHERE r.id = $1`, rp.ID).Scan(&authorID, &stored); err != nil {
			t.Fatal(err)
		}
		if authorID != nil || stored != four[1] {
			t.Errorf("replies.author_id = %v, reply_authors = %d; want NULL and the author apart", authorID, stored)
		}
		if got := f.interactions(); !slices.Equal(got, before) {
			t.Errorf("interactions after an anonymous reply: %v, want none added", got[len(before):])
		}
		ev := f.pub.take("thread.reply")
		if len(ev) != 1 || strings.Contains(string(ev[0].Object), `"p2"`) || strings.Contains(string(ev[0].Object), `"P2"`) {
			t.Errorf("thread.reply event = %s, want one without its author", ev[0].Object)
		}
		for _, viewer := range []int64{ana, four[0], fifth} {
			d, err := f.store.FindThread(f.ctx, viewer, th.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := d.Replies[0]
			if got.Author != nil || got.Mine {
				t.Errorf("viewer %d sees author %+v, mine %v; want neither", viewer, got.Author, got.Mine)
			}
		}
		d, _ := f.store.FindThread(f.ctx, ana, th.ID)
		for _, q := range d.Requests {
			if q.Answered {
				t.Errorf("%s counted as answered: an anonymous reply must not mark its author", q.Node.Handle)
			}
		}
		// The author's own "asked of you" no longer lists it.
		asked, _ := f.store.FeedbackRequests(f.ctx, four[1], 10)
		for _, it := range asked {
			if it.ID == th.ID {
				t.Error("the anonymous replier is still asked for feedback on their own dashboard")
			}
		}
		// Reacting to an anonymous reply records no interaction either.
		if _, err := f.store.React(f.ctx, ana, th.ID, rp.ID, "thanks"); err != nil {
			t.Fatal(err)
		}
		if got := f.interactions(); !slices.Equal(got, before) {
			t.Errorf("interactions after reacting to an anonymous reply: %v, want none added", got[len(before):])
		}
	})

	t.Run("community size decides in a community thread", func(t *testing.T) {
		f.community("small", true, ana, four[0], four[1], four[2])
		f.community("big", true, ana, four[0], four[1], four[2], four[3])
		small := f.thread(ana, ThreadInput{CommunitySlug: "small", Kind: KindRetrospective, Title: "Retro"})
		_, err := f.store.Reply(f.ctx, four[0], small.ID, ReplyInput{Body: "x", Anonymous: true})
		wantField(t, err, "anonymous")
		big := f.thread(ana, ThreadInput{CommunitySlug: "big", Kind: KindRetrospective, Title: "Retro"})
		if _, err := f.store.Reply(f.ctx, four[0], big.ID, ReplyInput{Body: "x", Anonymous: true}); err != nil {
			t.Errorf("anonymous reply in a community of 5: %v", err)
		}
	})
}

func TestThreadResolveRule(t *testing.T) {
	f := newThrFixture(t)
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.community("team", false, ana, ben, cleo)

	t.Run("two participants resolve, with the latest summary", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{CommunitySlug: "team", Kind: KindQuestion, Title: "Which queue?"})
		f.reply(ben, th.ID, "NATS")
		res, err := f.store.ProposeResolution(f.ctx, ben, th.ID, "We use NATS")
		if err != nil || res.Resolved {
			t.Fatalf("ben's proposal: resolved %v, %v; want waiting for a second participant", res.Resolved, err)
		}
		// Proposing again is still one participant.
		if res, err = f.store.ProposeResolution(f.ctx, ben, th.ID, "We use NATS JetStream"); err != nil || res.Resolved || len(res.Proposals) != 1 {
			t.Fatalf("ben again: %+v, %v; want one proposal, not resolved", res, err)
		}
		_, err = f.store.ProposeResolution(f.ctx, dan, th.ID, "whatever")
		wantErr(t, err, community.ErrNotFound) // dan cannot read it
		f.pub.take("")
		res, err = f.store.ProposeResolution(f.ctx, cleo, th.ID, "NATS, with a JetStream stream per tenant")
		if err != nil || !res.Resolved {
			t.Fatalf("cleo's proposal: %+v, %v; want resolved", res, err)
		}
		if res.Thread.Status != StatusResolved || res.Thread.Summary != "NATS, with a JetStream stream per tenant" || res.Thread.ResolvedAt == nil {
			t.Errorf("thread = %+v, want resolved with cleo's (latest) summary", res.Thread)
		}
		if ev := f.pub.take("thread.resolved"); len(ev) != 1 || len(ev[0].To) != 3 {
			t.Errorf("thread.resolved events %+v, want one to the 3 members", ev)
		}
		_, err = f.store.Reply(f.ctx, ben, th.ID, ReplyInput{Body: "one more thing"})
		wantErr(t, err, community.ErrConflict)
		_, err = f.store.ProposeResolution(f.ctx, ana, th.ID, "again")
		wantErr(t, err, community.ErrConflict)
		// Resolved threads stay readable and searchable (the summary too).
		if _, err := f.store.FindThread(f.ctx, ben, th.ID); err != nil {
			t.Errorf("read a resolved thread: %v", err)
		}
		found, err := f.store.ListThreads(f.ctx, ben, ThreadFilter{Q: "tenant", Status: StatusResolved})
		if err != nil || len(found) != 1 || found[0].ID != th.ID {
			t.Errorf("search for a word of the summary = %+v, %v; want the thread", found, err)
		}
	})

	t.Run("the author resolves alone", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{ToHandles: []string{"ben"}, Title: "Draft"})
		res, err := f.store.ProposeResolution(f.ctx, ana, th.ID, "Thanks, done")
		if err != nil || !res.Resolved || res.Thread.Summary != "Thanks, done" {
			t.Fatalf("author's proposal = %+v, %v; want resolved at once", res, err)
		}
	})

	t.Run("a summary is required", func(t *testing.T) {
		th := f.thread(ana, ThreadInput{ToHandles: []string{"ben"}, Title: "Draft 2"})
		_, err := f.store.ProposeResolution(f.ctx, ana, th.ID, "   ")
		wantField(t, err, "summary")
	})
}

func TestThreadUnread(t *testing.T) {
	f := newThrFixture(t)
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	th := f.thread(ana, ThreadInput{ToHandles: []string{"ben", "cleo"}})
	unread := func(node int64) int {
		t.Helper()
		list, err := f.store.ListThreads(f.ctx, node, ThreadFilter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("list = %v, %v", list, err)
		}
		return list[0].Unread
	}
	r1 := f.reply(ben, th.ID, "one")
	f.reply(cleo, th.ID, "two")
	r3 := f.reply(ben, th.ID, "three")

	t.Run("replies by others are unread, one's own are not", func(t *testing.T) {
		if got := unread(ana); got != 3 {
			t.Errorf("ana unread = %d, want 3", got)
		}
		if got := unread(ben); got != 1 {
			t.Errorf("ben unread = %d, want 1 (cleo's)", got)
		}
	})

	t.Run("a read position lowers the count and never moves back", func(t *testing.T) {
		st, err := f.store.MarkRead(f.ctx, ana, th.ID, r1.ID)
		if err != nil || st.Unread != 2 || st.LastReplyID != r1.ID {
			t.Fatalf("mark read = %+v, %v; want 2 unread", st, err)
		}
		if got := unread(ana); got != 2 {
			t.Errorf("ana unread = %d, want 2", got)
		}
		if st, _ := f.store.MarkRead(f.ctx, ana, th.ID, 0); st.LastReplyID != r1.ID {
			t.Errorf("read position moved back to %d", st.LastReplyID)
		}
		st, err = f.store.MarkRead(f.ctx, ana, th.ID, r3.ID+1000)
		if err != nil || st.LastReplyID != r3.ID || st.Unread != 0 {
			t.Errorf("mark past the end = %+v, %v; want clamped to the newest reply, 0 unread", st, err)
		}
	})

	t.Run("anonymous replies of one's own are not unread to oneself", func(t *testing.T) {
		g := newThrFixture(t)
		author := g.node("author")
		_, handles := g.nodes("q", 5)
		th := g.thread(author, ThreadInput{ToHandles: handles})
		var q1 int64
		_ = g.pool.QueryRow(g.ctx, `SELECT id FROM nodes WHERE handle = 'q1'`).Scan(&q1)
		if _, err := g.store.Reply(g.ctx, q1, th.ID, ReplyInput{Body: "anon", Anonymous: true}); err != nil {
			t.Fatal(err)
		}
		list, _ := g.store.ListThreads(g.ctx, q1, ThreadFilter{})
		if len(list) != 1 || list[0].Unread != 0 || !list[0].Answered {
			t.Errorf("q1's own view = %+v; want 0 unread and answered", list)
		}
		list, _ = g.store.ListThreads(g.ctx, author, ThreadFilter{})
		if len(list) != 1 || list[0].Unread != 1 {
			t.Errorf("author's view = %+v; want 1 unread", list)
		}
	})

	t.Run("a stranger cannot keep a read position", func(t *testing.T) {
		dan := f.node("dan")
		_, err := f.store.MarkRead(f.ctx, dan, th.ID, 0)
		wantErr(t, err, community.ErrNotFound)
	})
}

func TestReplyEditsQuotesAndHistory(t *testing.T) {
	f := newThrFixture(t)
	ana := f.node("ana")
	ids, handles := f.nodes("p", 5)
	th := f.thread(ana, ThreadInput{ToHandles: handles})
	named := f.reply(ids[0], th.ID, "first take")
	anon, err := f.store.Reply(f.ctx, ids[1], th.ID, ReplyInput{Body: "anonymous take", Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the author edits, the old text is kept", func(t *testing.T) {
		f.pub.take("")
		rp, err := f.store.EditReply(f.ctx, ids[0], th.ID, named.ID, "second take, @p3")
		if err != nil || rp.Body != "second take, @p3" || rp.EditedAt == nil || !slices.Equal(rp.Mentions, []string{"p3"}) {
			t.Fatalf("edit = %+v, %v", rp, err)
		}
		if _, err := f.store.EditReply(f.ctx, ids[0], th.ID, named.ID, "third take"); err != nil {
			t.Fatal(err)
		}
		hist, err := f.store.ReplyHistory(f.ctx, ana, th.ID, named.ID)
		if err != nil || len(hist) != 2 || hist[0].Body != "second take, @p3" || hist[1].Body != "first take" {
			t.Errorf("history = %+v, %v; want the two earlier versions, newest first", hist, err)
		}
		if ev := f.pub.take("thread.reply_edited"); len(ev) != 2 {
			t.Errorf("%d thread.reply_edited events, want 2", len(ev))
		}
	})

	t.Run("nobody else edits", func(t *testing.T) {
		_, err := f.store.EditReply(f.ctx, ana, th.ID, named.ID, "hijack")
		wantErr(t, err, community.ErrForbidden)
		_, err = f.store.EditReply(f.ctx, ids[0], th.ID, anon.ID, "hijack")
		wantErr(t, err, community.ErrForbidden)
	})

	t.Run("an anonymous reply is edited by its author, still anonymous", func(t *testing.T) {
		rp, err := f.store.EditReply(f.ctx, ids[1], th.ID, anon.ID, "anonymous take, revised")
		if err != nil || rp.Author != nil || !rp.Anonymous || rp.Body != "anonymous take, revised" {
			t.Fatalf("edit = %+v, %v", rp, err)
		}
	})

	t.Run("quoting shows the quoted text, and an anonymous one stays anonymous", func(t *testing.T) {
		q1, err := f.store.Reply(f.ctx, ids[2], th.ID, ReplyInput{Body: "agreed", QuoteID: named.ID})
		if err != nil || q1.Quote == nil || q1.Quote.Body != "third take" || q1.Quote.Author == nil || q1.Quote.Author.ID != ids[0] {
			t.Fatalf("quote = %+v, %v; want p1's current text", q1.Quote, err)
		}
		q2, err := f.store.Reply(f.ctx, ids[2], th.ID, ReplyInput{Body: "also", QuoteID: anon.ID})
		if err != nil || q2.Quote == nil || q2.Quote.Author != nil || !q2.Quote.Anonymous {
			t.Fatalf("quote of an anonymous reply = %+v, %v; want no author", q2.Quote, err)
		}
		other := f.thread(ana, ThreadInput{ToHandles: []string{"p1"}, Title: "other"})
		_, err = f.store.Reply(f.ctx, ids[0], other.ID, ReplyInput{Body: "x", QuoteID: named.ID})
		wantField(t, err, "quote_id")
	})

	t.Run("no edits once resolved", func(t *testing.T) {
		if _, err := f.store.ProposeResolution(f.ctx, ana, th.ID, "done"); err != nil {
			t.Fatal(err)
		}
		_, err := f.store.EditReply(f.ctx, ids[0], th.ID, named.ID, "late")
		wantErr(t, err, community.ErrConflict)
	})
}

func TestThreadInteractionsAndReactions(t *testing.T) {
	f := newThrFixture(t)
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	th := f.thread(ana, ThreadInput{ToHandles: []string{"ben", "cleo"}, Body: "cc @cleo and @dan"})

	t.Run("a mention counts only with someone who may read it", func(t *testing.T) {
		if got, want := f.interactions(), []string{"ana>cleo:mention"}; !slices.Equal(got, want) {
			t.Errorf("interactions = %v, want %v", got, want)
		}
	})

	t.Run("answering a request: reply and feedback to the author, answered", func(t *testing.T) {
		r1 := f.reply(ben, th.ID, "Looks good")
		if got, want := f.interactions()[1:], []string{"ben>ana:reply", "ben>ana:feedback"}; !slices.Equal(got, want) {
			t.Errorf("interactions = %v, want %v", got, want)
		}
		f.reply(ben, th.ID, "One more note") // a second reply is not a second answer
		if got, want := f.interactions()[3:], []string{"ben>ana:reply"}; !slices.Equal(got, want) {
			t.Errorf("interactions = %v, want %v", got, want)
		}
		d, _ := f.store.FindThread(f.ctx, ana, th.ID)
		answered := map[string]bool{}
		for _, q := range d.Requests {
			answered[q.Node.Handle] = q.Answered
		}
		if !answered["ben"] || answered["cleo"] {
			t.Errorf("answered = %v, want ben yes and cleo not yet", answered)
		}
		// Quoting ben: a reply to ana and to ben.
		if _, err := f.store.Reply(f.ctx, cleo, th.ID, ReplyInput{Body: "+1", QuoteID: r1.ID}); err != nil {
			t.Fatal(err)
		}
		if got, want := f.interactions()[4:], []string{"cleo>ana:reply", "cleo>ben:reply", "cleo>ana:feedback"}; !slices.Equal(got, want) {
			t.Errorf("interactions = %v, want %v", got, want)
		}
	})

	t.Run("reactions toggle, count and record", func(t *testing.T) {
		d, _ := f.store.FindThread(f.ctx, ana, th.ID)
		r1 := d.Replies[0]
		n := len(f.interactions())
		f.pub.take("")
		st, err := f.store.React(f.ctx, cleo, th.ID, r1.ID, "insightful")
		if err != nil || !st.Added || st.Reactions["insightful"] != 1 || !slices.Equal(st.MyReactions, []string{"insightful"}) {
			t.Fatalf("react = %+v, %v", st, err)
		}
		if _, err := f.store.React(f.ctx, ana, th.ID, r1.ID, "insightful"); err != nil {
			t.Fatal(err)
		}
		st, err = f.store.React(f.ctx, cleo, th.ID, r1.ID, "insightful") // take it back
		if err != nil || st.Added || st.Reactions["insightful"] != 1 || len(st.MyReactions) != 0 {
			t.Fatalf("toggle off = %+v, %v; want 1 left (ana's)", st, err)
		}
		if got, want := f.interactions()[n:], []string{"cleo>ben:reaction", "ana>ben:reaction"}; !slices.Equal(got, want) {
			t.Errorf("interactions = %v, want %v", got, want)
		}
		if ev := f.pub.take("thread.reaction"); len(ev) != 3 {
			t.Errorf("%d thread.reaction events, want 3", len(ev))
		}
		_, err = f.store.React(f.ctx, cleo, th.ID, r1.ID, "love")
		wantField(t, err, "reaction")
		_, err = f.store.React(f.ctx, dan, th.ID, r1.ID, "thanks")
		wantErr(t, err, community.ErrNotFound)
		_, err = f.store.React(f.ctx, cleo, th.ID, r1.ID+999, "thanks")
		wantErr(t, err, community.ErrNotFound)
	})
}

func TestWorkingTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("Mon 2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct{ asked, due string }{
		{"Mon 2026-11-16 10:00", "Thu 2026-11-19 10:00"},
		{"Wed 2026-11-18 10:00", "Mon 2026-11-23 10:00"}, // Thu, Fri, (weekend), Mon
		{"Thu 2026-11-19 09:30", "Tue 2026-11-24 09:30"},
		{"Fri 2026-11-20 10:00", "Wed 2026-11-25 10:00"},
		{"Sat 2026-11-21 10:00", "Thu 2026-11-26 00:00"}, // the weekend does not count at all
		{"Sun 2026-11-22 23:59", "Thu 2026-11-26 00:00"},
		{"Mon 2026-11-23 00:00", "Thu 2026-11-26 00:00"},
		{"Fri 2026-11-20 23:59", "Wed 2026-11-25 23:59"},
		{"Wed 2026-12-30 12:00", "Mon 2027-01-04 12:00"}, // across a year end
	}
	for _, c := range cases {
		t.Run(c.asked, func(t *testing.T) {
			got := ReminderDue(at(c.asked))
			if want := at(c.due); !got.Equal(want) {
				t.Errorf("due %s, want %s", got.Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
			if w := WorkingTimeBetween(at(c.asked), got); w != ReminderAfter {
				t.Errorf("working time between asked and due = %s, want %s", w, ReminderAfter)
			}
		})
	}
	t.Run("working time between", func(t *testing.T) {
		if got := WorkingTimeBetween(at("Fri 2026-11-20 18:00"), at("Mon 2026-11-23 06:00")); got != 12*time.Hour {
			t.Errorf("Fri 18:00 to Mon 06:00 = %s, want 12h (6 on Friday, 6 on Monday)", got)
		}
		if got := WorkingTimeBetween(at("Sat 2026-11-21 01:00"), at("Sun 2026-11-22 23:00")); got != 0 {
			t.Errorf("within a weekend = %s, want 0", got)
		}
		if got := WorkingTimeBetween(at("Mon 2026-11-23 06:00"), at("Fri 2026-11-20 18:00")); got != 0 {
			t.Errorf("backwards = %s, want 0", got)
		}
	})
	t.Run("other time zones are measured in UTC", func(t *testing.T) {
		loc := time.FixedZone("UTC+9", 9*3600)
		asked := time.Date(2026, 11, 23, 8, 0, 0, 0, loc) // Sun 23:00 UTC
		if got, want := ReminderDue(asked), at("Thu 2026-11-26 00:00"); !got.Equal(want) {
			t.Errorf("due %s, want %s", got, want)
		}
	})
}

func TestReminders(t *testing.T) {
	f := newThrFixture(t)
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	_ = dan
	th := f.thread(ana, ThreadInput{ToHandles: []string{"ben", "cleo", "dan"}})
	other := f.thread(ana, ThreadInput{ToHandles: []string{"ben"}, Title: "Resolved before anyone answered"})
	if _, err := f.store.ProposeResolution(f.ctx, ana, other.ID, "never mind"); err != nil {
		t.Fatal(err)
	}
	// Asked on Friday 20 Nov 2026 at 10:00 UTC.
	asked := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	if _, err := f.pool.Exec(f.ctx, `UPDATE thread_requests SET asked_at = $1`, asked); err != nil {
		t.Fatal(err)
	}
	f.reply(cleo, th.ID, "answered in time")
	f.pub.take("")
	remindedTo := func() []int64 {
		t.Helper()
		var to []int64
		for _, e := range f.pub.take("thread.reminder") {
			var n RequestNotice
			if err := json.Unmarshal(e.Object, &n); err != nil || n.Thread.ID != th.ID || !n.AskedAt.Equal(asked) {
				t.Errorf("reminder object %s (%v), want the thread and when it was asked", e.Object, err)
			}
			to = append(to, e.To...)
		}
		return thrSortedIDs(to)
	}

	t.Run("not before three working days: the weekend does not count", func(t *testing.T) {
		monday := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // 3 calendar days, 1 working day and 2 hours
		if n, err := f.store.SendReminders(f.ctx, monday); err != nil || n != 0 {
			t.Errorf("Monday: sent %d, %v; want 0", n, err)
		}
		justBefore := time.Date(2026, 11, 25, 9, 59, 0, 0, time.UTC)
		if n, err := f.store.SendReminders(f.ctx, justBefore); err != nil || n != 0 {
			t.Errorf("Wednesday 09:59: sent %d, %v; want 0", n, err)
		}
	})

	t.Run("once due, each unanswered peer gets one reminder", func(t *testing.T) {
		due := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		n, err := f.store.SendReminders(f.ctx, due)
		if err != nil || n != 2 {
			t.Fatalf("sent %d, %v; want 2 (ben and dan; cleo answered; the resolved thread is skipped)", n, err)
		}
		if got, want := remindedTo(), thrSortedIDs([]int64{ben, dan}); !slices.Equal(got, want) {
			t.Errorf("reminded %v, want %v", got, want)
		}
		var reminded int
		_ = f.pool.QueryRow(f.ctx, `SELECT count(*) FROM thread_requests WHERE reminded_at IS NOT NULL`).Scan(&reminded)
		if reminded != 2 {
			t.Errorf("%d requests marked reminded, want 2", reminded)
		}
		if n, err := f.store.SendReminders(f.ctx, due.Add(48*time.Hour)); err != nil || n != 0 {
			t.Errorf("second run: sent %d, %v; want 0 (once only)", n, err)
		}
	})

	t.Run("instances racing send each reminder once", func(t *testing.T) {
		g := newThrFixture(t)
		author := g.node("author")
		_, handles := g.nodes("p", 30)
		for i := 0; i < 20; i++ {
			g.thread(author, ThreadInput{ToHandles: handles, Title: fmt.Sprintf("t%d", i)})
		}
		if _, err := g.pool.Exec(g.ctx, `UPDATE thread_requests SET asked_at = now() - interval '30 days'`); err != nil {
			t.Fatal(err)
		}
		g.pub.take("")
		var wg sync.WaitGroup
		counts := make([]int, 4)
		for i := range counts {
			wg.Go(func() {
				n, err := g.store.SendReminders(g.ctx, time.Now())
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
				counts[i] = n
			})
		}
		wg.Wait()
		total := 0
		for _, n := range counts {
			total += n
		}
		events := g.pub.take("thread.reminder")
		seen := map[string]bool{}
		for _, e := range events {
			var n RequestNotice
			_ = json.Unmarshal(e.Object, &n)
			key := fmt.Sprint(n.Thread.ID, e.To)
			if seen[key] {
				t.Errorf("reminder %s sent twice", key)
			}
			seen[key] = true
		}
		if total != 600 || len(events) != 600 {
			t.Errorf("sent %d (%v), %d events; want 600 reminders exactly once", total, counts, len(events))
		}
		t.Logf("600 reminders split between 4 racing instances as %v", counts)
	})
}

// TestFeedbackRequestsMatchListThreads holds the dashboard's own query to
// ListThreads' scope "asked", open, unanswered, on threads in every state.
func TestFeedbackRequestsMatchListThreads(t *testing.T) {
	f := newThrFixture(t)
	handles := []string{"ana", "ben", "cleo", "dan", "eve", "fay"}
	ids := map[string]int64{}
	for _, h := range handles {
		ids[h] = f.node(h)
	}
	f.community("team", true, ids["ana"], ids["ben"], ids["cleo"])
	all := []string{"ben", "cleo", "dan", "eve", "fay"}
	var threads []int64
	for i := range 8 {
		th := f.thread(ids["ana"], ThreadInput{ToHandles: all[:2+i%4], Kind: KindIdea, Title: fmt.Sprintf("t%d", i)})
		threads = append(threads, th.ID)
	}
	f.thread(ids["ben"], ThreadInput{CommunitySlug: "team", Kind: KindIdea, Title: "community"})
	f.thread(ids["cleo"], ThreadInput{ToHandles: []string{"ana", "ben"}, Kind: KindIdea, Title: "to ana"})
	// Answered by name, answered anonymously (the thread asks five), resolved.
	if _, err := f.store.Reply(f.ctx, ids["ben"], threads[0], ReplyInput{Body: "done"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Reply(f.ctx, ids["cleo"], threads[3], ReplyInput{Body: "anon", Anonymous: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `UPDATE threads SET status = 'resolved', resolved_at = now() WHERE id = $1`, threads[5]); err != nil {
		t.Fatal(err)
	}
	nonEmpty := 0
	for _, h := range handles {
		for _, limit := range []int{10, 2} {
			got, err := f.store.FeedbackRequests(f.ctx, ids[h], limit)
			if err != nil {
				t.Fatal(err)
			}
			want, err := f.store.ListThreads(f.ctx, ids[h], ThreadFilter{Scope: "asked", Status: StatusOpen, Unanswered: true, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, limit %d: FeedbackRequests = %+v\nListThreads = %+v", h, limit, got, want)
			}
			if len(want) > 0 {
				nonEmpty++
			}
		}
	}
	if nonEmpty < 6 {
		t.Errorf("only %d non-empty lists compared", nonEmpty)
	}
}
