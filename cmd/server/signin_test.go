package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	dto "github.com/prometheus/client_model/go"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/metrics"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web"
)

// signinClient is an HTTP client whose connections come from the loopback
// address ip (127.0.0.x: Linux routes all of 127/8 to lo), so one test can be
// several client addresses. It does not follow redirects.
func signinClient(ip string, jar http.CookieJar) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16},
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signinPasswordChecks is the process's count of password hashes verified.
func signinPasswordChecks(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.PasswordChecks.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// signinAttempt is one password sign-in through the API (JSON) or the form.
type signinAttempt struct {
	status     int
	retryAfter string
	body       string
}

func signinTry(t *testing.T, c *http.Client, baseURL, email, password string, form bool) signinAttempt {
	t.Helper()
	var req *http.Request
	if form {
		req, _ = http.NewRequest(http.MethodPost, baseURL+"/signin", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		b, _ := json.Marshal(map[string]string{"email": email, "password": password})
		req, _ = http.NewRequest(http.MethodPost, baseURL+"/api/v1/login", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("sign-in attempt: %v", err)
		return signinAttempt{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return signinAttempt{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(body)}
}

// signinAuditCount counts audit rows of action whose detail names account
// ("" for any).
func signinAuditCount(t *testing.T, pool *pgxpool.Pool, action, account string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND ($2 = '' OR detail ->> 'account' = $2)`,
		action, account).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSigninAbuseLimits makes 1,000 password sign-in attempts — 800 at one
// account from four addresses, 200 at ever new emails from a fifth — and
// counts the password hashes actually verified: the per-address limit (30 a
// minute, shared through PostgreSQL) and the per-account progressive delay
// refuse the rest before any hashing.
func TestSigninAbuseLimits(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	pool := testenv.Pool(t, dbURL)
	u := in.url
	signupNode(t, u, "stew")
	signupNode(t, u, "vic")
	victim := community.SigninAccount("vic@example.test")

	const (
		victimAddresses = 4
		perAddress      = 200
		workers         = 4 // concurrent attempts per address
	)
	type tally struct {
		mu       sync.Mutex
		byStatus map[int]int
		noRetry  int // 429s without Retry-After
		account  int // 429s of the account's delay
	}
	tallies := make([]*tally, victimAddresses+1)
	before := signinPasswordChecks(t)
	start := time.Now()
	var wg sync.WaitGroup
	for a := range victimAddresses + 1 {
		tl := &tally{byStatus: map[int]int{}}
		tallies[a] = tl
		c := signinClient(fmt.Sprintf("127.0.0.%d", a+2), nil)
		next := make(chan int, perAddress)
		for i := range perAddress {
			next <- i
		}
		close(next)
		for range workers {
			wg.Go(func() {
				for i := range next {
					email := "vic@example.test"
					if a == victimAddresses {
						email = fmt.Sprintf("nobody-%d@example.test", i) // spraying: a new account each time
					}
					r := signinTry(t, c, u, email, "not the password "+strconv.Itoa(i), i%2 == 0)
					tl.mu.Lock()
					tl.byStatus[r.status]++
					if r.status == http.StatusTooManyRequests {
						if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 {
							tl.noRetry++
						}
						if strings.Contains(r.body, "for this account") {
							tl.account++
						}
					}
					tl.mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	checks := signinPasswordChecks(t) - before

	unauthorized := 0
	for a, tl := range tallies {
		for st, n := range tl.byStatus {
			if st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
				t.Errorf("address %d: got %d answers with status %d, want only 401 and 429", a, n, st)
			}
		}
		if tl.noRetry > 0 {
			t.Errorf("address %d: %d answers of 429 lack a Retry-After", a, tl.noRetry)
		}
		// Per address at most 30 a minute get past the limit; a window
		// boundary during the test may let up to 30 more through
		// (httprate weighs the previous window).
		if past := perAddress - tl.byStatus[http.StatusTooManyRequests] + tl.account; past > 2*30 || past < 30 {
			t.Errorf("address %d: %d attempts got past the address limit, want 30 to 60", a, past)
		}
		unauthorized += tl.byStatus[http.StatusUnauthorized]
	}
	t.Logf("1,000 attempts in %v: %v password checks; %d failures recorded for the victim, %d delayed attempts; answers by address %v",
		elapsed.Round(time.Millisecond), checks, signinAuditCount(t, pool, "signin_failed", victim),
		signinAuditCount(t, pool, "signin_delayed", victim), func() []map[int]int {
			var out []map[int]int
			for _, tl := range tallies {
				out = append(out, tl.byStatus)
			}
			return out
		}())

	t.Run("every 401 is one password check and nothing else was checked", func(t *testing.T) {
		if int(checks) != unauthorized {
			t.Errorf("got %v password checks for %d answers of 401, want equal", checks, unauthorized)
		}
	})
	t.Run("the victim's checks are bounded by the progressive delay", func(t *testing.T) {
		// 10 free failures, then one each time the delay (1 s, 2 s, 4 s …)
		// has passed since the last: k more need 2^k - 1 seconds.
		failed := signinAuditCount(t, pool, "signin_failed", victim)
		steps := int(math.Floor(math.Log2(elapsed.Seconds()+1))) + 1
		if failed < community.SigninFreeFailures || failed > community.SigninFreeFailures+steps {
			t.Errorf("got %d password checks for the victim in %v, want %d to %d",
				failed, elapsed, community.SigninFreeFailures, community.SigninFreeFailures+steps)
		}
		// The spraying address checked at most its address limit.
		if spray := tallies[victimAddresses].byStatus[http.StatusUnauthorized]; spray > 2*30 {
			t.Errorf("got %d checks from the spraying address, want at most 60", spray)
		}
		if max := float64(community.SigninFreeFailures + steps + 2*30); checks > max {
			t.Errorf("got %v password checks for 1,000 attempts, want at most %v", checks, max)
		}
	})
	t.Run("a refused attempt says why and when to come back", func(t *testing.T) {
		r := signinTry(t, signinClient("127.0.0.2", nil), u, "vic@example.test", testPassword, false)
		var e authAPIError
		if r.status != http.StatusTooManyRequests || json.Unmarshal([]byte(r.body), &e) != nil || e.Error.Code != "too_many_requests" ||
			!strings.Contains(e.Error.Message, "from your address") || r.retryAfter != "60" {
			t.Errorf("got %d %q Retry-After %q, want 429 too_many_requests from your address, Retry-After 60", r.status, r.body, r.retryAfter)
		}
		r = signinTry(t, signinClient("127.0.0.2", nil), u, "vic@example.test", testPassword, true)
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, `data-testid="signin-form"`) || !strings.Contains(r.body, "from your address") {
			t.Errorf("form: got %d, want 429 with the form and the message", r.status)
		}
	})
	t.Run("the right password works once the delay is over: no lockout", func(t *testing.T) {
		c := signinClient("127.0.0.20", nil) // an address with its limit untouched
		r := signinTry(t, c, u, "vic@example.test", testPassword, false)
		if r.status == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(r.retryAfter)
			if !strings.Contains(r.body, "for this account") || wait < 1 || wait > int(community.SigninMaxDelay.Seconds()) {
				t.Fatalf("got 429 %s Retry-After %q, want the account's delay", r.body, r.retryAfter)
			}
			time.Sleep(time.Duration(wait) * time.Second)
			r = signinTry(t, c, u, "vic@example.test", testPassword, false)
		}
		if r.status != http.StatusOK {
			t.Errorf("got %d %s after the delay, want 200", r.status, r.body)
		}
	})
	t.Run("failures and the sign-in are in the audit log with the address", func(t *testing.T) {
		var address string
		if err := pool.QueryRow(context.Background(), `SELECT address FROM audit_log WHERE action = 'signin' ORDER BY id DESC LIMIT 1`).Scan(&address); err != nil || address != "127.0.0.20" {
			t.Errorf("got the sign-in's address %q (%v), want 127.0.0.20", address, err)
		}
		var addrs int
		if err := pool.QueryRow(context.Background(), `SELECT count(DISTINCT address) FROM audit_log WHERE action IN ('signin_failed', 'signin_delayed') AND address <> '127.0.0.20'`).Scan(&addrs); err != nil || addrs != victimAddresses+1 {
			t.Errorf("got failed or delayed attempts from %d addresses (%v), want %d", addrs, err, victimAddresses+1)
		}
	})
	t.Run("X-Forwarded-For does not choose the bucket", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, u+"/api/v1/login", strings.NewReader(`{"email":"x@example.test","password":"y"}`))
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		resp, err := signinClient("127.0.0.3", nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("got %d, want 429: the address is the connection's", resp.StatusCode)
		}
	})
	t.Run("sign-up is not limited per address", func(t *testing.T) {
		c := signinClient("127.0.0.2", nil) // limited for sign-in
		for i := range web.SigninAddressLimit + 1 {
			b, _ := json.Marshal(authSignupBody(fmt.Sprintf("new%02d", i)))
			resp, err := c.Post(u+"/api/v1/signup", "application/json", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("sign-up %d: got %d, want 201", i+1, resp.StatusCode)
			}
		}
	})
}

// signinSession signs handle in through the form from a fresh cookie jar and
// returns the client and the session cookie's value.
func signinSession(t *testing.T, baseURL, handle string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := signinClient("127.0.0.1", jar)
	resp, err := c.PostForm(baseURL+"/signin", url.Values{"email": {handle + "@example.test"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: got %d, want 303", handle, resp.StatusCode)
	}
	for _, line := range resp.Header.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == SessionCookie && ck.Value != "" {
			return c, ck.Value
		}
	}
	t.Fatalf("sign in %s: no session cookie in %q", handle, resp.Header.Values("Set-Cookie"))
	return nil, ""
}

// signinWithCookie sends GET path with only the session cookie value.
func signinWithCookie(t *testing.T, baseURL, path, value string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: value})
	resp, err := signinClient("127.0.0.1", nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSessionCookieAndTimeouts(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	pool := testenv.Pool(t, dbURL)
	u := in.url
	signupNode(t, u, "ana")

	jar, _ := cookiejar.New(nil)
	c := signinClient("127.0.0.1", jar)
	// A token planted before signing in (session fixation) must not survive it.
	planted := "planted-token-abcdefghijklmnopqrstuvwxyz0123"
	jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(u, "http://")}, []*http.Cookie{{Name: SessionCookie, Value: planted, Path: "/"}})
	signedIn := time.Now()
	resp, err := c.PostForm(u+"/signin", url.Values{"email": {"ana@example.test"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, line := range resp.Header.Values("Set-Cookie") {
		if pc, err := http.ParseSetCookie(line); err == nil && pc.Name == SessionCookie {
			ck = pc
		}
	}
	if resp.StatusCode != http.StatusSeeOther || ck == nil {
		t.Fatalf("sign in: got %d %q, want 303 with a session cookie", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}

	t.Run("the cookie is __Host-, HttpOnly, Secure, SameSite=Lax, Path=/", func(t *testing.T) {
		if !strings.HasPrefix(ck.Name, "__Host-") || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("got %s", ck)
		}
		// Persisted until the idle timeout (30 min by default), renewed by use.
		if ck.MaxAge < 29*60 || ck.MaxAge > 30*60+1 {
			t.Errorf("got Max-Age %d, want the 30-minute idle timeout", ck.MaxAge)
		}
	})
	t.Run("signing in renews the token", func(t *testing.T) {
		if ck.Value == planted {
			t.Error("the planted session token survived signing in")
		}
		if st := signinWithCookie(t, u, "/api/v1/me", planted); st != http.StatusUnauthorized {
			t.Errorf("the planted token: got %d, want 401", st)
		}
		_, again := signinSession(t, u, "ana")
		if again == ck.Value {
			t.Error("a second sign-in reused the token")
		}
	})
	t.Run("the row expires at the idle timeout, the session at the 12-hour lifetime", func(t *testing.T) {
		var (
			expiry time.Time
			data   []byte
			node   *int64
		)
		if err := pool.QueryRow(context.Background(), `SELECT expiry, data, node_id FROM sessions WHERE token = $1`, ck.Value).Scan(&expiry, &data, &node); err != nil {
			t.Fatal(err)
		}
		if d := expiry.Sub(signedIn); d < 29*time.Minute || d > 31*time.Minute {
			t.Errorf("got expiry %v after sign-in, want 30 min", d)
		}
		deadline, values, err := (scs.GobCodec{}).Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if d := deadline.Sub(signedIn); d < 12*time.Hour-time.Minute || d > 12*time.Hour+time.Minute {
			t.Errorf("got absolute deadline %v after sign-in, want 12 h", d)
		}
		if node == nil || values["node_id"] != *node {
			t.Errorf("got node_id column %v and value %v, want the same node", node, values["node_id"])
		}
	})
	t.Run("a session past its expiry is refused", func(t *testing.T) {
		// scs's store checks the expiry; time travel by moving it.
		_, value := signinSession(t, u, "ana")
		if st := signinWithCookie(t, u, "/api/v1/me", value); st != http.StatusOK {
			t.Fatalf("fresh session: got %d, want 200", st)
		}
		if _, err := pool.Exec(context.Background(), `UPDATE sessions SET expiry = now() - interval '1 second' WHERE token = $1`, value); err != nil {
			t.Fatal(err)
		}
		if st := signinWithCookie(t, u, "/api/v1/me", value); st != http.StatusUnauthorized {
			t.Errorf("expired session: got %d, want 401", st)
		}
	})
}

// signinStream opens a live event stream with a session cookie or a bearer
// token and reports on ended when it closes.
func signinStream(t *testing.T, baseURL, cookie, token string) (ended <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/v1/events", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET /api/v1/events: got %d, want 200", resp.StatusCode)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
	return done
}

// signinWaitEnded waits up to limit for a stream to end.
func signinWaitEnded(t *testing.T, what string, ended <-chan struct{}, limit time.Duration) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(limit):
		t.Errorf("%s is still open %v later", what, limit)
	}
}

// TestSignOutEverywhereAcrossInstances: signing out everywhere, or being
// deactivated, on instance A ends the node's live streams on instance B and
// makes B refuse its cookie and tokens, within a second.
func TestSignOutEverywhereAcrossInstances(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	envs := clusterEnvs(t, 2, dbURL)
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitClusterNames(t, a.url, []string{"peer-1", "peer-2"}, 10*time.Second)
	for _, in := range []*instance{a, b} {
		waitFor(t, 30*time.Second, in.url+" ready", func() bool {
			resp, err := http.Get(in.url + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	stewardToken := signupNode(t, a.url, "stew")
	anaToken := signupNode(t, a.url, "ana")
	signupNode(t, a.url, "ben")

	t.Run("sign out everywhere on A", func(t *testing.T) {
		browser, cookie := signinSession(t, a.url, "ana")
		pat := anaToken
		cookieStream := signinStream(t, b.url, cookie, "")
		tokenStream := signinStream(t, b.url, "", pat)
		if st := signinWithCookie(t, b.url, "/api/v1/me", cookie); st != http.StatusOK {
			t.Fatalf("the cookie on B before: got %d, want 200", st)
		}

		start := time.Now()
		resp, err := browser.PostForm(a.url+"/signout", url.Values{"everywhere": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out everywhere: got %d, want 303", resp.StatusCode)
		}
		signinWaitEnded(t, "the cookie's stream on B", cookieStream, time.Second)
		signinWaitEnded(t, "the token's stream on B", tokenStream, time.Second)
		if st := signinWithCookie(t, b.url, "/api/v1/me", cookie); st != http.StatusUnauthorized {
			t.Errorf("the cookie on B after: got %d, want 401", st)
		}
		if st, _ := apiDo(t, http.MethodGet, b.url+"/api/v1/me", pat, nil); st != http.StatusUnauthorized {
			t.Errorf("the token on B after: got %d, want 401", st)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v, want within 1 s", d)
		}
		var sessions int
		pool := testenv.Pool(t, dbURL)
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions s JOIN nodes n ON n.id = s.node_id WHERE n.handle = 'ana'`).Scan(&sessions); err != nil || sessions != 0 {
			t.Errorf("got %d session rows of ana (%v), want none", sessions, err)
		}
		// A new sign-in works: signing out everywhere is no lockout.
		if _, cookie := signinSession(t, b.url, "ana"); signinWithCookie(t, a.url, "/api/v1/me", cookie) != http.StatusOK {
			t.Error("signing in again after signing out everywhere does not work")
		}
	})

	t.Run("a plain sign-out on A ends that session's stream on B", func(t *testing.T) {
		_, other := signinSession(t, a.url, "ana") // another device stays signed in
		browser, cookie := signinSession(t, a.url, "ana")
		stream := signinStream(t, b.url, cookie, "")
		resp, err := browser.PostForm(a.url+"/signout", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		signinWaitEnded(t, "the stream on B", stream, time.Second)
		if st := signinWithCookie(t, b.url, "/api/v1/me", cookie); st != http.StatusUnauthorized {
			t.Errorf("the signed-out cookie on B: got %d, want 401", st)
		}
		if st := signinWithCookie(t, b.url, "/api/v1/me", other); st != http.StatusOK {
			t.Errorf("the other device's cookie on B: got %d, want 200 (only everywhere ends it)", st)
		}
	})

	t.Run("API logout everywhere", func(t *testing.T) {
		token := authLoginToken(t, a.url, "ana@example.test")
		other := authLoginToken(t, a.url, "ana@example.test")
		stream := signinStream(t, b.url, "", other)
		if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/logout", token, map[string]bool{"everywhere": true}); st != http.StatusNoContent {
			t.Fatalf("got %d %s, want 204", st, body)
		}
		signinWaitEnded(t, "the other token's stream on B", stream, time.Second)
		if st, _ := apiDo(t, http.MethodGet, b.url+"/api/v1/me", other, nil); st != http.StatusUnauthorized {
			t.Errorf("the other token on B: got %d, want 401", st)
		}
		if st, _ := apiDo(t, http.MethodPost, a.url+"/api/v1/logout", "", map[string]bool{"everywhere": true}); st != http.StatusUnauthorized {
			t.Errorf("signed out, everywhere: got %d, want 401", st)
		}
	})

	t.Run("deactivation on A", func(t *testing.T) {
		_, cookie := signinSession(t, a.url, "ben")
		token := authLoginToken(t, a.url, "ben@example.test")
		cookieStream := signinStream(t, b.url, cookie, "")
		tokenStream := signinStream(t, b.url, "", token)
		if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/nodes/ben/deactivate", stewardToken, nil); st != http.StatusNoContent {
			t.Fatalf("deactivate: got %d %s", st, body)
		}
		signinWaitEnded(t, "ben's cookie stream on B", cookieStream, time.Second)
		signinWaitEnded(t, "ben's token stream on B", tokenStream, time.Second)
		if st := signinWithCookie(t, b.url, "/api/v1/me", cookie); st != http.StatusUnauthorized {
			t.Errorf("ben's cookie on B: got %d, want 401", st)
		}
		if st, _ := apiDo(t, http.MethodGet, b.url+"/api/v1/me", token, nil); st != http.StatusUnauthorized {
			t.Errorf("ben's token on B: got %d, want 401", st)
		}
	})
}

// TestAccessTokens checks personal access tokens: stored hashed, shown once,
// revocable (on every instance), with the time of last use.
func TestAccessTokens(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	pool := testenv.Pool(t, dbURL)
	u := in.url
	owner := signupNode(t, u, "ana")

	st, body := apiDo(t, http.MethodPost, u+"/api/v1/tokens", owner, map[string]string{"name": "ci"})
	var created struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if st != http.StatusCreated || json.Unmarshal(body, &created) != nil || !strings.HasPrefix(created.Token, "nc_") {
		t.Fatalf("create: got %d %s", st, body)
	}
	t.Run("only a SHA-256 of the token is stored", func(t *testing.T) {
		var stored []byte
		var plain bool
		if err := pool.QueryRow(context.Background(), `SELECT token_hash, token_hash = sha256(convert_to($2, 'UTF8')) FROM access_tokens WHERE id = $1`,
			created.ID, created.Token).Scan(&stored, &plain); err != nil {
			t.Fatal(err)
		}
		if !plain || bytes.Contains(stored, []byte(created.Token)) {
			t.Errorf("got stored %x, want the SHA-256 of the token and never the token", stored)
		}
	})
	t.Run("the token is shown once: listing never shows it", func(t *testing.T) {
		_, body := apiDo(t, http.MethodGet, u+"/api/v1/tokens", owner, nil)
		if strings.Contains(string(body), created.Token) || strings.Contains(string(body), "nc_") {
			t.Errorf("the list shows a secret: %s", body)
		}
	})
	t.Run("using it records the time of last use", func(t *testing.T) {
		if st, _ := apiDo(t, http.MethodGet, u+"/api/v1/me", created.Token, nil); st != http.StatusOK {
			t.Fatalf("me with the token: %d", st)
		}
		_, body := apiDo(t, http.MethodGet, u+"/api/v1/tokens", owner, nil)
		var list struct {
			Tokens []struct {
				ID         int64      `json:"id"`
				LastUsedAt *time.Time `json:"last_used_at"`
			} `json:"tokens"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tk := range list.Tokens {
			if tk.ID == created.ID {
				found = true
				if tk.LastUsedAt == nil || time.Since(*tk.LastUsedAt) > time.Minute {
					t.Errorf("got last_used_at %v, want just now", tk.LastUsedAt)
				}
			}
		}
		if !found {
			t.Errorf("token %d not listed: %s", created.ID, body)
		}
	})
	t.Run("revoked, it is refused and its stream ends", func(t *testing.T) {
		stream := signinStream(t, u, "", created.Token)
		if st, _ := apiDo(t, http.MethodDelete, fmt.Sprintf("%s/api/v1/tokens/%d", u, created.ID), owner, nil); st != http.StatusNoContent {
			t.Fatalf("revoke: got %d", st)
		}
		signinWaitEnded(t, "the revoked token's stream", stream, time.Second)
		if st, _ := apiDo(t, http.MethodGet, u+"/api/v1/me", created.Token, nil); st != http.StatusUnauthorized {
			t.Errorf("revoked token: got %d, want 401", st)
		}
		if st, _ := apiDo(t, http.MethodGet, u+"/api/v1/me", owner, nil); st != http.StatusOK {
			t.Errorf("the owner's other token: got %d, want 200", st)
		}
	})
}
