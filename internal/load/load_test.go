package load

import (
	"bufio"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	// Two communities: 0 with clients a and b, 1 with client c.
	led := &ledger{fanout: []int64{2, 1}}
	ms := int64(time.Millisecond)
	for i := range 4 { // seq 0, 2 → community 0; seq 1, 3 → community 1
		led.start(int64(i)*10*ms, 2)
	}
	led.ack(0)
	led.ack(1)
	led.ack(2)
	// seq 3 failed (not acknowledged)
	a := &sink{community: 0}
	b := &sink{community: 0}
	c := &sink{community: 1}
	a.add(0, 5*ms)  // 5 ms
	a.add(2, 27*ms) // 7 ms
	a.add(2, 28*ms) // duplicate
	b.add(0, 3*ms)  // 3 ms; b never gets seq 2: lost
	c.add(1, 19*ms) // 9 ms
	c.add(0, 30*ms) // community 0's share at a client of community 1
	c.add(3, 40*ms) // the failed send's share arrived anyway
	got := count(led, []*sink{a, b, c})

	if got.expected != 5 { // seq 0 → 2, seq 1 → 1, seq 2 → 2
		t.Errorf("expected = %d, want 5", got.expected)
	}
	if got.received != 4 {
		t.Errorf("received = %d, want 4", got.received)
	}
	if got.duplicated != 1 || got.unexpected != 1 || got.unconfirmed != 1 {
		t.Errorf("duplicated, unexpected, unconfirmed = %d, %d, %d, want 1, 1, 1", got.duplicated, got.unexpected, got.unconfirmed)
	}
	lat := slices.Clone(got.latencies)
	slices.Sort(lat)
	if want := []int64{3 * ms, 5 * ms, 7 * ms, 9 * ms}; !slices.Equal(lat, want) {
		t.Errorf("latencies = %v, want %v", lat, want)
	}
	if got.lastAt != 27*ms {
		t.Errorf("lastAt = %d, want %d", got.lastAt, 27*ms)
	}
	if e := led.expected.Load(); e != 5 {
		t.Errorf("running expected = %d, want 5", e)
	}
}

func TestShareBodyAndFindSeq(t *testing.T) {
	for _, size := range []int{0, 10, 120, 500} {
		t.Run(fmt.Sprintf("size %d", size), func(t *testing.T) {
			body := shareBody("abc12", 4711, size)
			if size > 30 && len(body) != size {
				t.Errorf("len(body) = %d, want %d", len(body), size)
			}
			if strings.ContainsAny(body, "#@") {
				t.Errorf("body %q has a tag or mention", body)
			}
			// As the event stream carries it: inside JSON.
			data := []byte(`data: {"object":{"body":"` + body + `"},"type":"share.created"}`)
			seq, ok := findSeq(data, []byte(marker("abc12")))
			if !ok || seq != 4711 {
				t.Errorf("findSeq = %d, %v, want 4711, true", seq, ok)
			}
		})
	}
	t.Run("another run's share", func(t *testing.T) {
		if _, ok := findSeq([]byte(shareBody("zzz", 1, 50)), []byte(marker("abc12"))); ok {
			t.Error("found a sequence in another run's share")
		}
	})
	t.Run("marker without digits", func(t *testing.T) {
		if _, ok := findSeq([]byte("lg-abc12-x"), []byte(marker("abc12"))); ok {
			t.Error("found a sequence without digits")
		}
	})
}

func TestPlanSizes(t *testing.T) {
	cases := []struct {
		n, lo, hi int
	}{{3000, 50, 300}, {12, 3, 5}, {10, 50, 300}, {301, 100, 200}, {1, 1, 1}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d nodes in %d-%d", c.n, c.lo, c.hi), func(t *testing.T) {
			sizes := planSizes(c.n, c.lo, c.hi)
			total := 0
			for i, s := range sizes {
				total += s
				if s > c.hi || s < 1 {
					t.Errorf("size %d of %v outside 1-%d", s, sizes, c.hi)
				}
				if i < len(sizes)-1 && s < c.lo {
					t.Errorf("community %d of %v is smaller than %d", i, sizes, c.lo)
				}
			}
			if total != c.n {
				t.Errorf("sizes %v add up to %d, want %d", sizes, total, c.n)
			}
			if again := planSizes(c.n, c.lo, c.hi); !slices.Equal(again, sizes) {
				t.Errorf("plan changed between calls: %v then %v", sizes, again)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi int
		ok     bool
	}{{"50-300", 50, 300, true}, {" 3 - 5 ", 3, 5, true}, {"80", 80, 80, true}, {"300-50", 0, 0, false}, {"0-5", 0, 0, false}, {"a-b", 0, 0, false}} {
		lo, hi, err := ParseRange(c.in)
		if (err == nil) != c.ok || lo != c.lo || hi != c.hi {
			t.Errorf("ParseRange(%q) = %d, %d, %v; want %d, %d, ok %v", c.in, lo, hi, err, c.lo, c.hi, c.ok)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8081", "http://localhost:80", "nats://127.0.0.1:4222", "http://[::1]:8080"} {
		if err := loopback(u); err != nil {
			t.Errorf("loopback(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8081", "http://example.com", "127.0.0.1:8081"} {
		if err := loopback(u); err == nil {
			t.Errorf("loopback(%q) = nil, want an error", u)
		}
	}
}

func TestConfigRefusesMismatchedModes(t *testing.T) {
	base := Config{Targets: []string{"http://127.0.0.1:8081"}, Clients: 1, Publishers: 1, Duration: time.Second, CommunityMin: 1, CommunityMax: 1}
	for name, c := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"warm-up without a page": {func(c *Config) { c.Warmup = time.Second }, "-warmup is for -page runs"},
		"negative warm-up":       {func(c *Config) { c.Page, c.Warmup = "/", -time.Second }, "warm-up cannot be negative"},
		"page and idle":          {func(c *Config) { c.Page, c.Idle = "/", true }, "-page excludes -idle and -baseline"},
	} {
		cfg := base
		cfg.Targets = slices.Clone(base.Targets)
		c.edit(&cfg)
		if err := cfg.normalise(); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	ok := base
	ok.Targets = slices.Clone(base.Targets)
	ok.Page, ok.Warmup = "/", time.Second
	if err := ok.normalise(); err != nil {
		t.Errorf("a page run with a warm-up: %v", err)
	}
}

const exposition = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.048576e+08
# HELP nodecommunity_process_peak_rss_bytes Peak resident set size of the process in bytes.
# TYPE nodecommunity_process_peak_rss_bytes gauge
nodecommunity_process_peak_rss_bytes 2.097152e+08
# HELP nodecommunity_process_id Operating-system process id of the instance.
# TYPE nodecommunity_process_id gauge
nodecommunity_process_id 4242
# HELP nodecommunity_http_request_duration_seconds Time to answer HTTP requests.
# TYPE nodecommunity_http_request_duration_seconds histogram
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/healthz",le="+Inf"} 3
nodecommunity_http_request_duration_seconds_sum{code="2xx",method="GET",route="/healthz"} 0.003
nodecommunity_http_request_duration_seconds_count{code="2xx",method="GET",route="/healthz"} 3
`

func TestParseMetrics(t *testing.T) {
	got, err := parseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	want := sample{CPUSeconds: 12.5, RSSBytes: 104857600, PeakRSSBytes: 209715200, PID: 4242}
	if got != want {
		t.Errorf("parseMetrics = %+v, want %+v", got, want)
	}
	t.Run("missing metrics read as zero", func(t *testing.T) {
		got, err := parseMetrics(strings.NewReader("# TYPE x counter\nx 1\n"))
		if err != nil || got != (sample{}) {
			t.Errorf("parseMetrics = %+v, %v; want zero, nil", got, err)
		}
	})
	t.Run("garbage is an error", func(t *testing.T) {
		if _, err := parseMetrics(strings.NewReader("not { metrics\n")); err == nil {
			t.Error("parseMetrics(garbage) = nil error")
		}
	})
}

func TestInstancesAndSharedProcesses(t *testing.T) {
	targets := []string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"}
	t.Run("three processes", func(t *testing.T) {
		before := []sample{{CPUSeconds: 1, RSSBytes: 100 << 20, PID: 1}, {CPUSeconds: 2, RSSBytes: 100 << 20, PID: 2}, {CPUSeconds: 3, RSSBytes: 100 << 20, PID: 3}}
		after := []sample{{CPUSeconds: 2.5, RSSBytes: 110 << 20, PeakRSSBytes: 120 << 20, PID: 1}, {CPUSeconds: 4, RSSBytes: 110 << 20, PID: 2}, {CPUSeconds: 3, RSSBytes: 110 << 20, PID: 3}}
		ins, shared := instances(targets, before, after)
		if shared {
			t.Error("shared = true for three processes")
		}
		if ins[0].CPUS != 1.5 || ins[0].PeakRSSKB != 120<<10 || ins[1].CPUS != 2 || ins[2].CPUS != 0 {
			t.Errorf("instances = %+v", ins)
		}
		// 30 MiB over 3,072 connections = 10 KiB each.
		if got := rssPerConn(before, after, 3072); got != 10 {
			t.Errorf("rssPerConn = %g, want 10", got)
		}
	})
	t.Run("one process counted once", func(t *testing.T) {
		before := []sample{{RSSBytes: 100 << 20, PID: 7}, {RSSBytes: 100 << 20, PID: 7}, {RSSBytes: 100 << 20, PID: 7}}
		after := []sample{{RSSBytes: 130 << 20, PID: 7}, {RSSBytes: 130 << 20, PID: 7}, {RSSBytes: 130 << 20, PID: 7}}
		if _, shared := instances(targets, before, after); !shared {
			t.Error("shared = false for one process")
		}
		if got := rssPerConn(before, after, 3072); got != 10 {
			t.Errorf("rssPerConn = %g, want 10 (the process's growth counted once)", got)
		}
	})
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 10000)
	br := bufio.NewReaderSize(strings.NewReader("id: 1\r\nevent: a\n\ndata: "+long+"\n"), 16)
	var scratch []byte
	var got []string
	for {
		line, err := readLine(br, &scratch)
		if err != nil {
			break
		}
		got = append(got, string(line))
	}
	if want := []string{"id: 1", "event: a", "", "data: " + long}; !slices.Equal(got, want) {
		t.Errorf("lines = %q…, want %q…", fmt.Sprint(got)[:40], fmt.Sprint(want)[:40])
	}
}

func TestQuantileBound(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name   string
		h      histogram
		q      float64
		want   float64
		wantOK bool
	}{
		{"empty", histogram{}, 0.99, 0, false},
		{"nothing observed", histogram{0.01: 0, inf: 0}, 0.99, 0, false},
		// 100 observations: 98 at or below 5 ms, 99 at or below 10 ms.
		{"p99 in the 10 ms bucket", histogram{0.005: 98, 0.01: 99, 0.02: 100, inf: 100}, 0.99, 0.01, true},
		{"p99 is rank 99 exactly", histogram{0.005: 99, 0.01: 100, inf: 100}, 0.99, 0.005, true},
		{"p50", histogram{0.001: 10, 0.005: 50, 0.01: 100, inf: 100}, 0.5, 0.005, true},
		// 1000 observations: rank 990 is the first beyond 989.
		{"rank rounds up", histogram{0.005: 989, 0.01: 1000, inf: 1000}, 0.99, 0.01, true},
		{"above the largest finite bucket", histogram{0.01: 50, 10: 90, inf: 100}, 0.99, inf, true},
		{"one observation", histogram{0.0005: 0, 0.001: 1, inf: 1}, 0.99, 0.001, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := quantileBound(tt.h, tt.q)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("quantileBound(%v, %g) = %g, %v; want %g, %v", tt.h, tt.q, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

const routeExposition = `# HELP nodecommunity_http_request_duration_seconds Time to answer HTTP requests.
# TYPE nodecommunity_http_request_duration_seconds histogram
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/",le="0.01"} 7
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/",le="0.02"} 9
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/",le="+Inf"} 10
nodecommunity_http_request_duration_seconds_sum{code="2xx",method="GET",route="/"} 0.1
nodecommunity_http_request_duration_seconds_count{code="2xx",method="GET",route="/"} 10
nodecommunity_http_request_duration_seconds_bucket{code="4xx",method="GET",route="/",le="0.01"} 2
nodecommunity_http_request_duration_seconds_bucket{code="4xx",method="GET",route="/",le="0.02"} 2
nodecommunity_http_request_duration_seconds_bucket{code="4xx",method="GET",route="/",le="+Inf"} 2
nodecommunity_http_request_duration_seconds_sum{code="4xx",method="GET",route="/"} 0.002
nodecommunity_http_request_duration_seconds_count{code="4xx",method="GET",route="/"} 2
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="POST",route="/",le="0.01"} 5
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="POST",route="/",le="0.02"} 5
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="POST",route="/",le="+Inf"} 5
nodecommunity_http_request_duration_seconds_sum{code="2xx",method="POST",route="/"} 0.01
nodecommunity_http_request_duration_seconds_count{code="2xx",method="POST",route="/"} 5
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/people",le="0.01"} 1
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/people",le="0.02"} 1
nodecommunity_http_request_duration_seconds_bucket{code="2xx",method="GET",route="/people",le="+Inf"} 1
nodecommunity_http_request_duration_seconds_sum{code="2xx",method="GET",route="/people"} 0.001
nodecommunity_http_request_duration_seconds_count{code="2xx",method="GET",route="/people"} 1
`

func TestRouteHistogram(t *testing.T) {
	inf := math.Inf(1)
	got, err := parseRouteHistogram(strings.NewReader(routeExposition), "/")
	if err != nil {
		t.Fatal(err)
	}
	// GET / over both status classes; POST / and /people left out.
	want := histogram{0.01: 9, 0.02: 11, inf: 12}
	if !maps.Equal(got, want) {
		t.Errorf("parseRouteHistogram = %v, want %v", got, want)
	}
	t.Run("a route never requested is empty", func(t *testing.T) {
		got, err := parseRouteHistogram(strings.NewReader(exposition), "/")
		if err != nil || len(got) != 0 {
			t.Errorf("parseRouteHistogram = %v, %v; want empty, nil", got, err)
		}
	})
	t.Run("delta counts a shared process once", func(t *testing.T) {
		// Targets 0 and 1 are one process (same id), target 2 another.
		s := []sample{{PID: 1}, {PID: 1}, {PID: 2}}
		before := []histogram{{0.01: 5, inf: 6}, {0.01: 5, inf: 6}, {}}
		after := []histogram{{0.01: 15, inf: 26}, {0.01: 15, inf: 26}, {0.01: 3, inf: 3}}
		got := histogramDelta(s, s, before, after)
		if want := (histogram{0.01: 13, inf: 23}); !maps.Equal(got, want) {
			t.Errorf("histogramDelta = %v, want %v", got, want)
		}
	})
}
