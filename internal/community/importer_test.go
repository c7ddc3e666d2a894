package community

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/demo"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// impFixture is a fresh database for import tests.
type impFixture struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *Store
}

func newImpFixture(t *testing.T) *impFixture {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	return &impFixture{t: t, pool: pool, store: NewStore(pool)}
}

// node inserts an existing person directly, with an optional external id.
func (f *impFixture) node(handle, externalID string) int64 {
	f.t.Helper()
	var ext any
	if externalID != "" {
		ext = externalID
	}
	var id int64
	err := f.pool.QueryRow(context.Background(), `
		INSERT INTO nodes (handle, display_name, email, external_id) VALUES ($1, $2, $3, $4) RETURNING id`,
		handle, "Existing "+handle, handle+"@example.test", ext).Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// run imports the two files (edges "" means no edges file).
func (f *impFixture) run(nodes, edges string) (ImportReport, error) {
	f.t.Helper()
	in := ImportInput{Nodes: strings.NewReader(nodes)}
	if edges != "" {
		in.Edges = strings.NewReader(edges)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.store.Import(ctx, in)
}

// counts is the number of rows in every table an import writes to.
func (f *impFixture) counts() map[string]int {
	f.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"nodes", "communities", "community_members", "community_purpose_history", "connections", "events"} {
		var n int
		if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// connected lists the connections as "a-b" handle pairs (from_node first), sorted.
func (f *impFixture) connected() []string {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `
		SELECT a.handle || '-' || b.handle FROM connections c
		JOIN nodes a ON a.id = c.from_node JOIN nodes b ON b.id = c.to_node ORDER BY 1`)
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

// impWantErrors asserts err is an *ImportErrors with exactly these problems,
// written "file:line:field"; reasons must not be empty.
func impWantErrors(t *testing.T, err error, want ...string) *ImportErrors {
	t.Helper()
	var ie *ImportErrors
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v (%T), want *ImportErrors", err, err)
	}
	var got []string
	for _, r := range ie.Rows {
		got = append(got, fmt.Sprintf("%s:%d:%s", r.File, r.Line, r.Field))
		if r.Reason == "" {
			t.Errorf("%s line %d: empty reason", r.File, r.Line)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q\n(%v)", got, want, ie.Rows)
	}
	if ie.Total != len(want) {
		t.Errorf("Total = %d, want %d", ie.Total, len(want))
	}
	return ie
}

const impGoodPeople = `Handle,Display Name,EMAIL,id,skills,community,title,location
ana,Ana Almeida,Ana@Example.org,e1,Go; Postgres|go,Platform Guild;Research circle,Engineer,Lisbon
@ben,Ben Berg,ben@example.org,e2,,platform-guild,,
chiara,"Chiara ""Kiki"" Costa",chiara@example.org,,design,,Designer,Berlin
dmitri,Dmitri Dubois,dmitri@example.org,e4,,,,
`

func TestImport(t *testing.T) {
	t.Run("good import with counts", func(t *testing.T) {
		f := newImpFixture(t)
		// One community exists already and is found by its name.
		if _, err := f.pool.Exec(context.Background(), `INSERT INTO communities (slug, name, open) VALUES ('research', 'Research circle', false)`); err != nil {
			t.Fatal(err)
		}
		edges := "# who works with whom\n" +
			"ana ben\n" +
			"e2 e1   # the same pair, reversed, by id\n" +
			"\n" +
			"ana\tchiara\n" +
			"chiara chiara\n" + // a self-loop
			"ANA e4\n" +
			"e4 ana\n"
		rep, err := f.run(impGoodPeople, edges)
		if err != nil {
			t.Fatal(err)
		}
		rep.Elapsed = 0
		want := ImportReport{People: 4, Communities: 1, Memberships: 3, TiesRead: 6, SelfLoops: 1, Merged: 2, Connections: 3}
		if rep != want {
			t.Errorf("report = %+v, want %+v", rep, want)
		}
		if got, want := f.connected(), []string{"ana-ben", "ana-chiara", "ana-dmitri"}; !slices.Equal(got, want) {
			t.Errorf("connections = %v, want %v", got, want)
		}
		var bad int
		if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM connections
			WHERE from_node >= to_node OR kind <> 'collaborate' OR state <> 'accepted' OR accepted_at IS NULL`).Scan(&bad); err != nil {
			t.Fatal(err)
		}
		if bad != 0 {
			t.Errorf("%d connections are not accepted collaborate ties with from_node < to_node", bad)
		}

		ana, err := f.store.FindNodeByHandle(context.Background(), "ana")
		if err != nil {
			t.Fatal(err)
		}
		if ana.DisplayName != "Ana Almeida" || ana.Email != "ana@example.org" || ana.Title != "Engineer" ||
			ana.Location != "Lisbon" || !slices.Equal(ana.Skills, []string{"go", "postgres"}) || ana.Steward {
			t.Errorf("ana = %+v", ana)
		}
		chiara, err := f.store.FindNodeByHandle(context.Background(), "chiara")
		if err != nil {
			t.Fatal(err)
		}
		if chiara.DisplayName != `Chiara "Kiki" Costa` {
			t.Errorf("chiara's display name = %q", chiara.DisplayName)
		}
		var withPassword, withExt int
		if err := f.pool.QueryRow(context.Background(), `SELECT count(password_hash), count(external_id) FROM nodes`).Scan(&withPassword, &withExt); err != nil {
			t.Fatal(err)
		}
		if withPassword != 0 || withExt != 3 {
			t.Errorf("nodes with a password: %d, want 0; with an external id: %d, want 3", withPassword, withExt)
		}

		// Memberships: ana in both, ben in the new one by its slug, and the
		// existing community keeps its settings.
		rows, err := f.pool.Query(context.Background(), `
			SELECT c.slug || ':' || c.open::text || ':' || string_agg(n.handle, ',' ORDER BY n.handle)
			FROM communities c JOIN community_members m ON m.community_id = c.id JOIN nodes n ON n.id = m.node_id
			GROUP BY c.id ORDER BY c.slug`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if want := []string{"platform-guild:true:ana,ben", "research:false:ana"}; !slices.Equal(got, want) {
			t.Errorf("memberships = %v, want %v", got, want)
		}
		if c := f.counts(); c["events"] != 1 || c["community_purpose_history"] != 1 {
			t.Errorf("events = %d, purpose versions = %d; want 1 and 1", c["events"], c["community_purpose_history"])
		}
	})

	t.Run("bad rows are reported by line and nothing is kept", func(t *testing.T) {
		f := newImpFixture(t)
		f.node("zoe", "z1")
		f.node("yann", "")
		if _, err := f.run("handle,display_name,email\nkeep,Keep Me,keep@example.org\n", "keep zoe\n"); err != nil {
			t.Fatal(err)
		}
		before := f.counts()
		people := "handle,display_name,email,id,skills,community\n" + // line 1
			"ok-person,OK,ok@example.org,,,New community\n" + // 2: fine, but must not be kept
			"x,Too Short,x@example.org,,,\n" + // 3: handle
			"bad handle,Spaces,spaces@example.org,,,\n" + // 4: handle
			"nomail,No Mail,not-an-email,,,\n" + // 5: email
			"noname,,noname@example.org,,,\n" + // 6: display_name
			`quoted,"Two` + "\n" + `Lines",quoted@example.org,,,` + "\n" + // 7-8: display_name has a line break
			"dupe,Dupe One,dupe1@example.org,d,,\n" + // 9
			"dupe,Dupe Two,dupe1@example.org,d,,\n" + // 10: handle, email, id repeat line 9
			"zoe,Zoe Again,zoe2@example.org,,,\n" + // 11: handle exists
			"newbie,Newbie,yann@example.test,z1,,\n" + // 12: email and id exist
			"short,Short Row\n" + // 13: row
			"comm,Comm,comm@example.org,,,C#\n" + // 14: community
			"longname," + strings.Repeat("n", 101) + ",long@example.org,,,\n" + // 15: display_name
			",,,,,\n" // 16: blank, ignored
		edges := "ok-person nobody\n" + // 1: to
			"ok-person quoted extra\n" + // 2: pair
			"ghost ok-person\n" // 3: from
		_, err := f.run(people, edges)
		ie := impWantErrors(t, err,
			"nodes:3:handle", "nodes:4:handle", "nodes:5:email", "nodes:6:display_name", "nodes:7:display_name",
			"nodes:10:handle", "nodes:10:email", "nodes:10:id", "nodes:11:handle", "nodes:12:email", "nodes:12:id",
			"nodes:13:row", "nodes:14:community", "nodes:15:display_name",
			"edges:1:to", "edges:2:pair", "edges:3:from")
		if r := ie.Rows[5]; r.Line != 10 || !strings.Contains(r.Reason, "line 9") {
			t.Errorf("a duplicate's reason should name the first line: %+v", r)
		}
		if after := f.counts(); !maps.Equal(after, before) {
			t.Errorf("rows after a failed import = %v, want unchanged %v", after, before)
		}
	})

	t.Run("unknown edge endpoint", func(t *testing.T) {
		f := newImpFixture(t)
		_, err := f.run(impGoodPeople, "ana ben\nana nobody\n\nwho-knows e9\n")
		ie := impWantErrors(t, err, "edges:2:to", "edges:4:from", "edges:4:to")
		if !strings.Contains(ie.Rows[0].Reason, `"nobody"`) {
			t.Errorf("reason should name the unknown person: %q", ie.Rows[0].Reason)
		}
		if n := f.counts()["nodes"]; n != 0 {
			t.Errorf("nodes = %d after a failed import, want 0", n)
		}
	})

	t.Run("duplicate handle in the file", func(t *testing.T) {
		f := newImpFixture(t)
		_, err := f.run("handle,display_name,email\nsam,Sam,sam@example.org\nSAM,Sam Two,sam2@example.org\n", "")
		ie := impWantErrors(t, err, "nodes:3:handle")
		if !strings.Contains(ie.Rows[0].Reason, "line 2") {
			t.Errorf("reason = %q, want it to name line 2", ie.Rows[0].Reason)
		}
	})

	t.Run("duplicate handle against the network", func(t *testing.T) {
		f := newImpFixture(t)
		f.node("sam", "")
		_, err := f.run("handle,display_name,email\nteo,Teo,teo@example.org\nsam,Sam,other@example.org\n", "")
		impWantErrors(t, err, "nodes:3:handle")
		if n := f.counts()["nodes"]; n != 1 {
			t.Errorf("nodes = %d, want the 1 that existed", n)
		}
	})

	t.Run("ids and handles in edges", func(t *testing.T) {
		f := newImpFixture(t)
		f.node("old-timer", "") // by handle
		f.node("veteran", "v-7")
		// An earlier import's ids stay usable, and so do handles in any case or with '@'.
		rep, err := f.run(impGoodPeople, "e1 @Ben\nchiara OLD-TIMER\nv-7 e4\nveteran old-timer\n")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Connections != 4 || rep.TiesRead != 4 {
			t.Errorf("report = %+v, want 4 ties read and 4 connections", rep)
		}
		// from_node is the lower id, and the people already there have the lowest.
		want := []string{"ana-ben", "old-timer-chiara", "old-timer-veteran", "veteran-dmitri"}
		if got := f.connected(); !slices.Equal(got, want) {
			t.Errorf("connections = %v, want %v", got, want)
		}
	})

	t.Run("self-loops, repeats and existing connections", func(t *testing.T) {
		f := newImpFixture(t)
		a, b := f.node("alpha", "1"), f.node("beta", "2")
		f.node("gamma", "3")
		// beta→alpha exists (and is pending): the import must not add alpha→beta.
		if _, err := f.pool.Exec(context.Background(), `INSERT INTO connections (from_node, to_node, kind) VALUES ($1, $2, 'mentor')`, b, a); err != nil {
			t.Fatal(err)
		}
		rep, err := f.run("handle,display_name,email\n", "1 2\n2 1\n1 1\n3 3\n1 3\n3 1\n1 3\n")
		if err != nil {
			t.Fatal(err)
		}
		rep.Elapsed = 0
		want := ImportReport{TiesRead: 7, SelfLoops: 2, Merged: 3, AlreadyConnected: 1, Connections: 1}
		if rep != want {
			t.Errorf("report = %+v, want %+v", rep, want)
		}
		if got, want := f.connected(), []string{"alpha-gamma", "beta-alpha"}; !slices.Equal(got, want) {
			t.Errorf("connections = %v, want %v", got, want)
		}
		var kind, state string
		if err := f.pool.QueryRow(context.Background(), `SELECT kind, state FROM connections WHERE from_node = $1`, b).Scan(&kind, &state); err != nil {
			t.Fatal(err)
		}
		if kind != "mentor" || state != "pending" {
			t.Errorf("the existing connection became %s/%s, want mentor/pending", kind, state)
		}
	})

	t.Run("a name that fits two people", func(t *testing.T) {
		f := newImpFixture(t)
		// "e2" is Ben's id in the file and the handle of someone in the network.
		f.node("e2", "")
		_, err := f.run(impGoodPeople, "ana e2\n")
		impWantErrors(t, err, "edges:1:to")
	})

	t.Run("header problems", func(t *testing.T) {
		f := newImpFixture(t)
		_, err := f.run("", "")
		impWantErrors(t, err, "nodes:1:header")
		_, err = f.run("handle,name,email,skils\nana,Ana,ana@example.org,go\n", "")
		impWantErrors(t, err, "nodes:1:header", "nodes:1:header", "nodes:1:header")
		_, err = f.run("\ufeffhandle,display_name,email,email\n", "")
		impWantErrors(t, err, "nodes:1:header")
		_, err = f.run("handle,display_name,email\nana,\"Ana,ana@example.org\n", "")
		impWantErrors(t, err, "nodes:2:csv")
	})

	t.Run("a byte order mark and CRLF are fine", func(t *testing.T) {
		f := newImpFixture(t)
		rep, err := f.run("\ufeff\"handle\",display_name,email\r\nana,Ana,ana@example.org\r\n", "ana ana\r\n")
		if err != nil {
			t.Fatal(err)
		}
		if rep.People != 1 || rep.SelfLoops != 1 {
			t.Errorf("report = %+v, want 1 person and 1 self-loop", rep)
		}
	})

	t.Run("if empty", func(t *testing.T) {
		f := newImpFixture(t)
		f.node("first", "")
		ctx := context.Background()
		rep, err := f.store.Import(ctx, ImportInput{Nodes: strings.NewReader(impGoodPeople), IfEmpty: true})
		if err != nil || !rep.Skipped || rep.People != 0 {
			t.Fatalf("Import(IfEmpty) into a network with people = %+v, %v; want skipped", rep, err)
		}
		if n := f.counts()["nodes"]; n != 1 {
			t.Errorf("nodes = %d, want 1", n)
		}
	})

	t.Run("no people file", func(t *testing.T) {
		f := newImpFixture(t)
		_, err := f.store.Import(context.Background(), ImportInput{})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "nodes" {
			t.Errorf("err = %v, want a validation error on nodes", err)
		}
	})

	t.Run("only the first problems are listed", func(t *testing.T) {
		f := newImpFixture(t)
		var b strings.Builder
		b.WriteString("handle,display_name,email\n")
		for i := range 250 {
			fmt.Fprintf(&b, "p%d,P,not-an-email\n", i)
		}
		_, err := f.run(b.String(), "")
		var ie *ImportErrors
		if !errors.As(err, &ie) {
			t.Fatalf("err = %v, want *ImportErrors", err)
		}
		if len(ie.Rows) != MaxImportErrors || ie.Total != 250 || ie.Rows[0].Line != 2 {
			t.Errorf("listed %d (first line %d) of %d, want %d of 250 from line 2", len(ie.Rows), ie.Rows[0].Line, ie.Total, MaxImportErrors)
		}
	})
}

// impDistinctPairs counts undirected pairs of the edge list, without the store.
func impDistinctPairs(t testing.TB) int {
	t.Helper()
	pairs := map[[2]string]bool{}
	sc := bufio.NewScanner(demo.Edges())
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || f[0] == f[1] {
			continue
		}
		a, b := f[0], f[1]
		if b < a {
			a, b = b, a
		}
		pairs[[2]string{a, b}] = true
	}
	return len(pairs)
}

// TestImportEmailEuCore imports the real organisation and checks the facts the
// dataset's README states, and the 10 s budget.
func TestImportEmailEuCore(t *testing.T) {
	if got := impDistinctPairs(t); got != demo.ConnectionCount {
		t.Fatalf("the edge list has %d distinct undirected pairs, want %d", got, demo.ConnectionCount)
	}
	f := newImpFixture(t)
	rep, err := f.store.Import(context.Background(), ImportInput{Nodes: demo.People(), Edges: demo.Edges()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported email-Eu-core in %v: %+v", rep.Elapsed, rep)
	if rep.Elapsed > 10*time.Second {
		t.Errorf("import took %v, want under 10s", rep.Elapsed)
	}
	elapsed := rep.Elapsed
	rep.Elapsed = 0
	want := ImportReport{
		People: demo.PeopleCount, Communities: demo.DepartmentCount, Memberships: demo.PeopleCount,
		TiesRead: demo.TieCount, SelfLoops: demo.SelfLoopCount,
		Merged:      demo.TieCount - demo.SelfLoopCount - demo.ConnectionCount,
		Connections: demo.ConnectionCount,
	}
	if rep != want {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
	c := f.counts()
	if c["nodes"] != 1005 || c["communities"] != 42 || c["community_members"] != 1005 || c["connections"] != 16064 {
		t.Errorf("tables = %v, want 1005 nodes, 42 communities, 1005 members, 16064 connections", c)
	}
	// The overview still answers quickly on a network of this size.
	start := time.Now()
	o, err := f.store.Overview(context.Background(), 6)
	if err != nil {
		t.Fatal(err)
	}
	if o.People != 1005 || o.Connections != 16064 {
		t.Errorf("overview = %d people, %d connections", o.People, o.Connections)
	}
	t.Logf("import %v; overview %v", elapsed, time.Since(start))

	// A second import of the same files changes nothing and says why.
	_, err = f.store.Import(context.Background(), ImportInput{Nodes: demo.People(), Edges: demo.Edges()})
	var ie *ImportErrors
	if !errors.As(err, &ie) || ie.Total != 3*1005 {
		t.Errorf("re-import: %v, want 3 problems per person (handle, email, id exist)", err)
	}
}

// BenchmarkImportEmailEuCore imports the real organisation into a fresh
// database per iteration; only the import is timed.
func BenchmarkImportEmailEuCore(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pool := testenv.Pool(b, testenv.DatabaseURL(b))
		store := NewStore(pool)
		b.StartTimer()
		rep, err := store.Import(context.Background(), ImportInput{Nodes: demo.People(), Edges: demo.Edges()})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if rep.Connections != demo.ConnectionCount {
			b.Fatalf("connections = %d, want %d", rep.Connections, demo.ConnectionCount)
		}
		b.Logf("import of email-Eu-core (1,005 people, 25,571 ties): %v", rep.Elapsed)
		pool.Close()
		b.StartTimer()
	}
}
