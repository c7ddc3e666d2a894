package community

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// netFixture is a fresh database with a few people.
type netFixture struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *Store
	pub   *recordingPublisher
}

func newNetFixture(t *testing.T) *netFixture {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	f := &netFixture{t: t, pool: pool, store: NewStore(pool), pub: &recordingPublisher{}}
	f.store.SetPublisher(f.pub, nil)
	return f
}

func (f *netFixture) node(handle string) int64 {
	f.t.Helper()
	var id int64
	err := f.pool.QueryRow(context.Background(), `INSERT INTO nodes (handle, display_name, email) VALUES ($1, $2, $3) RETURNING id`,
		handle, strings.ToUpper(handle[:1])+handle[1:], handle+"@example.test").Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *netFixture) connect(a, b int64) {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), `INSERT INTO connections (from_node, to_node, kind, state, accepted_at) VALUES ($1, $2, 'collaborate', 'accepted', now())`, a, b); err != nil {
		f.t.Fatal(err)
	}
}

// recordingPublisher keeps what the store published.
type recordingPublisher struct {
	mu     sync.Mutex
	events []Event
	fail   bool
}

func (p *recordingPublisher) Publish(_ context.Context, subject string, id int64, data []byte) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return 0, errors.New("nats away")
	}
	e, err := DecodeEvent(data)
	if err != nil {
		return 0, err
	}
	e.Subject = subject
	p.events = append(p.events, e)
	return uint64(len(p.events)), nil
}

func (p *recordingPublisher) last() Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[len(p.events)-1]
}

func wantErr(t *testing.T, err error, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != field {
		t.Fatalf("err = %v, want a validation error on %q", err, field)
	}
}

func TestCommunities(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")

	c, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Data & ML", Purpose: "Share models", Open: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Slug != "data-ml" || c.Members != 1 || !c.IsMember {
		t.Errorf("created %+v, want slug data-ml with its creator as the one member", c)
	}
	if e := f.pub.last(); e.Type != "community.created" || !e.ToAll {
		t.Errorf("event %+v, want community.created to all (open community)", e)
	}

	t.Run("validation and duplicates", func(t *testing.T) {
		_, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: ""})
		wantField(t, err, "name")
		_, err = f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "x", Slug: "Bad Slug!"})
		wantField(t, err, "slug")
		_, err = f.store.CreateCommunity(ctx, ben, CommunityInput{Name: "Data ML"})
		wantErr(t, err, ErrConflict)
		if ConflictField(err) != "slug" {
			t.Errorf("conflict names %q, want slug", ConflictField(err))
		}
	})

	t.Run("join, leave, and any member edits the purpose", func(t *testing.T) {
		if _, err := f.store.JoinCommunity(ctx, ben, "data-ml"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.JoinCommunity(ctx, ben, "data-ml"); err != nil {
			t.Fatalf("joining twice: %v", err)
		}
		got, err := f.store.UpdatePurpose(ctx, ben, "data-ml", "Share models and data sets")
		if err != nil || got.Purpose != "Share models and data sets" {
			t.Fatalf("member edit: %+v, %v", got, err)
		}
		_, err = f.store.UpdatePurpose(ctx, cleo, "data-ml", "hijack")
		wantErr(t, err, ErrForbidden)
		hist, err := f.store.PurposeHistory(ctx, c.ID, 10)
		if err != nil || len(hist) != 2 || hist[0].EditedBy != "ben" || hist[1].Purpose != "Share models" {
			t.Errorf("history = %+v, %v; want ben's edit over the original", hist, err)
		}
		members, _ := f.store.Members(ctx, c.ID, 10)
		if len(members) != 2 {
			t.Errorf("%d members, want 2", len(members))
		}
		if err := f.store.LeaveCommunity(ctx, ben, "data-ml"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, f.store.LeaveCommunity(ctx, ben, "data-ml"), ErrNotFound)
	})

	t.Run("invite-only communities are invisible to outsiders", func(t *testing.T) {
		if _, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Hiring panel", Open: false}); err != nil {
			t.Fatal(err)
		}
		_, err := f.store.FindCommunity(ctx, cleo, "hiring-panel")
		wantErr(t, err, ErrNotFound)
		_, err = f.store.JoinCommunity(ctx, cleo, "hiring-panel")
		wantErr(t, err, ErrNotFound)
		list, _ := f.store.ListCommunities(ctx, cleo, false, 50)
		for _, c := range list {
			if c.Slug == "hiring-panel" {
				t.Error("an outsider lists the invite-only community")
			}
		}
		if _, err := f.store.FindCommunity(ctx, ana, "hiring-panel"); err != nil {
			t.Errorf("a member cannot see it: %v", err)
		}
	})
}

func TestSharesVisibilityAndFeed(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.connect(ana, ben)
	if _, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Platform", Open: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Secret", Open: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.JoinCommunity(ctx, cleo, "platform"); err != nil {
		t.Fatal(err)
	}

	inPlatform, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "Deploy at 5 #ops, ping @Dan", CommunitySlug: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inPlatform.Tags, []string{"ops"}) || !slices.Equal(inPlatform.Mentions, []string{"dan"}) || inPlatform.Audience != "community" {
		t.Errorf("share = %+v, want tag ops, mention dan, audience community", inPlatform)
	}
	ev := f.pub.last()
	if ev.Type != "share.created" || ev.Subject != "nc.evt.community.platform" || ev.ToAll ||
		!ev.Visible(ana) || !ev.Visible(cleo) || !ev.Visible(dan) || ev.Visible(ben) {
		t.Errorf("event %+v: want members ana, cleo and the mentioned dan (open community), not ben", ev)
	}
	secret, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "Shortlist ready @cleo", CommunitySlug: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := f.pub.last(); ev.Visible(cleo) {
		t.Error("a mention must not leak an invite-only community's share to a non-member")
	}
	toConns, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "Coffee?", Audience: "connections"})
	if err != nil {
		t.Fatal(err)
	}
	everyone, err := f.store.CreateShare(ctx, dan, ShareInput{Body: "All hands at 3", Audience: "everyone"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := f.pub.last(); !ev.ToAll || ev.Subject != "nc.evt.all" {
		t.Errorf("everyone-share event %+v, want to_all on nc.evt.all", ev)
	}

	ids := func(shares []Share) []int64 {
		var out []int64
		for _, s := range shares {
			out = append(out, s.ID)
		}
		return out
	}
	feed := func(node int64, f2 FeedFilter) []int64 {
		t.Helper()
		got, err := f.store.Feed(ctx, node, f2)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	cases := []struct {
		name string
		node int64
		want []int64
	}{
		{"author sees all own", ana, []int64{toConns.ID, secret.ID, inPlatform.ID, everyone.ID}},
		{"connection sees connection share and everyone-share", ben, []int64{everyone.ID, toConns.ID}},
		{"member sees community share", cleo, []int64{everyone.ID, inPlatform.ID}},
		{"mentioned outsider sees open-community share", dan, []int64{everyone.ID, inPlatform.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := feed(tc.node, FeedFilter{})
			want := slices.Clone(tc.want)
			slices.Sort(want)
			slices.Reverse(want)
			if !slices.Equal(got, want) {
				t.Errorf("feed = %v, want %v", got, want)
			}
		})
	}

	t.Run("keyset pagination and filters", func(t *testing.T) {
		page1 := feed(ana, FeedFilter{Limit: 2})
		page2 := feed(ana, FeedFilter{Limit: 2, Before: page1[1]})
		if len(page1) != 2 || len(page2) != 2 || page2[0] >= page1[1] {
			t.Errorf("pages %v then %v: want 2 + 2, strictly older", page1, page2)
		}
		if got := feed(ana, FeedFilter{Tag: "#OPS"}); !slices.Equal(got, []int64{inPlatform.ID}) {
			t.Errorf("tag filter = %v", got)
		}
		if got := feed(ana, FeedFilter{Community: "secret"}); !slices.Equal(got, []int64{secret.ID}) {
			t.Errorf("community filter = %v", got)
		}
	})

	t.Run("reading a share one may not see is not found", func(t *testing.T) {
		_, err := f.store.FindShare(ctx, cleo, secret.ID)
		wantErr(t, err, ErrNotFound)
		_, err = f.store.FindShare(ctx, cleo, toConns.ID)
		wantErr(t, err, ErrNotFound)
	})

	t.Run("validation", func(t *testing.T) {
		_, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "   "})
		wantField(t, err, "body")
		_, err = f.store.CreateShare(ctx, ana, ShareInput{Body: strings.Repeat("é", MaxShareLength+1)})
		wantField(t, err, "body")
		if _, err := f.store.CreateShare(ctx, ana, ShareInput{Body: strings.Repeat("é", MaxShareLength)}); err != nil {
			t.Errorf("a share of exactly %d characters: %v", MaxShareLength, err)
		}
		_, err = f.store.CreateShare(ctx, ana, ShareInput{Body: "x", Audience: "friends"})
		wantField(t, err, "audience")
		_, err = f.store.CreateShare(ctx, cleo, ShareInput{Body: "x", CommunitySlug: "secret"})
		wantField(t, err, "community_slug")
		_, err = f.store.CreateShare(ctx, ben, ShareInput{Body: "x", CommunitySlug: "platform"})
		wantErr(t, err, ErrForbidden)
	})

	t.Run("mentions are recorded as interactions", func(t *testing.T) {
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM interactions WHERE from_node = $1 AND to_node = $2 AND kind = 'mention'`, ana, dan).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d mention interactions ana→dan, %v; want 1", n, err)
		}
	})
}

func TestEditDeleteReshare(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	f.connect(ana, ben)
	for _, n := range []struct {
		who  int64
		name string
	}{{ana, "Research"}, {ben, "Design"}} {
		if _, err := f.store.CreateCommunity(ctx, n.who, CommunityInput{Name: n.name, Open: true}); err != nil {
			t.Fatal(err)
		}
	}
	orig, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "Paper draft", CommunitySlug: "research"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("edit keeps history; only the author edits", func(t *testing.T) {
		got, err := f.store.EditShare(ctx, ana, orig.ID, "Paper draft v2 #paper")
		if err != nil || got.Body != "Paper draft v2 #paper" || got.EditedAt == nil || !slices.Equal(got.Tags, []string{"paper"}) {
			t.Fatalf("edit = %+v, %v", got, err)
		}
		_, err = f.store.EditShare(ctx, ben, orig.ID, "mine now")
		wantErr(t, err, ErrForbidden)
		hist, err := f.store.ShareHistory(ctx, ben, orig.ID)
		if err != nil || len(hist) != 1 || hist[0].Body != "Paper draft" {
			t.Errorf("history = %+v, %v", hist, err)
		}
	})

	t.Run("reshare keeps origin and records the spread", func(t *testing.T) {
		r1, err := f.store.Reshare(ctx, ben, orig.ID, "design", "worth a read")
		if err != nil {
			t.Fatal(err)
		}
		if r1.Origin == nil || r1.Origin.ID != orig.ID || *r1.ParentID != orig.ID || r1.Community.Slug != "design" {
			t.Fatalf("reshare = %+v, want origin and parent %d in design", r1, orig.ID)
		}
		r2, err := f.store.Reshare(ctx, cleo, r1.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if r2.Origin.ID != orig.ID || *r2.ParentID != r1.ID || r2.Audience != "connections" {
			t.Errorf("second hop = %+v, want origin %d parent %d to connections", r2, orig.ID, r1.ID)
		}
		spread, err := f.store.ShareSpread(ctx, cleo, orig.ID)
		if err != nil || len(spread) != 2 || spread[0].From != "ana" || spread[0].By != "ben" || spread[1].From != "ben" || spread[1].By != "cleo" {
			t.Errorf("spread = %+v, %v; want ana→ben then ben→cleo", spread, err)
		}
		// cleo passed it to her connections, which ana is not one of.
		if seen, _ := f.store.ShareSpread(ctx, ana, orig.ID); len(seen) != 1 {
			t.Errorf("ana sees %d steps of the spread, want 1 (not cleo's private reshare)", len(seen))
		}
		conns, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "private-ish", Audience: "connections"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.Reshare(ctx, ben, conns.ID, "design", "")
		wantErr(t, err, ErrForbidden)
		_, err = f.store.Reshare(ctx, cleo, conns.ID, "", "")
		wantErr(t, err, ErrNotFound)
	})

	t.Run("delete by the author only", func(t *testing.T) {
		wantErr(t, f.store.DeleteShare(ctx, ben, orig.ID), ErrForbidden)
		if err := f.store.DeleteShare(ctx, ana, orig.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.store.FindShare(ctx, ana, orig.ID)
		wantErr(t, err, ErrNotFound)
		if e := f.pub.last(); e.Type != "share.deleted" {
			t.Errorf("last event %s, want share.deleted", e.Type)
		}
	})
}

func TestSearch(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana := f.node("ana")
	if _, err := f.pool.Exec(ctx, `UPDATE nodes SET skills = '{postgres,go}', title = 'Engineer' WHERE id = $1`, ana); err != nil {
		t.Fatal(err)
	}
	ben := f.node("ben")
	if _, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Postgres guild", Purpose: "Databases", Open: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateCommunity(ctx, ana, CommunityInput{Name: "Postgres secret", Open: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "Vacuum tuning notes #postgres", Audience: "everyone"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.store.Search(ctx, ben, "postgres", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.People) != 1 || res.People[0].Handle != "ana" || res.People[0].Email != "" {
		t.Errorf("people = %+v, want ana by skill, without email", res.People)
	}
	if len(res.Communities) != 1 || res.Communities[0].Slug != "postgres-guild" {
		t.Errorf("communities = %+v, want only the open one", res.Communities)
	}
	if len(res.Shares) != 1 {
		t.Errorf("shares = %+v, want the vacuum note", res.Shares)
	}
	if res, err := f.store.Search(ctx, ben, "#postgres", 10); err != nil || len(res.Shares) != 1 {
		t.Errorf("tag search = %+v, %v", res.Shares, err)
	}
	for _, hostile := range []string{`"unterminated`, `a & | ! ( )`, `'; DROP TABLE nodes; --`, "\xff\xfe", "-"} {
		if _, err := f.store.Search(ctx, ben, hostile, 10); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("Search(%q) = %v, want results or a validation error", hostile, err)
			}
		}
	}
	_, err = f.store.Search(ctx, ben, " ", 10)
	wantField(t, err, "q")
}

func TestOutboxRelay(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana := f.node("ana")
	f.pub.fail = true
	sh, err := f.store.CreateShare(ctx, ana, ShareInput{Body: "while NATS is away", Audience: "everyone"})
	if err != nil {
		t.Fatalf("a share must be accepted while NATS is away: %v", err)
	}
	var unpublished int
	f.pool.QueryRow(ctx, `SELECT count(*) FROM events_pending`).Scan(&unpublished)
	if unpublished != 1 {
		t.Fatalf("%d unpublished events, want 1", unpublished)
	}
	f.pub.mu.Lock()
	f.pub.fail = false
	f.pub.mu.Unlock()
	n, err := f.store.relayBatch(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("relay published %d, %v; want 1", n, err)
	}
	if e := f.pub.last(); e.Type != "share.created" || !strings.Contains(string(e.Object), sh.Body) {
		t.Errorf("relayed %+v", e)
	}
	if n, _ := f.store.relayBatch(ctx, 0); n != 0 {
		t.Errorf("a second relay published %d again", n)
	}
}
