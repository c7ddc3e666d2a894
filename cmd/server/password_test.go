package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// pwFieldOf is the field named by a JSON API error.
func pwFieldOf(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Field string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	return e.Error.Field
}

func TestPasswordChangeAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open",
		"PASSWORD_BANNED_WORDS": "acme"})
	token := signupNode(t, in.url, "pwapi")
	status, body := apiDo(t, "POST", in.url+"/api/v1/login", "", map[string]string{"email": "pwapi@example.test", "password": testPassword})
	if status != http.StatusOK {
		t.Fatalf("login: got %d, want 200: %s", status, body)
	}
	var login struct{ Token string }
	_ = json.Unmarshal(body, &login)
	const newPassword = "seven quiet rivers under glass"
	for _, c := range []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"not signed in", "", map[string]any{"current_password": testPassword, "new_password": newPassword}, http.StatusUnauthorized, ""},
		{"malformed", token, `{"current_password":`, http.StatusBadRequest, ""},
		{"wrong current password", token, map[string]any{"current_password": "not my password", "new_password": newPassword}, http.StatusUnprocessableEntity, "current_password"},
		{"too short", token, map[string]any{"current_password": testPassword, "new_password": "short"}, http.StatusUnprocessableEntity, "new_password"},
		{"breached", token, map[string]any{"current_password": testPassword, "new_password": "steelers"}, http.StatusUnprocessableEntity, "new_password"},
		{"banned word", token, map[string]any{"current_password": testPassword, "new_password": "acme is where i work"}, http.StatusUnprocessableEntity, "new_password"},
		{"own handle", token, map[string]any{"current_password": testPassword, "new_password": "pwapi pwapi pwapi"}, http.StatusUnprocessableEntity, "new_password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := apiDo(t, "POST", in.url+"/api/v1/me/password", c.token, c.body)
			if status != c.status {
				t.Fatalf("got %d, want %d: %s", status, c.status, body)
			}
			if c.field != "" {
				if got := pwFieldOf(t, body); got != c.field {
					t.Errorf("got field %q, want %q", got, c.field)
				}
			}
		})
	}
	t.Run("changed, other tokens revoked", func(t *testing.T) {
		status, body := apiDo(t, "POST", in.url+"/api/v1/me/password", token,
			map[string]any{"current_password": testPassword, "new_password": newPassword, "end_other_sessions": true})
		if status != http.StatusNoContent {
			t.Fatalf("got %d, want 204: %s", status, body)
		}
		if status, _ := apiDo(t, "GET", in.url+"/api/v1/me", token, nil); status != http.StatusOK {
			t.Errorf("the token that changed it: got %d, want 200", status)
		}
		if status, _ := apiDo(t, "GET", in.url+"/api/v1/me", login.Token, nil); status != http.StatusUnauthorized {
			t.Errorf("another token: got %d, want 401", status)
		}
		if status, _ := apiDo(t, "POST", in.url+"/api/v1/login", "", map[string]string{"email": "pwapi@example.test", "password": testPassword}); status != http.StatusUnauthorized {
			t.Errorf("old password: got %d, want 401", status)
		}
		if status, _ := apiDo(t, "POST", in.url+"/api/v1/login", "", map[string]string{"email": "pwapi@example.test", "password": newPassword}); status != http.StatusOK {
			t.Errorf("new password: got %d, want 200", status)
		}
	})
}

// pwBrowser is a cookie-keeping client signed in through the form.
func pwBrowser(t *testing.T, baseURL, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := signinClient("127.0.0.1", jar)
	resp, err := c.PostForm(baseURL+"/signin", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: got %d, want 303", resp.StatusCode)
	}
	return c
}

func pwGet(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestPasswordChangePage(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	signupNode(t, in.url, "pwpage")
	this := pwBrowser(t, in.url, "pwpage@example.test", testPassword)
	other := pwBrowser(t, in.url, "pwpage@example.test", testPassword)
	const newPassword = "seven quiet rivers under glass"

	t.Run("form", func(t *testing.T) {
		status, _, page := pwGet(t, this, in.url+"/settings/password")
		if status != http.StatusOK {
			t.Fatalf("got %d, want 200", status)
		}
		for _, want := range []string{`name="current_password"`, `autocomplete="current-password"`, `name="new_password"`,
			`autocomplete="new-password"`, `type="password"`, `for="current_password"`, `data-testid="end-other-sessions"`} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
	})
	t.Run("wrong current password", func(t *testing.T) {
		resp, err := this.PostForm(in.url+"/settings/password", url.Values{"current_password": {"nope nope nope"}, "new_password": {newPassword}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "The current password is wrong.") {
			t.Errorf("got %d, want 422 with the message", resp.StatusCode)
		}
	})
	t.Run("changed: this session renewed, the other ended", func(t *testing.T) {
		before := in.url + "/"
		u, _ := url.Parse(before)
		oldCookie := this.Jar.Cookies(u)
		resp, err := this.PostForm(in.url+"/settings/password", url.Values{
			"current_password": {testPassword}, "new_password": {newPassword}, "end_other_sessions": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/settings/password?changed=1") {
			t.Fatalf("got %d to %q, want 303 to /settings/password?changed=1", resp.StatusCode, resp.Header.Get("Location"))
		}
		if newCookie := this.Jar.Cookies(u); len(oldCookie) == 0 || len(newCookie) == 0 || oldCookie[0].Value == newCookie[0].Value {
			t.Errorf("session token not renewed")
		}
		if status, _, page := pwGet(t, this, in.url+"/settings/password?changed=1"); status != http.StatusOK || !strings.Contains(page, `data-testid="password-changed"`) {
			t.Errorf("this browser: got %d, want 200 with the notice", status)
		}
		if status, loc, _ := pwGet(t, other, in.url+"/settings/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Errorf("other browser: got %d to %q, want a redirect to /signin", status, loc)
		}
	})
}

func TestStewardEndsSessions(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	steward := signupNode(t, in.url, "endsteward")
	member := signupNode(t, in.url, "endmember")
	browser := pwBrowser(t, in.url, "endmember@example.test", testPassword)
	if status, _ := apiDo(t, "POST", in.url+"/api/v1/nodes/endsteward/sessions/end", member, nil); status != http.StatusForbidden {
		t.Errorf("member: got %d, want 403", status)
	}
	if status, _ := apiDo(t, "POST", in.url+"/api/v1/nodes/nobody/sessions/end", steward, nil); status != http.StatusNotFound {
		t.Errorf("unknown handle: got %d, want 404", status)
	}
	if status, body := apiDo(t, "POST", in.url+"/api/v1/nodes/endmember/sessions/end", steward, nil); status != http.StatusNoContent {
		t.Fatalf("steward: got %d, want 204: %s", status, body)
	}
	if status, _ := apiDo(t, "GET", in.url+"/api/v1/me", member, nil); status != http.StatusUnauthorized {
		t.Errorf("member's token: got %d, want 401", status)
	}
	if status, loc, _ := pwGet(t, browser, in.url+"/settings/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
		t.Errorf("member's browser: got %d to %q, want a redirect to /signin", status, loc)
	}
	if status, _ := apiDo(t, "POST", in.url+"/api/v1/login", "", map[string]string{"email": "endmember@example.test", "password": testPassword}); status != http.StatusOK {
		t.Errorf("member still active: sign-in got %d, want 200", status)
	}
}
