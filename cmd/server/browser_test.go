package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// newBrowser starts headless Chromium (Debian's package) for one test. As root it
// needs --no-sandbox, which chromedp adds; background networking stays off because
// the machine has no network beyond loopback.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found on PATH: install the Debian package chromium (.ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved: %s", path)
}

func TestBrowserHomeAndClusterPages(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	envs := clusterEnvs(t, 3, dbURL)
	envs[0]["SEED_DEMO"] = "true"
	a := startInstance(t, envs[0])
	b := startInstance(t, envs[1])
	waitClusterNames(t, a.url, []string{"peer-1", "peer-2"}, 15*time.Second)
	ctx := newBrowser(t)

	t.Run("home page", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/")); err != nil {
			t.Fatal(err)
		}
		h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		if want := "Your organisation, as a network of equals"; h1 != want {
			t.Errorf("h1 = %q, want %q", h1, want)
		}
		people, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="stat-people"] .n`)))
		if err != nil || people != "30" {
			t.Errorf("people stat = %q, %v; want 30", people, err)
		}
		cards, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="community-card"]').length`))
		if err != nil || cards != 5 {
			t.Errorf("%d community cards, %v; want 5", cards, err)
		}
		// htmx runs only if its script carried the CSP nonce.
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof htmx === "object"`))
		if err != nil || !loaded {
			t.Errorf("htmx did not load under the CSP: %v", err)
		}
		screenshot(t, ctx, "home.png")
	})

	t.Run("cluster page updates live as a peer joins", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"/cluster")); err != nil {
			t.Fatal(err)
		}
		// Read through JavaScript: the live stream replaces the table every
		// heartbeat, so a DOM node found a moment ago may be gone.
		caption, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="cluster-table"] caption').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(caption, "2 live instances") || !strings.Contains(caption, "peer-2") {
			t.Errorf("caption = %q, want 2 live instances as seen from peer-2", caption)
		}
		// A third instance starts; the open page must show it without a reload.
		startInstance(t, envs[2])
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
			`document.querySelectorAll('[data-testid="cluster-member"]').length === 3`,
			chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Fatalf("the third peer did not appear live on the cluster page: %v", err)
		}
		self, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('tr.self').textContent`))
		if err != nil || !strings.Contains(self, "peer-2") || !strings.Contains(self, "this instance") {
			t.Errorf("highlighted row = %q, %v; want peer-2 marked as this instance", self, err)
		}
		// This page's own stream counts as a live client of peer-2.
		var c clusterJSON
		getJSON(t, b.url+"/api/v1/cluster", &c)
		for _, m := range c.Instances {
			if m.Name == "peer-2" && (m.Clients == nil || *m.Clients < 1) {
				t.Errorf("peer-2 reports %v live clients with a cluster page open, want at least 1", m.Clients)
			}
		}
		screenshot(t, ctx, "cluster.png")
	})
}

// signInBrowser signs a person in through the sign-in form in its own browser
// context (its own cookies), and returns that context.
func signInBrowser(t *testing.T, browser context.Context, baseURL, email string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(baseURL+"/signin"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="composer"]`)),
	); err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return ctx
}

func TestBrowserShareAppearsLiveOnAnotherInstance(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	if st, body := apiDo(t, "POST", a.url+"/api/v1/communities", ana, map[string]any{"name": "Platform", "purpose": "Keep the infrastructure healthy", "open": true}); st != 201 {
		t.Fatalf("create community = %d %s", st, body)
	}
	if st, body := apiDo(t, "POST", b.url+"/api/v1/communities/platform/join", ben, nil); st != 200 {
		t.Fatalf("join = %d %s", st, body)
	}

	browser := newBrowser(t)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	anaTab := signInBrowser(t, browser, a.url, "ana@example.test")
	benTab := signInBrowser(t, browser, b.url, "ben@example.test")

	// Mark ben's page: a reload would lose the mark.
	if _, err := chromedp.Run(benTab, chromedp.Evaluate[bool](`window.__stayed = true`)); err != nil {
		t.Fatal(err)
	}
	// The live stream must be open before ana posts.
	if _, err := chromedp.Run(benTab, chromedp.Poll[bool](`document.querySelector('[data-testid="live-region"]').getAttribute('data-live') === 'connected' && window.htmx !== undefined`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("ben's live stream did not connect: %v", err)
	}

	const text = "Staging moves to the new region on Thursday #infra"
	if err := chromedp.Do(anaTab,
		chromedp.SetValue(chromedp.CSS(`#share-audience`), "community:platform"),
		chromedp.SendKeys(chromedp.CSS(`#share-body`), text),
		chromedp.Click(chromedp.CSS(`[data-testid="composer"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="share"]`)),
	); err != nil {
		t.Fatalf("ana posts: %v", err)
	}
	posted := time.Now()
	if _, err := chromedp.Run(benTab, chromedp.Poll[bool](
		`[...document.querySelectorAll('#feed [data-testid="share"]')].some(e => e.textContent.includes("Staging moves to the new region"))`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		screenshot(t, benTab, "ben-missing.png")
		t.Fatalf("the share did not appear on ben's page on the other instance: %v", err)
	}
	t.Logf("share visible in the other browser %s after ana's post returned", time.Since(posted).Round(time.Millisecond))
	stayed, err := chromedp.Run(benTab, chromedp.Evaluate[bool](`window.__stayed === true`))
	if err != nil || !stayed {
		t.Errorf("ben's page reloaded (%v): the share must arrive live", err)
	}
	tag, err := chromedp.Run(benTab, chromedp.Text(chromedp.CSS(`#feed [data-testid="share"] a.tag-link`)))
	if err != nil || tag != "#infra" {
		t.Errorf("tag link = %q, %v; want #infra rendered as a link", tag, err)
	}

	// A connection request shows up live for its addressee; once accepted, each
	// sees the other online (presence travels in the instances' heartbeats).
	st, body := apiDo(t, "POST", a.url+"/api/v1/connections", ana, map[string]string{"to_handle": "ben", "kind": "collaborate"})
	if st != 201 {
		t.Fatalf("connection request = %d %s", st, body)
	}
	if _, err := chromedp.Run(benTab, chromedp.Poll[bool](
		`[...document.querySelectorAll('[data-testid="notice"]')].some(e => e.textContent.replace(/\s+/g, " ").includes("Ana asked to connect"))`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(benTab, chromedp.Evaluate[string](`document.querySelector('#notices').innerHTML`))
		t.Errorf("the connection request did not appear live on ben's page: %v; notices: %q", err, got)
	}
	var conn struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(body, &conn)
	if st, body := apiDo(t, "POST", b.url+"/api/v1/connections/"+strconv.FormatInt(conn.ID, 10)+"/accept", ben, nil); st != 200 {
		t.Fatalf("accept = %d %s", st, body)
	}
	if _, err := chromedp.Run(anaTab, chromedp.Poll[bool](
		`(document.querySelector('[data-testid="online"]') || {textContent: ""}).textContent.includes("Ben")`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Errorf("ben (live on the other instance) is not shown online on ana's page: %v", err)
	}
	screenshot(t, anaTab, "ana-dashboard.png")
	screenshot(t, benTab, "ben-dashboard-live.png")
}
