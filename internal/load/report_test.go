package load

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	oneToHundred := make([]int64, 100)
	for i := range oneToHundred {
		oneToHundred[i] = int64(i + 1)
	}
	cases := []struct {
		name   string
		sorted []int64
		p      float64
		want   int64
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", []int64{7}, 99, 7},
		{"p50 of 1..100 is 50", oneToHundred, 50, 50},
		{"p95 of 1..100 is 95", oneToHundred, 95, 95},
		{"p99 of 1..100 is 99", oneToHundred, 99, 99},
		{"p100 is the max", oneToHundred, 100, 100},
		{"nearest rank rounds up: p50 of four", []int64{1, 2, 3, 4}, 50, 2},
		{"nearest rank rounds up: p51 of four", []int64{1, 2, 3, 4}, 51, 3},
		{"p99 of ten is the max", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
		{"tiny p is the min", []int64{3, 4, 5}, 0.001, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := percentile(c.sorted, c.p); got != c.want {
				t.Errorf("percentile(%v, %g) = %d, want %d", c.sorted, c.p, got, c.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	t.Run("sorts and converts to milliseconds", func(t *testing.T) {
		var samples []int64
		for i := 200; i >= 1; i-- { // 1..200 ms, reversed
			samples = append(samples, int64(i)*int64(time.Millisecond))
		}
		got := summarise(samples)
		want := Percentiles{N: 200, P50: 100, P95: 190, P99: 198, Max: 200}
		if got != want {
			t.Errorf("summarise = %+v, want %+v", got, want)
		}
	})
	t.Run("rounds to microseconds", func(t *testing.T) {
		got := summarise([]int64{1234567}) // 1.234567 ms
		if got.P50 != 1.235 || got.Max != 1.235 {
			t.Errorf("summarise(1.234567ms) = %+v, want 1.235 everywhere", got)
		}
	})
	t.Run("no samples", func(t *testing.T) {
		if got := summarise(nil); got != (Percentiles{}) {
			t.Errorf("summarise(nil) = %+v, want zero", got)
		}
	})
}

func TestPerSecond(t *testing.T) {
	if got := perSecond(300, 3*time.Second); got != 100 {
		t.Errorf("perSecond(300, 3s) = %g, want 100", got)
	}
	if got := perSecond(5, 0); got != 0 {
		t.Errorf("perSecond(5, 0) = %g, want 0", got)
	}
	if got := perSecond(1, 3*time.Second); got != 0.3 {
		t.Errorf("perSecond(1, 3s) = %g, want 0.3", got)
	}
}

func TestReportJSON(t *testing.T) {
	rep := Report{
		Sent: 10, Acked: 9, AckedPerS: 4.5, Expected: 90, Received: 89, Lost: 1, Duplicated: 2,
		P50Ms: 1.5, P95Ms: 2.25, P99Ms: 3, MaxMs: 4.125, DeliveriesPerS: 44.5, RSSKBPerConn: 12.34,
		Instances: []Instance{{Target: "http://127.0.0.1:8081", CPUS: 1.25, PeakRSSKB: 65536}},
		Mode:      "fan-out", Failed: 1, FirstError: "boom", Publish: Percentiles{N: 9, P50: 1},
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	t.Run("one line", func(t *testing.T) {
		if s := buf.String(); strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "}\n") {
			t.Errorf("JSON output %q is not one object on one line", s)
		}
	})
	t.Run("exactly the documented keys, in order", func(t *testing.T) {
		want := []string{"sent", "acked", "acked_per_s", "expected", "received", "lost", "duplicated",
			"p50_ms", "p95_ms", "p99_ms", "max_ms", "deliveries_per_s", "rss_kb_per_conn", "instances"}
		if got := topKeys(t, buf.Bytes()); !slices.Equal(got, want) {
			t.Errorf("keys = %v, want %v", got, want)
		}
		var m struct {
			Instances []map[string]any `json:"instances"`
		}
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range m.Instances[0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"cpu_s", "peak_rss_kb", "target"}; !slices.Equal(keys, want) {
			t.Errorf("instance keys = %v, want %v", keys, want)
		}
	})
	t.Run("values as numbers", func(t *testing.T) {
		want := `{"sent":10,"acked":9,"acked_per_s":4.5,"expected":90,"received":89,"lost":1,"duplicated":2,` +
			`"p50_ms":1.5,"p95_ms":2.25,"p99_ms":3,"max_ms":4.125,"deliveries_per_s":44.5,"rss_kb_per_conn":12.34,` +
			`"instances":[{"target":"http://127.0.0.1:8081","cpu_s":1.25,"peak_rss_kb":65536}]}` + "\n"
		if got := buf.String(); got != want {
			t.Errorf("JSON =\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("no instances is an empty list", func(t *testing.T) {
		var b bytes.Buffer
		if err := (Report{}).WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), `"instances":[]`) {
			t.Errorf("JSON %s, want \"instances\":[]", b.String())
		}
	})
}

// topKeys lists an object's keys in the order they appear.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestReportText(t *testing.T) {
	rep := Report{
		Mode: "fan-out", Targets: 3, Clients: 3000, Nodes: 3000, Communities: 17, MinSize: 52, MaxSize: 297,
		Publishers: 8, Rate: 100, Window: 30 * time.Second, Sent: 3000, Acked: 3000, AckedPerS: 100,
		Expected: 525000, Received: 525000, DeliveriesPerS: 17500, P50Ms: 11, P95Ms: 20, P99Ms: 25, MaxMs: 40,
		RSSKBPerConn: 18.5, Instances: []Instance{{Target: "http://127.0.0.1:8081", CPUS: 12.5, PeakRSSKB: 200000}},
		SharedProc: true,
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"loadgen fan-out: 3 target(s), 3000 client(s) as 3000 node(s) in 17 communities of 52-297",
		"8 publisher(s), 100 shares/s, for 30s",
		"sent 3000, acknowledged 3000 (100.0/s), failed 0",
		"expected 525000, received 525000 (17500.0/s), lost 0, duplicated 0",
		"p50 11.00 ms, p95 20.00 ms, p99 25.00 ms, max 40.00 ms",
		"18.5 KB of instance RSS per connection",
		"http://127.0.0.1:8081: 12.50 CPU s, peak RSS 200000 KB",
		"same process id",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	t.Run("idle shows only memory", func(t *testing.T) {
		var b bytes.Buffer
		if err := (Report{Mode: "idle", RSSKBPerConn: 9}).WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "deliveries") || !strings.Contains(b.String(), "9.0 KB") {
			t.Errorf("idle report:\n%s", b.String())
		}
	})
}

func TestPercentileFloatRanks(t *testing.T) {
	s := make([]int64, 1000)
	for i := range s {
		s[i] = int64(i + 1)
	}
	for _, c := range []struct {
		p    float64
		want int64
	}{{99.9, 999}, {7, 70}, {0.1, 1}, {33.3, 333}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("percentile(1..1000, %g) = %d, want %d", c.p, got, c.want)
		}
	}
}

func TestPageReportKeys(t *testing.T) {
	keys := func(t *testing.T, r Report) map[string]any {
		t.Helper()
		var b strings.Builder
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(b.String()), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	pageKeys := []string{"page", "errors", "page_server_requests", "page_p99_server_ms_le"}
	t.Run("other modes have none of them", func(t *testing.T) {
		m := keys(t, Report{Mode: "fan-out"})
		for _, k := range pageKeys {
			if _, ok := m[k]; ok {
				t.Errorf("fan-out JSON has %q", k)
			}
		}
	})
	t.Run("page mode has all of them, zero errors included", func(t *testing.T) {
		errs, served, le := int64(0), int64(4000), 20.0
		m := keys(t, Report{Mode: "page", Page: "/", Errors: &errs, PageServed: &served, PageP99ServerMsLE: &le})
		for _, k := range pageKeys {
			if _, ok := m[k]; !ok {
				t.Errorf("page JSON lacks %q", k)
			}
		}
		if got := m["page_p99_server_ms_le"]; got != 20.0 {
			t.Errorf("page_p99_server_ms_le = %v, want 20", got)
		}
	})
}
