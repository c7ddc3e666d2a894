package feedback

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// kmFixture is a fresh database with a feedback store whose published events
// are recorded (shared by the kudos and marks tests).
type kmFixture struct {
	t     *testing.T
	pool  *pgxpool.Pool
	net   *community.Store
	store *Store
	pub   *recordingPublisher
}

func newKMFixture(t *testing.T) *kmFixture {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	net := community.NewStore(pool)
	f := &kmFixture{t: t, pool: pool, net: net, store: NewStore(pool, net), pub: &recordingPublisher{}}
	net.SetPublisher(f.pub, nil)
	return f
}

func (f *kmFixture) node(handle string) int64 {
	f.t.Helper()
	var id int64
	err := f.pool.QueryRow(context.Background(), `INSERT INTO nodes (handle, display_name, email) VALUES ($1, $2, $3) RETURNING id`,
		handle, strings.ToUpper(handle[:1])+handle[1:], handle+"@example.test").Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func TestKudos(t *testing.T) {
	f := newKMFixture(t)
	ctx := context.Background()
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")

	var public, private Kudos
	t.Run("give public kudos with values", func(t *testing.T) {
		k, err := f.store.GiveKudos(ctx, ana, KudosInput{ToHandle: "@Ben", Message: "  Thanks for the review  ",
			Values: []string{"#Care", "rigour", "care", " "}, Public: true})
		if err != nil {
			t.Fatal(err)
		}
		if k.To.Handle != "ben" || k.From.Handle != "ana" || k.Message != "Thanks for the review" || !k.Public {
			t.Errorf("kudos = %+v, want ana → ben, trimmed message, public", k)
		}
		if want := []string{"care", "rigour"}; !slices.Equal(k.Values, want) {
			t.Errorf("values = %q, want %q (normalised like skills)", k.Values, want)
		}
		public = k
		evs := f.pub.take("kudos.received")
		if len(evs) != 1 || evs[0].ToAll || !slices.Equal(evs[0].To, []int64{ben}) {
			t.Errorf("events = %+v, want one kudos.received to ben only", evs)
		}
		var kinds []string
		rows, _ := f.pool.Query(ctx, `SELECT kind || ':' || ref FROM interactions WHERE from_node = $1 AND to_node = $2`, ana, ben)
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			kinds = append(kinds, s)
		}
		if len(kinds) != 1 || !strings.HasPrefix(kinds[0], "kudos:kudos:") {
			t.Errorf("interactions = %q, want one kudos interaction", kinds)
		}
	})

	t.Run("give private kudos", func(t *testing.T) {
		k, err := f.store.GiveKudos(ctx, cleo, KudosInput{ToHandle: "ben", Message: "You helped me a lot", Public: false})
		if err != nil {
			t.Fatal(err)
		}
		private = k
	})

	t.Run("invalid", func(t *testing.T) {
		for name, c := range map[string]struct {
			in    KudosInput
			field string
		}{
			"no recipient":      {KudosInput{Message: "hi"}, "to_handle"},
			"unknown recipient": {KudosInput{ToHandle: "nobody"}, "to_handle"},
			"yourself":          {KudosInput{ToHandle: "ana"}, "to_handle"},
			"message too long":  {KudosInput{ToHandle: "ben", Message: strings.Repeat("é", MaxKudosMessage+1)}, "message"},
			"six values":        {KudosInput{ToHandle: "ben", Values: []string{"a", "b", "c", "d", "e", "f"}}, "values"},
			"value too long":    {KudosInput{ToHandle: "ben", Values: []string{strings.Repeat("x", MaxValueLen+1)}}, "values"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.store.GiveKudos(ctx, ana, c.in)
				wantField(t, err, c.field)
			})
		}
		var n int
		_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM kudos`).Scan(&n)
		if n != 2 {
			t.Errorf("%d kudos stored, want 2 (nothing from the invalid ones)", n)
		}
	})

	t.Run("a message of exactly the limit is fine", func(t *testing.T) {
		if _, err := f.store.GiveKudos(ctx, cleo, KudosInput{ToHandle: "ana", Message: strings.Repeat("é", MaxKudosMessage), Public: true}); err != nil {
			t.Fatal(err)
		}
	})

	ids := func(list []Kudos) []int64 {
		var out []int64
		for _, k := range list {
			out = append(out, k.ID)
		}
		return out
	}
	t.Run("private kudos are for their recipient only", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			viewer int64
			filter KudosFilter
			want   []int64
		}{
			{"recipient sees both", ben, KudosFilter{To: ben}, []int64{private.ID, public.ID}},
			{"giver of the private one does not", cleo, KudosFilter{To: ben}, []int64{public.ID}},
			{"someone else does not", ana, KudosFilter{To: ben}, []int64{public.ID}},
			{"given by cleo, seen by ana", ana, KudosFilter{From: cleo}, nil},
			{"given by cleo, seen by ben", ben, KudosFilter{From: cleo}, []int64{private.ID}},
			{"public only, even for the recipient", ben, KudosFilter{To: ben, PublicOnly: true}, []int64{public.ID}},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, err := f.store.ListKudos(ctx, c.viewer, c.filter)
				if err != nil {
					t.Fatal(err)
				}
				// cleo → ana is public and not in these filters, except "from cleo".
				if c.filter.From == cleo {
					got = slices.DeleteFunc(got, func(k Kudos) bool { return k.To.ID == ana })
				}
				if !slices.Equal(ids(got), c.want) {
					t.Errorf("got %v, want %v", ids(got), c.want)
				}
			})
		}
	})

	t.Run("keyset pages", func(t *testing.T) {
		first, err := f.store.ListKudos(ctx, ben, KudosFilter{To: ben, Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != private.ID {
			t.Fatalf("first page = %v, %v", ids(first), err)
		}
		next, err := f.store.ListKudos(ctx, ben, KudosFilter{To: ben, Limit: 1, Before: first[0].ID})
		if err != nil || len(next) != 1 || next[0].ID != public.ID {
			t.Fatalf("second page = %v, %v", ids(next), err)
		}
	})
}

func TestNormaliseValues(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want []string
		ok   bool
	}{
		{"free text", "Care, rigour; #Craft\n", []string{"care", "rigour", "craft"}, true},
		{"duplicates", "care, CARE, #care", []string{"care"}, true},
		{"blank", " , ,", []string{}, true},
		{"five", "a,b,c,d,e", []string{"a", "b", "c", "d", "e"}, true},
		{"six", "a,b,c,d,e,f", nil, false},
		{"control character", "a\x07b", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormaliseValues(SplitValues(c.in))
			if (err == nil) != c.ok || (c.ok && !slices.Equal(got, c.want)) {
				t.Errorf("NormaliseValues(%q) = %q, %v; want %q (ok %v)", c.in, got, err, c.want, c.ok)
			}
		})
	}
}
