package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// auditEntry is one entry of GET /api/v1/audit.
type auditEntry struct {
	ID      int64           `json:"id"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Address string          `json:"address"`
	Detail  json.RawMessage `json:"detail"`
	At      time.Time       `json:"at"`
}

type auditPage struct {
	Entries    []auditEntry `json:"entries"`
	NextBefore int64        `json:"next_before"`
}

func auditGet(t *testing.T, baseURL, query, token string) (int, auditPage, []byte) {
	t.Helper()
	st, body := apiDo(t, http.MethodGet, baseURL+"/api/v1/audit"+query, token, nil)
	var p auditPage
	if st == http.StatusOK {
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("GET /api/v1/audit%s: %v in %s", query, err, body)
		}
	}
	return st, p, body
}

// auditPageGet fetches an HTML page with a bearer token, without following redirects.
func auditPageGet(t *testing.T, url, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := signinClient("127.0.0.1", nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// auditCLI runs a server subcommand against the database, as an operator would.
func auditCLI(t *testing.T, dbURL string, args ...string) {
	t.Helper()
	var out, logs bytes.Buffer
	dataDir := t.TempDir()
	if err := run(context.Background(), args, func(k string) string {
		return map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": dataDir}[k]
	}, &out, &logs); err != nil {
		t.Fatalf("server %v: %v\n%s", args, err, logs.String())
	}
}

func TestAuditLog(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	u := in.url
	steward := signupNode(t, u, "stew")
	member := signupNode(t, u, "ana")
	analyst := signupNode(t, u, "ben")
	signupNode(t, u, "cleo")
	signupNode(t, u, "dora")

	// What the log must show: the operator's grant and import at the command
	// line, a failed and a good sign-in, refusals, a steward's grant and a
	// deactivation.
	auditCLI(t, dbURL, "grant", "--handle", "ben", "--capability", "people_analyst")
	people := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(people, []byte("handle,display_name,email\nkim,Kim,kim@example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auditCLI(t, dbURL, "import", "--nodes", people)
	if st, _ := apiDo(t, http.MethodPost, u+"/api/v1/login", "", map[string]string{"email": "ana@example.test", "password": "wrong password here"}); st != http.StatusUnauthorized {
		t.Fatalf("wrong password: got %d, want 401", st)
	}
	authLoginToken(t, u, "ana@example.test")
	if st, _ := apiDo(t, http.MethodPost, u+"/api/v1/nodes/cleo/steward", member, nil); st != http.StatusForbidden {
		t.Fatalf("member grants steward: got %d, want 403", st)
	}
	if st, _ := apiDo(t, http.MethodGet, u+"/api/v1/me", "", nil); st != http.StatusUnauthorized {
		t.Fatalf("anonymous me: got %d, want 401", st)
	}
	if st, _, _ := auditPageGet(t, u+"/threads", ""); st != http.StatusSeeOther {
		t.Fatalf("anonymous page: got %d, want 303 to sign in", st)
	}
	if st, _ := apiDo(t, http.MethodPost, u+"/api/v1/nodes/cleo/steward", steward, nil); st != http.StatusNoContent {
		t.Fatalf("grant steward: got %d", st)
	}
	if st, _ := apiDo(t, http.MethodPost, u+"/api/v1/nodes/dora/deactivate", steward, nil); st != http.StatusNoContent {
		t.Fatalf("deactivate: got %d", st)
	}

	t.Run("members are refused, and the refusal is recorded", func(t *testing.T) {
		if st, _, body := auditGet(t, u, "", member); st != http.StatusForbidden {
			t.Errorf("member GET /api/v1/audit: got %d %s, want 403", st, body)
		}
		if st, _, _ := auditPageGet(t, u+"/audit", member); st != http.StatusForbidden {
			t.Errorf("member GET /audit: got %d, want 403", st)
		}
		if st, _, h := auditPageGet(t, u+"/audit", ""); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/signin") {
			t.Errorf("anonymous GET /audit: got %d to %q, want 303 to sign in", st, h.Get("Location"))
		}
		if st, _, _ := auditGet(t, u, "", ""); st != http.StatusUnauthorized {
			t.Errorf("anonymous GET /api/v1/audit: got %d, want 401", st)
		}
	})

	t.Run("the log has who, what, when and from where", func(t *testing.T) {
		for _, reader := range []string{steward, analyst} {
			st, p, body := auditGet(t, u, "?limit=200", reader)
			if st != http.StatusOK {
				t.Fatalf("GET /api/v1/audit: got %d %s", st, body)
			}
			seen := map[string]auditEntry{}
			for _, e := range p.Entries {
				if _, ok := seen[e.Action]; !ok {
					seen[e.Action] = e // the newest of each
				}
				if e.At.IsZero() || e.At.Location() != time.UTC || time.Since(e.At) > 5*time.Minute {
					t.Errorf("entry %d: at %v, want a recent UTC time", e.ID, e.At)
				}
			}
			for _, want := range []struct{ action, actor, address string }{
				{"grant_people_analyst", "", "cli"},
				{"import", "", "cli"},
				{"signin_failed", "ana", "127.0.0.1"},
				{"signin", "ana", "127.0.0.1"},
				{"denied", "", "127.0.0.1"},
				{"grant_steward", "stew", "127.0.0.1"},
				{"deactivate", "stew", "127.0.0.1"},
				{"read_audit_log", "", "127.0.0.1"},
			} {
				e, ok := seen[want.action]
				if !ok {
					t.Errorf("no %s entry in %s", want.action, body)
					continue
				}
				if e.Address != want.address || (want.actor != "" && e.Actor != want.actor) {
					t.Errorf("%s: got actor %q from %q, want %q from %q", want.action, e.Actor, e.Address, want.actor, want.address)
				}
			}
			if e := seen["signin_failed"]; !strings.Contains(string(e.Detail), `"account":"`) || strings.Contains(string(e.Detail), "ana@example.test") {
				t.Errorf("signin_failed detail %s: want the account's hash, never the email", e.Detail)
			}
		}
	})

	t.Run("every kind of refusal is recorded", func(t *testing.T) {
		_, p, _ := auditGet(t, u, "?action=denied&limit=200", steward)
		var got []string
		for _, e := range p.Entries {
			var d struct {
				Method, Path string
				Status       int
			}
			_ = json.Unmarshal(e.Detail, &d)
			got = append(got, fmt.Sprintf("%s %s %d @%s", d.Method, d.Path, d.Status, e.Actor))
		}
		all := strings.Join(got, "\n")
		for _, want := range []string{
			"POST /api/v1/nodes/cleo/steward 403 @ana", // requireSteward
			"GET /api/v1/me 401 @",                     // requireNode, API
			"GET /threads 303 @",                       // requireNode, page
			"GET /api/v1/audit 403 @ana",               // the audit readers' check
			"GET /audit 403 @ana",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("no denial %q among\n%s", want, all)
			}
		}
		for _, e := range p.Entries {
			if e.Action != "denied" {
				t.Errorf("got %s in a denied-only list", e.Action)
			}
		}
	})

	t.Run("keyset pages", func(t *testing.T) {
		var ids []int64
		query := "?limit=3"
		for range 100 {
			st, p, body := auditGet(t, u, query, steward)
			if st != http.StatusOK {
				t.Fatalf("got %d %s", st, body)
			}
			for _, e := range p.Entries {
				if len(ids) > 0 && e.ID >= ids[len(ids)-1] {
					t.Fatalf("got id %d after %d: want strictly older entries on each page", e.ID, ids[len(ids)-1])
				}
				ids = append(ids, e.ID)
			}
			if p.NextBefore == 0 {
				break
			}
			query = fmt.Sprintf("?limit=3&before=%d", p.NextBefore)
		}
		if len(ids) < 10 {
			t.Errorf("got %d entries over the pages, want every entry", len(ids))
		}
	})

	for _, tc := range []struct{ query, field string }{
		{"?action=DROP%20TABLE", "action"},
		{"?before=abc", "before"},
		{"?before=-1", "before"},
		{"?limit=0", "limit"},
		{"?limit=100000", "limit"},
	} {
		t.Run("422 "+tc.query, func(t *testing.T) {
			st, _, body := auditGet(t, u, tc.query, steward)
			authWantError(t, st, body, http.StatusUnprocessableEntity, tc.field)
		})
	}

	t.Run("the page: an accessible table, a filter, pages and an empty state", func(t *testing.T) {
		st, page, h := auditPageGet(t, u+"/audit?limit=2", analyst)
		if st != http.StatusOK {
			t.Fatalf("GET /audit: got %d", st)
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("got Cache-Control %q, want no-store", h.Get("Cache-Control"))
		}
		for _, want := range []string{
			`data-testid="audit-table"`, `<caption>`, `<th scope="col">When (UTC)</th>`, `<th scope="col">From</th>`,
			`<label for="audit-action">`, `<option value="signin_failed"`, `data-testid="audit-next"`, `href="/network/access"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		if n := strings.Count(page, `data-testid="audit-row"`); n != 2 {
			t.Errorf("got %d rows with limit=2, want 2", n)
		}
		st, page, _ = auditPageGet(t, u+"/audit?action=signin_failed", steward)
		if st != http.StatusOK || strings.Count(page, `data-testid="audit-row"`) != 1 || !strings.Contains(page, "<td>127.0.0.1</td>") ||
			strings.Contains(page, `data-testid="audit-action">denied`) {
			t.Errorf("filtered page: got %d with %d rows, want the one failure from 127.0.0.1", st, strings.Count(page, `data-testid="audit-row"`))
		}
		st, page, _ = auditPageGet(t, u+"/audit?action=never_happened", steward)
		if st != http.StatusOK || !strings.Contains(page, `data-testid="audit-empty"`) || strings.Contains(page, `data-testid="audit-row"`) {
			t.Errorf("empty filter: got %d, want the empty state", st)
		}
		st, page, _ = auditPageGet(t, u+"/audit?before=abc", steward)
		if st != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="audit-error"`) {
			t.Errorf("bad cursor: got %d, want 422 with the problem named", st)
		}
	})

	t.Run("the analysts' access page keeps to analytics and links here", func(t *testing.T) {
		st, page, _ := auditPageGet(t, u+"/network/access", steward)
		if st != http.StatusOK || !strings.Contains(page, `href="/audit"`) {
			t.Fatalf("GET /network/access: got %d, want 200 with a link to /audit", st)
		}
		if !strings.Contains(page, "grant_people_analyst") || strings.Contains(page, "signin_failed") || strings.Contains(page, ">denied<") {
			t.Error("the access page's log should list the grant and no sign-ins or refusals")
		}
	})

	t.Run("the log cannot be changed", func(t *testing.T) {
		pool := testenv.Pool(t, dbURL)
		for _, sql := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`} {
			if _, err := pool.Exec(context.Background(), sql); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got %v, want refused", sql, err)
			}
		}
	})
}
