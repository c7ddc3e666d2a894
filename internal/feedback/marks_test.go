package feedback

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// group makes a community and puts the members in it.
func (f *kmFixture) group(slug string, members ...int64) {
	f.t.Helper()
	ctx := context.Background()
	var id int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO communities (slug, name, open, created_by) VALUES ($1, $1, true, $2) RETURNING id`,
		slug, members[0]).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	for _, m := range members {
		if _, err := f.pool.Exec(ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2)`, id, m); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *kmFixture) share(author int64, audience, body string) int64 {
	f.t.Helper()
	sh, err := f.net.CreateShare(context.Background(), author, community.ShareInput{Body: body, Audience: audience})
	if err != nil {
		f.t.Fatal(err)
	}
	return sh.ID
}

func (f *kmFixture) history(share, node int64) []string {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT verdict FROM share_mark_history WHERE share_id = $1 AND node_id = $2 ORDER BY id`, share, node)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func (f *kmFixture) dispute(share, node int64) ShareMarks {
	f.t.Helper()
	sm, _, err := f.store.MarkShare(context.Background(), node, share, MarkInput{Verdict: VerdictDisputed, Reason: "wrong figures"})
	if err != nil {
		f.t.Fatal(err)
	}
	return sm
}

func TestMarkShare(t *testing.T) {
	f := newKMFixture(t)
	ctx := context.Background()
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	share := f.share(ana, community.AudienceEveryone, "Revenue grew 40% last quarter")
	f.pub.take("")

	t.Run("a first mark is created and recorded", func(t *testing.T) {
		sm, created, err := f.store.MarkShare(ctx, ben, share, MarkInput{Verdict: " Confirmed ", Reason: "matches the report"})
		if err != nil {
			t.Fatal(err)
		}
		if !created || sm.Marks != (MarkCounts{Confirmed: 1}) || sm.Mine != VerdictConfirmed || sm.DisputedByNetwork {
			t.Errorf("got %+v created %v; want one confirmation, mine, created", sm.MarkSummary, created)
		}
		if len(sm.Reasons) != 1 || sm.Reasons[0].By != "ben" || sm.Reasons[0].Reason != "matches the report" {
			t.Errorf("reasons = %+v, want ben's", sm.Reasons)
		}
		if h := f.history(share, ben); !slices.Equal(h, []string{"confirmed"}) {
			t.Errorf("history = %q, want [confirmed]", h)
		}
		evs := f.pub.take("share.marked")
		if len(evs) != 1 || evs[0].ToAll || !slices.Equal(evs[0].To, []int64{ana}) {
			t.Errorf("events = %+v, want one share.marked to the author only", evs)
		}
	})

	t.Run("marking the same way again changes nothing", func(t *testing.T) {
		_, created, err := f.store.MarkShare(ctx, ben, share, MarkInput{Verdict: "confirmed", Reason: "matches the report"})
		if err != nil || created {
			t.Fatalf("created %v, err %v; want an unchanged mark", created, err)
		}
		if h := f.history(share, ben); len(h) != 1 {
			t.Errorf("history = %q, want one entry still", h)
		}
		if evs := f.pub.take("share.marked"); len(evs) != 0 {
			t.Errorf("events = %+v, want none for no change", evs)
		}
	})

	t.Run("changing one's mark replaces it and is recorded", func(t *testing.T) {
		sm, created, err := f.store.MarkShare(ctx, ben, share, MarkInput{Verdict: "disputed", Reason: "it was 14%", Source: "https://example.com/q3?x=1"})
		if err != nil || created {
			t.Fatalf("created %v, err %v", created, err)
		}
		if sm.Marks != (MarkCounts{Disputed: 1}) || sm.Mine != VerdictDisputed {
			t.Errorf("got %+v, want one dispute and no confirmation", sm.MarkSummary)
		}
		if r := sm.Reasons; len(r) != 1 || r[0].Source != "https://example.com/q3?x=1" || r[0].Reason != "it was 14%" {
			t.Errorf("reasons = %+v", r)
		}
		var n int
		_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM share_marks WHERE share_id = $1`, share).Scan(&n)
		if n != 1 {
			t.Errorf("%d marks stored, want one per node", n)
		}
		if h := f.history(share, ben); !slices.Equal(h, []string{"confirmed", "disputed"}) {
			t.Errorf("history = %q, want [confirmed disputed]", h)
		}
	})

	t.Run("removing one's mark is recorded", func(t *testing.T) {
		sm, err := f.store.UnmarkShare(ctx, ben, share)
		if err != nil {
			t.Fatal(err)
		}
		if sm.Marks != (MarkCounts{}) || sm.Mine != "" || len(sm.Reasons) != 0 {
			t.Errorf("got %+v, want no marks", sm)
		}
		if h := f.history(share, ben); !slices.Equal(h, []string{"confirmed", "disputed", "removed"}) {
			t.Errorf("history = %q", h)
		}
		_, err = f.store.UnmarkShare(ctx, ben, share)
		wantErr(t, err, community.ErrNotFound)
	})

	t.Run("reason rule", func(t *testing.T) {
		for name, in := range map[string]MarkInput{
			"dispute without reason": {Verdict: "disputed"},
			"blank reason":           {Verdict: "disputed", Reason: "  \n "},
			"reason too long":        {Verdict: "confirmed", Reason: strings.Repeat("x", MaxMarkReason+1)},
		} {
			t.Run(name, func(t *testing.T) {
				_, _, err := f.store.MarkShare(ctx, ben, share, in)
				wantField(t, err, "reason")
			})
		}
		if _, _, err := f.store.MarkShare(ctx, cleo, share, MarkInput{Verdict: "confirmed"}); err != nil {
			t.Errorf("a confirmation needs no reason: %v", err)
		}
	})

	t.Run("source rule", func(t *testing.T) {
		for _, src := range []string{"example.com/x", "ftp://example.com/x", "javascript:alert(1)", "https://", "http://exa mple.com",
			"mailto:a@example.test", "/relative", "https://" + strings.Repeat("a", MaxMarkSource)} {
			t.Run(src[:min(len(src), 30)], func(t *testing.T) {
				_, _, err := f.store.MarkShare(ctx, ben, share, MarkInput{Verdict: "disputed", Reason: "r", Source: src})
				wantField(t, err, "source")
			})
		}
		for _, src := range []string{"http://example.com", "HTTPS://Example.com/a#b"} {
			if _, _, err := f.store.MarkShare(ctx, ben, share, MarkInput{Verdict: "disputed", Reason: "r", Source: src}); err != nil {
				t.Errorf("source %q: %v", src, err)
			}
		}
	})

	t.Run("verdict rule", func(t *testing.T) {
		_, _, err := f.store.MarkShare(ctx, ben, share, MarkInput{Verdict: "false"})
		wantField(t, err, "verdict")
	})

	t.Run("only readers mark, and not the author", func(t *testing.T) {
		private := f.share(ana, community.AudienceConnections, "for my connections")
		_, _, err := f.store.MarkShare(ctx, cleo, private, MarkInput{Verdict: "confirmed"})
		wantErr(t, err, community.ErrNotFound)
		_, err = f.store.UnmarkShare(ctx, cleo, private)
		wantErr(t, err, community.ErrNotFound)
		_, _, err = f.store.MarkShare(ctx, ana, share, MarkInput{Verdict: "confirmed"})
		wantErr(t, err, community.ErrForbidden)
		_, _, err = f.store.MarkShare(ctx, ben, 999999, MarkInput{Verdict: "confirmed"})
		wantErr(t, err, community.ErrNotFound)
		if err := f.net.DeleteShare(ctx, ana, private); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.store.MarkShare(ctx, ben, private, MarkInput{Verdict: "confirmed"})
		wantErr(t, err, community.ErrNotFound)
	})
}

func TestDisputedByNetwork(t *testing.T) {
	f := newKMFixture(t)
	ctx := context.Background()
	author := f.node("author")
	var payments []int64
	for _, h := range []string{"pay1", "pay2", "pay3", "pay4", "pay5", "pay6"} {
		payments = append(payments, f.node(h))
	}
	bridge := f.node("bridge")                           // in payments and platform
	platform := f.node("plat1")                          // in platform only
	loner1, loner2 := f.node("loner1"), f.node("loner2") // in no community
	f.group("payments", append(slices.Clone(payments), bridge)...)
	f.group("platform", bridge, platform)

	label := func(t *testing.T, share int64) bool {
		t.Helper()
		sm, err := f.store.ShareMarks(ctx, author, share)
		if err != nil {
			t.Fatal(err)
		}
		return sm.DisputedByNetwork
	}

	share := f.share(author, community.AudienceEveryone, "The outage was caused by the network team")
	t.Run("one dispute does not label", func(t *testing.T) {
		if sm := f.dispute(share, payments[0]); sm.DisputedByNetwork {
			t.Error("labelled by a single dispute")
		}
	})
	t.Run("many disputes from one community alone do not label", func(t *testing.T) {
		for _, p := range payments[1:] {
			if sm := f.dispute(share, p); sm.DisputedByNetwork {
				t.Fatalf("labelled with %d disputes, all from payments", sm.Marks.Disputed)
			}
		}
	})
	t.Run("a member who is also in a second community is still of the same clique", func(t *testing.T) {
		if sm := f.dispute(share, bridge); sm.DisputedByNetwork || sm.Marks.Disputed != 7 {
			t.Errorf("got %+v, want 7 disputes and no label (everyone disputing is in payments)", sm.MarkSummary)
		}
	})
	f.pub.take("")
	t.Run("a dispute from a second community labels", func(t *testing.T) {
		if sm := f.dispute(share, platform); !sm.DisputedByNetwork {
			t.Fatalf("got %+v, want the label", sm.MarkSummary)
		}
		if !label(t, share) {
			t.Error("label not shown on read")
		}
		evs := f.pub.take("share.marked")
		if len(evs) != 1 || !evs[0].ToAll || !strings.Contains(string(evs[0].Object), `"label_changed":true`) {
			t.Errorf("events = %+v, want share.marked to the share's audience (everyone) with label_changed", evs)
		}
	})
	t.Run("removing that mark drops the label", func(t *testing.T) {
		sm, err := f.store.UnmarkShare(ctx, platform, share)
		if err != nil {
			t.Fatal(err)
		}
		if sm.DisputedByNetwork || label(t, share) {
			t.Error("still labelled after the only outside dispute was withdrawn")
		}
		if evs := f.pub.take("share.marked"); len(evs) != 1 || !evs[0].ToAll {
			t.Errorf("events = %+v, want the label change told to the audience", evs)
		}
	})
	t.Run("changing that mark to a confirmation drops it too", func(t *testing.T) {
		f.dispute(share, platform)
		if !label(t, share) {
			t.Fatal("not labelled again")
		}
		if _, _, err := f.store.MarkShare(ctx, platform, share, MarkInput{Verdict: "confirmed"}); err != nil {
			t.Fatal(err)
		}
		if label(t, share) {
			t.Error("labelled after the outside dispute became a confirmation")
		}
	})
	t.Run("people in no community are one group", func(t *testing.T) {
		s2 := f.share(author, community.AudienceEveryone, "second claim")
		f.dispute(s2, loner1)
		if sm := f.dispute(s2, loner2); sm.DisputedByNetwork {
			t.Error("two people outside any community labelled alone")
		}
		if sm := f.dispute(s2, payments[0]); !sm.DisputedByNetwork {
			t.Error("people outside communities and a payments member did not label")
		}
	})
	t.Run("leaving a community is followed on read", func(t *testing.T) {
		s3 := f.share(author, community.AudienceEveryone, "third claim")
		f.dispute(s3, payments[0])
		f.dispute(s3, platform)
		if !label(t, s3) {
			t.Fatal("payments and platform did not label")
		}
		if _, err := f.pool.Exec(ctx, `INSERT INTO community_members (community_id, node_id) SELECT id, $1 FROM communities WHERE slug = 'platform'`, payments[0]); err != nil {
			t.Fatal(err)
		}
		if label(t, s3) {
			t.Error("still labelled once both disputers are in platform")
		}
	})
}

func TestCorrectShareAndMarksOf(t *testing.T) {
	f := newKMFixture(t)
	ctx := context.Background()
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	if _, err := f.pool.Exec(ctx, `INSERT INTO connections (from_node, to_node, kind, state, accepted_at) VALUES ($1, $2, 'collaborate', 'accepted', now())`, ana, ben); err != nil {
		t.Fatal(err)
	}
	public := f.share(ana, community.AudienceEveryone, "public claim")
	private := f.share(ana, community.AudienceConnections, "connections claim")
	f.pub.take("")

	t.Run("the author posts a correction", func(t *testing.T) {
		c, err := f.store.CorrectShare(ctx, ana, private, "  It was 14%, not 40%.  ")
		if err != nil {
			t.Fatal(err)
		}
		if c.Body != "It was 14%, not 40%." {
			t.Errorf("body %q", c.Body)
		}
		evs := f.pub.take("share.corrected")
		if len(evs) != 1 || evs[0].ToAll || !slices.Contains(evs[0].To, ben) || slices.Contains(evs[0].To, cleo) {
			t.Errorf("events = %+v, want share.corrected to ana's connections, not cleo", evs)
		}
	})
	t.Run("a second correction replaces the first", func(t *testing.T) {
		if _, err := f.store.CorrectShare(ctx, ana, private, "It was 14%."); err != nil {
			t.Fatal(err)
		}
		sm, err := f.store.ShareMarks(ctx, ben, private)
		if err != nil || sm.Correction == nil || sm.Correction.Body != "It was 14%." {
			t.Fatalf("correction = %+v, %v", sm.Correction, err)
		}
	})
	t.Run("only the author corrects", func(t *testing.T) {
		_, err := f.store.CorrectShare(ctx, ben, private, "I say so")
		wantErr(t, err, community.ErrForbidden)
		_, err = f.store.CorrectShare(ctx, cleo, private, "I cannot even read it")
		wantErr(t, err, community.ErrNotFound)
		_, err = f.store.CorrectShare(ctx, ana, public, " ")
		wantField(t, err, "body")
		_, err = f.store.CorrectShare(ctx, ana, public, strings.Repeat("x", MaxCorrection+1))
		wantField(t, err, "body")
		_, err = f.store.ShareMarks(ctx, cleo, private)
		wantErr(t, err, community.ErrNotFound)
	})
	t.Run("MarksOf summarises many shares in one call", func(t *testing.T) {
		if _, _, err := f.store.MarkShare(ctx, ben, public, MarkInput{Verdict: "confirmed"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.MarkShare(ctx, cleo, public, MarkInput{Verdict: "disputed", Reason: "no"}); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.MarksOf(ctx, ben, []int64{public, private})
		if err != nil {
			t.Fatal(err)
		}
		if p := got[public]; p.Marks != (MarkCounts{Disputed: 1, Confirmed: 1}) || p.Mine != "confirmed" || p.Correction != nil {
			t.Errorf("public = %+v", p)
		}
		if p := got[private]; p.Marks != (MarkCounts{}) || p.Mine != "" || p.Correction == nil {
			t.Errorf("private = %+v", p)
		}
		if empty, err := f.store.MarksOf(ctx, ben, nil); err != nil || len(empty) != 0 {
			t.Errorf("no ids: %v, %v", empty, err)
		}
	})
}
