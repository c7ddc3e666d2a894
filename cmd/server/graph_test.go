package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// The network analytics pages and API, over crafted snapshots: the tests save
// the snapshots themselves (graph.Store.Save) and hold the recompute lock so
// that no instance replaces them with computed ones while they run.

// graphHoldRecompute takes the recompute lock for the rest of the test, so
// the instances never compute a snapshot of their own.
func graphHoldRecompute(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, graph.RecomputeLock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, graph.RecomputeLock)
		conn.Release()
	})
}

// graphPerson is one node of the fixture, as the database has it.
type graphPerson struct {
	ID     int64
	Handle string
	Name   string
}

// graphFixture is a running instance with 33 people: ana (steward), ben
// (made a people analyst in the tests), cleo (a member) and 30 imported people.
type graphFixture struct {
	url             string
	dbURL           string
	pool            *pgxpool.Pool
	ana, ben, cleo  string // tokens
	people          []graphPerson
	byHandle        map[string]graphPerson
	snap90, snapAll *graph.Snapshot
}

func newGraphFixture(t *testing.T) *graphFixture {
	t.Helper()
	f := &graphFixture{dbURL: testenv.DatabaseURL(t)}
	f.pool = testenv.Pool(t, f.dbURL)
	graphHoldRecompute(t, f.pool)
	in := startInstance(t, map[string]string{"DATABASE_URL": f.dbURL, "INSTANCE_NAME": "graph-test", "REGISTRATION": "open"})
	f.url = in.url
	f.ana = signupNode(t, f.url, "ana")
	f.ben = signupNode(t, f.url, "ben")
	f.cleo = signupNode(t, f.url, "cleo")

	// 30 imported people in a chain of ties; person30 gardens, as cleo does,
	// and is not tied to her: a bridge worth building.
	var nodes, edges strings.Builder
	nodes.WriteString("handle,display_name,email,skills\n")
	for i := 1; i <= 30; i++ {
		skills := "python"
		if i == 30 {
			skills = "gardening;python"
		}
		fmt.Fprintf(&nodes, "person%02d,Person %02d,person%02d@example.test,%s\n", i, i, i, skills)
		if i > 1 {
			fmt.Fprintf(&edges, "person%02d person%02d\n", i-1, i)
		}
	}
	if _, err := community.NewStore(f.pool).Import(context.Background(), community.ImportInput{
		Nodes: strings.NewReader(nodes.String()), Edges: strings.NewReader(edges.String())}); err != nil {
		t.Fatalf("import: %v", err)
	}
	graphConnect(t, f.url, f.ana, f.ben, "ben", "mentor")
	graphConnect(t, f.url, f.ben, f.cleo, "cleo", "advice")
	if st, body := apiDo(t, "PATCH", f.url+"/api/v1/me", f.cleo, map[string]any{"skills": []string{"gardening"}}); st != 200 {
		t.Fatalf("cleo's skills = %d %s", st, body)
	}

	rows, err := f.pool.Query(context.Background(), `SELECT id, handle, display_name FROM nodes ORDER BY (handle IN ('ana','ben','cleo')), handle`)
	if err != nil {
		t.Fatal(err)
	}
	f.byHandle = map[string]graphPerson{}
	for rows.Next() {
		var p graphPerson
		if err := rows.Scan(&p.ID, &p.Handle, &p.Name); err != nil {
			t.Fatal(err)
		}
		f.people = append(f.people, p)
		f.byHandle[p.Handle] = p
	}
	if len(f.people) != 33 {
		t.Fatalf("fixture has %d people, want 33", len(f.people))
	}
	// The last two people (ben and cleo) share a community of 2: too small to
	// show to anyone but analysts; ana is alone in one.
	f.snap90 = graphCraft(f.people, 90, []int{12, 9, 4, 3, 2, 1, 2}, func(i int) bool { return i%11 == 0 }, func(i int) bool { return i == 5 || i == 6 })
	f.snapAll = graphCraft(f.people, 0, []int{15, 14, 2, 2}, func(i int) bool { return i%5 == 0 }, func(i int) bool { return i%5 == 1 })
	return f
}

// save stores the crafted snapshots, with a weekly one from two weeks ago in
// which the two largest communities of the 90-day window were still one.
func (f *graphFixture) save(t *testing.T) {
	t.Helper()
	store := graph.NewStore(f.pool, nil)
	ctx := context.Background()
	old := graphCraft(f.people, 90, []int{21, 4, 3, 2, 1, 2}, func(i int) bool { return false }, func(i int) bool { return false })
	old.ComputedAt = time.Now().Add(-14 * 24 * time.Hour)
	old.Communities[0].Label = "Platform"
	for _, s := range []*graph.Snapshot{old, f.snap90, f.snapAll} {
		if err := store.Save(ctx, s, 0); err != nil {
			t.Fatalf("save snapshot: %v", err)
		}
	}
}

// graphCraft builds a snapshot of people split into communities of sizes (in
// order), with known metrics: person i has betweenness (i+1)/1000·π, PageRank
// 1/n + i·1e-5, degree i%7+1, and sits on a circle.
func graphCraft(people []graphPerson, window int, sizes []int, broker, isolated func(int) bool) *graph.Snapshot {
	labels := []string{"Platform", "Research", "Tiny A", "Tiny B", "Pair C", "Solo D", "Pair E"}
	s := &graph.Snapshot{WindowDays: window, ComputedAt: time.Now().UTC().Truncate(time.Second)}
	comm := 0
	left := sizes[0]
	for i, p := range people {
		for left == 0 {
			comm++
			left = sizes[comm]
		}
		left--
		a := 2 * math.Pi * float64(i) / float64(len(people))
		n := graph.NodeMetrics{NodeID: p.ID, Handle: p.Handle, DisplayName: p.Name, Community: comm,
			Degree: i%7 + 1, Strength: float64(i%7+1) * 1.5, PageRank: 1/float64(len(people)) + float64(i)*1e-5,
			Betweenness: float64(i+1) / 1000 * math.Pi, Broker: broker(i), Isolated: isolated(i),
			X: 0.5 + 0.45*math.Cos(a), Y: 0.5 + 0.45*math.Sin(a)}
		n.Reach = [3]int{n.Degree, 2 * n.Degree, 3 * n.Degree}
		if n.Isolated {
			n.Degree, n.Strength, n.Reach = 0, 0, [3]int{}
		}
		s.Nodes = append(s.Nodes, n)
	}
	for c, size := range sizes {
		cm := graph.CommunityMetrics{ID: c, Label: labels[c], Size: size, Internal: float64(size) * 2, External: 3,
			Ties: map[int]float64{}}
		if c == 1 {
			cm.External = 1 // Research keeps to itself
		}
		cm.EI = (cm.External - cm.Internal) / (cm.External + cm.Internal)
		cm.Silo = cm.EI < graph.SiloThreshold
		if c > 0 {
			cm.Ties[c-1] = 1.5
		}
		if c+1 < len(sizes) {
			cm.Ties[c+1] = 1.5
		}
		s.Communities = append(s.Communities, cm)
	}
	s.Summary = graph.Summary{Nodes: len(people), Edges: 31, Density: 31.0 / (33 * 32 / 2), Modularity: 0.41,
		Communities: len(sizes)}
	for _, n := range s.Nodes {
		if n.Broker {
			s.Summary.Brokers++
		}
		if n.Isolated {
			s.Summary.Isolated++
		}
	}
	for _, c := range s.Communities {
		if c.Silo {
			s.Summary.Silos++
		}
	}
	return s
}

// graphConnect makes an accepted connection from the holder of token a to handle.
func graphConnect(t *testing.T, base, a, b, handle, kind string) {
	t.Helper()
	st, body := apiDo(t, "POST", base+"/api/v1/connections", a, map[string]string{"to_handle": handle, "kind": kind})
	if st != http.StatusCreated {
		t.Fatalf("connect to %s = %d %s", handle, st, body)
	}
	var c struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(body, &c)
	if st, body := apiDo(t, "POST", base+"/api/v1/connections/"+strconv.FormatInt(c.ID, 10)+"/accept", b, nil); st != http.StatusOK {
		t.Fatalf("accept = %d %s", st, body)
	}
}

// graphGet fetches a page or an API resource with a bearer token.
func graphGet(t *testing.T, u, token string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// graphPostForm posts a form without following the redirect.
func graphPostForm(t *testing.T, u, token string, form url.Values) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func wantTestIDs(t *testing.T, what, body string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if !strings.Contains(body, `data-testid="`+id+`"`) {
			t.Errorf("%s lacks data-testid=%q", what, id)
		}
	}
}

// auditRows counts the audit rows of views, exports and grants: refused
// requests and sign-ins are audited too (internal/audit), under their own actions.
func auditRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action <> 'denied' AND action NOT LIKE 'signin%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// grant makes ben a people analyst through the stewards' page.
func (f *graphFixture) grant(t *testing.T) {
	t.Helper()
	st, body, h := graphPostForm(t, f.url+"/network/access", f.ana, url.Values{"handle": {"ben"}, "action": {"grant"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/network/access" {
		t.Fatalf("grant = %d %s, want 303 to /network/access", st, body)
	}
}

func TestGraphEmptyStatesAndAccess(t *testing.T) {
	f := newGraphFixture(t)

	t.Run("pages before the first computation", func(t *testing.T) {
		for _, path := range []string{"/network", "/network/pulse", "/network/communities", "/network/trends"} {
			st, body, _ := graphGet(t, f.url+path, f.cleo)
			if st != http.StatusOK {
				t.Errorf("%s = %d, want 200", path, st)
			}
			wantTestIDs(t, path, body, "graph-nav", "graph-empty")
			if !strings.Contains(body, "this page fills in within a minute") {
				t.Errorf("%s does not say the analytics are being computed", path)
			}
		}
		// My network draws the ego map from the ties alone, snapshot or not.
		_, body, _ := graphGet(t, f.url+"/network", f.cleo)
		wantTestIDs(t, "/network", body, "ego-map", "bridges")
	})

	t.Run("API before the first computation", func(t *testing.T) {
		for _, path := range []string{"/api/v1/graph/communities", "/api/v1/graph/me"} {
			st, body, h := graphGet(t, f.url+path, f.cleo)
			wantAPIError(t, st, []byte(body), http.StatusServiceUnavailable, "")
			if h.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", path)
			}
		}
	})

	t.Run("stewards grant the people-analyst capability", func(t *testing.T) {
		st, body, _ := graphGet(t, f.url+"/network/access", f.cleo)
		if st != http.StatusForbidden {
			t.Errorf("member opens /network/access = %d, want 403", st)
		}
		st, body, _ = graphPostForm(t, f.url+"/network/access", f.cleo, url.Values{"handle": {"cleo"}, "action": {"grant"}})
		if st != http.StatusForbidden {
			t.Errorf("member grants = %d, want 403: %.200s", st, body)
		}
		st, body, _ = graphPostForm(t, f.url+"/network/access", f.ana, url.Values{"handle": {"nobody-here"}, "action": {"grant"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="access-error"`) {
			t.Errorf("grant to an unknown handle = %d, want 422 with the form's error", st)
		}
		st, _, _ = graphPostForm(t, f.url+"/network/access", f.ana, url.Values{"handle": {"ben"}, "action": {"promote"}})
		if st != http.StatusUnprocessableEntity {
			t.Errorf("unknown action = %d, want 422", st)
		}
		st, _, _ = graphGet(t, f.url+"/network/map", f.ben)
		if st != http.StatusForbidden {
			t.Errorf("ben sees the map before the grant: %d", st)
		}
		f.grant(t)
		st, body, _ = graphGet(t, f.url+"/network/map", f.ben)
		if st != http.StatusOK {
			t.Fatalf("ben after the grant: /network/map = %d", st)
		}
		wantTestIDs(t, "empty map", body, "graph-empty")
		st, _, _ = graphGet(t, f.url+"/api/v1/graph/metrics", f.ben)
		if st != http.StatusServiceUnavailable {
			t.Errorf("metrics before a snapshot = %d, want 503", st)
		}
		// The steward sees the form and the log; the analyst only the log.
		_, body, _ = graphGet(t, f.url+"/network/access", f.ana)
		wantTestIDs(t, "steward's access page", body, "access-form", "audit-log", "audit-entry")
		if !strings.Contains(body, "grant_people_analyst") {
			t.Errorf("the grant is not in the audit log")
		}
		st, body, _ = graphGet(t, f.url+"/network/access", f.ben)
		if st != http.StatusOK || strings.Contains(body, `data-testid="access-form"`) {
			t.Errorf("analyst's access page = %d, form shown: %v; want 200, log only", st, strings.Contains(body, `data-testid="access-form"`))
		}
		// Revoke and grant again: both directions work.
		if st, _, _ := graphPostForm(t, f.url+"/network/access", f.ana, url.Values{"handle": {"@ben"}, "action": {"revoke"}}); st != http.StatusSeeOther {
			t.Fatalf("revoke = %d", st)
		}
		if st, _, _ := graphGet(t, f.url+"/network/map", f.ben); st != http.StatusForbidden {
			t.Errorf("ben after revoke: /network/map = %d, want 403", st)
		}
	})
}

func TestGraphPrivacy(t *testing.T) {
	f := newGraphFixture(t)
	f.grant(t)
	f.save(t)
	named := []string{
		"/api/v1/graph/metrics", "/api/v1/graph/metrics?window=all",
		"/network/map", "/network/map/table",
		"/api/v1/graph/export.graphml", "/api/v1/graph/export.gexf",
		"/api/v1/graph/export.csv", "/api/v1/graph/export.csv?what=edges",
	}

	t.Run("members get 403 on named data and write no audit row", func(t *testing.T) {
		before := auditRows(t, f.pool)
		for _, path := range named {
			st, body, _ := graphGet(t, f.url+path, f.cleo)
			if st != http.StatusForbidden {
				t.Errorf("member GET %s = %d, want 403", path, st)
			}
			if strings.HasPrefix(path, "/api/") {
				wantAPIError(t, st, []byte(body), http.StatusForbidden, "")
			} else if strings.Contains(body, "Person 01") {
				t.Errorf("%s: the 403 page names people", path)
			}
		}
		if after := auditRows(t, f.pool); after != before {
			t.Errorf("audit rows %d → %d after refused requests, want no change", before, after)
		}
		// No named data on the pages members may see, either.
		for _, path := range []string{"/network/pulse", "/network/communities", "/network/communities/0", "/network/trends"} {
			_, body, _ := graphGet(t, f.url+path, f.cleo)
			for _, p := range []string{"Person 01", "Person 17", "person30"} {
				if strings.Contains(body, p) {
					t.Errorf("member's %s names %q", path, p)
				}
			}
		}
		_, body, _ := graphGet(t, f.url+"/network/communities/0", f.cleo)
		if strings.Contains(body, `data-testid="community-members"`) {
			t.Errorf("a member sees the members of a detected community")
		}
	})

	t.Run("communities never describe fewer than MIN_GROUP_SIZE people", func(t *testing.T) {
		for _, c := range []struct {
			window    string
			wantSizes []int
		}{
			{"90d", []int{12, 12, 9}}, // 4+3+2+1+2 merged into "other"
			{"all", []int{15, 14}},    // 2+2 merged is still too small: hidden
		} {
			st, body, _ := graphGet(t, f.url+"/api/v1/graph/communities?window="+c.window, f.cleo)
			if st != http.StatusOK {
				t.Fatalf("communities %s = %d %s", c.window, st, body)
			}
			var resp struct {
				Window       string `json:"window"`
				MinGroupSize int    `json:"min_group_size"`
				Communities  []struct {
					ID    int    `json:"id"`
					Size  int    `json:"size"`
					Label string `json:"label"`
					Ties  []struct {
						Community int `json:"community"`
					} `json:"ties"`
				} `json:"communities"`
			}
			if err := json.Unmarshal([]byte(body), &resp); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			ids := map[int]bool{}
			for _, cm := range resp.Communities {
				sizes = append(sizes, cm.Size)
				ids[cm.ID] = true
				if cm.Size < 5 {
					t.Errorf("%s: community %q of %d people is shown (MIN_GROUP_SIZE 5)", c.window, cm.Label, cm.Size)
				}
			}
			for _, cm := range resp.Communities {
				for _, tie := range cm.Ties {
					if !ids[tie.Community] {
						t.Errorf("%s: community %d has a tie to %d, which is not shown", c.window, cm.ID, tie.Community)
					}
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(c.wantSizes) || resp.MinGroupSize != 5 || resp.Window != c.window {
				t.Errorf("%s: sizes %v, min %d, window %q; want %v, 5, %q", c.window, sizes, resp.MinGroupSize, resp.Window, c.wantSizes, c.window)
			}
		}
		// The pages show the same groups: never a community smaller than 5.
		_, body, _ := graphGet(t, f.url+"/network/communities", f.cleo)
		if n := strings.Count(body, `data-testid="community-node"`); n != 3 {
			t.Errorf("community map draws %d communities, want 3", n)
		}
		for _, small := range []string{"Tiny A", "Tiny B", "Pair C", "Solo D", "Pair E"} {
			if strings.Contains(body, small) {
				t.Errorf("community map names the small group %q", small)
			}
		}
		st, _, _ := graphGet(t, f.url+"/network/communities/2", f.cleo)
		if st != http.StatusNotFound {
			t.Errorf("/network/communities/2 (4 people) = %d, want 404", st)
		}
	})

	t.Run("me returns only the caller", func(t *testing.T) {
		st, body, _ := graphGet(t, f.url+"/api/v1/graph/me", f.cleo)
		if st != http.StatusOK {
			t.Fatalf("me = %d %s", st, body)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		if m["handle"] != "cleo" {
			t.Errorf("handle = %v, want cleo", m["handle"])
		}
		for _, k := range []string{"nodes", "communities"} {
			if _, ok := m[k]; ok {
				t.Errorf("me carries %q", k)
			}
		}
		for _, other := range []string{"ben", "ana", "person"} {
			if strings.Contains(body, `"`+other) {
				t.Errorf("me mentions %q: %s", other, body)
			}
		}
		// cleo's detected community has 2 people: she sees "other", not its size.
		if m["community"] != float64(graph.OtherCommunity) {
			t.Errorf("community = %v, want %d (merged small groups)", m["community"], graph.OtherCommunity)
		}
		self, _ := f.snap90.Self(f.byHandle["cleo"].ID)
		if m["betweenness"] != self.Betweenness || m["degree"] != float64(self.Degree) {
			t.Errorf("betweenness %v degree %v, want %v %v", m["betweenness"], m["degree"], self.Betweenness, self.Degree)
		}
		st, body, _ = graphGet(t, f.url+"/api/v1/graph/me?handle=ben", f.cleo)
		if st != http.StatusOK || !strings.Contains(body, `"handle":"cleo"`) {
			t.Errorf("me?handle=ben = %d %s, want cleo's own row", st, body)
		}
	})

	t.Run("pulse counts below 5 show fewer than 5", func(t *testing.T) {
		_, body, _ := graphGet(t, f.url+"/network/pulse", f.cleo)
		for _, id := range []string{"pulse-brokers", "pulse-isolated", "pulse-newcomers"} {
			if got := graphTestIDText(body, id); !strings.Contains(got, "fewer than 5") {
				t.Errorf("90 days: %s = %q, want fewer than 5 (3 brokers, 2 isolated)", id, got)
			}
		}
		_, body, _ = graphGet(t, f.url+"/network/pulse?window=all", f.cleo)
		if got := graphTestIDText(body, "pulse-brokers"); !strings.HasPrefix(got, "7 ") {
			t.Errorf("all time: brokers = %q, want 7", got)
		}
		if got := graphTestIDText(body, "pulse-isolated"); !strings.HasPrefix(got, "7 ") {
			t.Errorf("all time: isolated = %q, want 7", got)
		}
	})

	t.Run("every analyst view and export writes an audit row", func(t *testing.T) {
		views := append(named, "/network/map?focus=person05", "/network/map/table?sort=handle", "/network/communities/0")
		for _, path := range views {
			before := auditRows(t, f.pool)
			st, body, _ := graphGet(t, f.url+path, f.ben)
			if st != http.StatusOK {
				t.Errorf("analyst GET %s = %d: %.300s", path, st, body)
				continue
			}
			if after := auditRows(t, f.pool); after != before+1 {
				t.Errorf("%s: audit rows %d → %d, want one more", path, before, after)
			}
		}
		var actor, action, detail string
		if err := f.pool.QueryRow(context.Background(), `SELECT n.handle, a.action, a.detail::text FROM audit_log a JOIN nodes n ON n.id = a.actor_id
			WHERE a.action = 'view_org_map' ORDER BY a.id DESC LIMIT 1`).Scan(&actor, &action, &detail); err != nil {
			t.Fatal(err)
		}
		if actor != "ben" || !strings.Contains(detail, `"focus": "person05"`) || !strings.Contains(detail, `"window": "90d"`) {
			t.Errorf("last map view audited as %s %s %s, want ben with window and focus", actor, action, detail)
		}
		// Members' own pages are not audited: they show no one else's data.
		before := auditRows(t, f.pool)
		for _, path := range []string{"/network", "/network/pulse", "/api/v1/graph/me", "/api/v1/graph/communities"} {
			graphGet(t, f.url+path, f.cleo)
		}
		if after := auditRows(t, f.pool); after != before {
			t.Errorf("members' views wrote %d audit rows, want none", after-before)
		}
	})
}

// graphTestIDText is the text inside the element carrying data-testid=id
// (tags stripped, spaces collapsed), or "" when there is none.
func graphTestIDText(body, id string) string {
	i := strings.Index(body, `data-testid="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	start := strings.Index(rest, ">")
	end := strings.Index(rest, "</li>")
	if start < 0 || end < start {
		return ""
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(rest[start+1:end], " ")
	return strings.Join(strings.Fields(text), " ")
}

// Files as Gephi and networkx read them.
type graphMLFile struct {
	Keys []struct {
		ID   string `xml:"id,attr"`
		For  string `xml:"for,attr"`
		Name string `xml:"attr.name,attr"`
	} `xml:"key"`
	Graph struct {
		EdgeDefault string `xml:"edgedefault,attr"`
		Nodes       []struct {
			ID   string `xml:"id,attr"`
			Data []struct {
				Key   string `xml:"key,attr"`
				Value string `xml:",chardata"`
			} `xml:"data"`
		} `xml:"node"`
		Edges []struct {
			Source string `xml:"source,attr"`
			Target string `xml:"target,attr"`
			Data   []struct {
				Key   string `xml:"key,attr"`
				Value string `xml:",chardata"`
			} `xml:"data"`
		} `xml:"edge"`
	} `xml:"graph"`
}

type gexfFile struct {
	Version string `xml:"version,attr"`
	Graph   struct {
		Nodes []struct {
			ID    string `xml:"id,attr"`
			Label string `xml:"label,attr"`
			Att   []struct {
				For   string `xml:"for,attr"`
				Value string `xml:"value,attr"`
			} `xml:"attvalues>attvalue"`
		} `xml:"nodes>node"`
		Edges []struct {
			Source string  `xml:"source,attr"`
			Target string  `xml:"target,attr"`
			Weight float64 `xml:"weight,attr"`
		} `xml:"edges>edge"`
	} `xml:"graph"`
}

func TestGraphExportRoundTrip(t *testing.T) {
	f := newGraphFixture(t)
	f.grant(t)
	f.save(t)
	want := map[string]graph.NodeMetrics{}
	for _, n := range f.snap90.Nodes {
		want[strconv.FormatInt(n.NodeID, 10)] = n
	}
	download := func(t *testing.T, path, wantType string) []byte {
		t.Helper()
		st, body, h := graphGet(t, f.url+path, f.ben)
		if st != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, st, body)
		}
		if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") {
			t.Errorf("%s: Content-Disposition %q, want an attachment", path, cd)
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("%s: Content-Type %q, want %s", path, ct, wantType)
		}
		return []byte(body)
	}
	// 29 imported ties in a chain, ana–ben and ben–cleo.
	const wantEdges = 31
	var graphmlEdges int

	t.Run("GraphML", func(t *testing.T) {
		var g graphMLFile
		if err := xml.Unmarshal(download(t, "/api/v1/graph/export.graphml", "application/graphml+xml"), &g); err != nil {
			t.Fatalf("GraphML does not parse: %v", err)
		}
		if len(g.Graph.Nodes) != len(f.snap90.Nodes) || g.Graph.EdgeDefault != "undirected" {
			t.Fatalf("%d nodes (%s), want %d undirected", len(g.Graph.Nodes), g.Graph.EdgeDefault, len(f.snap90.Nodes))
		}
		for _, n := range g.Graph.Nodes {
			w, ok := want[n.ID]
			if !ok {
				t.Fatalf("node %s is not in the snapshot", n.ID)
			}
			got := map[string]string{}
			for _, d := range n.Data {
				got[d.Key] = d.Value
			}
			if b, err := strconv.ParseFloat(got["betweenness"], 64); err != nil || b != w.Betweenness {
				t.Errorf("node %s betweenness %q, want %v", n.ID, got["betweenness"], w.Betweenness)
			}
			if got["handle"] != w.Handle || got["degree"] != strconv.Itoa(w.Degree) {
				t.Errorf("node %s handle %q degree %q, want %q %d", n.ID, got["handle"], got["degree"], w.Handle, w.Degree)
			}
		}
		graphmlEdges = len(g.Graph.Edges)
		if graphmlEdges != wantEdges {
			t.Errorf("%d edges, want %d", graphmlEdges, wantEdges)
		}
		ana, ben := strconv.FormatInt(f.byHandle["ana"].ID, 10), strconv.FormatInt(f.byHandle["ben"].ID, 10)
		found := false
		for _, e := range g.Graph.Edges {
			if (e.Source == ana && e.Target == ben) || (e.Source == ben && e.Target == ana) {
				found = true
				for _, d := range e.Data {
					if d.Key == "kind" && d.Value != "mentor" {
						t.Errorf("ana–ben kind %q, want mentor", d.Value)
					}
					if w, err := strconv.ParseFloat(d.Value, 64); d.Key == "weight" && (err != nil || w <= 0) {
						t.Errorf("ana–ben weight %q, want > 0", d.Value)
					}
				}
			}
		}
		if !found {
			t.Errorf("the ana–ben tie is missing")
		}
		// The connection kind filter narrows the edges.
		var m graphMLFile
		if err := xml.Unmarshal(download(t, "/api/v1/graph/export.graphml?kind=mentor", "application/graphml+xml"), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Graph.Edges) != 1 || len(m.Graph.Nodes) != len(f.snap90.Nodes) {
			t.Errorf("kind=mentor: %d edges %d nodes, want 1 and %d", len(m.Graph.Edges), len(m.Graph.Nodes), len(f.snap90.Nodes))
		}
	})

	t.Run("GEXF", func(t *testing.T) {
		var g gexfFile
		if err := xml.Unmarshal(download(t, "/api/v1/graph/export.gexf?window=all", "application/gexf+xml"), &g); err != nil {
			t.Fatalf("GEXF does not parse: %v", err)
		}
		if g.Version != "1.3" || len(g.Graph.Nodes) != len(f.snapAll.Nodes) || len(g.Graph.Edges) != wantEdges {
			t.Fatalf("version %q, %d nodes, %d edges; want 1.3, %d, %d", g.Version, len(g.Graph.Nodes), len(g.Graph.Edges), len(f.snapAll.Nodes), wantEdges)
		}
		for _, n := range g.Graph.Nodes {
			w := want[n.ID]
			if n.Label != w.DisplayName {
				t.Errorf("node %s label %q, want %q", n.ID, n.Label, w.DisplayName)
			}
			for _, a := range n.Att {
				if a.For == "pagerank" {
					if p, err := strconv.ParseFloat(a.Value, 64); err != nil || p != w.PageRank {
						t.Errorf("node %s pagerank %q, want %v", n.ID, a.Value, w.PageRank)
					}
				}
			}
		}
	})

	t.Run("CSV", func(t *testing.T) {
		rows, err := csv.NewReader(bytes.NewReader(download(t, "/api/v1/graph/export.csv", "text/csv"))).ReadAll()
		if err != nil {
			t.Fatalf("nodes CSV does not parse: %v", err)
		}
		if len(rows) != len(f.snap90.Nodes)+1 || rows[0][0] != "node_id" {
			t.Fatalf("%d rows, header %v; want %d and node_id first", len(rows), rows[0], len(f.snap90.Nodes)+1)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		for _, r := range rows[1:] {
			w := want[r[col["node_id"]]]
			b, err := strconv.ParseFloat(r[col["betweenness"]], 64)
			if err != nil || b != w.Betweenness || r[col["handle"]] != w.Handle {
				t.Errorf("row %v: betweenness/handle, want %v %s", r, w.Betweenness, w.Handle)
			}
		}
		edges, err := csv.NewReader(bytes.NewReader(download(t, "/api/v1/graph/export.csv?what=edges", "text/csv"))).ReadAll()
		if err != nil {
			t.Fatalf("edges CSV does not parse: %v", err)
		}
		if len(edges)-1 != wantEdges || edges[0][0] != "source" {
			t.Errorf("%d edge rows (header %v), want %d", len(edges)-1, edges[0], wantEdges)
		}
	})
}

func TestGraphPages(t *testing.T) {
	f := newGraphFixture(t)
	f.grant(t)

	t.Run("trends wait for a second week", func(t *testing.T) {
		if err := graph.NewStore(f.pool, nil).Save(context.Background(), f.snap90, 0); err != nil {
			t.Fatal(err)
		}
		st, body, _ := graphGet(t, f.url+"/network/trends", f.cleo)
		if st != http.StatusOK {
			t.Fatalf("trends = %d", st)
		}
		wantTestIDs(t, "trends", body, "trends-wait", "trend-chart", "trends-table")
	})
	f.save(t)

	pages := []struct {
		path, token string
		ids         []string
	}{
		{"/network", f.cleo, []string{"graph-nav", "ego-map", "ego-node", "my-reach", "bridges", "bridge", "computed-at"}},
		{"/network/pulse", f.cleo, []string{"pulse", "pulse-silos", "pulse-silo", "pulse-changes", "pulse-split", "window-form"}},
		{"/network/pulse?window=all", f.cleo, []string{"pulse", "pulse-brokers"}},
		{"/network/communities", f.cleo, []string{"community-map", "community-node", "community-table"}},
		{"/network/communities/-1", f.cleo, []string{"community-detail", "community-size", "community-ties"}},
		{"/network/communities/1", f.ben, []string{"community-detail", "community-silo", "community-members"}},
		{"/network/trends", f.cleo, []string{"trend-chart", "trends-table"}},
		{"/network/map", f.ben, []string{"org-map", "map-filters", "map-panel", "map-search", "map-legend", "table-link"}},
		{"/network/map/table", f.ben, []string{"metrics-table", "metrics-row", "sort-betweenness"}},
		{"/network/access", f.ana, []string{"access-form", "audit-log"}},
	}
	for _, p := range pages {
		t.Run("renders "+p.path, func(t *testing.T) {
			st, body, h := graphGet(t, f.url+p.path, p.token)
			if st != http.StatusOK {
				t.Fatalf("GET %s = %d: %.300s", p.path, st, body)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
			wantTestIDs(t, p.path, body, p.ids...)
			if strings.Contains(body, `data-testid="graph-empty"`) {
				t.Errorf("%s shows the empty state with a snapshot", p.path)
			}
		})
	}

	t.Run("my network", func(t *testing.T) {
		_, body, _ := graphGet(t, f.url+"/network", f.cleo)
		// cleo – ben – ana: ben one hop out, ana two.
		if n := strings.Count(body, `data-testid="ego-node"`); n != 3 {
			t.Errorf("ego map draws %d people, want 3 (cleo, ben, ana)", n)
		}
		if got := graphTestIDText(body, "bridge"); !strings.Contains(got, "Person 30") || !strings.Contains(got, "gardening") {
			t.Errorf("first bridge = %q, want Person 30 (gardening, not connected)", got)
		}
		self, _ := f.snap90.Self(f.byHandle["cleo"].ID)
		if !strings.Contains(body, `data-testid="reach-1">`+strconv.Itoa(self.Reach[0])+"<") {
			t.Errorf("reach in 1 hop is not %d", self.Reach[0])
		}
	})

	t.Run("organisation map", func(t *testing.T) {
		_, body, _ := graphGet(t, f.url+"/network/map", f.ben)
		if n := strings.Count(body, `<circle cx=`); n < len(f.snap90.Nodes) {
			t.Errorf("%d circles, want at least %d", n, len(f.snap90.Nodes))
		}
		if n := strings.Count(body, `class="p"`); n != len(f.snap90.Nodes) {
			t.Errorf("%d people drawn, want %d", n, len(f.snap90.Nodes))
		}
		if !strings.Contains(body, `viewBox="0.0 0.0 1000.0 1000.0"`) {
			t.Errorf("the whole map is not in view without focus")
		}
		if !strings.Contains(body, "/static/graph.js?v=") {
			t.Errorf("graph.js is not loaded on the map")
		}
		// Search-to-focus without JavaScript: the server centres and highlights.
		st, body, _ := graphGet(t, f.url+"/network/map?focus=Person+17", f.ben)
		if st != http.StatusOK {
			t.Fatalf("focus = %d", st)
		}
		if !regexp.MustCompile(`class="p focus"[^>]*data-h="person17"`).MatchString(body) {
			t.Errorf("person17 is not highlighted")
		}
		if !strings.Contains(body, ` 300.0 300.0" data-home`) {
			t.Errorf("the map is not zoomed onto the focused person")
		}
		if !strings.Contains(body, `data-testid="panel-handle">@person17<`) {
			t.Errorf("the side panel does not show @person17")
		}
		// The side panel for a clicked person, and a community filter.
		st, body, _ = graphGet(t, f.url+"/network/map?person=person14&community=1&kind=collaborate", f.ben)
		if st != http.StatusOK || !strings.Contains(body, `data-testid="panel-name">Person 14<`) {
			t.Errorf("side panel does not show person14 (%d)", st)
		}
		if n := len(regexp.MustCompile(`class="p( sel| focus)?"`).FindAllString(body, -1)); n != 9 {
			t.Errorf("community 1 draws %d people, want 9", n)
		}
		// Other pages do not load the map's script.
		_, body, _ = graphGet(t, f.url+"/network/pulse", f.cleo)
		if strings.Contains(body, "graph.js") {
			t.Errorf("the pulse page loads graph.js")
		}
	})

	t.Run("metrics table sorts and pages", func(t *testing.T) {
		_, body, _ := graphGet(t, f.url+"/network/map/table?sort=handle&dir=asc", f.ben)
		rows := regexp.MustCompile(`data-testid="metrics-row"><td>(\d+)</td><td><a href="/people/([a-z0-9-]+)"`).FindAllStringSubmatch(body, -1)
		if len(rows) != 33 || rows[0][2] != "ana" || rows[32][2] != "person30" {
			t.Fatalf("%d rows, first %v; want 33 from ana to person30", len(rows), rows[:min(len(rows), 1)])
		}
		_, body, _ = graphGet(t, f.url+"/network/map/table", f.ben)
		rows = regexp.MustCompile(`data-testid="metrics-row"><td>\d+</td><td><a href="/people/([a-z0-9-]+)"`).FindAllStringSubmatch(body, -1)
		// Betweenness grows with the position in f.people: cleo is last.
		if len(rows) == 0 || rows[0][1] != "cleo" {
			t.Errorf("by betweenness, first row %v, want cleo", rows[:min(len(rows), 1)])
		}
		if !strings.Contains(body, `aria-sort="descending"`) {
			t.Errorf("the sorted column is not marked aria-sort=descending")
		}
	})

	t.Run("bad query parameters are 422, never 500", func(t *testing.T) {
		for _, c := range []struct{ path, token, field string }{
			{"/network/pulse?window=7d", f.cleo, "window"},
			{"/network/communities?window=x", f.cleo, "window"},
			{"/network/trends?window=365", f.cleo, "window"},
			{"/network/map?kind=enemies", f.ben, "kind"},
			{"/network/map?community=abc", f.ben, "community"},
			{"/network/map?community=99", f.ben, "community"},
			{"/network/map?focus=nobody-at-all", f.ben, "focus"},
			{"/network/map/table?sort=age", f.ben, "sort"},
			{"/network/map/table?dir=up", f.ben, "dir"},
			{"/network/map/table?page=0", f.ben, "page"},
			{"/network/map/table?page=99", f.ben, "page"},
			{"/network/map/table?page=x", f.ben, "page"},
		} {
			st, body, h := graphGet(t, f.url+c.path, c.token)
			if st != http.StatusUnprocessableEntity || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Errorf("GET %s = %d (%s), want a 422 page", c.path, st, h.Get("Content-Type"))
			}
			_ = body
		}
		for _, c := range []struct{ path, token, field string }{
			{"/api/v1/graph/metrics?window=x", f.ben, "window"},
			{"/api/v1/graph/communities?window=30d", f.cleo, "window"},
			{"/api/v1/graph/me?window=", f.cleo, ""},
			{"/api/v1/graph/export.csv?what=pets", f.ben, "what"},
			{"/api/v1/graph/export.graphml?kind=enemies", f.ben, "kind"},
			{"/api/v1/graph/export.gexf?window=1y", f.ben, "window"},
		} {
			st, body, _ := graphGet(t, f.url+c.path, c.token)
			if c.field == "" {
				if st != http.StatusOK {
					t.Errorf("GET %s = %d, want 200 (empty window is the default)", c.path, st)
				}
				continue
			}
			wantAPIError(t, st, []byte(body), http.StatusUnprocessableEntity, c.field)
		}
		for _, path := range []string{"/network/communities/abc", "/network/communities/99"} {
			if st, _, _ := graphGet(t, f.url+path, f.cleo); st != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, st)
			}
		}
	})

	t.Run("metrics API", func(t *testing.T) {
		st, body, _ := graphGet(t, f.url+"/api/v1/graph/metrics?window=all", f.ben)
		if st != http.StatusOK {
			t.Fatalf("metrics = %d %s", st, body)
		}
		var m struct {
			ComputedAt time.Time `json:"computed_at"`
			Window     string    `json:"window"`
			Modularity float64   `json:"modularity"`
			Nodes      []struct {
				Handle      string  `json:"handle"`
				Community   int     `json:"community"`
				Degree      int     `json:"degree"`
				Strength    float64 `json:"strength"`
				PageRank    float64 `json:"pagerank"`
				Betweenness float64 `json:"betweenness"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		if m.Window != "all" || m.Modularity != 0.41 || len(m.Nodes) != 33 || m.ComputedAt.IsZero() {
			t.Errorf("window %q modularity %v nodes %d; want all, 0.41, 33", m.Window, m.Modularity, len(m.Nodes))
		}
		for i, n := range m.Nodes {
			w := f.snapAll.Nodes[i]
			if n.Handle != w.Handle || n.Community != w.Community || n.Betweenness != w.Betweenness || n.PageRank != w.PageRank {
				t.Errorf("node %d = %+v, want %s %d %v %v", i, n, w.Handle, w.Community, w.Betweenness, w.PageRank)
				break
			}
		}
	})
}
