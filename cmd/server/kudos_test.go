package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// kudosJSON is one kudos as the API returns it.
type kudosJSON struct {
	ID   int64 `json:"id"`
	From struct {
		Handle string `json:"handle"`
	} `json:"from"`
	To struct {
		Handle string `json:"handle"`
	} `json:"to"`
	Message string   `json:"message"`
	Values  []string `json:"values"`
	Public  bool     `json:"public"`
}

// kmWantAPIError checks an error answer of the JSON API: status, code, field.
func kmWantAPIError(t *testing.T, status int, body []byte, wantStatus int, wantField string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d: %s", status, wantStatus, body)
	}
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %s, want {error:{code,message}}", body)
	}
	if e.Error.Field != wantField {
		t.Fatalf("error field = %q, want %q: %s", e.Error.Field, wantField, body)
	}
}

func kudosList(t *testing.T, base, token, query string) []kudosJSON {
	t.Helper()
	st, body := apiDo(t, http.MethodGet, base+"/api/v1/kudos?"+query, token, nil)
	if st != http.StatusOK {
		t.Fatalf("GET /api/v1/kudos?%s = %d %s", query, st, body)
	}
	var resp struct {
		Kudos []kudosJSON `json:"kudos"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Kudos == nil {
		t.Fatalf("decode %s: %v (want a kudos list, [] when empty)", body, err)
	}
	return resp.Kudos
}

func kudosMessages(list []kudosJSON) []string {
	var out []string
	for _, k := range list {
		out = append(out, k.Message)
	}
	return out
}

func TestKudosAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base := in.url
	ana, ben, cleo := signupNode(t, base, "ana"), signupNode(t, base, "ben"), signupNode(t, base, "cleo")
	benLive := openEvents(t, base, ben, "")
	anaLive := openEvents(t, base, ana, "")

	t.Run("give public kudos", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, base+"/api/v1/kudos", ana, map[string]any{
			"to_handle": "ben", "message": "Thanks for pairing on the outage", "values": []string{"#Care", "calm"}})
		if st != http.StatusCreated {
			t.Fatalf("status %d %s, want 201", st, body)
		}
		var k kudosJSON
		if err := json.Unmarshal(body, &k); err != nil {
			t.Fatal(err)
		}
		if k.From.Handle != "ana" || k.To.Handle != "ben" || !k.Public || !slices.Equal(k.Values, []string{"care", "calm"}) {
			t.Errorf("kudos = %+v, want ana → ben, public by default, values normalised", k)
		}
	})

	t.Run("the recipient hears of it live, nobody else", func(t *testing.T) {
		ev := benLive.next(t, 5*time.Second, "kudos.received")
		obj, _ := ev.Data["object"].(map[string]any)
		if obj["message"] != "Thanks for pairing on the outage" {
			t.Errorf("event object = %v", obj)
		}
		anaLive.none(t, 300*time.Millisecond, "kudos.received")
	})

	t.Run("give private kudos", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, base+"/api/v1/kudos", cleo, map[string]any{"to_handle": "@ben", "message": "private thanks", "public": false})
		if st != http.StatusCreated {
			t.Fatalf("status %d %s, want 201", st, body)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			token  string
			body   any
			status int
			field  string
		}{
			{"not signed in", "", map[string]any{"to_handle": "ben"}, http.StatusUnauthorized, ""},
			{"malformed JSON", ana, `{"to_handle":`, http.StatusBadRequest, ""},
			{"unknown field", ana, `{"to_handle":"ben","stars":5}`, http.StatusBadRequest, ""},
			{"too large", ana, `{"message":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge, ""},
			{"to yourself", ana, map[string]any{"to_handle": "ana"}, http.StatusUnprocessableEntity, "to_handle"},
			{"unknown person", ana, map[string]any{"to_handle": "nobody"}, http.StatusUnprocessableEntity, "to_handle"},
			{"no person", ana, map[string]any{"message": "hi"}, http.StatusUnprocessableEntity, "to_handle"},
			{"message too long", ana, map[string]any{"to_handle": "ben", "message": strings.Repeat("x", 1001)}, http.StatusUnprocessableEntity, "message"},
			{"six values", ana, map[string]any{"to_handle": "ben", "values": []string{"a", "b", "c", "d", "e", "f"}}, http.StatusUnprocessableEntity, "values"},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, body := apiDo(t, http.MethodPost, base+"/api/v1/kudos", c.token, c.body)
				kmWantAPIError(t, st, body, c.status, c.field)
			})
		}
		for _, c := range []struct {
			name, query string
			status      int
			field       string
		}{
			{"list without to or from", "", http.StatusUnprocessableEntity, "to"},
			{"list of an unknown person", "to=nobody", http.StatusNotFound, ""},
			{"bad limit", "to=ben&limit=500", http.StatusUnprocessableEntity, "limit"},
			{"bad cursor", "to=ben&before=x", http.StatusUnprocessableEntity, "before"},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, body := apiDo(t, http.MethodGet, base+"/api/v1/kudos?"+c.query, ana, nil)
				kmWantAPIError(t, st, body, c.status, c.field)
			})
		}
		if st, body := apiDo(t, http.MethodGet, base+"/api/v1/kudos?to=ben", "", nil); st != http.StatusUnauthorized {
			t.Errorf("anonymous list = %d %s, want 401", st, body)
		}
	})

	t.Run("private kudos are visible only to the recipient", func(t *testing.T) {
		for _, c := range []struct {
			name, token, query string
			want               []string
		}{
			{"recipient", ben, "to=ben", []string{"private thanks", "Thanks for pairing on the outage"}},
			{"someone else", ana, "to=ben", []string{"Thanks for pairing on the outage"}},
			{"even the giver", cleo, "to=ben", []string{"Thanks for pairing on the outage"}},
			{"given, seen by the recipient", ben, "from=cleo", []string{"private thanks"}},
			{"given, seen by another", ana, "from=cleo", nil},
			{"to and from", ben, "to=ben&from=ana", []string{"Thanks for pairing on the outage"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				if got := kudosMessages(kudosList(t, base, c.token, c.query)); !slices.Equal(got, c.want) {
					t.Errorf("got %q, want %q", got, c.want)
				}
			})
		}
	})

	t.Run("keyset paging", func(t *testing.T) {
		st, body := apiDo(t, http.MethodGet, base+"/api/v1/kudos?to=ben&limit=1", ben, nil)
		var page struct {
			Kudos      []kudosJSON `json:"kudos"`
			NextBefore int64       `json:"next_before"`
		}
		if st != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Kudos) != 1 || page.NextBefore == 0 {
			t.Fatalf("first page = %d %s", st, body)
		}
		rest := kudosList(t, base, ben, "to=ben&before="+strconv.FormatInt(page.NextBefore, 10))
		if got := kudosMessages(rest); !slices.Equal(got, []string{"Thanks for pairing on the outage"}) {
			t.Errorf("second page = %q", got)
		}
	})
}

func TestKudosOnProfilePage(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base := in.url
	ana, ben, cleo := signupNode(t, base, "ana"), signupNode(t, base, "ben"), signupNode(t, base, "cleo")
	for _, k := range []map[string]any{
		{"token": ana, "to_handle": "ben", "message": "public thanks from ana", "values": []string{"courage"}},
		{"token": cleo, "to_handle": "ben", "message": "secret thanks from cleo", "public": false},
	} {
		token := k["token"].(string)
		delete(k, "token")
		if st, body := apiDo(t, http.MethodPost, base+"/api/v1/kudos", token, k); st != http.StatusCreated {
			t.Fatalf("give kudos = %d %s", st, body)
		}
	}
	page := func(t *testing.T, token, path string) string {
		t.Helper()
		st, _, body := connPage(t, http.MethodGet, base+path, token, nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s = %d", path, st)
		}
		return body
	}

	t.Run("the recipient sees private kudos on their own profile", func(t *testing.T) {
		body := page(t, ben, "/people/ben")
		for _, want := range []string{"public thanks from ana", "secret thanks from cleo", `data-testid="kudos-private"`, "courage", "Kudos received", "Kudos given"} {
			if !strings.Contains(body, want) {
				t.Errorf("ben's own profile lacks %q", want)
			}
		}
		if strings.Contains(body, `data-testid="kudos-form"`) {
			t.Error("ben is offered to give kudos to himself")
		}
	})
	t.Run("others see only public kudos", func(t *testing.T) {
		for _, c := range []struct{ who, token, path string }{
			{"ana on ben's profile", ana, "/people/ben"},
			{"the giver on ben's profile", cleo, "/people/ben"},
			{"the giver on her own profile", cleo, "/people/cleo"},
			{"the recipient on the giver's profile", ben, "/people/cleo"},
		} {
			t.Run(c.who, func(t *testing.T) {
				body := page(t, c.token, c.path)
				if strings.Contains(body, "secret thanks from cleo") || strings.Contains(body, `data-testid="kudos-private"`) {
					t.Errorf("%s shows the private kudos", c.path)
				}
			})
		}
		if body := page(t, cleo, "/people/ana"); !strings.Contains(body, "public thanks from ana") {
			t.Error("ana's profile does not list the kudos she gave")
		}
	})
	t.Run("give kudos with the form", func(t *testing.T) {
		body := page(t, ana, "/people/cleo")
		if !strings.Contains(body, `data-testid="kudos-form"`) {
			t.Fatal("no kudos form on someone else's profile")
		}
		st, loc, _ := connPage(t, http.MethodPost, base+"/people/cleo/kudos", ana,
			url.Values{"message": {"Great demo, @cleo"}, "values": {"clarity, #Craft"}, "public": {"true"}})
		if st != http.StatusSeeOther || loc != "/people/cleo#kudos" {
			t.Fatalf("POST = %d to %q, want 303 to the profile", st, loc)
		}
		body = page(t, ben, "/people/cleo")
		if !strings.Contains(body, "Great demo") || !strings.Contains(body, ">craft<") {
			t.Error("the kudos given with the form is not on cleo's profile")
		}
	})
	t.Run("a form that needs fixing comes back with what was typed", func(t *testing.T) {
		st, _, body := connPage(t, http.MethodPost, base+"/people/cleo/kudos", ana,
			url.Values{"message": {"kept text"}, "values": {"a,b,c,d,e,f"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="values-error"`) || !strings.Contains(body, "kept text") {
			t.Errorf("status %d, want 422 with the values error and the message kept", st)
		}
		st, _, _ = connPage(t, http.MethodPost, base+"/people/nobody/kudos", ana, url.Values{"message": {"x"}})
		if st != http.StatusNotFound {
			t.Errorf("kudos to an unknown profile = %d, want 404", st)
		}
	})
}
