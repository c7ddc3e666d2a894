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

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// connJSON is a connection as the API returns it.
type connJSON struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	Direction string `json:"direction"`
	Other     struct {
		ID          int64  `json:"id"`
		Handle      string `json:"handle"`
		DisplayName string `json:"display_name"`
	} `json:"other"`
	CreatedAt  time.Time  `json:"created_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
	Strength   float64    `json:"strength"`
}

type connErrJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// connDecode decodes body into v, failing the test with the body on error.
func connDecode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// connWantError checks an error answer: its status, code and field.
func connWantError(t *testing.T, status int, body []byte, wantStatus int, wantCode, wantField string) connErrJSON {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d: %s", status, wantStatus, body)
	}
	var e connErrJSON
	connDecode(t, body, &e)
	if e.Error.Code != wantCode || e.Error.Field != wantField || e.Error.Message == "" {
		t.Fatalf("error = %+v, want code %q, field %q and a message", e.Error, wantCode, wantField)
	}
	return e
}

func connList(t *testing.T, base, token string) []connJSON {
	t.Helper()
	status, body := apiDo(t, http.MethodGet, base+"/api/v1/connections", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/connections = %d: %s", status, body)
	}
	var out struct {
		Connections []connJSON `json:"connections"`
	}
	connDecode(t, body, &out)
	if out.Connections == nil {
		t.Fatalf("connections is %s, want a list", body)
	}
	return out.Connections
}

// connCreate requests a connection and expects wantStatus with a connection body.
func connCreate(t *testing.T, base, token, to, kind string, wantStatus int) connJSON {
	t.Helper()
	status, body := apiDo(t, http.MethodPost, base+"/api/v1/connections", token, map[string]string{"to_handle": to, "kind": kind})
	if status != wantStatus {
		t.Fatalf("request %s: status %d, want %d: %s", to, status, wantStatus, body)
	}
	var c connJSON
	connDecode(t, body, &c)
	return c
}

func TestConnectionsAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base := in.url
	ana, ben, cy := signupNode(t, base, "ana"), signupNode(t, base, "ben"), signupNode(t, base, "cy")
	at := func(id int64, action string) string {
		if action == "" {
			return fmt.Sprintf("%s/api/v1/connections/%d", base, id)
		}
		return fmt.Sprintf("%s/api/v1/connections/%d/%s", base, id, action)
	}

	t.Run("unauthenticated", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/connections"},
			{http.MethodPost, "/api/v1/connections"},
			{http.MethodGet, "/api/v1/connections/suggestions"},
			{http.MethodPost, "/api/v1/connections/1/accept"},
			{http.MethodDelete, "/api/v1/connections/1"},
		} {
			status, body := apiDo(t, tc.method, base+tc.path, "", map[string]string{"to_handle": "ben", "kind": "social"})
			connWantError(t, status, body, http.StatusUnauthorized, "unauthorized", "")
		}
		status, body := apiDo(t, http.MethodGet, base+"/api/v1/connections", "not-a-token", nil)
		if status != http.StatusUnauthorized {
			t.Fatalf("bad token: status %d, want 401: %s", status, body)
		}
	})

	t.Run("malformed JSON", func(t *testing.T) {
		for _, b := range []string{`{"to_handle": "ben",`, `{"to_handle": "ben", "kind": "social", "boss": true}`, `[]`} {
			status, body := apiDo(t, http.MethodPost, base+"/api/v1/connections", ana, b)
			connWantError(t, status, body, http.StatusBadRequest, "bad_request", "")
		}
	})

	t.Run("invalid input names the field", func(t *testing.T) {
		for _, tc := range []struct{ name, to, kind, field, message string }{
			{"unknown handle", "zed", "social", "to_handle", "no one has the handle @zed"},
			{"yourself", "ana", "social", "to_handle", "yourself"},
			{"missing handle", "", "social", "to_handle", "handle"},
			{"bad kind", "ben", "boss", "kind", "collaborate"},
			{"missing kind", "ben", "", "kind", "kind"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := apiDo(t, http.MethodPost, base+"/api/v1/connections", ana, map[string]string{"to_handle": tc.to, "kind": tc.kind})
				e := connWantError(t, status, body, http.StatusUnprocessableEntity, "invalid", tc.field)
				if !strings.Contains(strings.ToLower(e.Error.Message), tc.message) {
					t.Fatalf("message = %q, want it to mention %q", e.Error.Message, tc.message)
				}
			})
		}
		if got := connList(t, base, ana); len(got) != 0 {
			t.Fatalf("ana has %d connections after invalid requests, want 0", len(got))
		}
	})

	t.Run("request, accept, list, remove", func(t *testing.T) {
		c := connCreate(t, base, ana, "ben", "collaborate", http.StatusCreated)
		if c.State != "pending" || c.Direction != "outgoing" || c.Other.Handle != "ben" || c.Kind != "collaborate" || c.AcceptedAt != nil {
			t.Fatalf("created %+v, want a pending outgoing collaborate request to ben", c)
		}
		status, body := apiDo(t, http.MethodPost, base+"/api/v1/connections", ana, map[string]string{"to_handle": "ben", "kind": "social"})
		connWantError(t, status, body, http.StatusConflict, "conflict", "to_handle")

		incoming := connList(t, base, ben)
		if len(incoming) != 1 || incoming[0].ID != c.ID || incoming[0].Direction != "incoming" || incoming[0].Other.Handle != "ana" {
			t.Fatalf("ben sees %+v, want ana's request as incoming", incoming)
		}

		status, body = apiDo(t, http.MethodPost, at(c.ID, "accept"), ana, nil)
		connWantError(t, status, body, http.StatusForbidden, "forbidden", "")
		status, body = apiDo(t, http.MethodPost, at(c.ID, "accept"), cy, nil)
		connWantError(t, status, body, http.StatusNotFound, "not_found", "")

		status, body = apiDo(t, http.MethodPost, at(c.ID, "accept"), ben, nil)
		if status != http.StatusOK {
			t.Fatalf("accept: status %d, want 200: %s", status, body)
		}
		var acc connJSON
		connDecode(t, body, &acc)
		if acc.State != "accepted" || acc.AcceptedAt == nil || acc.Direction != "incoming" || acc.Strength != 1.0 {
			t.Fatalf("accepted %+v, want accepted, incoming, strength 1.0", acc)
		}

		mine := connList(t, base, ana)
		if len(mine) != 1 || mine[0].State != "accepted" || mine[0].Strength != 1.0 || mine[0].Other.Handle != "ben" {
			t.Fatalf("ana sees %+v, want one accepted connection with ben of strength 1.0", mine)
		}
		status, body = apiDo(t, http.MethodPost, base+"/api/v1/connections", ben, map[string]string{"to_handle": "ana", "kind": "social"})
		connWantError(t, status, body, http.StatusConflict, "conflict", "to_handle")
		status, body = apiDo(t, http.MethodPost, at(c.ID, "withdraw"), ana, nil)
		connWantError(t, status, body, http.StatusConflict, "conflict", "")

		status, body = apiDo(t, http.MethodDelete, at(c.ID, ""), cy, nil)
		connWantError(t, status, body, http.StatusNotFound, "not_found", "")
		if status, body = apiDo(t, http.MethodDelete, at(c.ID, ""), ben, nil); status != http.StatusNoContent {
			t.Fatalf("remove: status %d, want 204: %s", status, body)
		}
		if got := connList(t, base, ana); len(got) != 0 {
			t.Fatalf("ana has %+v after remove, want none", got)
		}
	})

	t.Run("mutual request accepts", func(t *testing.T) {
		first := connCreate(t, base, cy, "ana", "mentor", http.StatusCreated)
		c := connCreate(t, base, ana, "cy", "social", http.StatusOK)
		if c.ID != first.ID || c.State != "accepted" || c.Kind != "mentor" || c.Direction != "incoming" {
			t.Fatalf("got %+v, want cy's mentor request %d accepted", c, first.ID)
		}
		if status, body := apiDo(t, http.MethodDelete, at(c.ID, ""), cy, nil); status != http.StatusNoContent {
			t.Fatalf("remove: status %d: %s", status, body)
		}
	})

	t.Run("decline", func(t *testing.T) {
		c := connCreate(t, base, ana, "ben", "advice", http.StatusCreated)
		status, body := apiDo(t, http.MethodPost, at(c.ID, "decline"), ana, nil)
		connWantError(t, status, body, http.StatusForbidden, "forbidden", "")
		status, body = apiDo(t, http.MethodPost, at(c.ID, "decline"), cy, nil)
		connWantError(t, status, body, http.StatusNotFound, "not_found", "")
		status, body = apiDo(t, http.MethodDelete, at(c.ID, ""), ben, nil)
		connWantError(t, status, body, http.StatusConflict, "conflict", "")
		if status, body = apiDo(t, http.MethodPost, at(c.ID, "decline"), ben, nil); status != http.StatusNoContent {
			t.Fatalf("decline: status %d, want 204: %s", status, body)
		}
		status, body = apiDo(t, http.MethodPost, at(c.ID, "accept"), ben, nil)
		connWantError(t, status, body, http.StatusNotFound, "not_found", "")
	})

	t.Run("withdraw", func(t *testing.T) {
		c := connCreate(t, base, ana, "ben", "social", http.StatusCreated)
		status, body := apiDo(t, http.MethodPost, at(c.ID, "withdraw"), ben, nil)
		connWantError(t, status, body, http.StatusForbidden, "forbidden", "")
		if status, body = apiDo(t, http.MethodPost, at(c.ID, "withdraw"), ana, nil); status != http.StatusNoContent {
			t.Fatalf("withdraw: status %d, want 204: %s", status, body)
		}
		if got := connList(t, base, ben); len(got) != 0 {
			t.Fatalf("ben has %+v after withdraw, want none", got)
		}
	})

	t.Run("unknown connection", func(t *testing.T) {
		for _, path := range []string{"/api/v1/connections/999999/accept", "/api/v1/connections/abc/accept", "/api/v1/connections/99999999999999999999/decline"} {
			status, body := apiDo(t, http.MethodPost, base+path, ana, nil)
			connWantError(t, status, body, http.StatusNotFound, "not_found", "")
		}
	})
}

func TestConnectionSuggestionsAPI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	base := in.url
	ana := signupNode(t, base, "ana")
	signupNode(t, base, "ben")
	get := func(t *testing.T, query string) (int, []byte) {
		t.Helper()
		return apiDo(t, http.MethodGet, base+"/api/v1/connections/suggestions"+query, ana, nil)
	}

	t.Run("none yet", func(t *testing.T) {
		status, body := get(t, "")
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"suggestions":[]}` {
			t.Fatalf("got %d %s, want 200 with an empty list", status, body)
		}
	})

	// The features that record interactions (replies, kudos, …) are not this
	// test's business: write them as they would.
	pool := testenv.Pool(t, dbURL)
	_, err := pool.Exec(context.Background(), `
		INSERT INTO interactions (from_node, to_node, kind, created_at)
		SELECT b.id, a.id, k, now() - d * interval '1 day'
		FROM nodes a, nodes b, (VALUES ('answer', 1), ('reply', 2), ('kudos', 3)) AS x(k, d)
		WHERE a.handle = 'ana' AND b.handle = 'ben'`)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("often works with", func(t *testing.T) {
		status, body := get(t, "?limit=5")
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		var out struct {
			Suggestions []struct {
				Node struct {
					Handle string `json:"handle"`
				} `json:"node"`
				Interactions    int       `json:"interactions"`
				LastInteraction time.Time `json:"last_interaction"`
			} `json:"suggestions"`
		}
		connDecode(t, body, &out)
		if len(out.Suggestions) != 1 || out.Suggestions[0].Node.Handle != "ben" || out.Suggestions[0].Interactions != 3 ||
			time.Since(out.Suggestions[0].LastInteraction) > 25*time.Hour {
			t.Fatalf("got %s, want ben with 3 interactions, the last a day ago", body)
		}
	})

	t.Run("on the page with a connect form", func(t *testing.T) {
		status, _, body := connPage(t, http.MethodGet, base+"/connections", ana, nil)
		if status != http.StatusOK {
			t.Fatalf("status %d, want 200", status)
		}
		for _, want := range []string{`data-testid="suggestion" data-handle="ben"`, "3 interactions",
			`data-testid="connect-form"`, `name="to_handle" value="ben"`, `<label for="connect-kind-ben">`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("bad limit", func(t *testing.T) {
		for _, q := range []string{"?limit=0", "?limit=x", "?limit=51"} {
			status, body := get(t, q)
			connWantError(t, status, body, http.StatusUnprocessableEntity, "invalid", "limit")
		}
	})

	t.Run("not once asked", func(t *testing.T) {
		connCreate(t, base, ana, "ben", "collaborate", http.StatusCreated)
		status, body := get(t, "")
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"suggestions":[]}` {
			t.Fatalf("got %d %s, want 200 with an empty list", status, body)
		}
	})
}

// connPage sends a page request with a bearer token and returns the status,
// the Location header and the body, without following redirects.
func connPage(t *testing.T, method, target, token string, form url.Values) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestConnectionsPage(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base := in.url
	ana, ben := signupNode(t, base, "ana"), signupNode(t, base, "ben")

	t.Run("signed out goes to sign in", func(t *testing.T) {
		status, loc, _ := connPage(t, http.MethodGet, base+"/connections", "", nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Fatalf("got %d to %q, want 303 to /signin", status, loc)
		}
	})

	t.Run("empty states", func(t *testing.T) {
		status, _, body := connPage(t, http.MethodGet, base+"/connections", ana, nil)
		if status != http.StatusOK {
			t.Fatalf("status %d, want 200", status)
		}
		for _, id := range []string{"incoming-empty", "connected-empty", "outgoing-empty", "suggestions-empty", "connect-by-handle"} {
			if !strings.Contains(body, `data-testid="`+id+`"`) {
				t.Errorf("page has no %s", id)
			}
		}
	})

	t.Run("refused request refills the form", func(t *testing.T) {
		status, _, body := connPage(t, http.MethodPost, base+"/connections", ana, url.Values{"to_handle": {"zed"}, "kind": {"advice"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", status)
		}
		for _, want := range []string{`data-testid="connect-error"`, "No one has the handle @zed", `value="zed"`, `aria-invalid="true"`, `<option value="advice" selected>`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	var id string
	t.Run("request then accept with forms", func(t *testing.T) {
		status, loc, _ := connPage(t, http.MethodPost, base+"/connections", ana, url.Values{"to_handle": {"ben"}, "kind": {"mentor"}})
		if status != http.StatusSeeOther || loc != "/connections?notice=requested" {
			t.Fatalf("got %d to %q, want 303 to /connections?notice=requested", status, loc)
		}
		_, _, body := connPage(t, http.MethodGet, base+loc, ana, nil)
		if !strings.Contains(body, `data-testid="connections-notice"`) || !strings.Contains(body, `data-testid="outgoing-request" data-handle="ben"`) {
			t.Fatalf("ana's page lacks the notice or the outgoing request:\n%s", body)
		}
		_, _, body = connPage(t, http.MethodGet, base+"/connections", ben, nil)
		if !strings.Contains(body, `data-testid="incoming-request" data-handle="ana"`) {
			t.Fatalf("ben's page lacks ana's request:\n%s", body)
		}
		c := connList(t, base, ben)[0]
		id = fmt.Sprint(c.ID)
		status, loc, _ = connPage(t, http.MethodPost, base+"/connections/"+id+"/accept", ben, url.Values{})
		if status != http.StatusSeeOther || loc != "/connections?notice=accepted" {
			t.Fatalf("accept: got %d to %q, want 303 to /connections?notice=accepted", status, loc)
		}
		_, _, body = connPage(t, http.MethodGet, base+"/connections", ana, nil)
		for _, want := range []string{`data-testid="connection" data-handle="ben"`, "<meter", `data-testid="strength">1.0 of 10`} {
			if !strings.Contains(body, want) {
				t.Errorf("ana's page lacks %q", want)
			}
		}
	})

	t.Run("not party to it", func(t *testing.T) {
		cy := signupNode(t, base, "cy")
		status, _, _ := connPage(t, http.MethodPost, base+"/connections/"+id+"/remove", cy, url.Values{})
		if status != http.StatusNotFound {
			t.Fatalf("status %d, want 404", status)
		}
		status, _, _ = connPage(t, http.MethodPost, base+"/connections/"+id+"/frobnicate", ana, url.Values{})
		if status != http.StatusNotFound {
			t.Fatalf("unknown action: status %d, want 404", status)
		}
	})

	t.Run("remove with the form", func(t *testing.T) {
		status, loc, _ := connPage(t, http.MethodPost, base+"/connections/"+id+"/remove", ana, url.Values{})
		if status != http.StatusSeeOther || loc != "/connections?notice=removed" {
			t.Fatalf("got %d to %q, want 303 to /connections?notice=removed", status, loc)
		}
		if got := connList(t, base, ana); len(got) != 0 {
			t.Fatalf("ana has %+v, want none", got)
		}
	})
}
