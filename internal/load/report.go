package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is what a run measured. Its JSON form has exactly the keys the
// benchmark's acceptance checks read; the fields marked "-" are for the
// human-readable form only.
//
// Page mode (Config.Page) reads the same keys as requests: sent (started),
// acked (answered 2xx), acked_per_s (pages per second), p50_ms ... max_ms
// (the request's latency seen by the load tool, to the last byte); the
// delivery keys are 0. It adds keys no other mode has: "page" (the path),
// "errors" (requests not answered 2xx, transport failures included),
// "page_server_requests" (requests the servers' histogram observed for the
// page's route during the run) and "page_p99_server_ms_le": the upper bound,
// in ms, of the histogram bucket holding the 99th percentile of the server's
// own time for the route (a bucket bound, so the true p99 is at most this and
// above the bucket below it; -1 when nothing was observed or it lies above
// the largest finite bucket).
type Report struct {
	Sent           int64      `json:"sent"`             // shares whose request was started
	Acked          int64      `json:"acked"`            // shares answered 201 (or flushed, baseline)
	AckedPerS      float64    `json:"acked_per_s"`      // acked over the sending window
	Expected       int64      `json:"expected"`         // deliveries owed for the acked shares
	Received       int64      `json:"received"`         // of those, received (once or more)
	Lost           int64      `json:"lost"`             // expected - received
	Duplicated     int64      `json:"duplicated"`       // deliveries received more than once
	P50Ms          float64    `json:"p50_ms"`           // end-to-end delivery latency
	P95Ms          float64    `json:"p95_ms"`           //
	P99Ms          float64    `json:"p99_ms"`           //
	MaxMs          float64    `json:"max_ms"`           //
	DeliveriesPerS float64    `json:"deliveries_per_s"` // received over first send to last receipt
	RSSKBPerConn   float64    `json:"rss_kb_per_conn"`  // instances' RSS growth per client connection
	Instances      []Instance `json:"instances"`

	// Page mode only (nil, and absent from the JSON, in the others).
	Page              string   `json:"page,omitempty"`
	Errors            *int64   `json:"errors,omitempty"`
	PageServed        *int64   `json:"page_server_requests,omitempty"`
	PageP99ServerMsLE *float64 `json:"page_p99_server_ms_le,omitempty"`
	Warmup            *Warmup  `json:"warmup,omitempty"` // page mode with Config.Warmup

	Mode        string        `json:"-"` // "fan-out", "idle", "baseline" or "page"
	Targets     int           `json:"-"`
	Clients     int           `json:"-"`
	Nodes       int           `json:"-"`
	Communities int           `json:"-"`
	MinSize     int           `json:"-"` // smallest and largest community
	MaxSize     int           `json:"-"`
	Publishers  int           `json:"-"`
	Rate        float64       `json:"-"`
	Window      time.Duration `json:"-"` // the sending window
	Failed      int64         `json:"-"` // sends not acknowledged
	FirstError  string        `json:"-"` // the first failed send's error
	Unexpected  int64         `json:"-"` // deliveries to a client that was not owed them
	Unconfirmed int64         `json:"-"` // deliveries of shares whose send failed
	Reconnects  int64         `json:"-"` // client streams that ended and were resumed
	Publish     Percentiles   `json:"-"` // publish latency (HTTP request, or NATS publish + flush)
	SharedProc  bool          `json:"-"` // some targets are one process: their figures are the same
}

// Instance is one target's server figures over the measured phase.
type Instance struct {
	Target    string  `json:"target"`
	CPUS      float64 `json:"cpu_s"`       // process CPU seconds used
	PeakRSSKB int64   `json:"peak_rss_kb"` // the process's peak resident memory
}

// Percentiles summarise latency samples in milliseconds.
type Percentiles struct {
	N                  int
	P50, P95, P99, Max float64
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted
// samples: the smallest value with at least p % of the samples at or below
// it. It is exact (no interpolation): a reported p99 is a latency some
// delivery really had. Empty samples give 0.
func percentile(sorted []int64, p float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The tolerance keeps float error (99.9% of 1000 = 999.0000000000001)
	// from moving the rank up by one.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarise sorts samples (nanoseconds) in place and returns their
// percentiles in milliseconds.
func summarise(samples []int64) Percentiles {
	slices.Sort(samples)
	ms := func(ns int64) float64 { return round(float64(ns)/1e6, 3) }
	p := Percentiles{N: len(samples)}
	if len(samples) == 0 {
		return p
	}
	p.P50 = ms(percentile(samples, 50))
	p.P95 = ms(percentile(samples, 95))
	p.P99 = ms(percentile(samples, 99))
	p.Max = ms(samples[len(samples)-1])
	return p
}

// round rounds x to the given number of decimals (figures are read by
// people; sub-microsecond digits are noise).
func round(x float64, decimals int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	f := math.Pow(10, float64(decimals))
	return math.Round(x*f) / f
}

// perSecond is n over d, 0 for an empty window.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 1)
}

// WriteJSON writes the report as one JSON object on one line.
func (r Report) WriteJSON(w io.Writer) error {
	if r.Instances == nil {
		r.Instances = []Instance{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteText writes the report for people.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "loadgen %s: %d target(s), %d client(s) as %d node(s)", r.Mode, r.Targets, r.Clients, r.Nodes)
	if r.Communities > 0 {
		fmt.Fprintf(&b, " in %d communities of %d-%d", r.Communities, r.MinSize, r.MaxSize)
	}
	b.WriteString("\n")
	if r.Mode == "page" {
		writePageText(&b, r)
	} else if r.Mode != "idle" {
		rate := "as fast as acknowledged"
		if r.Rate > 0 {
			rate = fmt.Sprintf("%g shares/s", r.Rate)
		}
		fmt.Fprintf(&b, "  sending      %d publisher(s), %s, for %s\n", r.Publishers, rate, r.Window.Round(time.Millisecond))
		fmt.Fprintf(&b, "  shares       sent %d, acknowledged %d (%.1f/s), failed %d\n", r.Sent, r.Acked, r.AckedPerS, r.Failed)
		if r.FirstError != "" {
			fmt.Fprintf(&b, "               first failure: %s\n", r.FirstError)
		}
		fmt.Fprintf(&b, "  deliveries   expected %d, received %d (%.1f/s), lost %d, duplicated %d\n",
			r.Expected, r.Received, r.DeliveriesPerS, r.Lost, r.Duplicated)
		if r.Unexpected > 0 || r.Unconfirmed > 0 || r.Reconnects > 0 {
			fmt.Fprintf(&b, "               unexpected %d, of failed sends %d, stream reconnects %d\n", r.Unexpected, r.Unconfirmed, r.Reconnects)
		}
		fmt.Fprintf(&b, "  end-to-end   p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs)
		fmt.Fprintf(&b, "  publish      p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (%d requests)\n",
			r.Publish.P50, r.Publish.P95, r.Publish.P99, r.Publish.Max, r.Publish.N)
	}
	fmt.Fprintf(&b, "  memory       %.1f KB of instance RSS per connection\n", r.RSSKBPerConn)
	for _, in := range r.Instances {
		fmt.Fprintf(&b, "  instance     %s: %.2f CPU s, peak RSS %d KB\n", in.Target, in.CPUS, in.PeakRSSKB)
	}
	if r.SharedProc {
		b.WriteString("  note         some targets are one process (same process id): their CPU and memory figures are that process's, not each instance's\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Warmup is what page mode's warm-up saw: its requests are not in the
// report's other figures.
type Warmup struct {
	Seconds       float64 `json:"s"`
	Sent          int64   `json:"sent"`
	Errors        int64   `json:"errors"`
	P99Ms         float64 `json:"p99_ms"`
	P99ServerMsLE float64 `json:"p99_server_ms_le"` // -1: unknown
}

// writePageText is page mode's part of the text report.
func writePageText(b *strings.Builder, r Report) {
	rate := "as fast as answered"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%g requests/s", r.Rate)
	}
	var errs, served int64
	if r.Errors != nil {
		errs = *r.Errors
	}
	if r.PageServed != nil {
		served = *r.PageServed
	}
	if w := r.Warmup; w != nil {
		fmt.Fprintf(b, "  warm-up      %gs first, not in the figures below: %d requests, errors %d, client p99 %.2f ms, server p99 <= %g ms\n",
			w.Seconds, w.Sent, w.Errors, w.P99Ms, w.P99ServerMsLE)
	}
	fmt.Fprintf(b, "  page         GET %s, %d worker(s), %s, for %s\n", r.Page, r.Publishers, rate, r.Window.Round(time.Millisecond))
	fmt.Fprintf(b, "  requests     sent %d, 2xx %d (%.1f/s), errors %d\n", r.Sent, r.Acked, r.AckedPerS, errs)
	if r.FirstError != "" {
		fmt.Fprintf(b, "               first failure: %s\n", r.FirstError)
	}
	fmt.Fprintf(b, "  client       p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs)
	switch le := r.PageP99ServerMsLE; {
	case le == nil || *le < 0:
		fmt.Fprintf(b, "  server       p99 unknown (%d requests observed, or above the largest bucket)\n", served)
	default:
		fmt.Fprintf(b, "  server       p99 <= %g ms (upper bound of its histogram bucket; %d requests observed)\n", *le, served)
	}
}
