package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/load"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// TestLoadgenSmoke runs the load tool briefly against three clustered
// instances: every acknowledged share must reach every client of its
// community exactly once. Nothing is timed: latencies on a shared machine
// are reported, not asserted.
func TestLoadgenSmoke(t *testing.T) {
	envs := clusterEnvs(t, 3, testenv.DatabaseURL(t))
	urls := make([]string, len(envs))
	for i, env := range envs {
		env["REGISTRATION"] = "open"
		env["LOG_LEVEL"] = "warn"
		// The load tool signs up many people from one address and posts
		// far faster than a person: the anti-automation limits are off.
		env["WRITE_LIMIT_PER_MINUTE"] = "0"
		env["SIGNUP_LIMIT_PER_MINUTE"] = "0"
		urls[i] = startInstance(t, env).url
	}
	waitReady(t, urls...)
	statePath := filepath.Join(t.TempDir(), "state.json")
	cfg := load.Config{
		Targets: urls, Clients: 12, Publishers: 3, Rate: 20, Duration: 2 * time.Second,
		CommunityMin: 3, CommunityMax: 5, StatePath: statePath, Logf: t.Logf,
	}

	check := func(t *testing.T, rep load.Report) {
		t.Helper()
		var text strings.Builder
		_ = rep.WriteText(&text)
		t.Logf("report:\n%s", text.String())
		if rep.Acked == 0 || rep.Acked != rep.Sent {
			t.Errorf("acked %d of %d sent, want all and more than none (first failure: %s)", rep.Acked, rep.Sent, rep.FirstError)
		}
		if rep.Expected == 0 || rep.Received != rep.Expected {
			t.Errorf("received %d, want expected %d (> 0)", rep.Received, rep.Expected)
		}
		if rep.Lost != 0 || rep.Duplicated != 0 || rep.Unexpected != 0 {
			t.Errorf("lost %d, duplicated %d, unexpected %d; want 0, 0, 0", rep.Lost, rep.Duplicated, rep.Unexpected)
		}
		if len(rep.Instances) != 3 {
			t.Errorf("%d instances reported, want 3", len(rep.Instances))
		}
		if !rep.SharedProc {
			t.Error("three instances in one process not reported as sharing it")
		}
	}

	t.Run("every delivery arrives once", func(t *testing.T) {
		rep, err := load.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		check(t, rep)
	})

	t.Run("a second run reuses the saved nodes", func(t *testing.T) {
		var mu sync.Mutex
		var lines []string
		cfg := cfg
		cfg.Logf = func(format string, args ...any) {
			t.Logf(format, args...)
			mu.Lock()
			lines = append(lines, format)
			mu.Unlock()
		}
		rep, err := load.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		check(t, rep)
		for _, l := range lines {
			if strings.HasPrefix(l, "signing up") || strings.HasPrefix(l, "creating communities") {
				t.Errorf("second run logged %q, want the saved nodes and communities reused", l)
			}
		}
	})

	t.Run("idle clients report memory per connection", func(t *testing.T) {
		cfg := cfg
		// 30 streams of the 12 saved nodes: no more sign-ups.
		cfg.Idle, cfg.Clients, cfg.Nodes, cfg.Duration = true, 30, 12, 300*time.Millisecond
		rep, err := load.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sent != 0 || len(rep.Instances) != 3 || rep.Reconnects != 0 {
			t.Errorf("idle run: sent %d, %d instances, %d reconnects; want 0, 3, 0", rep.Sent, len(rep.Instances), rep.Reconnects)
		}
	})

	t.Run("page mode requests the dashboard as the nodes", func(t *testing.T) {
		cfg := cfg
		// The 12 saved nodes and their communities, each filled to 30
		// shares (more than the runs above posted); about 20 requests of the
		// dashboard, after half a second of warm-up (about 10 more).
		cfg.Page, cfg.PageFill, cfg.Nodes, cfg.Rate, cfg.Duration = "/", 30, 12, 20, time.Second
		cfg.Warmup = 500 * time.Millisecond
		rep, err := load.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		_ = rep.WriteText(&text)
		t.Logf("report:\n%s", text.String())
		if rep.Errors == nil || *rep.Errors != 0 || rep.Sent == 0 || rep.Acked != rep.Sent {
			t.Errorf("sent %d, 2xx %d, errors %v; want all answered 2xx (first failure: %s)", rep.Sent, rep.Acked, rep.Errors, rep.FirstError)
		}
		if w := rep.Warmup; w == nil || w.Sent == 0 || w.Errors != 0 || w.P99ServerMsLE == 0 {
			t.Errorf("warm-up %+v, want requests sent, none failed, a server p99 bound", w)
		} else if limit := int64(cfg.Rate*cfg.Duration.Seconds()) + int64(cfg.Publishers); rep.Sent > limit {
			t.Errorf("measured run sent %d (warm-up %d), want at most %d: the warm-up counted in", rep.Sent, w.Sent, limit)
		}
		// Other tests' requests may share the process's histogram: at least ours.
		if rep.PageServed == nil || *rep.PageServed < rep.Acked || rep.PageP99ServerMsLE == nil || *rep.PageP99ServerMsLE == 0 {
			t.Errorf("server observed %v requests of / (p99 bound %v ms), want at least %d and a bound", rep.PageServed, rep.PageP99ServerMsLE, rep.Acked)
		}
	})

	t.Run("metrics name routes by pattern and count published events", func(t *testing.T) {
		resp, err := http.Get(urls[0] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body := string(b)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics = %d, want 200", resp.StatusCode)
		}
		for _, want := range []string{
			`route="/api/v1/communities/{slug}/shares"`,
			`nodecommunity_events_published_total`,
			`process_cpu_seconds_total`,
			`nodecommunity_process_peak_rss_bytes`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		for _, unwanted := range []string{`route="/api/v1/events"`, `route="/metrics"`, `route="/api/v1/communities/lg`} {
			if strings.Contains(body, unwanted) {
				t.Errorf("/metrics has %s: streams, itself and raw paths stay out", unwanted)
			}
		}
		if strings.Contains(body, "nodecommunity_events_published_total 0\n") {
			t.Error("nodecommunity_events_published_total is 0 after publishing shares")
		}
	})
}
