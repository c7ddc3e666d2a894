package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/demo"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// TestBrowserOrganisationMap opens the organisation map of the real 1,005-person
// organisation (internal/demo) as a people analyst: the instance computes the
// snapshot itself, the map must draw every person, and search-to-focus must
// centre on and highlight the person asked for.
func TestBrowserOrganisationMap(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 1,005 people and waits for the analytics: not in -short")
	}
	dbURL := testenv.DatabaseURL(t)
	dir := t.TempDir()
	people := importWriteFile(t, dir, "people.csv", demo.People())
	edges := importWriteFile(t, dir, "edges.txt", demo.Edges())
	env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": t.TempDir()}[k] }
	var out, logs bytes.Buffer
	if err := run(context.Background(), []string{"import", "--nodes", people, "--edges", edges}, env, &out, &logs); err != nil {
		t.Fatalf("import: %v\n%s%s", err, out.String(), logs.String())
	}

	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "map-test", "REGISTRATION": "open"})
	ana := signupNode(t, in.url, "ana") // the first steward of the imported organisation
	out.Reset()
	if err := run(context.Background(), []string{"grant", "--handle", "ana", "--capability", "people_analyst"}, env, &out, &logs); err != nil {
		t.Fatalf("grant: %v\n%s", err, out.String())
	}

	// Ana works with a few imported people (who have no password: their side
	// of each connection is accepted through the store), so her own page has
	// a network to draw; her skills are common ones, for bridges.
	store := community.NewStore(testenv.Pool(t, dbURL))
	for _, h := range []string{"chiara-wojcik-0", "marta-novak-1", "sanna-sorensen-2", "bruno-yilmaz-3"} {
		st, body := apiDo(t, "POST", in.url+"/api/v1/connections", ana, map[string]string{"to_handle": h, "kind": "collaborate"})
		if st != http.StatusCreated {
			t.Fatalf("connect to %s = %d %s", h, st, body)
		}
		var c struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(body, &c)
		n, err := store.FindNodeByHandle(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AcceptConnection(context.Background(), n.ID, c.ID); err != nil {
			t.Fatalf("%s accepts: %v", h, err)
		}
	}
	if st, body := apiDo(t, "PATCH", in.url+"/api/v1/me", ana, map[string]any{"skills": []string{"python", "hiring"}}); st != http.StatusOK {
		t.Fatalf("ana's skills = %d %s", st, body)
	}

	// The recomputer on the instance fills the snapshot; wait for one that
	// holds the imported people.
	start := time.Now()
	var metrics struct {
		Nodes []struct {
			Handle      string  `json:"handle"`
			Degree      int     `json:"degree"`
			Betweenness float64 `json:"betweenness"`
		} `json:"nodes"`
	}
	waitFor(t, 60*time.Second, "a snapshot of the imported organisation", func() bool {
		st, body := apiDo(t, "GET", in.url+"/api/v1/graph/metrics", ana, nil)
		if st != http.StatusOK {
			return false
		}
		if err := json.Unmarshal(body, &metrics); err != nil {
			t.Fatalf("metrics: %v", err)
		}
		return len(metrics.Nodes) >= demo.PeopleCount
	})
	t.Logf("snapshot of %d people available %s after start", len(metrics.Nodes), time.Since(start).Round(time.Millisecond))
	// Someone in the middle of the betweenness ranking: neither a hub at the
	// centre nor someone alone at the edge.
	target := metrics.Nodes[len(metrics.Nodes)/3].Handle

	// What the server sends for the whole organisation: one HTML page with the
	// SVG inside.
	fetched := time.Now()
	st, page := apiDo(t, "GET", in.url+"/network/map", ana, nil)
	if st != http.StatusOK {
		t.Fatalf("/network/map = %d", st)
	}
	t.Logf("/network/map: %d KiB of HTML in %s", len(page)/1024, time.Since(fetched).Round(time.Millisecond))

	browser := newBrowser(t)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	tab := signInBrowser(t, browser, in.url, "ana@example.test")
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 1000)); err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	if err := chromedp.Do(tab, chromedp.Navigate(in.url+"/network/map")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.querySelectorAll('#org-map circle').length >= 1000`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#org-map circle').length`))
		t.Fatalf("the map did not draw 1,000 people: %d circles (%v)", n, err)
	}
	t.Logf("organisation map with %d people rendered %s after navigation", len(metrics.Nodes), time.Since(opened).Round(time.Millisecond))
	// graph.js ran under the CSP: it shows the zoom tools it owns.
	if shown, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!document.querySelector('[data-map-tools]').hidden`)); err != nil || !shown {
		t.Errorf("graph.js did not run (zoom tools hidden): %v", err)
	}
	screenshot(t, tab, "org-map.png")

	t.Run("search to focus", func(t *testing.T) {
		if err := chromedp.Do(tab,
			chromedp.SetValue(chromedp.CSS(`#f-focus`), target),
			chromedp.Click(chromedp.CSS(`[data-testid="map-filters"] button[type="submit"]`)),
		); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](
			`(document.querySelector('#org-map circle.focus') || {dataset: {}}).dataset.h === `+graphJSString(target)+
				` && document.getElementById('org-map').viewBox.baseVal.width < 400`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("%s is not focused on the map: %v", target, err)
		}
		handle, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`[data-testid="panel-handle"]`)))
		if err != nil || handle != "@"+target {
			t.Errorf("side panel handle %q (%v), want @%s", handle, err, target)
		}
		// The focused person is drawn on top: last in the group of people.
		last, err := chromedp.Run(tab, chromedp.Evaluate[string](`(function () { var a = document.querySelectorAll('#org-map g.nodes > a'); return a[a.length - 1].querySelector('circle').dataset.h; })()`))
		if err != nil || last != target {
			t.Errorf("last drawn %q (%v), want %s on top", last, err, target)
		}
		url, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.search`))
		if !strings.Contains(url, "focus="+target) {
			t.Errorf("location %q does not carry the focus (a reload would lose it)", url)
		}
		screenshot(t, tab, "org-map-focus.png")
	})

	t.Run("click fills the side panel", func(t *testing.T) {
		other := ""
		for _, n := range metrics.Nodes {
			if n.Degree > 0 && n.Handle != target {
				other = n.Handle
				break
			}
		}
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('#org-map circle[data-h=`+graphJSString(other)+`]').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))`)); err != nil {
			t.Fatal(err)
		}
		handle, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`[data-testid="panel-handle"]`)))
		if err != nil || handle != "@"+other {
			t.Errorf("after a click the panel shows %q (%v), want @%s", handle, err, other)
		}
		// Their ties are highlighted, drawn from the pairs in data-ties.
		segments, err := chromedp.Run(tab, chromedp.Evaluate[int](`((document.querySelector('#org-map path.focus-edges') || {getAttribute: () => ""}).getAttribute('d') || "").split('M').length - 1`))
		if err != nil || segments == 0 {
			t.Errorf("%d ties of %s highlighted (%v), want them all", segments, other, err)
		}
		path, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.pathname`))
		if path != "/network/map" {
			t.Errorf("the click navigated to %s; JavaScript should keep the page", path)
		}
	})

	t.Run("zoom buttons", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`[data-zoom="reset"]`))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById('org-map').viewBox.baseVal.width > 999`,
			chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("reset did not show the whole map: %v", err)
		}
		zoomed, err := chromedp.Run(tab, chromedp.Evaluate[float64](`(function () {
			document.querySelector('[data-zoom="in"]').click();
			return document.getElementById('org-map').viewBox.baseVal.width; })()`))
		if err != nil || zoomed >= 1000 {
			t.Errorf("zoom in: viewBox width %v (%v), want below 1000", zoomed, err)
		}
	})

	// The other pages of the section, over the same organisation, for a look.
	for _, p := range []struct{ path, testid, file string }{
		{"/network", "ego-map", "my-network.png"},
		{"/network/pulse", "pulse", "pulse.png"},
		{"/network/communities", "community-map", "community-map.png"},
		{"/network/trends", "trend-chart", "trends.png"},
		{"/network/map/table", "metrics-table", "metrics-table.png"},
	} {
		t.Run("page "+p.path, func(t *testing.T) {
			if err := chromedp.Do(tab, chromedp.Navigate(in.url+p.path),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="`+p.testid+`"]`))); err != nil {
				t.Fatalf("%s: %v", p.path, err)
			}
			screenshot(t, tab, p.file)
		})
	}
}

func graphJSString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
