package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
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

// scrape reads one target's /metrics.
func scrape(ctx context.Context, c *http.Client, target string) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/metrics", nil)
	if err != nil {
		return sample{}, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sample{}, fmt.Errorf("scrape %s/metrics: status %d", target, resp.StatusCode)
	}
	s, err := parseMetrics(resp.Body)
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s/metrics: %w", target, err)
	}
	return s, nil
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
