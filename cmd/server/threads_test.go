package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// thrJSON decodes a JSON response body or fails.
func thrJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// thrCreate starts a thread through the API and returns its id.
func thrCreate(t *testing.T, base, token string, req map[string]any) int64 {
	t.Helper()
	st, body := apiDo(t, http.MethodPost, base+"/api/v1/threads", token, req)
	if st != http.StatusCreated {
		t.Fatalf("create thread = %d %s", st, body)
	}
	var th struct {
		ID int64 `json:"id"`
	}
	thrJSON(t, body, &th)
	return th.ID
}

// thrReply replies through the API and returns the reply id.
func thrReply(t *testing.T, base, token string, thread int64, req map[string]any) int64 {
	t.Helper()
	st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/api/v1/threads/%d/replies", base, thread), token, req)
	if st != http.StatusCreated {
		t.Fatalf("reply = %d %s", st, body)
	}
	var rp struct {
		ID int64 `json:"id"`
	}
	thrJSON(t, body, &rp)
	return rp.ID
}

// thrGet fetches a page or API resource with a bearer token and returns the
// status and the raw body.
func thrGet(t *testing.T, u, token string) (int, string) {
	t.Helper()
	st, body := apiDo(t, http.MethodGet, u, token, nil)
	return st, string(body)
}

// thrPostForm posts a form with a bearer token, not following redirects.
func thrPostForm(t *testing.T, u, token string, form url.Values) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

type thrThread struct {
	Thread struct {
		ID               int64  `json:"id"`
		Status           string `json:"status"`
		Summary          string `json:"summary"`
		Unread           int    `json:"unread"`
		AnonymousAllowed bool   `json:"anonymous_allowed"`
		To               []struct {
			Handle string `json:"handle"`
		} `json:"to"`
	} `json:"thread"`
	Replies []struct {
		ID     int64 `json:"id"`
		Author *struct {
			Handle string `json:"handle"`
		} `json:"author"`
		Anonymous bool           `json:"anonymous"`
		Body      string         `json:"body"`
		Reactions map[string]int `json:"reactions"`
		Mine      bool           `json:"mine"`
		Quote     *struct {
			ID   int64  `json:"id"`
			Body string `json:"body"`
		} `json:"quote"`
	} `json:"replies"`
	Requests []struct {
		Node struct {
			Handle string `json:"handle"`
		} `json:"node"`
		Answered bool `json:"answered"`
	} `json:"requests"`
	Viewing []struct {
		Handle string `json:"handle"`
	} `json:"viewing"`
}

func thrFetch(t *testing.T, base, token string, id int64) thrThread {
	t.Helper()
	st, body := apiDo(t, http.MethodGet, fmt.Sprintf("%s/api/v1/threads/%d", base, id), token, nil)
	if st != http.StatusOK {
		t.Fatalf("get thread = %d %s", st, body)
	}
	var th thrThread
	thrJSON(t, body, &th)
	return th
}

func TestThreadsAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "threads-api", "REGISTRATION": "open"})
	u := in.url + "/api/v1"
	ana, ben, cleo, dan := signupNode(t, in.url, "ana"), signupNode(t, in.url, "ben"), signupNode(t, in.url, "cleo"), signupNode(t, in.url, "dan")
	if st, body := apiDo(t, "POST", u+"/communities", ana, map[string]any{"name": "Platform", "open": true}); st != http.StatusCreated {
		t.Fatalf("community = %d %s", st, body)
	}
	apiDo(t, "POST", u+"/communities/platform/join", ben, nil)

	var peer int64
	t.Run("create: 201, and every error class", func(t *testing.T) {
		peer = thrCreate(t, in.url, ana, map[string]any{"to_handles": []string{"ben", "cleo"}, "kind": "feedback_request",
			"title": "Feedback on my RFC", "body": "Draft at https://example.test/rfc — @ben?", "due_at": time.Now().AddDate(0, 0, 7).Format(time.DateOnly)})
		st, body := apiDo(t, "POST", u+"/threads", "", map[string]any{"to_handles": []string{"ben"}, "kind": "idea", "title": "x"})
		wantAPIError(t, st, body, http.StatusUnauthorized, "")
		st, body = apiDo(t, "POST", u+"/threads", ana, `{"title": `)
		wantAPIError(t, st, body, http.StatusBadRequest, "")
		st, body = apiDo(t, "POST", u+"/threads", ana, `{"title": "x", "colour": "red"}`)
		wantAPIError(t, st, body, http.StatusBadRequest, "")
		st, body = apiDo(t, "POST", u+"/threads", ana, `{"title": "`+strings.Repeat("x", 2<<20)+`"}`)
		wantAPIError(t, st, body, http.StatusRequestEntityTooLarge, "")
		for _, c := range []struct {
			req   map[string]any
			field string
		}{
			{map[string]any{"kind": "idea", "title": "x"}, "to_handles"},
			{map[string]any{"to_handles": []string{"ben"}, "kind": "rant", "title": "x"}, "kind"},
			{map[string]any{"to_handles": []string{"ben"}, "kind": "idea", "title": ""}, "title"},
			{map[string]any{"to_handles": []string{"nobody"}, "kind": "idea", "title": "x"}, "to_handles"},
			{map[string]any{"to_handles": []string{"ben"}, "kind": "idea", "title": "x", "due_at": "next week"}, "due_at"},
			{map[string]any{"to_handles": []string{"ben"}, "kind": "idea", "title": "x", "due_at": "2001-01-01"}, "due_at"},
			{map[string]any{"community_slug": "nowhere", "kind": "idea", "title": "x"}, "community_slug"},
		} {
			st, body := apiDo(t, "POST", u+"/threads", ana, c.req)
			wantAPIError(t, st, body, http.StatusUnprocessableEntity, c.field)
		}
		st, body = apiDo(t, "POST", u+"/threads", dan, map[string]any{"community_slug": "platform", "kind": "idea", "title": "x"})
		wantAPIError(t, st, body, http.StatusForbidden, "")
	})

	t.Run("read: 404 for strangers and unknown ids; the author sees who answered", func(t *testing.T) {
		st, body := apiDo(t, "GET", fmt.Sprintf("%s/threads/%d", u, peer), dan, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "GET", u+"/threads/999999", ana, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "GET", u+"/threads/abc", ana, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		th := thrFetch(t, in.url, ana, peer)
		if len(th.Requests) != 2 || th.Requests[0].Answered || len(th.Thread.To) != 2 {
			t.Errorf("author's view: requests %+v, to %+v; want ben and cleo, unanswered", th.Requests, th.Thread.To)
		}
		if th := thrFetch(t, in.url, ben, peer); th.Requests != nil {
			t.Errorf("ben sees requests %+v; only the author does", th.Requests)
		}
	})

	var r1 int64
	t.Run("replies, quotes, reactions, edits, unread", func(t *testing.T) {
		r1 = thrReply(t, in.url, ben, peer, map[string]any{"body": "Section 2 is unclear"})
		thrReply(t, in.url, cleo, peer, map[string]any{"body": "Agree with Ben", "quote_id": r1})
		st, body := apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies", u, peer), cleo, map[string]any{"body": "x", "anonymous": true})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "anonymous") // 2 asked
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies", u, peer), cleo, map[string]any{"body": "  "})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "body")
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies", u, peer), dan, map[string]any{"body": "hi"})
		wantAPIError(t, st, body, http.StatusNotFound, "")

		th := thrFetch(t, in.url, ana, peer)
		if th.Thread.Unread != 2 || len(th.Replies) != 2 || th.Replies[1].Quote == nil || th.Replies[1].Quote.Body != "Section 2 is unclear" {
			t.Errorf("thread = %+v; want 2 unread replies, the second quoting the first", th)
		}
		for _, q := range th.Requests {
			if !q.Answered {
				t.Errorf("%s not answered after replying", q.Node.Handle)
			}
		}

		react := func(token, reaction string) (int, []byte) {
			return apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies/%d/reactions", u, peer, r1), token, map[string]string{"reaction": reaction})
		}
		st, body = react(ana, "thanks")
		if st != http.StatusOK || !strings.Contains(string(body), `"thanks":1`) || !strings.Contains(string(body), `"added":true`) {
			t.Errorf("react = %d %s", st, body)
		}
		st, body = react(ana, "thanks")
		if st != http.StatusOK || !strings.Contains(string(body), `"thanks":0`) || !strings.Contains(string(body), `"my_reactions":[]`) {
			t.Errorf("toggle off = %d %s", st, body)
		}
		st, body = react(ana, "love")
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "reaction")

		st, body = apiDo(t, "PATCH", fmt.Sprintf("%s/threads/%d/replies/%d", u, peer, r1), cleo, map[string]string{"body": "hijacked"})
		wantAPIError(t, st, body, http.StatusForbidden, "")
		st, body = apiDo(t, "PATCH", fmt.Sprintf("%s/threads/%d/replies/%d", u, peer, r1), ben, map[string]string{"body": "Section 2 is unclear to me"})
		if st != http.StatusOK || !strings.Contains(string(body), `"edited_at"`) {
			t.Errorf("edit = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", fmt.Sprintf("%s/threads/%d/replies/%d/history", u, peer, r1), ana, nil)
		if st != http.StatusOK || !strings.Contains(string(body), `"body":"Section 2 is unclear"`) {
			t.Errorf("history = %d %s", st, body)
		}

		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/read", u, peer), ana, map[string]int64{"last_reply_id": r1})
		if st != http.StatusOK || !strings.Contains(string(body), `"unread":1`) {
			t.Errorf("read = %d %s; want 1 unread left", st, body)
		}
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/read", u, peer), ana, map[string]any{})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "last_reply_id")
	})

	t.Run("list: visible threads with unread counts, keyset pages, filters", func(t *testing.T) {
		c1 := thrCreate(t, in.url, ben, map[string]any{"community_slug": "platform", "kind": "idea", "title": "Quarterly game day"})
		c2 := thrCreate(t, in.url, ana, map[string]any{"community_slug": "platform", "kind": "question", "title": "Who owns DNS?"})
		var page struct {
			Threads []struct {
				ID     int64 `json:"id"`
				Unread int   `json:"unread"`
			} `json:"threads"`
			NextBefore int64 `json:"next_before"`
		}
		st, body := apiDo(t, "GET", u+"/threads?limit=2", ana, nil)
		thrJSON(t, body, &page)
		if st != http.StatusOK || len(page.Threads) != 2 || page.Threads[0].ID != c2 || page.Threads[1].ID != c1 || page.NextBefore != c1 {
			t.Fatalf("first page = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", fmt.Sprintf("%s/threads?limit=2&before=%d", u, page.NextBefore), ana, nil)
		page.NextBefore = 0
		thrJSON(t, body, &page)
		if st != http.StatusOK || len(page.Threads) != 1 || page.Threads[0].ID != peer || page.Threads[0].Unread != 1 || page.NextBefore != 0 {
			t.Errorf("second page = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/threads?community=platform", cleo, nil)
		if st != http.StatusOK || !strings.Contains(string(body), `"threads":[]`) {
			t.Errorf("cleo (not a member) lists platform threads: %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/threads?status=closed", ana, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "status")
		st, body = apiDo(t, "GET", u+"/threads?limit=1000", ana, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "limit")
	})

	t.Run("resolve: a second participant resolves; then 409 on reply and resolve", func(t *testing.T) {
		st, body := apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/resolve", u, peer), ben, map[string]string{"summary": "Rewrite section 2"})
		if st != http.StatusOK || !strings.Contains(string(body), `"resolved":false`) {
			t.Fatalf("ben proposes = %d %s", st, body)
		}
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/resolve", u, peer), cleo, map[string]string{"summary": ""})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "summary")
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/resolve", u, peer), cleo, map[string]string{"summary": "Rewrite section 2 with an example"})
		if st != http.StatusOK || !strings.Contains(string(body), `"resolved":true`) {
			t.Fatalf("cleo proposes = %d %s", st, body)
		}
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies", u, peer), ben, map[string]string{"body": "late"})
		wantAPIError(t, st, body, http.StatusConflict, "thread")
		st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/resolve", u, peer), ana, map[string]string{"summary": "again"})
		wantAPIError(t, st, body, http.StatusConflict, "thread")
		st, body = apiDo(t, "GET", u+"/threads?q=example&status=resolved", ana, nil)
		if st != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf(`"id":%d`, peer)) {
			t.Errorf("search for a word of the summary = %d %s", st, body)
		}
	})

	t.Run("pages", func(t *testing.T) {
		st, html := thrGet(t, in.url+"/threads", ben)
		if st != http.StatusOK || !strings.Contains(html, `data-testid="asked-threads"`) || !strings.Contains(html, "Feedback on my RFC") || !strings.Contains(html, `href="/threads"`) {
			t.Errorf("/threads = %d, want the list with the asked thread and the nav link", st)
		}
		st, html = thrGet(t, in.url+"/threads", dan)
		for _, id := range []string{"asked-empty", "mine-empty", "community-empty"} {
			if st != http.StatusOK || !strings.Contains(html, `data-testid="`+id+`"`) {
				t.Errorf("dan's /threads = %d, want the empty state %s", st, id)
			}
		}
		st, html = thrGet(t, in.url+"/threads/new", ana)
		if st != http.StatusOK || !strings.Contains(html, `data-testid="new-thread-form"`) || !strings.Contains(html, `value="platform"`) {
			t.Errorf("/threads/new = %d, want the form offering ana's community", st)
		}
		st, html = thrGet(t, fmt.Sprintf("%s/threads/%d", in.url, peer), ana)
		if st != http.StatusOK || !strings.Contains(html, `data-testid="resolved"`) || !strings.Contains(html, `data-testid="closed"`) || strings.Contains(html, `data-testid="reply-form"`) {
			t.Errorf("resolved thread page = %d, want the banner and no reply form", st)
		}
		st, _ = thrGet(t, fmt.Sprintf("%s/threads/%d", in.url, peer), dan)
		if st != http.StatusNotFound {
			t.Errorf("dan opens the thread = %d, want 404", st)
		}

		// Forms work without JavaScript: POST, then 303.
		st, loc, _ := thrPostForm(t, in.url+"/threads", ana, url.Values{"audience": {"peers"}, "to_handles": {"ben, @dan"}, "kind": {"question"}, "title": {"Lunch place?"}, "due": {""}})
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/threads/") {
			t.Fatalf("new thread form = %d %s", st, loc)
		}
		st, html = thrGet(t, in.url+loc, dan)
		if st != http.StatusOK || !strings.Contains(html, `data-testid="reply-form"`) {
			t.Fatalf("dan opens the thread he was asked in = %d", st)
		}
		st, reply, _ := thrPostForm(t, in.url+loc+"/replies", dan, url.Values{"body": {"The noodle bar"}})
		if st != http.StatusSeeOther || !strings.Contains(reply, "#reply-") {
			t.Fatalf("reply form = %d %s", st, reply)
		}
		rid := reply[strings.Index(reply, "#reply-")+len("#reply-"):]
		st, _, _ = thrPostForm(t, in.url+loc+"/replies/"+rid+"/reactions", ana, url.Values{"reaction": {"celebrate"}})
		if st != http.StatusSeeOther {
			t.Errorf("reaction form = %d", st)
		}
		st, _, html = thrPostForm(t, in.url+loc+"/replies", dan, url.Values{"body": {""}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(html, `data-testid="reply-error"`) {
			t.Errorf("empty reply form = %d, want 422 with the error on the page", st)
		}
		st, html = thrGet(t, in.url+loc+"/replies/"+rid+"/edit", dan)
		if st != http.StatusOK || !strings.Contains(html, `data-testid="edit-reply-form"`) {
			t.Errorf("edit page = %d", st)
		}
		st, _ = thrGet(t, in.url+loc+"/replies/"+rid+"/edit", ana)
		if st != http.StatusForbidden {
			t.Errorf("someone else's edit page = %d, want 403", st)
		}
		st, _, _ = thrPostForm(t, in.url+loc+"/replies/"+rid+"/edit", dan, url.Values{"body": {"The noodle bar on 5th"}})
		if st != http.StatusSeeOther {
			t.Errorf("edit form = %d", st)
		}
		st, _, _ = thrPostForm(t, in.url+loc+"/resolve", ana, url.Values{"summary": {"Noodles"}})
		if st != http.StatusSeeOther {
			t.Errorf("resolve form = %d", st)
		}
		st, _, html = thrPostForm(t, in.url+"/threads", ana, url.Values{"audience": {"peers"}, "to_handles": {"nobody"}, "kind": {"idea"}, "title": {"x"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(html, `data-testid="to_handles-error"`) {
			t.Errorf("bad new thread form = %d, want 422 naming the handles", st)
		}
	})

	t.Run("dashboard lists feedback asked of you", func(t *testing.T) {
		id := thrCreate(t, in.url, cleo, map[string]any{"to_handles": []string{"dan"}, "kind": "feedback_request", "title": "My slides for Friday"})
		st, html := thrGet(t, in.url+"/", dan)
		if st != http.StatusOK || !strings.Contains(html, fmt.Sprintf(`data-testid="feedback-request" data-thread-id="%d"`, id)) {
			t.Errorf("dan's dashboard = %d, want the request listed", st)
		}
	})
}

// thrRaw reads a stream's raw bytes in the background.
type thrRaw struct {
	mu     sync.Mutex
	buf    strings.Builder
	cancel context.CancelFunc
}

func thrOpenRaw(t *testing.T, u, token string) *thrRaw {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s = %d", u, resp.StatusCode)
	}
	s := &thrRaw{cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			s.mu.Lock()
			s.buf.WriteString(line)
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *thrRaw) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// wait waits until the stream contains sub.
func (s *thrRaw) wait(t *testing.T, sub string, limit time.Duration) {
	t.Helper()
	waitFor(t, limit, fmt.Sprintf("%q on the stream", sub), func() bool { return strings.Contains(s.String(), sub) })
}

// TestThreadAnonymousAuthorNeverLeaks posts an anonymous reply and then looks
// for its author's handle, display name and node id in the raw bytes of every
// API response, page, live stream (JSON and HTML) and export others can get.
func TestThreadAnonymousAuthorNeverLeaks(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "anon-test", "REGISTRATION": "open"})
	u := in.url + "/api/v1"
	ana := signupNode(t, in.url, "ana")
	// The anonymous author, with a name that appears nowhere else.
	st, body := apiDo(t, "POST", u+"/signup", "", map[string]string{"email": "zquill@example.test", "password": testPassword,
		"handle": "zquill", "display_name": "Zorro Quillfeather"})
	if st != http.StatusCreated {
		t.Fatalf("signup = %d %s", st, body)
	}
	var signup struct {
		Token string `json:"token"`
	}
	thrJSON(t, body, &signup)
	zq := signup.Token
	others := map[string]string{"ana": ana}
	apiDo(t, "POST", u+"/communities", ana, map[string]any{"name": "Guild", "open": false})
	for _, h := range []string{"ben", "cleo", "dan", "eve"} {
		others[h] = signupNode(t, in.url, h)
	}
	// Invite-only: ana adds the others by inviting them in the database (there is
	// no invite-to-community API); zquill joins the same way.
	pool := testenv.Pool(t, dbURL)
	if _, err := pool.Exec(context.Background(), `INSERT INTO community_members (community_id, node_id)
		SELECT c.id, n.id FROM communities c, nodes n WHERE c.slug = 'guild' AND n.handle <> 'ana'`); err != nil {
		t.Fatal(err)
	}
	var zid int64
	if err := pool.QueryRow(context.Background(), `SELECT id FROM nodes WHERE handle = 'zquill'`).Scan(&zid); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"zquill", "Zorro", "Quillfeather",
		fmt.Sprintf(`"id":%d,"handle"`, zid), fmt.Sprintf(`"node_id":%d`, zid), fmt.Sprintf(`"author_id":%d`, zid),
		fmt.Sprintf(`"from_node":%d`, zid), fmt.Sprintf(`"to_node":%d`, zid)}
	var checked int
	noLeak := func(t *testing.T, what, raw string) {
		t.Helper()
		checked++
		for _, s := range secrets {
			if strings.Contains(raw, s) {
				i := strings.Index(raw, s)
				t.Errorf("%s reveals the anonymous author (%q) near: %q", what, s, raw[max(0, i-120):min(len(raw), i+80)])
			}
		}
	}

	id := thrCreate(t, in.url, ana, map[string]any{"community_slug": "guild", "kind": "retrospective", "title": "Sprint 14 retro",
		"to_handles": []string{"ben", "cleo"}})
	// Live streams of two readers, opened before the reply.
	jsonStream := thrOpenRaw(t, u+"/events", others["ben"])
	htmlThread := thrOpenRaw(t, fmt.Sprintf("%s/threads/%d/live", in.url, id), others["cleo"])
	dashboard := thrOpenRaw(t, in.url+"/live", others["dan"])
	authorThread := thrOpenRaw(t, fmt.Sprintf("%s/threads/%d/live", in.url, id), ana)
	htmlThread.wait(t, "event: viewing", 5*time.Second)

	const secretBody = "The release process felt rushed, mention @ana"
	st, body = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies", u, id), zq, map[string]any{"body": secretBody, "anonymous": true})
	if st != http.StatusCreated {
		t.Fatalf("anonymous reply = %d %s", st, body)
	}
	var anon struct {
		ID     int64 `json:"id"`
		Author any   `json:"author"`
		Mine   bool  `json:"mine"`
	}
	thrJSON(t, body, &anon)
	if anon.Author != nil || !anon.Mine {
		t.Errorf("the author's own response = %s; want no author, mine", body)
	}
	// The author edits it; others quote it, react to it, resolve the thread.
	if st, body := apiDo(t, "PATCH", fmt.Sprintf("%s/threads/%d/replies/%d", u, id, anon.ID), zq, map[string]string{"body": secretBody + " (edited)"}); st != http.StatusOK {
		t.Fatalf("edit = %d %s", st, body)
	}
	thrReply(t, in.url, others["ben"], id, map[string]any{"body": "Agreed", "quote_id": anon.ID})
	if st, body := apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies/%d/reactions", u, id, anon.ID), others["cleo"], map[string]string{"reaction": "agree"}); st != http.StatusOK {
		t.Fatalf("react = %d %s", st, body)
	}
	jsonStream.wait(t, "thread.reaction", 5*time.Second)
	htmlThread.wait(t, fmt.Sprintf("event: reactions-%d", anon.ID), 5*time.Second)
	authorThread.wait(t, fmt.Sprintf("event: reactions-%d", anon.ID), 5*time.Second)

	t.Run("API responses", func(t *testing.T) {
		for h, tok := range others {
			for _, path := range []string{
				fmt.Sprintf("/threads/%d", id), "/threads", "/threads?scope=community", "/threads?q=rushed",
				fmt.Sprintf("/threads/%d/replies/%d/history", id, anon.ID), "/feed", "/search?q=rushed",
			} {
				st, raw := thrGet(t, u+path, tok)
				if st != http.StatusOK {
					t.Errorf("%s GET %s = %d", h, path, st)
				}
				noLeak(t, h+" GET /api/v1"+path, raw)
			}
		}
		st, raw := apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/read", u, id), ana, map[string]int64{"last_reply_id": anon.ID})
		if st != http.StatusOK {
			t.Errorf("read = %d", st)
		}
		noLeak(t, "POST read", string(raw))
		st, raw = apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/replies/%d/reactions", u, id, anon.ID), ana, map[string]string{"reaction": "thanks"})
		noLeak(t, "POST reaction", string(raw))
		st, raw = apiDo(t, "PATCH", fmt.Sprintf("%s/threads/%d/replies/%d", u, id, anon.ID), ana, map[string]string{"body": "x"})
		if st != http.StatusForbidden {
			t.Errorf("someone else edits the anonymous reply = %d, want 403", st)
		}
		noLeak(t, "PATCH someone else's anonymous reply", string(raw))
		th := thrFetch(t, in.url, ana, id)
		for _, rp := range th.Replies {
			if rp.ID == anon.ID && (rp.Author != nil || rp.Mine) {
				t.Errorf("the thread's author sees %+v", rp)
			}
		}
	})

	t.Run("pages", func(t *testing.T) {
		for h, tok := range others {
			for _, path := range []string{fmt.Sprintf("/threads/%d", id), "/threads", "/threads?q=rushed", "/", fmt.Sprintf("/threads/%d?quote=%d", id, anon.ID)} {
				st, raw := thrGet(t, in.url+path, tok)
				if st != http.StatusOK {
					t.Errorf("%s GET %s = %d", h, path, st)
				}
				noLeak(t, h+" page "+path, raw)
				if strings.HasPrefix(path, "/threads/") && (!strings.Contains(raw, "felt rushed") || !strings.Contains(raw, ">Anonymous<")) {
					t.Errorf("%s page %s does not show the anonymous reply: the check would prove nothing", h, path)
				}
			}
			st, raw := thrGet(t, fmt.Sprintf("%s/threads/%d/replies/%d/edit", in.url, id, anon.ID), tok)
			if st != http.StatusForbidden {
				t.Errorf("%s opens the anonymous reply's edit page = %d, want 403", h, st)
			}
			noLeak(t, h+" edit page", raw)
		}
	})

	t.Run("resolution and its events", func(t *testing.T) {
		if st, body := apiDo(t, "POST", fmt.Sprintf("%s/threads/%d/resolve", u, id), ana, map[string]string{"summary": "Slow the release down"}); st != http.StatusOK {
			t.Fatalf("resolve = %d %s", st, body)
		}
		jsonStream.wait(t, "thread.resolved", 5*time.Second)
		htmlThread.wait(t, "event: resolved", 5*time.Second)
	})

	t.Run("live streams, JSON and HTML", func(t *testing.T) {
		if !strings.Contains(jsonStream.String(), "rushed") || !strings.Contains(htmlThread.String(), "rushed") {
			t.Fatal("the streams did not carry the anonymous reply: the check would prove nothing")
		}
		noLeak(t, "ben's /api/v1/events", jsonStream.String())
		noLeak(t, "cleo's /threads/{id}/live", htmlThread.String())
		noLeak(t, "ana's (the thread author's) /threads/{id}/live", authorThread.String())
		noLeak(t, "dan's dashboard /live", dashboard.String())
		// A reconnect replays the same events.
		req, _ := http.NewRequest(http.MethodGet, u+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+others["eve"])
		req.Header.Set("Last-Event-ID", "1")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body) // ends at the deadline
		resp.Body.Close()
		if !strings.Contains(string(raw), "rushed") {
			t.Errorf("the replay did not carry the anonymous reply")
		}
		noLeak(t, "eve's replayed /api/v1/events", string(raw))
	})

	t.Run("exports and analytics: no interaction names the author", func(t *testing.T) {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM interactions WHERE from_node = $1 OR to_node = $1`, zid).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d interactions involve the anonymous author (%v), want 0", n, err)
		}
		var payloads string
		if err := pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(payload::text, ' '), '') FROM events WHERE type LIKE 'thread.%'`).Scan(&payloads); err != nil {
			t.Fatal(err)
		}
		noLeak(t, "the outbox (events the cluster replays)", payloads)
		// The graph exports (GraphML, GEXF, CSV) list every person as a node and
		// draw their edges from connections and interactions only: with no
		// interaction recorded, the anonymous reply adds nothing they could show.
	})
	t.Logf("%d responses, pages and streams checked", checked)
}

// TestThreadReplyLiveAcrossInstances: a reply posted through instance A
// reaches a member's /api/v1/events stream on instance B within 1 s, the
// thread's HTML stream on B shows it, and both instances see who is viewing.
func TestThreadReplyLiveAcrossInstances(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	cleo := signupNode(t, b.url, "cleo")
	benLive := openEvents(t, b.url, ben, "")
	cleoLive := openEvents(t, b.url, cleo, "")

	var id int64
	t.Run("the request reaches the asked peer on the other instance", func(t *testing.T) {
		sent := time.Now()
		id = thrCreate(t, a.url, ana, map[string]any{"to_handles": []string{"ben"}, "kind": "feedback_request", "title": "Review my design doc"})
		ev := benLive.next(t, 5*time.Second, "thread.requested")
		t.Logf("thread.requested delivered across instances in %s", ev.At.Sub(sent).Round(time.Millisecond))
		cleoLive.none(t, 300*time.Millisecond, "thread.requested", "thread.created")
	})

	benThread := thrOpenRaw(t, fmt.Sprintf("%s/threads/%d/live", b.url, id), ben)
	anaThread := thrOpenRaw(t, fmt.Sprintf("%s/threads/%d/live", a.url, id), ana)
	benThread.wait(t, "event: viewing", 5*time.Second)

	t.Run("a reply posted on A reaches ben's stream on B within 1s", func(t *testing.T) {
		var lat []time.Duration
		for i := range 20 {
			body := fmt.Sprintf("Point %d: the diagram needs a legend", i)
			sent := time.Now()
			thrReply(t, a.url, ana, id, map[string]any{"body": body})
			ev := benLive.next(t, 5*time.Second, "thread.reply")
			took := ev.At.Sub(sent)
			obj, _ := ev.Data["object"].(map[string]any)
			if obj["body"] != body || ev.ID == "" {
				t.Fatalf("event %+v, want the reply with an id", ev.Data)
			}
			lat = append(lat, took)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("reply A→B /api/v1/events over 20 replies: min %s, median %s, p95 %s, max %s",
			lat[0].Round(time.Microsecond), lat[10].Round(time.Microsecond), lat[18].Round(time.Microsecond), lat[19].Round(time.Microsecond))
		if lat[19] > time.Second {
			t.Errorf("slowest delivery %s, want within 1s", lat[19])
		}
		cleoLive.none(t, 300*time.Millisecond, "thread.reply")
	})

	t.Run("the thread's HTML stream on B renders the reply", func(t *testing.T) {
		benThread.wait(t, "Point 19: the diagram needs a legend", 5*time.Second)
		if !strings.Contains(benThread.String(), "event: reply\n") || !strings.Contains(benThread.String(), `data-testid="reply"`) {
			t.Errorf("ben's thread stream has no reply fragment")
		}
	})

	t.Run("a thread stream outlives the request timeout of its route group", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits out the 30s request timeout")
		}
		long := thrOpenRaw(t, fmt.Sprintf("%s/threads/%d/live", b.url, id), ben)
		time.Sleep(32 * time.Second)
		thrReply(t, a.url, ana, id, map[string]any{"body": "After the timeout"})
		long.wait(t, "After the timeout", 5*time.Second)
		if strings.Contains(long.String(), "event: reconnect") {
			t.Error("the stream was closed and reopened")
		}
	})

	t.Run("who is viewing: both, on either instance", func(t *testing.T) {
		for _, s := range []*thrRaw{benThread, anaThread} {
			waitFor(t, 5*time.Second, "both viewers in a viewing fragment", func() bool {
				raw := s.String()
				i := strings.LastIndex(raw, "event: viewing")
				return i >= 0 && strings.Contains(raw[i:], ">Ana<") && strings.Contains(raw[i:], ">Ben<")
			})
		}
		th := thrFetch(t, a.url, ana, id)
		var handles []string
		for _, v := range th.Viewing {
			handles = append(handles, v.Handle)
		}
		if !slices.Equal(handles, []string{"ana", "ben"}) {
			t.Errorf("viewing via the API on A = %v, want ana and ben", handles)
		}
		// ben closes his page: A stops listing him well before the TTL.
		benThread.cancel()
		waitFor(t, 3*time.Second, "ben gone from the viewers on A", func() bool {
			th := thrFetch(t, a.url, ana, id)
			return len(th.Viewing) == 1 && th.Viewing[0].Handle == "ana"
		})
	})
}
