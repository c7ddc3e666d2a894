package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// TestCachedTokensFollowCredentialChanges: an instance answers a known bearer
// token from its cache (shown by a change made with the notices switched off,
// which it does not see), and every change made with them on — by SQL, by
// `server grant` at the command line, by another instance — reaches it
// without a restart: a new name, a capability, a revoked token. The two
// instances share only the database (no NATS cluster), so only PostgreSQL's
// notices can tell B.
func TestCachedTokensFollowCredentialChanges(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	a := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open", "INSTANCE_NAME": "a"})
	b := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open", "INSTANCE_NAME": "b"})
	waitFor(t, 10*time.Second, "b to hear credential notices", func() bool {
		return strings.Contains(b.logs.String(), "credential notices heard")
	})
	token := signupNode(t, a.url, "ada")
	status := func(inst *instance, path, token string) int {
		t.Helper()
		code, _ := apiDo(t, http.MethodGet, inst.url+path, token, nil)
		return code
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	// Cached: a revocation nobody announces is not seen. (A notice of the
	// sign-up may still be on its way and empty the cache once: hence attempts.)
	cached := false
	for i := 0; i < 20 && !cached; i++ {
		if code := status(b, "/api/v1/me", token); code != http.StatusOK {
			t.Fatalf("GET /api/v1/me on b: %d, want 200", code)
		}
		exec(`ALTER TABLE access_tokens DISABLE TRIGGER access_tokens_credentials`)
		exec(`UPDATE access_tokens SET revoked_at = now()`)
		cached = status(b, "/api/v1/me", token) == http.StatusOK && status(b, "/api/v1/me", token) == http.StatusOK
		exec(`UPDATE access_tokens SET revoked_at = NULL`)
		exec(`ALTER TABLE access_tokens ENABLE TRIGGER access_tokens_credentials`)
	}
	if !cached {
		t.Fatal("every request looked the token up again: a revocation nobody announced was seen at once, 20 times")
	}

	// A capability granted at the command line.
	if code := status(b, "/api/v1/graph/metrics", token); code != http.StatusForbidden {
		t.Fatalf("GET /api/v1/graph/metrics on b before the grant: %d, want 403", code)
	}
	var out, logs bytes.Buffer
	err := run(ctx, []string{"grant", "--handle", "ada", "--capability", "people_analyst"}, func(k string) string {
		return map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": t.TempDir()}[k]
	}, &out, &logs)
	if err != nil {
		t.Fatalf("server grant: %v\n%s", err, logs.String())
	}
	waitFor(t, 5*time.Second, "b to see the capability granted at the command line", func() bool {
		return status(b, "/api/v1/graph/metrics", token) != http.StatusForbidden
	})

	// A token revoked on the other instance (which has no NATS route to b).
	code, body := apiDo(t, http.MethodPost, a.url+"/api/v1/tokens", token, map[string]string{"name": "second"})
	var second struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &second) != nil {
		t.Fatalf("POST /api/v1/tokens on a: %d %s", code, body)
	}
	if code := status(b, "/api/v1/me", second.Token); code != http.StatusOK {
		t.Fatalf("the second token on b: %d, want 200", code)
	}
	if code, body := apiDo(t, http.MethodDelete, a.url+"/api/v1/tokens/"+strconv.FormatInt(second.ID, 10), token, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE the second token on a: %d %s", code, body)
	}
	waitFor(t, 5*time.Second, "b to refuse the token revoked on a", func() bool {
		return status(b, "/api/v1/me", second.Token) == http.StatusUnauthorized
	})

	// Revoked straight in the table (a script, an operator).
	exec(`UPDATE access_tokens SET revoked_at = now()`)
	waitFor(t, 5*time.Second, "b to refuse the token revoked in the table", func() bool {
		return status(b, "/api/v1/me", token) == http.StatusUnauthorized
	})
}

// TestOwnCredentialChangesSeenAtOnce: a change made through an instance
// reaches that instance's token cache before the answer does, without waiting
// for PostgreSQL's notice (a grant followed at once by the grantee's request
// was answered 403 from the cache). The notices are switched off here, so
// only the instance's own bookkeeping can tell it.
func TestOwnCredentialChangesSeenAtOnce(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	a := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open", "INSTANCE_NAME": "a"})
	waitFor(t, 10*time.Second, "a to hear credential notices", func() bool {
		return strings.Contains(a.logs.String(), "credential notices heard")
	})
	ana := signupNode(t, a.url, "ana") // the first: a steward
	ben := signupNode(t, a.url, "ben")
	exec := func(sql string) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`ALTER TABLE nodes DISABLE TRIGGER nodes_credentials`)
	exec(`ALTER TABLE access_tokens DISABLE TRIGGER access_tokens_credentials`)
	metrics := func() int {
		t.Helper()
		code, _ := apiDo(t, http.MethodGet, a.url+"/api/v1/graph/metrics", ben, nil)
		return code
	}

	// Cached: a capability granted in SQL, unannounced, is not seen. (Notices
	// of the sign-ups may still be on their way and empty the cache once.)
	cached := false
	for i := 0; i < 20 && !cached; i++ {
		if code := metrics(); code != http.StatusForbidden {
			t.Fatalf("ben's GET /api/v1/graph/metrics = %d, want 403", code)
		}
		exec(`UPDATE nodes SET people_analyst = true WHERE handle = 'ben'`)
		cached = metrics() == http.StatusForbidden
		exec(`UPDATE nodes SET people_analyst = false WHERE handle = 'ben'`)
	}
	if !cached {
		t.Fatal("ben's token was looked up again every time, 20 times: nothing to test")
	}

	for _, step := range []struct {
		action string
		want   func(int) bool
	}{
		{"grant", func(code int) bool { return code != http.StatusForbidden }},
		{"revoke", func(code int) bool { return code == http.StatusForbidden }},
	} {
		code, body, _ := graphPostForm(t, a.url+"/network/access", ana, url.Values{"handle": {"ben"}, "action": {step.action}})
		if code != http.StatusSeeOther {
			t.Fatalf("%s = %d %.200s, want 303", step.action, code, body)
		}
		if code := metrics(); !step.want(code) {
			t.Fatalf("ben's GET /api/v1/graph/metrics right after the %s = %d", step.action, code)
		}
	}
}
