package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// runner holds one run's clients and clock.
type runner struct {
	cfg    Config
	runID  string
	clk    clock
	api    *http.Client // setup, scraping
	stream *http.Client // event streams (no timeout: they stay open)
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newRunner(cfg Config) *runner {
	dial := (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	// Thousands of streams to a few hosts: no cap on connections per host,
	// and idle ones kept, or each client would wait for another's connection.
	streamTransport := &http.Transport{
		DialContext:           dial,
		MaxConnsPerHost:       0,
		MaxIdleConns:          cfg.Clients + 16,
		MaxIdleConnsPerHost:   cfg.Clients + 16,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
	}
	apiTransport := &http.Transport{
		DialContext:         dial,
		MaxConnsPerHost:     0,
		MaxIdleConns:        4*cfg.Publishers + 64,
		MaxIdleConnsPerHost: 4*cfg.Publishers + 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &runner{
		cfg:    cfg,
		runID:  newRunID(),
		clk:    clock{start: time.Now()},
		api:    &http.Client{Transport: apiTransport, Timeout: 30 * time.Second},
		stream: &http.Client{Transport: streamTransport},
		dial:   dial,
	}
}

func (r *runner) close() {
	r.api.CloseIdleConnections()
	r.stream.CloseIdleConnections()
}

// fanout is the standard run: nodes and communities, clients, publishers.
func (r *runner) fanout(ctx context.Context) (Report, error) {
	accounts, groups, err := r.setup(ctx, true)
	if err != nil {
		return Report{}, fmt.Errorf("setup: %w", err)
	}
	nodeGroup := make([]int, len(accounts))
	for gi, g := range groups {
		for _, m := range g.Members {
			nodeGroup[m] = gi
		}
	}
	led := &ledger{fanout: make([]int64, len(groups))}
	sinks := make([]*sink, r.cfg.Clients)
	for i := range sinks {
		sinks[i] = &sink{community: nodeGroup[i%len(accounts)]}
		led.fanout[sinks[i].community]++
	}
	rep := r.baseReport("fan-out", len(accounts), groups)

	before, err := scrapeAll(ctx, r.api, r.cfg.Targets)
	if err != nil {
		return rep, err
	}
	clients, err := r.openStreams(ctx, accounts, sinks)
	if err != nil {
		return rep, err
	}
	defer clients.stop()
	connected, err := scrapeAll(ctx, r.api, r.cfg.Targets)
	if err != nil {
		return rep, err
	}
	rep.RSSKBPerConn = rssPerConn(before, connected, r.cfg.Clients)

	posters := make([]*poster, r.cfg.Publishers) // publisher p's own connection
	for p := range posters {
		posters[p] = newPoster(r.dial)
		defer posters[p].close()
	}
	pub := r.publish(ctx, r.cfg.Duration, led, len(groups), func(ctx context.Context, p, seq, comm int, body string) error {
		g := groups[comm]
		author := accounts[g.Members[seq/len(groups)%len(g.Members)]]
		return posters[p].post(ctx, r.target(p)+"/api/v1/communities/"+g.Slug+"/shares", author.Token, shareJSON(body))
	})
	r.drain(ctx, led, clients.received)
	clients.stop()
	after, err := scrapeAll(ctx, r.api, r.cfg.Targets)
	if err != nil {
		return rep, err
	}
	rep.Reconnects = clients.reconnects.Load()
	r.finish(&rep, led, sinks, pub, connected, after)
	return rep, nil
}

// idle opens the clients, holds them for the duration and reports the
// instances' memory per connection.
func (r *runner) idle(ctx context.Context) (Report, error) {
	accounts, _, err := r.setup(ctx, false)
	if err != nil {
		return Report{}, fmt.Errorf("setup: %w", err)
	}
	rep := r.baseReport("idle", len(accounts), nil)
	sinks := make([]*sink, r.cfg.Clients)
	for i := range sinks {
		sinks[i] = &sink{community: -1}
	}
	before, err := scrapeAll(ctx, r.api, r.cfg.Targets)
	if err != nil {
		return rep, err
	}
	clients, err := r.openStreams(ctx, accounts, sinks)
	if err != nil {
		return rep, err
	}
	defer clients.stop()
	r.cfg.Logf("holding %d clients for %s", r.cfg.Clients, r.cfg.Duration)
	select {
	case <-ctx.Done():
		return rep, ctx.Err()
	case <-time.After(r.cfg.Duration):
	}
	after, err := scrapeAll(ctx, r.api, r.cfg.Targets)
	if err != nil {
		return rep, err
	}
	rep.RSSKBPerConn = rssPerConn(before, after, r.cfg.Clients)
	rep.Instances, rep.SharedProc = instances(r.cfg.Targets, before, after)
	rep.Reconnects = clients.reconnects.Load()
	return rep, nil
}

// page requests cfg.Page at the configured rate, spread over the targets and
// the nodes' tokens, and reports the latency seen here and the server's own
// time for the page's route.
func (r *runner) page(ctx context.Context) (Report, error) {
	accounts, groups, err := r.setup(ctx, true)
	if err != nil {
		return Report{}, fmt.Errorf("setup: %w", err)
	}
	if err := r.fill(ctx, accounts, groups); err != nil {
		return Report{}, fmt.Errorf("fill: %w", err)
	}
	rep := r.baseReport("page", len(accounts), groups)
	rep.Page = r.cfg.Page
	// A redirect (to sign in) is a failure to measure, not a page to follow.
	client := &http.Client{Transport: r.api.Transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	T := len(r.cfg.Targets)
	led := &ledger{fanout: make([]int64, 1)} // nothing is delivered: expected stays 0
	get := func(ctx context.Context, _, seq, _ int, _ string) error {
		// Request seq goes to target seq % T as node seq / T: every node
		// is seen on every target, and the nodes take turns. The measured
		// run goes on from the warm-up's last request.
		return r.getPage(ctx, client, r.target(seq)+r.cfg.Page, accounts[(seq/T)%len(accounts)].Token)
	}
	before, hb, err := scrapeRouteAll(ctx, r.api, r.cfg.Targets, r.cfg.PageRoute)
	if err != nil {
		return rep, err
	}
	if r.cfg.Warmup > 0 {
		r.cfg.Logf("warming up for %s", r.cfg.Warmup)
		warm := r.publish(ctx, r.cfg.Warmup, led, 1, get)
		mid, hm, err := scrapeRouteAll(ctx, r.api, r.cfg.Targets, r.cfg.PageRoute)
		if err != nil {
			return rep, err
		}
		w := summarise(warm.latencies)
		rep.Warmup = &Warmup{Seconds: r.cfg.Warmup.Seconds(), Sent: warm.sent, Errors: warm.failed, P99Ms: w.P99,
			P99ServerMsLE: serverP99(histogramDelta(before, mid, hb, hm))}
		before, hb = mid, hm
	}
	pub := r.publish(ctx, r.cfg.Duration, led, 1, get)
	after, ha, err := scrapeRouteAll(ctx, r.api, r.cfg.Targets, r.cfg.PageRoute)
	if err != nil {
		return rep, err
	}
	r.finish(&rep, led, nil, pub, before, after)
	// The client's latencies are the request's: there are no deliveries.
	rep.P50Ms, rep.P95Ms, rep.P99Ms, rep.MaxMs = rep.Publish.P50, rep.Publish.P95, rep.Publish.P99, rep.Publish.Max
	errs := pub.failed
	rep.Errors = &errs
	delta := histogramDelta(before, after, hb, ha)
	served := int64(delta[math.Inf(1)])
	rep.PageServed = &served
	le := serverP99(delta)
	rep.PageP99ServerMsLE = &le
	return rep, nil
}

// serverP99 is the upper bound in milliseconds of the histogram bucket
// holding the 99th percentile of delta; -1 when no request was observed or it
// lies above the largest finite bucket.
func serverP99(delta histogram) float64 {
	if b, ok := quantileBound(delta, 0.99); ok && !math.IsInf(b, 1) {
		return round(b*1000, 3)
	}
	return -1
}

// getPage requests one page as the holder of token and reads it whole; any
// status but 2xx is an error.
func (r *runner) getPage(ctx context.Context, c *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Reading it all is part of the page's latency, and keeps the
	// connection reusable.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// fill posts shares into every community holding fewer than PageFill (as
// its first member's feed counts them), its members taking turns as authors,
// so the page shows a full feed. Runs reusing the communities post nothing.
func (r *runner) fill(ctx context.Context, accounts []account, groups []group) error {
	n := r.cfg.PageFill
	if n <= 0 {
		return nil
	}
	type post struct{ group, k int }
	var posts []post
	var mu sync.Mutex
	err := forEach(ctx, len(groups), setupConcurrency, func(ctx context.Context, gi int) error {
		var feed struct {
			Shares []json.RawMessage `json:"shares"`
		}
		u := fmt.Sprintf("%s/api/v1/feed?limit=%d&community=%s", r.target(gi), min(n, 100), url.QueryEscape(groups[gi].Slug))
		if _, err := r.apiCall(ctx, http.MethodGet, u, accounts[groups[gi].Members[0]].Token, nil, &feed); err != nil {
			return err
		}
		mu.Lock()
		for k := len(feed.Shares); k < n; k++ {
			posts = append(posts, post{gi, k})
		}
		mu.Unlock()
		return nil
	})
	if err != nil || len(posts) == 0 {
		return err
	}
	r.cfg.Logf("posting %d shares so every community holds %d", len(posts), n)
	return forEach(ctx, len(posts), setupConcurrency*len(r.cfg.Targets), func(ctx context.Context, i int) error {
		p := posts[i]
		g := groups[p.group]
		body := fmt.Sprintf("Page fill %d of %s (cmd/loadgen -page-fill): a share so the feed has something to show.", p.k, g.Slug)
		_, err := r.apiCall(ctx, http.MethodPost, r.target(i)+"/api/v1/communities/"+g.Slug+"/shares",
			accounts[g.Members[p.k%len(g.Members)]].Token, map[string]string{"body": body}, nil)
		return err
	})
}

func (r *runner) baseReport(mode string, nodes int, groups []group) Report {
	rep := Report{
		Mode: mode, Targets: len(r.cfg.Targets), Clients: r.cfg.Clients, Nodes: nodes,
		Communities: len(groups), Publishers: r.cfg.Publishers, Rate: r.cfg.Rate,
	}
	for i, g := range groups {
		if i == 0 || len(g.Members) < rep.MinSize {
			rep.MinSize = len(g.Members)
		}
		rep.MaxSize = max(rep.MaxSize, len(g.Members))
	}
	return rep
}

func rssPerConn(before, after []sample, conns int) float64 {
	if conns == 0 {
		return 0
	}
	return round(rssGrowthBytes(before, after)/1024/float64(conns), 2)
}

// published is what the publishers did.
type published struct {
	sent, acked, failed int64
	firstErr            string
	latencies           []int64 // nanoseconds per acknowledged send
	startAt             int64   // run clock when sending began
	window              time.Duration
}

// sendFunc sends share seq into community comm from publisher p.
type sendFunc func(ctx context.Context, p, seq, comm int, body string) error

// publish runs the publishers for d. With a rate, publisher p
// sends at start + p/rate + k*publishers/rate (all of them together: rate per
// second), each waiting for its previous answer, so a slow server lowers the
// rate rather than piling up requests; without one, each sends again as soon
// as it is answered. Shares go to the communities in turn.
func (r *runner) publish(ctx context.Context, d time.Duration, led *ledger, communities int, send sendFunc) published {
	P := r.cfg.Publishers
	start := time.Now()
	startAt := r.clk.now()
	end := start.Add(d)
	led.mu.Lock()
	first := len(led.sentAt) // a warm-up's requests came before
	led.mu.Unlock()
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(P) / r.cfg.Rate)
	}
	var (
		mu  sync.Mutex
		out published
	)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for p := range P {
		wg.Go(func() {
			var lat []int64
			var firstErr string
			next := start.Add(time.Duration(p) * interval / time.Duration(P))
			for k := 0; ; k++ {
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						t := time.NewTimer(wait)
						select {
						case <-ctx.Done():
							t.Stop()
						case <-t.C:
						}
					}
					next = next.Add(interval)
				}
				if ctx.Err() != nil || !time.Now().Before(end) {
					break
				}
				at := r.clk.now()
				seq, comm := led.start(at, communities)
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := send(sctx, p, seq, comm, shareBody(r.runID, seq, r.cfg.BodySize))
				cancel()
				if err != nil {
					failed.Add(1)
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				lat = append(lat, r.clk.now()-at)
				led.ack(seq)
			}
			mu.Lock()
			out.latencies = append(out.latencies, lat...)
			if out.firstErr == "" {
				out.firstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	out.window = time.Since(start)
	out.startAt = startAt
	led.mu.Lock()
	out.sent = int64(len(led.sentAt) - first)
	for _, a := range led.acked[first:] {
		if a {
			out.acked++
		}
	}
	led.mu.Unlock()
	out.failed = failed.Load()
	return out
}

// drain waits until the clients received as many deliveries as are owed, or
// Drain passes.
func (r *runner) drain(ctx context.Context, led *ledger, received func() int64) {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if received() >= led.expected.Load() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finish fills the report from the ledger, the receipts and the scrapes.
func (r *runner) finish(rep *Report, led *ledger, sinks []*sink, pub published, before, after []sample) {
	t := count(led, sinks)
	rep.Sent, rep.Acked, rep.Failed, rep.FirstError = pub.sent, pub.acked, pub.failed, pub.firstErr
	rep.Window = pub.window
	rep.AckedPerS = perSecond(pub.acked, pub.window)
	rep.Expected, rep.Received, rep.Lost, rep.Duplicated = t.expected, t.received, t.expected-t.received, t.duplicated
	rep.Unexpected, rep.Unconfirmed = t.unexpected, t.unconfirmed
	e2e := summarise(t.latencies)
	rep.P50Ms, rep.P95Ms, rep.P99Ms, rep.MaxMs = e2e.P50, e2e.P95, e2e.P99, e2e.Max
	rep.DeliveriesPerS = perSecond(t.received, time.Duration(t.lastAt-pub.startAt))
	rep.Publish = summarise(pub.latencies)
	if len(r.cfg.Targets) > 0 && before != nil && after != nil {
		rep.Instances, rep.SharedProc = instances(r.cfg.Targets, before, after)
	}
}
