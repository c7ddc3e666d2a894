package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// authAPIError is the JSON API's error shape.
type authAPIError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantAPIError checks status and, when field is not "-", the field the error names.
func authWantError(t *testing.T, status int, body []byte, wantStatus int, field string) {
	t.Helper()
	var e authAPIError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("got status %d body %s, want a JSON error (%v)", status, body, err)
	}
	if status != wantStatus {
		t.Errorf("got status %d (%s), want %d", status, body, wantStatus)
	}
	if field != "-" && e.Error.Field != field {
		t.Errorf("got error field %q (%s), want %q", e.Error.Field, e.Error.Message, field)
	}
}

func authSignupBody(handle string) map[string]string {
	return map[string]string{"email": handle + "@example.test", "password": testPassword, "handle": handle, "display_name": "Person " + handle}
}

type authMe struct {
	ID          int64    `json:"id"`
	Handle      string   `json:"handle"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email"`
	Steward     bool     `json:"steward"`
	Skills      []string `json:"skills"`
	Offers      []struct {
		Body string   `json:"body"`
		Tags []string `json:"tags"`
	} `json:"offers"`
	Needs []struct {
		Body string   `json:"body"`
		Tags []string `json:"tags"`
	} `json:"needs"`
}

func authGetMe(t *testing.T, baseURL, token string) authMe {
	t.Helper()
	status, body := apiDo(t, http.MethodGet, baseURL+"/api/v1/me", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/me: got %d %s, want 200", status, body)
	}
	var me authMe
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatal(err)
	}
	return me
}

func TestAccountsAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	u := in.url

	stewardToken := signupNode(t, u, "ada")
	t.Run("signup returns the node and a working token; the first is steward", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", authSignupBody("ben"))
		var resp struct {
			Node  authMe `json:"node"`
			Token string `json:"token"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &resp) != nil || !strings.HasPrefix(resp.Token, "nc_") {
			t.Fatalf("got %d %s, want 201 with node and nc_ token", status, body)
		}
		if resp.Node.Handle != "ben" || resp.Node.Steward {
			t.Errorf("got node %+v, want ben, not a steward", resp.Node)
		}
		if me := authGetMe(t, u, stewardToken); me.Handle != "ada" || !me.Steward || me.Email != "ada@example.test" {
			t.Errorf("got %+v, want ada, steward, with her email", me)
		}
		if me := authGetMe(t, u, resp.Token); me.Handle != "ben" || me.Offers == nil || me.Needs == nil || me.Skills == nil {
			t.Errorf("got %+v, want ben with empty lists (not null)", me)
		}
	})

	for _, tc := range []struct {
		name, field, value string
	}{
		{"invalid email", "email", "nope"},
		{"short password", "password", "short"},
		{"common password", "password", "Password123"},
		{"invalid handle", "handle", "Not A Handle"},
		{"empty display name", "display_name", ""},
	} {
		t.Run("signup 422 "+tc.name, func(t *testing.T) {
			b := authSignupBody("cleo")
			b[tc.field] = tc.value
			status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b)
			authWantError(t, status, body, http.StatusUnprocessableEntity, tc.field)
		})
	}
	t.Run("signup 409 duplicate handle", func(t *testing.T) {
		b := authSignupBody("ada")
		b["email"] = "other@example.test"
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b)
		authWantError(t, status, body, http.StatusConflict, "handle")
	})
	t.Run("signup 409 duplicate email", func(t *testing.T) {
		b := authSignupBody("ada2")
		b["email"] = "ADA@example.test"
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b)
		authWantError(t, status, body, http.StatusConflict, "email")
	})
	t.Run("signup 400 malformed JSON", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", `{"email":`)
		authWantError(t, status, body, http.StatusBadRequest, "-")
		status, body = apiDo(t, http.MethodPost, u+"/api/v1/signup", "", `{"steward":true}`)
		authWantError(t, status, body, http.StatusBadRequest, "-")
	})
	t.Run("signup 413 too large", func(t *testing.T) {
		b := authSignupBody("big")
		b["display_name"] = strings.Repeat("x", 1<<20)
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b)
		authWantError(t, status, body, http.StatusRequestEntityTooLarge, "-")
	})

	t.Run("login sets a hardened session cookie and returns a token", func(t *testing.T) {
		resp, body := authPostJSON(t, u+"/api/v1/login", map[string]string{"email": "Ada@example.test", "password": testPassword})
		var out struct{ Token string }
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || !strings.HasPrefix(out.Token, "nc_") {
			t.Fatalf("got %d %s, want 200 with a token", resp.StatusCode, body)
		}
		var c *http.Cookie
		for _, line := range resp.Header.Values("Set-Cookie") {
			if pc, err := http.ParseSetCookie(line); err == nil && pc.Name == "__Host-nc_session" {
				c = pc
			}
		}
		if c == nil {
			t.Fatalf("got Set-Cookie %q, want __Host-nc_session", resp.Header.Values("Set-Cookie"))
		}
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Value == "" {
			t.Errorf("got cookie %s, want HttpOnly; Secure; SameSite=Lax; Path=/; no Domain", c)
		}
		req, _ := http.NewRequest(http.MethodGet, u+"/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusOK {
			t.Errorf("GET /api/v1/me with the session cookie: got %d, want 200", r2.StatusCode)
		}
		if me := authGetMe(t, u, out.Token); me.Handle != "ada" {
			t.Errorf("got %q for the login token, want ada", me.Handle)
		}
	})
	t.Run("login 401 with the same message for a wrong password and an unknown email", func(t *testing.T) {
		s1, b1 := apiDo(t, http.MethodPost, u+"/api/v1/login", "", map[string]string{"email": "ada@example.test", "password": testPassword + "!"})
		authWantError(t, s1, b1, http.StatusUnauthorized, "-")
		s2, b2 := apiDo(t, http.MethodPost, u+"/api/v1/login", "", map[string]string{"email": "nobody@example.test", "password": testPassword})
		authWantError(t, s2, b2, http.StatusUnauthorized, "-")
		if string(b1) != string(b2) {
			t.Errorf("got %s and %s, want the same answer", b1, b2)
		}
	})

	t.Run("me 401 without auth", func(t *testing.T) {
		status, body := apiDo(t, http.MethodGet, u+"/api/v1/me", "", nil)
		authWantError(t, status, body, http.StatusUnauthorized, "-")
	})
	t.Run("me 401 with a bad bearer token", func(t *testing.T) {
		status, body := apiDo(t, http.MethodGet, u+"/api/v1/me", "nc_not-a-token", nil)
		authWantError(t, status, body, http.StatusUnauthorized, "-")
	})

	t.Run("PATCH me updates and normalises", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPatch, u+"/api/v1/me", stewardToken, map[string]any{
			"title":  "Engineer",
			"skills": []string{"Go", "go", " SQL "},
			"offers": []map[string]any{{"body": "Go reviews", "tags": []string{"#Go"}}},
			"needs":  []map[string]any{{"body": "Design help", "tags": []string{}}},
		})
		var me authMe
		if status != http.StatusOK || json.Unmarshal(body, &me) != nil {
			t.Fatalf("got %d %s, want 200", status, body)
		}
		if strings.Join(me.Skills, ",") != "go,sql" || len(me.Offers) != 1 || me.Offers[0].Tags[0] != "go" || len(me.Needs) != 1 {
			t.Errorf("got %+v, want skills go,sql, one offer tagged go, one need", me)
		}
	})
	for _, tc := range []struct {
		name, field string
		body        any
	}{
		{"empty display name", "display_name", map[string]any{"display_name": " "}},
		{"long skill", "skills", map[string]any{"skills": []string{strings.Repeat("s", 41)}}},
		{"too many offers", "offers", map[string]any{"offers": make([]map[string]string, 11)}},
		{"long need", "needs", map[string]any{"needs": []map[string]string{{"body": strings.Repeat("n", 281)}}}},
	} {
		t.Run("PATCH me 422 "+tc.name, func(t *testing.T) {
			status, body := apiDo(t, http.MethodPatch, u+"/api/v1/me", stewardToken, tc.body)
			authWantError(t, status, body, http.StatusUnprocessableEntity, tc.field)
		})
	}

	t.Run("tokens: create, list without secrets, revoke own only", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/tokens", stewardToken, map[string]string{"name": "ci"})
		var created struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.ID == 0 || !strings.HasPrefix(created.Token, "nc_") {
			t.Fatalf("got %d %s, want 201 with id and token", status, body)
		}
		status, body = apiDo(t, http.MethodGet, u+"/api/v1/tokens", created.Token, nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"name":"ci"`) || !strings.Contains(string(body), "last_used_at") ||
			strings.Contains(string(body), "nc_") {
			t.Errorf("got %d %s, want the list with names and last_used_at and no secrets", status, body)
		}
		other := signupNode(t, u, "dora")
		status, body = apiDo(t, http.MethodDelete, fmt.Sprintf("%s/api/v1/tokens/%d", u, created.ID), other, nil)
		authWantError(t, status, body, http.StatusNotFound, "-")
		status, body = apiDo(t, http.MethodDelete, u+"/api/v1/tokens/abc", other, nil)
		authWantError(t, status, body, http.StatusNotFound, "-")
		if status, _ := apiDo(t, http.MethodDelete, fmt.Sprintf("%s/api/v1/tokens/%d", u, created.ID), stewardToken, nil); status != http.StatusNoContent {
			t.Errorf("got %d revoking own token, want 204", status)
		}
		status, body = apiDo(t, http.MethodGet, u+"/api/v1/me", created.Token, nil)
		authWantError(t, status, body, http.StatusUnauthorized, "-")
	})

	t.Run("logout revokes the token it was called with", func(t *testing.T) {
		token := authLoginToken(t, u, "ada@example.test")
		if status, body := apiDo(t, http.MethodPost, u+"/api/v1/logout", token, nil); status != http.StatusNoContent {
			t.Fatalf("got %d %s, want 204", status, body)
		}
		status, body := apiDo(t, http.MethodGet, u+"/api/v1/me", token, nil)
		authWantError(t, status, body, http.StatusUnauthorized, "-")
		authGetMe(t, u, stewardToken) // other tokens keep working
	})

	memberToken := signupNode(t, u, "eve")
	t.Run("steward-only endpoints are 403 for members", func(t *testing.T) {
		for _, path := range []string{"/api/v1/invites", "/api/v1/nodes/ada/steward", "/api/v1/nodes/ada/deactivate"} {
			status, body := apiDo(t, http.MethodPost, u+path, memberToken, nil)
			authWantError(t, status, body, http.StatusForbidden, "-")
		}
	})
	t.Run("steward grants steward", func(t *testing.T) {
		if status, body := apiDo(t, http.MethodPost, u+"/api/v1/nodes/eve/steward", stewardToken, nil); status != http.StatusNoContent {
			t.Fatalf("got %d %s, want 204", status, body)
		}
		if !authGetMe(t, u, memberToken).Steward {
			t.Error("got eve not a steward after the grant")
		}
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/nodes/nobody/steward", stewardToken, nil)
		authWantError(t, status, body, http.StatusNotFound, "-")
	})
	t.Run("deactivated node's token stops working and it cannot sign in", func(t *testing.T) {
		frank := signupNode(t, u, "frank")
		if status, body := apiDo(t, http.MethodPost, u+"/api/v1/nodes/frank/deactivate", stewardToken, nil); status != http.StatusNoContent {
			t.Fatalf("got %d %s, want 204", status, body)
		}
		status, body := apiDo(t, http.MethodGet, u+"/api/v1/me", frank, nil)
		authWantError(t, status, body, http.StatusUnauthorized, "-")
		status, body = apiDo(t, http.MethodPost, u+"/api/v1/login", "", map[string]string{"email": "frank@example.test", "password": testPassword})
		authWantError(t, status, body, http.StatusUnauthorized, "-")
		status, body = apiDo(t, http.MethodPost, u+"/api/v1/nodes/ada/deactivate", stewardToken, nil)
		authWantError(t, status, body, http.StatusUnprocessableEntity, "handle")
	})
}

func TestInviteOnlyRegistration(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t)}) // REGISTRATION defaults to invite
	u := in.url

	// The very first person needs no invite: someone has to create the first one.
	steward := signupNode(t, u, "founder")

	t.Run("signup without an invite is 403", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", authSignupBody("gate"))
		authWantError(t, status, body, http.StatusForbidden, "invite")
	})
	t.Run("an invite lets one person in, once", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/invites", steward, map[string]string{})
		var inv struct {
			Token string `json:"token"`
			URL   string `json:"url"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &inv) != nil || !strings.HasPrefix(inv.Token, "nci_") ||
			inv.URL != "/signup?invite="+url.QueryEscape(inv.Token) {
			t.Fatalf("got %d %s, want 201 with token and /signup?invite= url", status, body)
		}
		b := authSignupBody("invited")
		b["invite"] = inv.Token
		if status, body := apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b); status != http.StatusCreated {
			t.Fatalf("got %d %s, want 201 with the invite", status, body)
		}
		b = authSignupBody("again")
		b["invite"] = inv.Token
		status, body = apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b)
		authWantError(t, status, body, http.StatusForbidden, "invite")
	})
	t.Run("an invite without a body and one bound to an email", func(t *testing.T) {
		if status, body := apiDo(t, http.MethodPost, u+"/api/v1/invites", steward, nil); status != http.StatusCreated {
			t.Errorf("got %d %s, want 201 for an empty body", status, body)
		}
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/invites", steward, map[string]string{"email": "bad"})
		authWantError(t, status, body, http.StatusUnprocessableEntity, "email")
	})
	t.Run("the invite link opens the sign-up form with the code filled in", func(t *testing.T) {
		_, body := apiDo(t, http.MethodPost, u+"/api/v1/invites", steward, nil)
		var inv struct{ URL, Token string }
		_ = json.Unmarshal(body, &inv)
		resp, page := authGetPage(t, http.DefaultClient, u+inv.URL)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="`+inv.Token+`"`) {
			t.Errorf("got %d, want the sign-up page with the invite code filled in", resp.StatusCode)
		}
	})
}

// TestClaimImportedNodeAPI: a person a steward imported signs up with the
// invite made for their email and gets the node of the import, through the API
// and through the sign-up page.
func TestClaimImportedNodeAPI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL}) // REGISTRATION defaults to invite
	u := in.url
	steward := signupNode(t, u, "founder")

	body, ct := importUpload(t, map[string]string{
		"nodes": "id,handle,display_name,email,community\n" +
			"E1,iris,Iris Imported,iris@example.test,Research\n" +
			"E2,jon,Jon Imported,jon@example.test,Research\n",
		"edges": "E1 E2\n",
	})
	if resp, page := importDo(t, http.MethodPost, u+"/import", steward, ct, body); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: got %d %s, want 303", resp.StatusCode, page)
	}
	pool := testenv.Pool(t, dbURL)
	importedID := func(handle string) int64 {
		t.Helper()
		var id int64
		if err := pool.QueryRow(context.Background(), `SELECT id FROM nodes WHERE handle = $1 AND password_hash IS NULL`, handle).Scan(&id); err != nil {
			t.Fatalf("imported %s: %v", handle, err)
		}
		return id
	}
	irisID, jonID := importedID("iris"), importedID("jon")
	nodes := importCount(t, dbURL, "nodes")
	invite := func(email string) (token, link string) {
		t.Helper()
		status, body := apiDo(t, http.MethodPost, u+"/api/v1/invites", steward, map[string]string{"email": email})
		var inv struct{ Token, URL string }
		if status != http.StatusCreated || json.Unmarshal(body, &inv) != nil {
			t.Fatalf("invite %s: got %d %s, want 201", email, status, body)
		}
		return inv.Token, inv.URL
	}
	signup := func(email, handle, invite string) (int, []byte) {
		b := map[string]string{"email": email, "password": testPassword, "display_name": "Someone", "invite": invite}
		if handle != "" {
			b["handle"] = handle
		}
		return apiDo(t, http.MethodPost, u+"/api/v1/signup", "", b)
	}

	t.Run("an invite for anyone is 409 on email", func(t *testing.T) {
		open, _ := invite("")
		status, body := signup("iris@example.test", "iris", open)
		authWantError(t, status, body, http.StatusConflict, "email")
		if !strings.Contains(string(body), "invite") {
			t.Errorf("got %s, want the message to say to ask for an invite", body)
		}
	})
	irisInvite, irisLink := invite("Iris@Example.test")
	t.Run("the invite link fills in the imported email and handle", func(t *testing.T) {
		resp, page := authGetPage(t, http.DefaultClient, u+irisLink)
		for _, want := range []string{`data-testid="claim-notice"`, `value="iris@example.test"`, `value="iris"`, `value="Iris Imported"`, "readonly"} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
				t.Errorf("got %d, want the sign-up page with %s", resp.StatusCode, want)
			}
		}
	})
	t.Run("a different handle is 422 on handle", func(t *testing.T) {
		status, body := signup("iris@example.test", "someone-else", irisInvite)
		authWantError(t, status, body, http.StatusUnprocessableEntity, "handle")
		if !strings.Contains(string(body), "@iris") {
			t.Errorf("got %s, want the message to name @iris", body)
		}
	})
	t.Run("signup with the invite claims the imported node", func(t *testing.T) {
		status, body := signup("iris@example.test", "", irisInvite)
		var out struct {
			Node  authMe `json:"node"`
			Token string `json:"token"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &out) != nil {
			t.Fatalf("got %d %s, want 201", status, body)
		}
		if out.Node.ID != irisID || out.Node.Handle != "iris" {
			t.Errorf("got node %d @%s, want the imported node %d @iris", out.Node.ID, out.Node.Handle, irisID)
		}
		if me := authGetMe(t, u, out.Token); me.ID != irisID {
			t.Errorf("GET /api/v1/me: got node %d, want %d", me.ID, irisID)
		}
		if got := importCount(t, dbURL, "nodes"); got != nodes {
			t.Errorf("got %d nodes, want still %d", got, nodes)
		}
		status, body = signup("iris@example.test", "iris", irisInvite)
		authWantError(t, status, body, http.StatusForbidden, "invite")
	})
	t.Run("the sign-up page claims too", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		token, _ := invite("jon@example.test")
		resp, page := authPostForm(t, browser, u+"/signup", url.Values{
			"email": {"jon@example.test"}, "handle": {"jon"}, "display_name": {"Jon J."}, "password": {testPassword}, "invite": {token},
		})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/settings/profile" ||
			!regexp.MustCompile(`data-testid="viewer"[^>]*>@jon<`).MatchString(page) {
			t.Fatalf("got %d at %s, want signed in as @jon at /settings/profile", resp.StatusCode, resp.Request.URL.Path)
		}
		me := authGetMe(t, u, authLoginToken(t, u, "jon@example.test"))
		if me.ID != jonID || me.DisplayName != "Jon J." {
			t.Errorf("got node %d named %q, want %d named Jon J.", me.ID, me.DisplayName, jonID)
		}
	})
	t.Run("only stewards see Import in the header", func(t *testing.T) {
		for who, want := range map[string]bool{steward: true, authLoginToken(t, u, "iris@example.test"): false} {
			_, page := importDo(t, http.MethodGet, u+"/", who, "", nil)
			if got := strings.Contains(page, `href="/import"`); got != want {
				t.Errorf("got Import link %v, want %v", got, want)
			}
		}
	})
}

// TestSignupPageFlow uses the pages as a browser without JavaScript would:
// forms, 303 redirects and the session cookie.
func TestSignupPageFlow(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	u := in.url
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}

	t.Run("signed out, the header offers sign in and sign up", func(t *testing.T) {
		_, page := authGetPage(t, browser, u+"/")
		if !strings.Contains(page, `data-testid="signin-link"`) || !strings.Contains(page, `data-testid="signup-link"`) {
			t.Error("got no sign-in/sign-up links in the header")
		}
	})
	t.Run("the form has labelled inputs", func(t *testing.T) {
		_, page := authGetPage(t, browser, u+"/signup")
		for _, name := range []string{"email", "display_name", "handle", "password"} {
			if !strings.Contains(page, `<label for="`+name+`"`) || !strings.Contains(page, `id="`+name+`"`) {
				t.Errorf("got no labelled %s input", name)
			}
		}
	})
	form := url.Values{"email": {"gina@example.test"}, "display_name": {"Gina"}, "handle": {"gina"}, "password": {"short"}}
	t.Run("an invalid field is shown next to it", func(t *testing.T) {
		resp, page := authPostForm(t, browser, u+"/signup", form)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="password-error"`) ||
			!strings.Contains(page, `aria-invalid="true"`) || !strings.Contains(page, `value="gina@example.test"`) {
			t.Errorf("got %d, want 422 with the password error and the other values kept", resp.StatusCode)
		}
	})
	t.Run("signing up signs in and shows the handle in the header", func(t *testing.T) {
		form.Set("password", testPassword)
		resp, page := authPostForm(t, browser, u+"/signup", form)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/settings/profile" {
			t.Fatalf("got %d at %s, want 200 at /settings/profile after the redirect", resp.StatusCode, resp.Request.URL.Path)
		}
		if !regexp.MustCompile(`data-testid="viewer"[^>]*>@gina<`).MatchString(page) {
			t.Error("got no @gina in the header")
		}
		_, home := authGetPage(t, browser, u+"/")
		if !strings.Contains(home, "@gina") || !strings.Contains(home, `data-testid="signout"`) {
			t.Error("got no @gina and sign-out button on the home page")
		}
	})
	t.Run("the profile form saves offers with tags", func(t *testing.T) {
		resp, page := authPostForm(t, browser, u+"/settings/profile", url.Values{
			"display_name": {"Gina G"}, "title": {"Researcher"}, "location": {""}, "bio": {""},
			"skills": {"Research, UX, research"}, "offers": {"Interview coaching #research\n\nUsability tests #ux"}, "needs": {"A #go mentor"},
		})
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="profile-saved"`) {
			t.Fatalf("got %d, want the saved profile page", resp.StatusCode)
		}
		if !strings.Contains(page, "research, ux") || !strings.Contains(page, "Interview coaching #research\nUsability tests #ux") {
			t.Error("got the profile without the normalised skills and offers")
		}
		resp, page = authPostForm(t, browser, u+"/settings/profile", url.Values{"display_name": {""}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="display_name-error"`) {
			t.Errorf("got %d, want 422 with the error next to the name", resp.StatusCode)
		}
	})
	t.Run("signing out", func(t *testing.T) {
		resp, page := authPostForm(t, browser, u+"/signout", nil)
		if resp.Request.URL.Path != "/" || !strings.Contains(page, `data-testid="signin-link"`) {
			t.Errorf("got %s, want / signed out", resp.Request.URL.Path)
		}
		resp, _ = authGetPage(t, browser, u+"/settings/profile")
		if resp.Request.URL.Path != "/signin" || resp.Request.URL.Query().Get("next") != "/settings/profile" {
			t.Errorf("got %s, want the sign-in page with next", resp.Request.URL)
		}
	})
	t.Run("signing in honours only a local next", func(t *testing.T) {
		resp, page := authPostForm(t, browser, u+"/signin", url.Values{"email": {"gina@example.test"}, "password": {"wrong password"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, `data-testid="form-error"`) {
			t.Errorf("got %d, want 401 with the error", resp.StatusCode)
		}
		for next, want := range map[string]string{
			"/settings/profile": "/settings/profile", "//evil.example/x": "/", "https://evil.example/": "/", "/\\evil.example": "/",
		} {
			authPostForm(t, browser, u+"/signout", nil)
			resp, _ := authPostForm(t, browser, u+"/signin", url.Values{"email": {"gina@example.test"}, "password": {testPassword}, "next": {next}})
			if resp.Request.URL.Host != strings.TrimPrefix(u, "http://") || resp.Request.URL.Path != want {
				t.Errorf("next=%q: got %s, want %s on this site", next, resp.Request.URL, want)
			}
		}
	})
}

// loginToken signs in through the API and returns the new token.
func authLoginToken(t *testing.T, baseURL, email string) string {
	t.Helper()
	status, body := apiDo(t, http.MethodPost, baseURL+"/api/v1/login", "", map[string]string{"email": email, "password": testPassword})
	var out struct{ Token string }
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("login %s: got %d %s", email, status, body)
	}
	return out.Token
}

func authPostJSON(t *testing.T, url string, v any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func authGetPage(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func authPostForm(t *testing.T, c *http.Client, url string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(url, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
