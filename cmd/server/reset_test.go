package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// resetLink makes a reset link for handle as the steward.
func resetLink(t *testing.T, baseURL, steward, handle string) (token, link string) {
	t.Helper()
	status, body := apiDo(t, "POST", baseURL+"/api/v1/nodes/"+handle+"/password-reset", steward, nil)
	if status != http.StatusCreated {
		t.Fatalf("create reset: got %d, want 201: %s", status, body)
	}
	var r struct{ Token, URL string }
	_ = json.Unmarshal(body, &r)
	return r.Token, r.URL
}

func resetPost(t *testing.T, baseURL, token, password string) (int, string, string) {
	t.Helper()
	resp, err := signinClient("127.0.0.1", nil).PostForm(baseURL+"/reset-password", url.Values{"token": {token}, "new_password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), readAll(t, resp)
}

func TestPasswordResetLink(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	steward := signupNode(t, in.url, "rststeward")
	member := signupNode(t, in.url, "rstmember")
	browser := pwBrowser(t, in.url, "rstmember@example.test", testPassword)
	pool := testenv.Pool(t, dbURL)
	const newPassword = "seven quiet rivers under glass"

	t.Run("a non-steward cannot create one", func(t *testing.T) {
		if status, body := apiDo(t, "POST", in.url+"/api/v1/nodes/rststeward/password-reset", member, nil); status != http.StatusForbidden {
			t.Errorf("got %d, want 403: %s", status, body)
		}
	})
	t.Run("unknown person", func(t *testing.T) {
		if status, body := apiDo(t, "POST", in.url+"/api/v1/nodes/nobody/password-reset", steward, nil); status != http.StatusNotFound {
			t.Errorf("got %d, want 404: %s", status, body)
		}
	})
	token, link := resetLink(t, in.url, steward, "rstmember")
	t.Run("wrong token", func(t *testing.T) {
		status, _, page := pwGet(t, browser, in.url+"/reset-password?token=ncr_wrong")
		if status != http.StatusNotFound || !strings.Contains(page, `data-testid="reset-invalid"`) {
			t.Errorf("page: got %d, want 404 with the notice", status)
		}
		if status, _, page := resetPost(t, in.url, "ncr_wrong", newPassword); status != http.StatusNotFound || !strings.Contains(page, `data-testid="reset-invalid"`) {
			t.Errorf("submit: got %d, want 404 with the notice", status)
		}
	})
	t.Run("form", func(t *testing.T) {
		status, _, page := pwGet(t, signinClient("127.0.0.1", nil), in.url+link)
		if status != http.StatusOK || !strings.Contains(page, `data-testid="reset-form"`) || !strings.Contains(page, "@rstmember") {
			t.Errorf("got %d, want 200 with the form for @rstmember", status)
		}
	})
	t.Run("weak password refused, link still good", func(t *testing.T) {
		if status, _, page := resetPost(t, in.url, token, "steelers"); status != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="new_password-error"`) {
			t.Errorf("got %d, want 422 naming new_password", status)
		}
	})
	t.Run("used: password set, sessions and tokens end", func(t *testing.T) {
		status, loc, _ := resetPost(t, in.url, token, newPassword)
		if status != http.StatusSeeOther || loc != "/signin" {
			t.Fatalf("got %d to %q, want 303 to /signin", status, loc)
		}
		if status, _ := apiDo(t, "GET", in.url+"/api/v1/me", member, nil); status != http.StatusUnauthorized {
			t.Errorf("token: got %d, want 401", status)
		}
		if status, loc, _ := pwGet(t, browser, in.url+"/settings/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Errorf("browser: got %d to %q, want a redirect to /signin", status, loc)
		}
		if status, _ := apiDo(t, "POST", in.url+"/api/v1/login", "", map[string]string{"email": "rstmember@example.test", "password": newPassword}); status != http.StatusOK {
			t.Errorf("new password: got %d, want 200", status)
		}
	})
	t.Run("single use", func(t *testing.T) {
		if status, _, _ := resetPost(t, in.url, token, "another fine long passphrase"); status != http.StatusNotFound {
			t.Errorf("got %d, want 404", status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		old, _ := resetLink(t, in.url, steward, "rstmember")
		if _, err := pool.Exec(context.Background(), `UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := resetPost(t, in.url, old, "another fine long passphrase"); status != http.StatusNotFound {
			t.Errorf("got %d, want 404", status)
		}
	})
	t.Run("audited", func(t *testing.T) {
		for action, want := range map[string]int{"password_reset_created": 2, "password_reset_used": 1} {
			var n int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil || n != want {
				t.Errorf("%s: got %d (%v), want %d", action, n, err, want)
			}
		}
	})
}
