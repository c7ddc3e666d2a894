package asks

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(f.ctx, sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestCreateAskValidation(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	long := func(n int) string { return strings.Repeat("x", n) }
	manyTags := make([]string, MaxTags+1)
	for i := range manyTags {
		manyTags[i] = "t" + long(i+1)
	}
	for _, tc := range []struct {
		name  string
		in    AskInput
		field string
	}{
		{"no title", AskInput{Title: "  ", Tags: []string{"go"}}, "title"},
		{"title too long", AskInput{Title: long(MaxTitleLen + 1), Tags: []string{"go"}}, "title"},
		{"body too long", AskInput{Title: "t", Body: long(MaxBodyLen + 1), Tags: []string{"go"}}, "body"},
		{"no tags", AskInput{Title: "t"}, "tags"},
		{"only blank tags", AskInput{Title: "t", Tags: []string{" ", "#"}}, "tags"},
		{"too many tags", AskInput{Title: "t", Tags: manyTags}, "tags"},
		{"tag too long", AskInput{Title: "t", Tags: []string{long(MaxTagLen + 1)}}, "tags"},
		{"tag with a comma", AskInput{Title: "t", Tags: []string{"go,rust"}}, "tags"},
		{"unknown urgency", AskInput{Title: "t", Tags: []string{"go"}, Urgency: "asap"}, "urgency"},
		{"widen too soon", AskInput{Title: "t", Tags: []string{"go"}, WidenAfter: time.Millisecond}, "widen_after"},
		{"widen too late", AskInput{Title: "t", Tags: []string{"go"}, WidenAfter: 31 * 24 * time.Hour}, "widen_after"},
		{"unknown community", AskInput{Title: "t", Tags: []string{"go"}, CommunitySlug: "nowhere"}, "community_slug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.CreateAsk(f.ctx, f.id("asker"), tc.in)
			wantField(t, err, tc.field)
		})
	}
	if n := f.count(`SELECT count(*) FROM asks`); n != 0 {
		t.Errorf("%d asks written by refused inputs, want 0", n)
	}

	t.Run("defaults by urgency", func(t *testing.T) {
		for urgency, want := range map[string]time.Duration{"": DefaultWidenAfter, "high": DefaultWidenAfter / 4, "low": DefaultWidenAfter * 4} {
			out := f.ask("asker", AskInput{Tags: []string{"go"}, Urgency: urgency})
			if time.Duration(out.WidenAfter) != want || out.Status != StatusOpen {
				t.Errorf("urgency %q: widen_after %s, status %s; want %s, open", urgency, time.Duration(out.WidenAfter), out.Status, want)
			}
		}
	})
}

func TestAsksInCommunities(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	f.person("member", "go")
	f.person("outsider", "go")
	f.connect("asker", "member", community.KindCollaborate)
	f.connect("asker", "outsider", community.KindCollaborate)
	if _, err := f.net.CreateCommunity(f.ctx, f.id("asker"), community.CommunityInput{Name: "Secret", Open: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.net.CreateCommunity(f.ctx, f.id("outsider"), community.CommunityInput{Name: "Open", Open: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO community_members (community_id, node_id) SELECT id, $1 FROM communities WHERE slug = 'secret'`, f.id("member")); err != nil {
		t.Fatal(err)
	}

	t.Run("an invite-only community's ask reaches its members only", func(t *testing.T) {
		out := f.ask("asker", AskInput{Tags: []string{"go"}, CommunitySlug: "secret"})
		wantHandles(t, "members only", out.RoutedTo, "member")
		if out.Community == nil || out.Community.Slug != "secret" {
			t.Errorf("community = %+v, want secret", out.Community)
		}
		if _, err := f.s.FindAsk(f.ctx, f.id("outsider"), out.ID); err == nil {
			t.Error("an outsider reads an invite-only community's ask, want not found")
		}
		if _, err := f.s.FindAsk(f.ctx, f.id("member"), out.ID); err != nil {
			t.Errorf("a member cannot read it: %v", err)
		}
		_, err := f.s.Refer(f.ctx, f.id("asker"), out.ID, "outsider")
		wantField(t, err, "to_handle")
		list, _ := f.s.ListAsks(f.ctx, f.id("outsider"), ListFilter{})
		if len(list) != 0 {
			t.Errorf("an outsider lists %d asks, want 0", len(list))
		}
	})
	t.Run("a community one may see but has not joined", func(t *testing.T) {
		_, err := f.s.CreateAsk(f.ctx, f.id("asker"), AskInput{Title: "t", Tags: []string{"go"}, CommunitySlug: "open"})
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("an invite-only community one is not in is invisible", func(t *testing.T) {
		_, err := f.s.CreateAsk(f.ctx, f.id("outsider"), AskInput{Title: "t", Tags: []string{"go"}, CommunitySlug: "secret"})
		wantField(t, err, "community_slug")
	})
	t.Run("an ask outside invite-only communities is readable by everyone", func(t *testing.T) {
		out := f.ask("asker", AskInput{Tags: []string{"rare"}})
		f.person("stranger")
		if _, err := f.s.FindAsk(f.ctx, f.id("stranger"), out.ID); err != nil {
			t.Errorf("a stranger cannot read it: %v", err)
		}
	})
}

func TestAnswerAcceptAndExpertise(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	f.person("ana", "postgres")
	f.person("ben") // no skill: answers anyway, from the needs page
	f.person("cleo")
	f.connect("asker", "ana", community.KindCollaborate)
	f.connect("cleo", "ben", community.KindCollaborate)
	out := f.ask("asker", AskInput{Title: "Autovacuum is slow", Tags: []string{"postgres"}})

	t.Run("the asker cannot answer their own ask", func(t *testing.T) {
		_, err := f.s.AnswerAsk(f.ctx, f.id("asker"), out.ID, "self")
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("an empty answer", func(t *testing.T) {
		_, err := f.s.AnswerAsk(f.ctx, f.id("ana"), out.ID, "  ")
		wantField(t, err, "body")
	})
	t.Run("an unknown ask", func(t *testing.T) {
		_, err := f.s.AnswerAsk(f.ctx, f.id("ana"), out.ID+1000, "x")
		wantErr(t, err, community.ErrNotFound)
	})

	anaAnswer, err := f.s.AnswerAsk(f.ctx, f.id("ana"), out.ID, "Raise autovacuum_max_workers.")
	if err != nil {
		t.Fatal(err)
	}
	benAnswer, err := f.s.AnswerAsk(f.ctx, f.id("ben"), out.ID, "Tune cost_limit per table.")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("answers reach the asker live, and count as interactions", func(t *testing.T) {
		evs := f.pub.ofType(EventAnswered)
		if len(evs) != 2 || !slices.Equal(evs[0].To, []int64{f.id("asker")}) {
			t.Fatalf("ask.answered events = %+v, want two, to the asker only", evs)
		}
		if n := f.count(`SELECT count(*) FROM interactions WHERE kind = 'answer' AND to_node = $1 AND ref = $2`, f.id("asker"), askRef(out.ID)); n != 2 {
			t.Errorf("%d answer interactions, want 2", n)
		}
		d, _ := f.s.FindAsk(f.ctx, f.id("ana"), out.ID)
		if d.MyRoute == nil || d.MyRoute.Status != RouteAnswered {
			t.Errorf("ana's route = %+v, want answered", d.MyRoute)
		}
		if d.RoutedTo != nil {
			t.Errorf("a candidate sees whom else it was offered to: %+v", d.RoutedTo)
		}
	})
	t.Run("only the asker accepts", func(t *testing.T) {
		_, err := f.s.AcceptAnswer(f.ctx, f.id("ana"), out.ID, benAnswer.ID)
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("an answer of another ask", func(t *testing.T) {
		other := f.ask("asker", AskInput{Tags: []string{"go"}})
		_, err := f.s.AcceptAnswer(f.ctx, f.id("asker"), other.ID, benAnswer.ID)
		wantErr(t, err, community.ErrNotFound)
	})

	acc, err := f.s.AcceptAnswer(f.ctx, f.id("asker"), out.ID, benAnswer.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("accepting answers the ask", func(t *testing.T) {
		if acc.Ask.Status != StatusAnswered || acc.Ask.AcceptedAnswerID == nil || *acc.Ask.AcceptedAnswerID != benAnswer.ID || !acc.Answer.Accepted {
			t.Errorf("after accepting: %+v", acc)
		}
		d, _ := f.s.FindAsk(f.ctx, f.id("asker"), out.ID)
		if len(d.Answers) != 2 || d.Answers[0].ID != benAnswer.ID || !d.Answers[0].Accepted {
			t.Errorf("answers = %+v, want ben's accepted one first", d.Answers)
		}
		ev := f.pub.ofType(EventAccepted)
		if len(ev) != 1 || !ev[0].Visible(f.id("ben")) || ev[0].Visible(f.id("ana")) {
			t.Errorf("ask.accepted = %+v, want one to ben (and the asker), not ana", ev)
		}
	})
	t.Run("accepting the same again changes nothing; another is a conflict", func(t *testing.T) {
		if _, err := f.s.AcceptAnswer(f.ctx, f.id("asker"), out.ID, benAnswer.ID); err != nil {
			t.Errorf("accepting again: %v", err)
		}
		_, err := f.s.AcceptAnswer(f.ctx, f.id("asker"), out.ID, anaAnswer.ID)
		wantErr(t, err, community.ErrConflict)
		if n := f.count(`SELECT score::int FROM expertise WHERE node_id = $1 AND tag = 'postgres'`, f.id("ben")); n != 1 {
			t.Errorf("ben's postgres expertise = %d, want 1 (raised once)", n)
		}
	})
	t.Run("expertise feeds later routing", func(t *testing.T) {
		// cleo knows ben; ben has no postgres skill, but answered well before.
		// (ana is reached too: ben's answer tied him to the asker, who knows her.)
		next := f.ask("cleo", AskInput{Tags: []string{"postgres"}})
		wantHandles(t, "by expertise", next.RoutedTo, "ben", "ana")
		if r := next.RoutedTo[0]; r.Reason != "answered before: postgres; direct connection" {
			t.Errorf("ben's reason = %q", r.Reason)
		}
		if r := next.RoutedTo[1]; r.Reason != "skills: postgres; 3 hops via Ben, Asker" {
			t.Errorf("ana's reason = %q", r.Reason)
		}
	})
	t.Run("a closed ask takes no answer", func(t *testing.T) {
		other := f.ask("asker", AskInput{Tags: []string{"go"}})
		if _, err := f.s.CloseAsk(f.ctx, f.id("ana"), other.ID); err == nil {
			t.Error("ana closed the asker's ask")
		}
		closed, err := f.s.CloseAsk(f.ctx, f.id("asker"), other.ID)
		if err != nil || closed.Status != StatusClosed {
			t.Fatalf("close = %+v, %v", closed, err)
		}
		_, err = f.s.AnswerAsk(f.ctx, f.id("ana"), other.ID, "late")
		wantErr(t, err, community.ErrConflict)
	})
}

func TestReferAndDecline(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	f.person("ana", "go")
	f.person("ben")
	f.person("cleo")
	f.person("dan", "go")
	f.connect("asker", "ana", community.KindCollaborate)
	f.connect("ana", "ben", community.KindAdvice)
	f.connect("asker", "dan", community.KindCollaborate)
	out := f.ask("asker", AskInput{Tags: []string{"go"}, WidenAfter: time.Hour})
	wantHandles(t, "first round", out.RoutedTo, "ana", "dan")

	for _, tc := range []struct {
		name, to string
		field    string
	}{
		{"nobody named", " ", "to_handle"},
		{"unknown person", "nobody", "to_handle"},
		{"oneself", "ana", "to_handle"},
		{"the asker", "asker", "to_handle"},
		{"someone not connected", "cleo", "to_handle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.Refer(f.ctx, f.id("ana"), out.ID, tc.to)
			wantField(t, err, tc.field)
		})
	}

	f.backdate(out.ID, 50*time.Minute)
	route, err := f.s.Refer(f.ctx, f.id("ana"), out.ID, "@Ben")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("passing on records the referral edge and offers it live", func(t *testing.T) {
		if route.Handle != "ben" || route.Via != "ana" || route.Reason != "passed on by Ana" ||
			!slices.Equal(route.Path, []string{"asker", "ana", "ben"}) || route.Hops != 2 {
			t.Errorf("route = %+v", route)
		}
		var via int64
		if err := f.pool.QueryRow(f.ctx, `SELECT via FROM ask_routes WHERE ask_id = $1 AND node_id = $2`, out.ID, f.id("ben")).Scan(&via); err != nil || via != f.id("ana") {
			t.Errorf("ask_routes.via = %d, %v; want ana", via, err)
		}
		if n := f.count(`SELECT count(*) FROM interactions WHERE from_node = $1 AND to_node = $2 AND ref = $3`, f.id("ana"), f.id("ben"), askRef(out.ID)); n != 1 {
			t.Errorf("%d referral interactions, want 1", n)
		}
		if ev, ok := f.pub.routedTo(t, out.ID)[f.id("ben")]; !ok || ev.Route.Reason != "passed on by Ana" {
			t.Errorf("ben's ask.routed = %+v, %v", ev, ok)
		}
		d, _ := f.s.FindAsk(f.ctx, f.id("ana"), out.ID)
		if d.MyRoute == nil || d.MyRoute.Status != RouteReferred {
			t.Errorf("ana's route = %+v, want referred", d.MyRoute)
		}
		if len(f.pub.ofType(EventReferred)) != 1 {
			t.Error("the asker did not hear of the referral")
		}
	})
	t.Run("passing on restarts the wait before widening", func(t *testing.T) {
		f.backdate(out.ID, 50*time.Minute) // 50 of its 60 minutes since the referral
		if n, _ := f.s.WidenOnce(f.ctx); n != 0 {
			t.Errorf("WidenOnce = %d, want 0", n)
		}
	})
	t.Run("passing on twice to the same person", func(t *testing.T) {
		f.connect("dan", "ben", community.KindCollaborate)
		_, err := f.s.Refer(f.ctx, f.id("dan"), out.ID, "ben")
		wantErr(t, err, community.ErrConflict)
	})
	t.Run("decline", func(t *testing.T) {
		wantErr(t, f.s.Decline(f.ctx, f.id("cleo"), out.ID), community.ErrForbidden)
		if err := f.s.Decline(f.ctx, f.id("dan"), out.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Decline(f.ctx, f.id("dan"), out.ID); err != nil {
			t.Errorf("declining twice: %v", err)
		}
		if _, err := f.s.AnswerAsk(f.ctx, f.id("ben"), out.ID, "Here is how."); err != nil {
			t.Fatal(err)
		}
		wantErr(t, f.s.Decline(f.ctx, f.id("ben"), out.ID), community.ErrConflict)
		if list, _ := f.s.OfferedTo(f.ctx, f.id("dan"), 10); len(list) != 0 {
			t.Errorf("dan still has %d asks on offer after declining", len(list))
		}
	})
}

func TestReactions(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	f.person("ana", "go")
	f.connect("asker", "ana", community.KindCollaborate)
	out := f.ask("asker", AskInput{Tags: []string{"go"}})
	ans, err := f.s.AnswerAsk(f.ctx, f.id("ana"), out.ID, "Use channels.")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("an unknown reaction", func(t *testing.T) {
		_, err := f.s.React(f.ctx, f.id("asker"), out.ID, ans.ID, "wow", true)
		wantField(t, err, "reaction")
	})
	t.Run("not to one's own answer", func(t *testing.T) {
		_, err := f.s.React(f.ctx, f.id("ana"), out.ID, ans.ID, "thanks", true)
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("react, again, and take back", func(t *testing.T) {
		for range 2 {
			got, err := f.s.React(f.ctx, f.id("asker"), out.ID, ans.ID, "Thanks", true)
			if err != nil || got.Reactions["thanks"] != 1 || !slices.Equal(got.Mine, []string{"thanks"}) {
				t.Fatalf("react = %+v, %v; want one thanks, mine", got, err)
			}
		}
		if evs := f.pub.ofType(EventReacted); len(evs) != 1 || !slices.Equal(evs[0].To, []int64{f.id("ana")}) {
			t.Errorf("ask.reacted = %+v, want one, to ana", evs)
		}
		got, err := f.s.React(f.ctx, f.id("asker"), out.ID, ans.ID, "thanks", false)
		if err != nil || got.Reactions["thanks"] != 0 || len(got.Mine) != 0 {
			t.Errorf("after taking back: %+v, %v", got, err)
		}
	})
}

func TestListAsks(t *testing.T) {
	f := newFixture(t)
	f.s.Configure(Options{GraphMaxAge: -1, StaleAfter: time.Hour})
	f.person("asker")
	f.person("ana", "go")
	f.person("ben")
	f.connect("asker", "ana", community.KindCollaborate)
	if _, err := f.net.CreateCommunity(f.ctx, f.id("ben"), community.CommunityInput{Name: "Guild", Open: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.net.JoinCommunity(f.ctx, f.id("asker"), "guild"); err != nil {
		t.Fatal(err)
	}
	unanswered := f.ask("asker", AskInput{Title: "unanswered", Tags: []string{"go"}})
	stale := f.ask("asker", AskInput{Title: "stale", Tags: []string{"go"}})
	answered := f.ask("asker", AskInput{Title: "answered", Tags: []string{"rust"}})
	if _, err := f.s.AnswerAsk(f.ctx, f.id("ana"), stale.ID, "maybe"); err != nil {
		t.Fatal(err)
	}
	a, err := f.s.AnswerAsk(f.ctx, f.id("ana"), answered.ID, "yes")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AcceptAnswer(f.ctx, f.id("asker"), answered.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `UPDATE asks SET created_at = now() - interval '2 hours' WHERE id = $1`, stale.ID); err != nil {
		t.Fatal(err)
	}
	titles := func(list []Ask) []string {
		var out []string
		for _, a := range list {
			out = append(out, a.Title)
		}
		return out
	}
	for _, tc := range []struct {
		viewer string
		f      ListFilter
		want   []string
	}{
		{"ben", ListFilter{}, []string{"answered", "stale", "unanswered"}},
		{"ben", ListFilter{Status: "open"}, []string{"stale", "unanswered"}},
		{"ben", ListFilter{Status: "answered"}, []string{"answered"}},
		{"ben", ListFilter{Scope: "unanswered"}, []string{"unanswered"}},
		{"ben", ListFilter{Scope: "stale"}, []string{"stale"}},
		{"ben", ListFilter{Scope: "communities", Status: "open"}, []string{"stale", "unanswered"}},
		{"ben", ListFilter{Scope: "mine"}, nil},
		{"asker", ListFilter{Scope: "mine", Limit: 2}, []string{"answered", "stale"}},
		{"asker", ListFilter{Scope: "mine", Before: stale.ID}, []string{"unanswered"}},
		{"ana", ListFilter{Scope: "offered", Tag: "#go"}, []string{"stale", "unanswered"}},
	} {
		got, err := f.s.ListAsks(f.ctx, f.id(tc.viewer), tc.f)
		if err != nil {
			t.Fatalf("%s %+v: %v", tc.viewer, tc.f, err)
		}
		if g := titles(got); !slices.Equal(g, tc.want) {
			t.Errorf("%s %+v = %v, want %v", tc.viewer, tc.f, g, tc.want)
		}
	}
	_, err = f.s.ListAsks(f.ctx, f.id("ben"), ListFilter{Status: "pending"})
	wantField(t, err, "status")
	_, err = f.s.ListAsks(f.ctx, f.id("ben"), ListFilter{Scope: "everything"})
	wantField(t, err, "scope")
	if off, err := f.s.OfferedTo(f.ctx, f.id("ana"), 10); err != nil || len(off) != 1 || off[0].Ask.ID != unanswered.ID {
		t.Errorf("offered to ana = %+v, %v; want the unanswered ask only (she answered the others)", off, err)
	}
}

func TestOffers(t *testing.T) {
	f := newFixture(t)
	f.person("asker")
	f.person("ben")
	f.person("cleo")
	f.offer("ben", "code review in Go", "go", "code-review")
	f.offer("cleo", "Postgres tuning", "postgres")
	f.offer("asker", "Go mentoring", "go")
	got, err := f.s.MatchingOffers(f.ctx, []string{"go", "code-review"}, f.id("asker"), 5)
	if err != nil || len(got) != 1 || got[0].Node.Handle != "ben" || !slices.Equal(got[0].Matched, []string{"go", "code-review"}) {
		t.Errorf("matching offers = %+v, %v; want ben's, both tags (not the asker's own)", got, err)
	}
	for q, want := range map[string][]string{"go": {"asker", "ben"}, "tuning": {"cleo"}, "CLEO": {"cleo"}, "": {"asker", "cleo", "ben"}, "100%": nil} {
		got, err := f.s.SearchOffers(f.ctx, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, o := range got {
			hs = append(hs, o.Node.Handle)
		}
		if !slices.Equal(hs, want) {
			t.Errorf("search %q = %v, want %v", q, hs, want)
		}
	}
	_, err = f.s.SearchOffers(f.ctx, strings.Repeat("x", 201), 10)
	wantField(t, err, "q")
}

func TestEventsAreJSON(t *testing.T) {
	// The web layer decodes ask.routed for the dashboard: the object must
	// round-trip, durations included.
	ev := RoutedEvent{NodeID: 7, Ask: Ask{ID: 1, Title: "t", WidenAfter: Duration(90 * time.Minute)}, Route: Route{Handle: "ana", Reason: "r", Path: []string{"a", "ana"}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back RoutedEvent
	if err := json.Unmarshal(b, &back); err != nil || back.Ask.WidenAfter != ev.Ask.WidenAfter || back.NodeID != 7 || back.Route.Reason != "r" {
		t.Errorf("round trip of %s = %+v, %v", b, back, err)
	}
	if !strings.Contains(string(b), `"widen_after":"1h30m0s"`) {
		t.Errorf("widen_after is not duration text in %s", b)
	}
}
