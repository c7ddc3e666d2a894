package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is what one scrape of an instance's /metrics tells the load tool.
type sample struct {
	CPUSeconds   float64 // process_cpu_seconds_total
	RSSBytes     float64 // process_resident_memory_bytes
	PeakRSSBytes float64 // nodecommunity_process_peak_rss_bytes
	PID          float64 // nodecommunity_process_id (0: not exposed)
}

// parseMetrics reads the figures the tool uses from a Prometheus text
// exposition. A missing metric reads as 0.
func parseMetrics(r io.Reader) (sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return sample{}, err
	}
	value := func(name string) float64 {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) == 0 {
			return 0
		}
		return metricValue(f.GetType(), f.GetMetric()[0])
	}
	return sample{
		CPUSeconds:   value("process_cpu_seconds_total"),
		RSSBytes:     value("process_resident_memory_bytes"),
		PeakRSSBytes: value("nodecommunity_process_peak_rss_bytes"),
		PID:          value("nodecommunity_process_id"),
	}, nil
}

func metricValue(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// fetchMetrics reads one target's /metrics exposition.
func fetchMetrics(ctx context.Context, c *http.Client, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s/metrics: status %d", target, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s/metrics: %w", target, err)
	}
	return b, nil
}

// scrape reads one target's /metrics.
func scrape(ctx context.Context, c *http.Client, target string) (sample, error) {
	b, err := fetchMetrics(ctx, c, target)
	if err != nil {
		return sample{}, err
	}
	s, err := parseMetrics(bytes.NewReader(b))
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s/metrics: %w", target, err)
	}
	return s, nil
}

// requestDuration is the server's request-time histogram (internal/metrics).
const requestDuration = "nodecommunity_http_request_duration_seconds"

// histogram is a cumulative Prometheus histogram: observations at or below
// each upper bound (seconds; +Inf holds them all).
type histogram map[float64]float64

// parseRouteHistogram sums the request-time histogram of GET requests to
// route over every status class. A route never requested reads as empty.
func parseRouteHistogram(r io.Reader, route string) (histogram, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	h := histogram{}
	f, ok := families[requestDuration]
	if !ok || f.GetType() != dto.MetricType_HISTOGRAM {
		return h, nil
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["route"] != route || labels["method"] != http.MethodGet {
			continue
		}
		hist := m.GetHistogram()
		for _, b := range hist.GetBucket() {
			// The text parser may or may not list +Inf; the count is it.
			if !math.IsInf(b.GetUpperBound(), 1) {
				h[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			}
		}
		h[math.Inf(1)] += float64(hist.GetSampleCount())
	}
	return h, nil
}

// scrapeRouteAll reads every target's figures and its request-time histogram
// for route, concurrently.
func scrapeRouteAll(ctx context.Context, c *http.Client, targets []string, route string) ([]sample, []histogram, error) {
	samples := make([]sample, len(targets))
	hists := make([]histogram, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			b, err := fetchMetrics(ctx, c, t)
			if err == nil {
				samples[i], err = parseMetrics(bytes.NewReader(b))
			}
			if err == nil {
				hists[i], err = parseRouteHistogram(bytes.NewReader(b), route)
			}
			if err != nil {
				errs[i] = fmt.Errorf("scrape %s/metrics: %w", t, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return samples, hists, nil
}

// histogramDelta is what the distinct processes observed between two scrapes
// of the same targets: targets that are one process share one registry and
// are counted once.
func histogramDelta(before, after []sample, hb, ha []histogram) histogram {
	seen := map[string]bool{}
	out := histogram{}
	for i := range ha {
		if i >= len(hb) || i >= len(after) || i >= len(before) {
			break
		}
		k := processKey(i, after[i])
		if seen[k] {
			continue
		}
		seen[k] = true
		for le, n := range ha[i] {
			out[le] += n - hb[i][le]
		}
	}
	return out
}

// quantileBound is the upper bound of the bucket holding the q-quantile
// (0 < q <= 1) of h's observations, by nearest rank: the smallest bound with
// at least q of them at or below it. It is a bucket bound, not an estimate
// inside the bucket: the true quantile is at most this and above the
// previous bound. ok is false for an empty histogram; the bound is +Inf when
// the quantile lies above the largest finite bucket.
func quantileBound(h histogram, q float64) (bound float64, ok bool) {
	bounds := make([]float64, 0, len(h))
	for le := range h {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 {
		return 0, false
	}
	total := h[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0, false
	}
	rank := math.Ceil(q*total - 1e-9)
	for _, le := range bounds {
		if h[le] >= rank {
			return le, true
		}
	}
	return math.Inf(1), true
}

// scrapeAll reads every target's /metrics concurrently.
func scrapeAll(ctx context.Context, c *http.Client, targets []string) ([]sample, error) {
	out := make([]sample, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { out[i], errs[i] = scrape(ctx, c, t) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// processKey groups targets that are one process (instances started in one
// process share its registry and so report the same figures): by process id
// when the instance exposes it, else every target is its own process.
func processKey(i int, s sample) string {
	if s.PID > 0 {
		return fmt.Sprintf("pid:%.0f", s.PID)
	}
	return fmt.Sprintf("target:%d", i)
}

// instances turns the scrapes before and after the measured phase into the
// report's per-instance figures, and the memory per connection: the growth of
// resident memory of every distinct process between before and after,
// divided by the connections.
func instances(targets []string, before, after []sample) (out []Instance, shared bool) {
	seen := map[string]int{}
	for i, t := range targets {
		if i >= len(before) || i >= len(after) {
			break
		}
		k := processKey(i, after[i])
		seen[k]++
		out = append(out, Instance{
			Target:    t,
			CPUS:      round(after[i].CPUSeconds-before[i].CPUSeconds, 3),
			PeakRSSKB: int64(after[i].PeakRSSBytes / 1024),
		})
	}
	for _, n := range seen {
		if n > 1 {
			shared = true
		}
	}
	return out, shared
}

// rssGrowthBytes is the total growth of resident memory over distinct
// processes between two scrapes of the same targets.
func rssGrowthBytes(before, after []sample) float64 {
	seen := map[string]bool{}
	total := 0.0
	for i := range after {
		if i >= len(before) {
			break
		}
		k := processKey(i, after[i])
		if seen[k] {
			continue
		}
		seen[k] = true
		total += after[i].RSSBytes - before[i].RSSBytes
	}
	return total
}
