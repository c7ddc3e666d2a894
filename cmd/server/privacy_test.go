package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// privDo sends an API request and fails unless it answers want; it returns the body.
func privDo(t *testing.T, method, u, token string, body any, want int) []byte {
	t.Helper()
	st, b := apiDo(t, method, u, token, body)
	if st != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, u, st, want, b)
	}
	return b
}

// privID is the "id" of a JSON object.
func privID(t *testing.T, body []byte) int64 {
	t.Helper()
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.ID == 0 {
		t.Fatalf("no id in %s (%v)", body, err)
	}
	return v.ID
}

// privGet fetches u with a bearer token (and no redirects followed).
func privGet(t *testing.T, u, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, string(b)
}

// privLogLines are the log lines that contain s, for a failure's message.
func privLogLines(log, s string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// privExport is the part of a personal data export the tests read.
type privExport struct {
	Format  string `json:"format"`
	Profile struct {
		Handle string `json:"handle"`
		Email  string `json:"email"`
		Skills []string
	} `json:"profile"`
	Account struct {
		Email       string `json:"email"`
		HasPassword bool   `json:"has_password"`
	} `json:"account"`
	Communities struct {
		Memberships []struct {
			Slug string `json:"slug"`
		} `json:"memberships"`
	} `json:"communities"`
	Connections []struct {
		Kind     string  `json:"kind"`
		State    string  `json:"state"`
		Strength float64 `json:"strength"`
		Other    struct {
			Handle string `json:"handle"`
		} `json:"other"`
	} `json:"connections"`
	Shares []struct {
		Body            string `json:"body"`
		EarlierVersions []struct {
			Body string `json:"body"`
		} `json:"earlier_versions"`
	} `json:"shares"`
	Threads struct {
		Started []struct {
			Title string `json:"title"`
		} `json:"started"`
		Replies []struct {
			Body      string `json:"body"`
			Anonymous bool   `json:"anonymous"`
		} `json:"replies"`
	} `json:"threads"`
	Kudos struct {
		Given []struct {
			To      string `json:"to"`
			Message string `json:"message"`
			Public  bool   `json:"public"`
		} `json:"given"`
		Received []struct {
			From    string `json:"from"`
			Message string `json:"message"`
			Public  bool   `json:"public"`
		} `json:"received"`
	} `json:"kudos"`
	Marks struct {
		Current []struct {
			Verdict string `json:"verdict"`
			Source  string `json:"source"`
		} `json:"current"`
	} `json:"marks"`
	Proposals struct {
		Votes []struct {
			Position string `json:"position"`
			Reason   string `json:"reason"`
		} `json:"votes"`
	} `json:"proposals"`
	Asks struct {
		Asked []struct {
			Title string `json:"title"`
		} `json:"asked"`
	} `json:"asks"`
	Interactions []struct {
		Direction string `json:"direction"`
		Other     string `json:"other"`
		Kind      string `json:"kind"`
	} `json:"interactions"`
	AccessTokens []struct {
		Name string `json:"name"`
	} `json:"access_tokens"`
	Sessions struct {
		Count int `json:"count"`
	} `json:"sessions"`
	Audit []struct {
		Action  string  `json:"action"`
		By      string  `json:"by"`
		Address *string `json:"address"`
	} `json:"audit"`
}

// TestPrivacyExport builds a small organisation in which everyone has private
// data (anonymous replies, private kudos), then checks that each person's
// download holds their own and nobody else's.
func TestPrivacyExport(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base, api := in.url, in.url+"/api/v1"
	tok := map[string]string{}
	for _, h := range []string{"ana", "ben", "cleo", "dan", "eve"} {
		tok[h] = signupNode(t, base, h)
	}
	ana, ben, cleo := tok["ana"], tok["ben"], tok["cleo"]

	// A community of five, where anonymous replies are allowed.
	privDo(t, "POST", api+"/communities", ana, map[string]any{"name": "Platform", "open": true}, http.StatusCreated)
	for _, h := range []string{"ben", "cleo", "dan", "eve"} {
		privDo(t, "POST", api+"/communities/platform/join", tok[h], nil, http.StatusOK)
	}
	privDo(t, "PATCH", api+"/me", ben, map[string]any{"skills": []string{"postgres"}, "bio": "BEN-BIO"}, http.StatusOK)
	conn := privID(t, privDo(t, "POST", api+"/connections", ben, map[string]string{"to_handle": "ana", "kind": "mentor"}, http.StatusCreated))
	privDo(t, "POST", fmt.Sprintf("%s/connections/%d/accept", api, conn), ana, nil, http.StatusOK)

	thread := privID(t, privDo(t, "POST", api+"/threads", ana, map[string]any{"community_slug": "platform", "kind": "retrospective",
		"title": "ANA-RETRO", "body": "How did the quarter go?"}, http.StatusCreated))
	replies := api + fmt.Sprintf("/threads/%d/replies", thread)
	privDo(t, "POST", replies, ben, map[string]any{"body": "BEN-ANON-SECRET", "anonymous": true}, http.StatusCreated)
	privDo(t, "POST", replies, cleo, map[string]any{"body": "CLEO-ANON-SECRET", "anonymous": true}, http.StatusCreated)
	privDo(t, "POST", replies, ben, map[string]any{"body": "BEN-NAMED-REPLY"}, http.StatusCreated)

	kudos := func(from, to, msg string, public bool) {
		privDo(t, "POST", api+"/kudos", tok[from], map[string]any{"to_handle": to, "message": msg, "public": public}, http.StatusCreated)
	}
	kudos("ben", "cleo", "BEN-TO-CLEO-PRIVATE", false)
	kudos("cleo", "ben", "CLEO-TO-BEN-PRIVATE", false)
	kudos("dan", "eve", "DAN-TO-EVE-PRIVATE", false)
	kudos("ana", "ben", "ANA-TO-BEN-PUBLIC", true)

	share := privID(t, privDo(t, "POST", api+"/communities/platform/shares", ben, map[string]string{"body": "BEN-SHARE-FIRST"}, http.StatusCreated))
	privDo(t, "PATCH", fmt.Sprintf("%s/shares/%d", api, share), ben, map[string]string{"body": "BEN-SHARE-SECOND"}, http.StatusOK)
	anaShare := privID(t, privDo(t, "POST", api+"/shares", ana, map[string]string{"body": "ANA-SHARE", "audience": "everyone"}, http.StatusCreated))
	privDo(t, "POST", fmt.Sprintf("%s/shares/%d/marks", api, anaShare), ben,
		map[string]string{"verdict": "confirmed", "source": "https://example.test/BEN-SOURCE"}, http.StatusCreated)

	proposal := privID(t, privDo(t, "POST", api+"/proposals", ana, map[string]any{"community_slug": "platform", "title": "ANA-PROPOSAL",
		"process": "consent", "closes_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated))
	privDo(t, "POST", fmt.Sprintf("%s/proposals/%d/votes", api, proposal), ben,
		map[string]any{"position": "disagree", "reason": "BEN-VOTE-REASON"}, http.StatusOK)
	privDo(t, "POST", fmt.Sprintf("%s/proposals/%d/votes", api, proposal), cleo,
		map[string]any{"position": "disagree", "reason": "CLEO-VOTE-REASON"}, http.StatusOK)
	privDo(t, "POST", api+"/asks", ben, map[string]any{"title": "BEN-ASK", "tags": []string{"postgres"}}, http.StatusCreated)
	var laptop struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(privDo(t, "POST", api+"/tokens", ben, map[string]string{"name": "BEN-LAPTOP"}, http.StatusCreated), &laptop); err != nil || laptop.Token == "" {
		t.Fatalf("token: %+v %v", laptop, err)
	}

	exportOf := func(t *testing.T, token string) (privExport, string) {
		t.Helper()
		resp, body := privGet(t, api+"/me/export", token)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export = %d %s\n%s", resp.StatusCode, body, privLogLines(in.logs.String(), "request failed"))
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=\"nodecommunity-") {
			t.Errorf("Content-Disposition = %q, want an attachment", cd)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q, want JSON", ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		var e privExport
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("export is not JSON: %v", err)
		}
		return e, body
	}
	wantAbsent := func(t *testing.T, body string, secrets ...string) {
		t.Helper()
		for _, s := range secrets {
			if i := strings.Index(body, s); i >= 0 {
				t.Errorf("export holds %q, which is not its owner's: …%s…", s, body[max(0, i-80):min(len(body), i+40)])
			}
		}
	}
	// Never in anyone's download: secrets, and the private data of others.
	secrets := []string{"password_hash", "token_hash", "$argon2", laptop.Token, "DAN-TO-EVE-PRIVATE"}
	for _, tk := range tok {
		secrets = append(secrets, tk)
	}

	t.Run("holds the person's own data", func(t *testing.T) {
		e, body := exportOf(t, ben)
		if e.Format != community.PersonalDataFormat || e.Profile.Handle != "ben" || e.Account.Email != "ben@example.test" || !e.Account.HasPassword {
			t.Errorf("format/profile/account = %q %+v %+v", e.Format, e.Profile, e.Account)
		}
		if !strings.Contains(body, "BEN-BIO") || len(e.Profile.Skills) != 1 {
			t.Errorf("profile lacks the bio or skills: %+v", e.Profile)
		}
		if len(e.Communities.Memberships) != 1 || e.Communities.Memberships[0].Slug != "platform" {
			t.Errorf("memberships = %+v, want platform", e.Communities.Memberships)
		}
		if len(e.Connections) != 1 || e.Connections[0].Other.Handle != "ana" || e.Connections[0].State != "accepted" || e.Connections[0].Strength <= 0 {
			t.Errorf("connections = %+v, want the accepted one with ana, with its strength", e.Connections)
		}
		if len(e.Shares) != 1 || e.Shares[0].Body != "BEN-SHARE-SECOND" || len(e.Shares[0].EarlierVersions) != 1 ||
			e.Shares[0].EarlierVersions[0].Body != "BEN-SHARE-FIRST" {
			t.Errorf("shares = %+v, want the share with its earlier version", e.Shares)
		}
		got := map[string]bool{}
		for _, r := range e.Threads.Replies {
			got[r.Body] = r.Anonymous
		}
		if anon, ok := got["BEN-ANON-SECRET"]; !ok || !anon {
			t.Errorf("replies = %+v, want the anonymous reply marked anonymous", e.Threads.Replies)
		}
		if anon, ok := got["BEN-NAMED-REPLY"]; !ok || anon {
			t.Errorf("replies = %+v, want the named reply marked named", e.Threads.Replies)
		}
		if len(e.Kudos.Given) != 1 || e.Kudos.Given[0].Message != "BEN-TO-CLEO-PRIVATE" || e.Kudos.Given[0].Public {
			t.Errorf("kudos given = %+v, want the private one to cleo", e.Kudos.Given)
		}
		received := map[string]string{}
		for _, k := range e.Kudos.Received {
			received[k.Message] = k.From
		}
		if received["CLEO-TO-BEN-PRIVATE"] != "cleo" || received["ANA-TO-BEN-PUBLIC"] != "ana" || len(received) != 2 {
			t.Errorf("kudos received = %+v, want cleo's private and ana's public", e.Kudos.Received)
		}
		if len(e.Marks.Current) != 1 || e.Marks.Current[0].Verdict != "confirmed" || !strings.Contains(e.Marks.Current[0].Source, "BEN-SOURCE") {
			t.Errorf("marks = %+v", e.Marks.Current)
		}
		if len(e.Proposals.Votes) != 1 || e.Proposals.Votes[0].Reason != "BEN-VOTE-REASON" {
			t.Errorf("votes = %+v, want ben's", e.Proposals.Votes)
		}
		if len(e.Asks.Asked) != 1 || e.Asks.Asked[0].Title != "BEN-ASK" {
			t.Errorf("asks = %+v", e.Asks.Asked)
		}
		kinds := map[string]bool{}
		for _, i := range e.Interactions {
			kinds[i.Direction+" "+i.Kind+" "+i.Other] = true
		}
		for _, want := range []string{"by_you kudos cleo", "to_you kudos cleo", "to_you kudos ana", "by_you reply ana", "by_you vote ana"} {
			if !kinds[want] {
				t.Errorf("interactions %v lack %q", kinds, want)
			}
		}
		names := []string{}
		for _, tk := range e.AccessTokens {
			names = append(names, tk.Name)
		}
		if !strings.Contains(strings.Join(names, ","), "BEN-LAPTOP") {
			t.Errorf("access tokens = %v, want BEN-LAPTOP among them", names)
		}
		if e.Sessions.Count != 0 {
			t.Errorf("sessions = %d, want 0 (ben only used tokens)", e.Sessions.Count)
		}
	})

	t.Run("holds nothing private of others", func(t *testing.T) {
		_, body := exportOf(t, ben)
		wantAbsent(t, body, append(secrets, "CLEO-ANON-SECRET", "CLEO-VOTE-REASON", "ana@example.test", "cleo@example.test")...)
	})

	t.Run("another writer's export holds their anonymous reply, not ben's", func(t *testing.T) {
		e, body := exportOf(t, cleo)
		found := false
		for _, r := range e.Threads.Replies {
			found = found || (r.Body == "CLEO-ANON-SECRET" && r.Anonymous)
		}
		if !found {
			t.Errorf("cleo's replies = %+v, want her anonymous reply", e.Threads.Replies)
		}
		wantAbsent(t, body, append(secrets, "BEN-ANON-SECRET", "BEN-NAMED-REPLY", "ben@example.test")...)
	})

	t.Run("the thread's author gets the thread, not its replies", func(t *testing.T) {
		e, body := exportOf(t, ana)
		if len(e.Threads.Started) != 1 || e.Threads.Started[0].Title != "ANA-RETRO" {
			t.Errorf("started = %+v, want ANA-RETRO", e.Threads.Started)
		}
		wantAbsent(t, body, append(secrets, "BEN-ANON-SECRET", "CLEO-ANON-SECRET", "BEN-TO-CLEO-PRIVATE", "CLEO-TO-BEN-PRIVATE")...)
	})

	t.Run("the people of a private kudos between others get theirs", func(t *testing.T) {
		for _, h := range []string{"dan", "eve"} {
			if _, body := exportOf(t, tok[h]); !strings.Contains(body, "DAN-TO-EVE-PRIVATE") {
				t.Errorf("%s's export lacks the kudos between dan and eve", h)
			}
		}
	})

	t.Run("the page and its download", func(t *testing.T) {
		resp, body := privGet(t, base+"/settings/data", ben)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/settings/data = %d", resp.StatusCode)
		}
		wantTestIDs(t, "/settings/data", body, "data-download", "data-export-link", "data-retention", "data-viewers",
			"viewers-about-you-empty", "viewers-org-wide-empty")
		if !strings.Contains(body, `href="/settings/data/export"`) || !strings.Contains(body, "<main") {
			t.Error("/settings/data lacks the download link or the main landmark")
		}
		resp, dl := privGet(t, base+"/settings/data/export", ben)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || !strings.Contains(dl, "BEN-ANON-SECRET") {
			t.Errorf("/settings/data/export = %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
	})

	t.Run("not signed in", func(t *testing.T) {
		st, body := apiDo(t, "GET", api+"/me/export", "", nil)
		if st != http.StatusUnauthorized || !strings.Contains(string(body), `"code":"unauthorized"`) {
			t.Errorf("export signed out = %d %s, want a JSON 401", st, body)
		}
		for _, p := range []string{"/settings/data", "/settings/data/export"} {
			resp, _ := privGet(t, base+p, "")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
				t.Errorf("%s signed out = %d to %q, want 303 to /signin", p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("sign-ins and sessions", func(t *testing.T) {
		login := func(password string, want int) {
			t.Helper()
			privDo(t, "POST", api+"/login", "", map[string]string{"email": "ben@example.test", "password": password}, want)
		}
		login("not ben's password", http.StatusUnauthorized)
		login(testPassword, http.StatusOK) // starts a browser session too
		e, _ := exportOf(t, ben)
		if e.Sessions.Count != 1 {
			t.Errorf("sessions = %d, want the one the sign-in started", e.Sessions.Count)
		}
		var ok, failed bool
		for _, a := range e.Audit {
			switch a.Action {
			case "signin":
				ok = a.By == "you" && a.Address != nil && *a.Address != ""
			case "signin_failed":
				// Anyone may type ben's email: neither who nor from where is his.
				failed = a.By == "" && a.Address == nil
			}
		}
		if !ok || !failed {
			t.Errorf("audit rows = %+v, want ben's sign-in with its address and the failed one without", e.Audit)
		}
	})
}

// TestPrivacyWhoViewed has a people analyst look one person up on the
// organisation map and export everyone's figures; the person sees both kinds
// of view, someone else sees only the organisation-wide ones, and nobody
// learns whom the analyst looked up.
func TestPrivacyWhoViewed(t *testing.T) {
	f := newGraphFixture(t)
	f.save(t)
	f.grant(t) // ben is a people analyst

	for _, u := range []string{"/network/map?person=cleo", "/network/map", "/api/v1/graph/export.csv?what=edges"} {
		if st, body, _ := graphGet(t, f.url+u, f.ben); st != http.StatusOK {
			t.Fatalf("ben GET %s = %d %s", u, st, body)
		}
	}
	// A lookup by part of a name: it cannot be traced to one person.
	if st, _, _ := graphGet(t, f.url+"/network/map?focus="+url.QueryEscape("Person 0"), f.ben); st != http.StatusUnprocessableEntity && st != http.StatusOK {
		t.Fatalf("ben focus by part of a name = %d", st)
	}

	rows := func(body, testID string) []string {
		t.Helper()
		i := strings.Index(body, `data-testid="`+testID+`"`)
		if i < 0 {
			return nil
		}
		table := body[i:]
		table = table[:strings.Index(table, "</table>")]
		var out []string
		for _, r := range strings.Split(table, `data-testid="analytics-view"`)[1:] {
			out = append(out, r)
		}
		return out
	}

	t.Run("the person looked up", func(t *testing.T) {
		st, body, _ := graphGet(t, f.url+"/settings/data", f.cleo)
		if st != http.StatusOK {
			t.Fatalf("/settings/data = %d", st)
		}
		about := rows(body, "viewers-about-you")
		if len(about) != 1 || !strings.Contains(about[0], "Ben (@ben)") || !strings.Contains(about[0], "organisation map on you") {
			t.Errorf("views about cleo = %q, want ben's one look-up", about)
		}
		org := rows(body, "viewers-org-wide")
		if len(org) != 4 {
			t.Errorf("organisation-wide views = %d, want 4 (three map views, one export)", len(org))
		}
		if !strings.Contains(body, "exported the ties as CSV") || !strings.Contains(body, "4 views and exports in all.") {
			t.Error("the organisation-wide list does not describe the export, or the total")
		}
	})

	t.Run("someone else", func(t *testing.T) {
		st, body, _ := graphGet(t, f.url+"/settings/data", f.ana)
		if st != http.StatusOK {
			t.Fatalf("/settings/data = %d", st)
		}
		wantTestIDs(t, "ana's /settings/data", body, "viewers-about-you-empty", "viewers-org-wide")
		if n := len(rows(body, "viewers-org-wide")); n != 4 {
			t.Errorf("organisation-wide views = %d, want 4", n)
		}
		for _, s := range []string{"cleo", "Cleo", "Person 0"} {
			if strings.Contains(body, s) {
				t.Errorf("ana's page mentions %q: whom the analyst looked up is not hers to know", s)
			}
		}
	})

	t.Run("the look-up is in the person's download", func(t *testing.T) {
		st, body := apiDo(t, "GET", f.url+"/api/v1/me/export", f.cleo, nil)
		if st != http.StatusOK {
			t.Fatalf("export = %d", st)
		}
		var e privExport
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range e.Audit {
			found = found || (a.Action == "view_org_map" && a.By == "ben")
		}
		if !found {
			t.Errorf("cleo's audit rows = %+v, want ben's view_org_map", e.Audit)
		}
	})
}

// TestRetentionPurgeRecomputesAnalytics: an old tie that only old interactions
// made is in the analytics until the purge; after it the recomputation (on any
// instance, here this test's) sees the network changed and drops the tie.
func TestRetentionPurgeRecomputesAnalytics(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	store := community.NewStore(pool)
	graphs := graph.NewStore(pool, nil)
	ids := map[string]int64{}
	for _, h := range []string{"ana", "ben", "cleo", "dan"} {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO nodes (handle, display_name) VALUES ($1, $1) RETURNING id`, h).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[h] = id
	}
	// ana and ben worked together 400 days ago (inside the strength horizon,
	// past a year's retention); cleo and dan are connected.
	if _, err := pool.Exec(ctx, `INSERT INTO interactions (from_node, to_node, kind, created_at) VALUES ($1, $2, 'answer', now() - interval '400 days')`,
		ids["ana"], ids["ben"]); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO connections (from_node, to_node, kind, state, accepted_at) VALUES ($1, $2, 'collaborate', 'accepted', now())`,
		ids["cleo"], ids["dan"]); err != nil {
		t.Fatal(err)
	}
	rec := &graph.Recomputer{Store: graphs, Debounce: time.Nanosecond,
		Compute: func(ctx context.Context, w int, prev *graph.Snapshot) (*graph.Snapshot, error) {
			return graph.Build(ctx, store, w, prev)
		}}
	degree := func(t *testing.T, handle string) int {
		t.Helper()
		snap, err := graphs.Current(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range snap.Nodes {
			if n.NodeID == ids[handle] {
				return n.Degree
			}
		}
		t.Fatalf("%s is not in the snapshot", handle)
		return 0
	}

	if n, err := rec.Once(ctx); err != nil || n != len(graph.Windows) {
		t.Fatalf("first computation = %d, %v; want every window", n, err)
	}
	if d := degree(t, "ana"); d != 1 {
		t.Fatalf("ana's all-time degree before the purge = %d, want 1 (the old tie)", d)
	}
	res, err := store.Purge(ctx, 365*24*time.Hour, time.Now())
	if err != nil || res.Interactions != 1 {
		t.Fatalf("purge = %+v, %v; want the one old interaction", res, err)
	}
	if n, err := rec.Once(ctx); err != nil || n != len(graph.Windows) {
		t.Fatalf("recomputation after the purge = %d, %v; want every window", n, err)
	}
	if d := degree(t, "ana"); d != 0 {
		t.Errorf("ana's all-time degree after the purge = %d, want 0", d)
	}
	if d := degree(t, "cleo"); d != 1 {
		t.Errorf("cleo's degree = %d, want 1 (declared connections stay)", d)
	}
	if n, err := rec.Once(ctx); err != nil || n != 0 {
		t.Errorf("a third look = %d, %v; want nothing to recompute", n, err)
	}
}

// TestRetentionPurgeAtStart: an instance purges when it starts, with the
// configured retention, and the page says how long metadata is kept.
func TestRetentionPurgeAtStart(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	if _, err := pool.Exec(ctx, `INSERT INTO nodes (handle, display_name) VALUES ('old-a', 'Old A'), ('old-b', 'Old B')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO interactions (from_node, to_node, kind, created_at)
		SELECT a.id, b.id, 'kudos', now() - d * interval '1 day'
		FROM nodes a, nodes b, (VALUES (1), (29), (31), (90)) AS x(d) WHERE a.handle = 'old-a' AND b.handle = 'old-b'`); err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open", "INTERACTION_RETENTION": "30d"})
	deadline := time.Now().Add(10 * time.Second)
	var left int
	for {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM interactions`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left != 2 {
		t.Fatalf("%d interactions left after the start-up purge, want the 2 younger than 30 days", left)
	}
	ana := signupNode(t, in.url, "ana")
	_, body := privGet(t, in.url+"/settings/data", ana)
	if !strings.Contains(body, `data-testid="retention-days"`) || !strings.Contains(body, "30 days") {
		t.Errorf("/settings/data does not say metadata is kept 30 days")
	}
}
