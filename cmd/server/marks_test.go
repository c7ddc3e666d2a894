package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// markedShareJSON is GET /api/v1/shares/{id} with its peer verification.
type markedShareJSON struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	Author struct {
		Handle string `json:"handle"`
	} `json:"author"`
	Marks *struct {
		Disputed  int `json:"disputed"`
		Confirmed int `json:"confirmed"`
	} `json:"marks"`
	Reasons []struct {
		Verdict string    `json:"verdict"`
		Reason  string    `json:"reason"`
		Source  string    `json:"source"`
		By      string    `json:"by"`
		At      time.Time `json:"at"`
	} `json:"reasons"`
	DisputedByNetwork *bool `json:"disputed_by_network"`
	Correction        *struct {
		Body string `json:"body"`
	} `json:"correction"`
	MyMark string `json:"my_mark"`
}

func marksPostShare(t *testing.T, base, token, audience, body string) int64 {
	t.Helper()
	st, resp := apiDo(t, http.MethodPost, base+"/api/v1/shares", token, map[string]string{"body": body, "audience": audience})
	if st != http.StatusCreated {
		t.Fatalf("post share = %d %s", st, resp)
	}
	var sh struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(resp, &sh); err != nil {
		t.Fatal(err)
	}
	return sh.ID
}

func marksGetShare(t *testing.T, base, token string, id int64) markedShareJSON {
	t.Helper()
	st, body := apiDo(t, http.MethodGet, base+"/api/v1/shares/"+strconv.FormatInt(id, 10), token, nil)
	if st != http.StatusOK {
		t.Fatalf("GET share = %d %s", st, body)
	}
	var sh markedShareJSON
	if err := json.Unmarshal(body, &sh); err != nil {
		t.Fatal(err)
	}
	if sh.Marks == nil || sh.DisputedByNetwork == nil || sh.Reasons == nil {
		t.Fatalf("GET share lacks marks, reasons or disputed_by_network: %s", body)
	}
	return sh
}

func marksMark(t *testing.T, base, token string, id int64, mark map[string]string, want int) {
	t.Helper()
	st, body := apiDo(t, http.MethodPost, base+"/api/v1/shares/"+strconv.FormatInt(id, 10)+"/marks", token, mark)
	if st != want {
		t.Fatalf("mark %v = %d %s, want %d", mark, st, body, want)
	}
}

func TestShareMarksAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base := in.url
	ana, ben, cleo, dan := signupNode(t, base, "ana"), signupNode(t, base, "ben"), signupNode(t, base, "cleo"), signupNode(t, base, "dan")
	share := marksPostShare(t, base, ana, "everyone", "Revenue grew 40% last quarter")
	private := marksPostShare(t, base, ana, "connections", "For my connections only")
	marks := base + "/api/v1/shares/" + strconv.FormatInt(share, 10) + "/marks"

	t.Run("a first mark is 201, a change 200", func(t *testing.T) {
		marksMark(t, base, ben, share, map[string]string{"verdict": "confirmed"}, http.StatusCreated)
		marksMark(t, base, ben, share, map[string]string{"verdict": "disputed", "reason": "It was 14%", "source": "https://example.com/q3"}, http.StatusOK)
		sh := marksGetShare(t, base, ana, share)
		if sh.Body != "Revenue grew 40% last quarter" || sh.Author.Handle != "ana" {
			t.Errorf("the share's own fields are gone: %+v", sh)
		}
		if sh.Marks.Disputed != 1 || sh.Marks.Confirmed != 0 || *sh.DisputedByNetwork {
			t.Errorf("marks = %+v, label %v; want one dispute, no label", *sh.Marks, *sh.DisputedByNetwork)
		}
		if len(sh.Reasons) != 1 || sh.Reasons[0].By != "ben" || sh.Reasons[0].Reason != "It was 14%" ||
			sh.Reasons[0].Source != "https://example.com/q3" || sh.Reasons[0].Verdict != "disputed" || sh.Reasons[0].At.IsZero() {
			t.Errorf("reasons = %+v", sh.Reasons)
		}
		if mine := marksGetShare(t, base, ben, share).MyMark; mine != "disputed" {
			t.Errorf("ben's my_mark = %q", mine)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			name, token, url string
			body             any
			status           int
			field            string
		}{
			{"not signed in", "", marks, map[string]string{"verdict": "confirmed"}, http.StatusUnauthorized, ""},
			{"malformed JSON", cleo, marks, `{"verdict":`, http.StatusBadRequest, ""},
			{"unknown field", cleo, marks, `{"verdict":"confirmed","stars":1}`, http.StatusBadRequest, ""},
			{"too large", cleo, marks, `{"reason":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge, ""},
			{"unknown share", cleo, base + "/api/v1/shares/999999/marks", map[string]string{"verdict": "confirmed"}, http.StatusNotFound, ""},
			{"malformed id", cleo, base + "/api/v1/shares/abc/marks", map[string]string{"verdict": "confirmed"}, http.StatusNotFound, ""},
			{"a share one cannot read", cleo, base + "/api/v1/shares/" + strconv.FormatInt(private, 10) + "/marks", map[string]string{"verdict": "confirmed"}, http.StatusNotFound, ""},
			{"the author's own share", ana, marks, map[string]string{"verdict": "confirmed"}, http.StatusForbidden, ""},
			{"unknown verdict", cleo, marks, map[string]string{"verdict": "fake"}, http.StatusUnprocessableEntity, "verdict"},
			{"dispute without reason", cleo, marks, map[string]string{"verdict": "disputed"}, http.StatusUnprocessableEntity, "reason"},
			{"reason too long", cleo, marks, map[string]string{"verdict": "disputed", "reason": strings.Repeat("x", 1001)}, http.StatusUnprocessableEntity, "reason"},
			{"source not a link", cleo, marks, map[string]string{"verdict": "disputed", "reason": "r", "source": "example.com"}, http.StatusUnprocessableEntity, "source"},
			{"source not http", cleo, marks, map[string]string{"verdict": "disputed", "reason": "r", "source": "javascript:alert(1)"}, http.StatusUnprocessableEntity, "source"},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, body := apiDo(t, http.MethodPost, c.url, c.token, c.body)
				kmWantAPIError(t, st, body, c.status, c.field)
			})
		}
		if sh := marksGetShare(t, base, ana, share); sh.Marks.Disputed+sh.Marks.Confirmed != 1 {
			t.Errorf("marks after the errors = %+v, want ben's alone", *sh.Marks)
		}
	})

	t.Run("withdraw a mark", func(t *testing.T) {
		marksMark(t, base, cleo, share, map[string]string{"verdict": "confirmed"}, http.StatusCreated)
		if st, body := apiDo(t, http.MethodDelete, marks, cleo, nil); st != http.StatusNoContent {
			t.Fatalf("DELETE = %d %s, want 204", st, body)
		}
		st, body := apiDo(t, http.MethodDelete, marks, cleo, nil)
		kmWantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, http.MethodDelete, base+"/api/v1/shares/"+strconv.FormatInt(private, 10)+"/marks", cleo, nil)
		kmWantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, http.MethodDelete, marks, "", nil)
		kmWantAPIError(t, st, body, http.StatusUnauthorized, "")
	})

	t.Run("correction", func(t *testing.T) {
		correction := base + "/api/v1/shares/" + strconv.FormatInt(share, 10) + "/correction"
		st, body := apiDo(t, http.MethodPut, correction, ben, map[string]string{"body": "I correct it"})
		kmWantAPIError(t, st, body, http.StatusForbidden, "")
		st, body = apiDo(t, http.MethodPut, base+"/api/v1/shares/"+strconv.FormatInt(private, 10)+"/correction", cleo, map[string]string{"body": "x"})
		kmWantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, http.MethodPut, correction, ana, map[string]string{"body": "  "})
		kmWantAPIError(t, st, body, http.StatusUnprocessableEntity, "body")
		st, body = apiDo(t, http.MethodPut, correction, ana, `{"body":`)
		kmWantAPIError(t, st, body, http.StatusBadRequest, "")
		st, body = apiDo(t, http.MethodPut, correction, "", map[string]string{"body": "x"})
		kmWantAPIError(t, st, body, http.StatusUnauthorized, "")
		if st, body := apiDo(t, http.MethodPut, correction, ana, map[string]string{"body": "It was 14%, see @ben's source"}); st != http.StatusOK {
			t.Fatalf("PUT correction = %d %s", st, body)
		}
		if sh := marksGetShare(t, base, dan, share); sh.Correction == nil || sh.Correction.Body != "It was 14%, see @ben's source" {
			t.Errorf("correction = %+v", sh.Correction)
		}
	})

	t.Run("disputes from one community alone do not label, a second community does", func(t *testing.T) {
		claim := marksPostShare(t, base, ana, "everyone", "The network team caused the outage")
		if st, body := apiDo(t, http.MethodPost, base+"/api/v1/communities", ben, map[string]any{"name": "Payments", "open": true}); st != http.StatusCreated {
			t.Fatalf("create community = %d %s", st, body)
		}
		if st, body := apiDo(t, http.MethodPost, base+"/api/v1/communities/payments/join", cleo, nil); st != http.StatusOK {
			t.Fatalf("join = %d %s", st, body)
		}
		if st, body := apiDo(t, http.MethodPost, base+"/api/v1/communities", dan, map[string]any{"name": "Platform", "open": true}); st != http.StatusCreated {
			t.Fatalf("create community = %d %s", st, body)
		}
		dispute := map[string]string{"verdict": "disputed", "reason": "the logs say otherwise"}
		marksMark(t, base, ben, claim, dispute, http.StatusCreated)
		marksMark(t, base, cleo, claim, dispute, http.StatusCreated)
		if sh := marksGetShare(t, base, ana, claim); *sh.DisputedByNetwork || sh.Marks.Disputed != 2 {
			t.Fatalf("two payments members: label %v, marks %+v; want 2 disputes, no label", *sh.DisputedByNetwork, *sh.Marks)
		}
		marksMark(t, base, dan, claim, dispute, http.StatusCreated)
		if sh := marksGetShare(t, base, ana, claim); !*sh.DisputedByNetwork {
			t.Fatal("disputes from payments and platform did not label the share")
		}
		if st, body := apiDo(t, http.MethodDelete, base+"/api/v1/shares/"+strconv.FormatInt(claim, 10)+"/marks", dan, nil); st != http.StatusNoContent {
			t.Fatalf("DELETE = %d %s", st, body)
		}
		if sh := marksGetShare(t, base, ana, claim); *sh.DisputedByNetwork {
			t.Error("still labelled after platform's dispute was withdrawn")
		}
		marksMark(t, base, dan, claim, dispute, http.StatusCreated)

		// The pages show it.
		st, _, page := connPage(t, http.MethodGet, base+"/shares/"+strconv.FormatInt(claim, 10), cleo, nil)
		if st != http.StatusOK {
			t.Fatalf("share page = %d", st)
		}
		for _, want := range []string{`data-testid="disputed-by-network"`, `data-testid="share-reasons"`, "the logs say otherwise", `data-testid="my-mark"`, `data-testid="unmark"`} {
			if !strings.Contains(page, want) {
				t.Errorf("share page lacks %s", want)
			}
		}
		_, _, feed := connPage(t, http.MethodGet, base+"/", ana, nil)
		if !strings.Contains(feed, `data-testid="disputed-by-network"`) || !strings.Contains(feed, "3 disputes") || !strings.Contains(feed, `data-testid="share-correction"`) {
			t.Error("the author's feed does not show the label, the counts and the correction")
		}
		if strings.Contains(feed, `data-testid="dispute-form"`) {
			t.Error("the author is offered to dispute their own shares (her feed holds only hers)")
		}
		if !strings.Contains(feed, `data-testid="correct"`) {
			t.Error("the author is not offered to post a correction")
		}
	})

	t.Run("forms", func(t *testing.T) {
		sharePath := base + "/shares/" + strconv.FormatInt(share, 10)
		st, _, body := connPage(t, http.MethodPost, sharePath+"/marks", dan, url.Values{"verdict": {"disputed"}, "reason": {""}, "source": {"https://example.com"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="reason-error"`) || !strings.Contains(body, `value="https://example.com"`) {
			t.Errorf("dispute without reason = %d, want 422 with the reason error and the source kept", st)
		}
		st, loc, _ := connPage(t, http.MethodPost, sharePath+"/marks", dan, url.Values{"verdict": {"confirmed"}})
		if st != http.StatusSeeOther || loc != "/shares/"+strconv.FormatInt(share, 10)+"#marks" {
			t.Errorf("confirm = %d to %q, want 303 to the share's marks", st, loc)
		}
		if st, loc, _ = connPage(t, http.MethodPost, sharePath+"/marks/delete", dan, url.Values{}); st != http.StatusSeeOther {
			t.Errorf("withdraw = %d to %q, want 303", st, loc)
		}
		if st, _, _ = connPage(t, http.MethodPost, sharePath+"/marks", ana, url.Values{"verdict": {"confirmed"}}); st != http.StatusForbidden {
			t.Errorf("author marks own share by form = %d, want 403", st)
		}
		if st, _, body = connPage(t, http.MethodGet, sharePath+"/correction", ana, nil); st != http.StatusOK || !strings.Contains(body, `data-testid="correction-form"`) {
			t.Errorf("correction page = %d", st)
		}
		if st, _, _ = connPage(t, http.MethodGet, sharePath+"/correction", ben, nil); st != http.StatusForbidden {
			t.Errorf("correction page for someone else = %d, want 403", st)
		}
		if st, loc, _ = connPage(t, http.MethodPost, sharePath+"/correction", ana, url.Values{"body": {"Corrected by form"}}); st != http.StatusSeeOther {
			t.Errorf("correction form = %d to %q, want 303", st, loc)
		}
		if st, _, body = connPage(t, http.MethodPost, sharePath+"/correction", ana, url.Values{"body": {""}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="correction-error"`) {
			t.Errorf("empty correction = %d, want 422 with the error", st)
		}
		if sh := marksGetShare(t, base, ben, share); sh.Correction == nil || sh.Correction.Body != "Corrected by form" {
			t.Errorf("correction = %+v", sh.Correction)
		}
	})
}

// TestShareMarkedLive: a mark posted on instance A reaches the author's event
// stream on instance B; readers hear of it only when the label switches.
func TestShareMarkedLive(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, b.url, "ana")
	ben, cleo, dan := signupNode(t, a.url, "ben"), signupNode(t, a.url, "cleo"), signupNode(t, a.url, "dan")
	if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/communities", ben, map[string]any{"name": "Payments", "open": true}); st != http.StatusCreated {
		t.Fatalf("create community = %d %s", st, body)
	}
	if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/communities", cleo, map[string]any{"name": "Platform", "open": true}); st != http.StatusCreated {
		t.Fatalf("create community = %d %s", st, body)
	}
	share := marksPostShare(t, b.url, ana, "everyone", "The outage was the network team's fault")
	anaLive := openEvents(t, b.url, ana, "")
	danLive := openEvents(t, b.url, dan, "")
	anaPage := openStream(t, b.url+"/live", ana, "") // the author's dashboard
	dispute := map[string]string{"verdict": "disputed", "reason": "the logs say otherwise", "source": "https://example.com/logs"}

	t.Run("the author hears of a mark made on the other instance", func(t *testing.T) {
		sent := time.Now()
		marksMark(t, a.url, ben, share, dispute, http.StatusCreated)
		ev := anaLive.next(t, 5*time.Second, "share.marked")
		t.Logf("share.marked reached the author on the other instance in %s", ev.At.Sub(sent).Round(time.Millisecond))
		obj, _ := ev.Data["object"].(map[string]any)
		if obj["share_id"] != float64(share) || obj["verdict"] != "disputed" || obj["by"] != "ben" || obj["disputed_by_network"] != false {
			t.Errorf("event object = %v", obj)
		}
	})
	t.Run("the author's dashboard shows the mark live", func(t *testing.T) {
		ev := anaPage.next(t, 5*time.Second, "notice")
		if !strings.Contains(ev.Raw, "@ben disputed your share") || !strings.Contains(ev.Raw, `data-testid="mark-notice"`) {
			t.Errorf("dashboard notice = %q", ev.Raw)
		}
	})
	t.Run("readers are not interrupted while the label stays", func(t *testing.T) {
		danLive.none(t, 500*time.Millisecond, "share.marked")
	})
	t.Run("the label switching on reaches readers too", func(t *testing.T) {
		marksMark(t, a.url, cleo, share, dispute, http.StatusCreated)
		for name, live := range map[string]*sseClient{"author": anaLive, "reader": danLive} {
			ev := live.next(t, 5*time.Second, "share.marked")
			obj, _ := ev.Data["object"].(map[string]any)
			if obj["disputed_by_network"] != true || obj["label_changed"] != true {
				t.Errorf("%s got %v, want the label switched on", name, obj)
			}
		}
	})
}
