package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// baseline runs the same fan-out as fanout over raw NATS: one subject per
// community, each client a subscription on its own connection (as each SSE
// client has its own), publishers publishing the same bodies at the same
// rate. No HTTP, no PostgreSQL: the broker's own delivery rate and latency on
// this machine now, to state ours as a ratio of.
func (r *runner) baseline(ctx context.Context) (Report, error) {
	sizes := planSizes(r.cfg.Nodes, r.cfg.CommunityMin, r.cfg.CommunityMax)
	groups := make([]group, len(sizes))
	nodeGroup := make([]int, 0, r.cfg.Nodes)
	for gi, size := range sizes {
		groups[gi].Slug = fmt.Sprintf("lg%s-%d", r.runID, gi)
		for range size {
			groups[gi].Members = append(groups[gi].Members, len(nodeGroup))
			nodeGroup = append(nodeGroup, gi)
		}
	}
	subject := func(g int) string { return "loadgen." + r.runID + "." + groups[g].Slug }
	led := &ledger{fanout: make([]int64, len(groups))}
	sinks := make([]*sink, r.cfg.Clients)
	for i := range sinks {
		sinks[i] = &sink{community: nodeGroup[i%len(nodeGroup)]}
		led.fanout[sinks[i].community]++
	}
	rep := r.baseReport("baseline", r.cfg.Nodes, groups)
	rep.Targets = len(r.cfg.NATS)

	var before, connected []sample
	var err error
	if len(r.cfg.Targets) > 0 {
		// The instances' figures are a bonus here (their embedded NATS nodes
		// do the work): without them the baseline still runs.
		if before, err = scrapeAll(ctx, r.api, r.cfg.Targets); err != nil {
			r.cfg.Logf("no instance figures: %v", err)
			r.cfg.Targets = nil
		}
	}

	var conns []*nats.Conn
	var connMu sync.Mutex
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	var slow atomic.Int64
	connect := func(url string) (*nats.Conn, error) {
		nc, err := nats.Connect(url, nats.Name("loadgen"), nats.ReconnectBufSize(-1),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				if errors.Is(err, nats.ErrSlowConsumer) {
					slow.Add(1)
				}
			}))
		if err != nil {
			return nil, fmt.Errorf("connect to NATS %s: %w", url, err)
		}
		connMu.Lock()
		conns = append(conns, nc)
		connMu.Unlock()
		return nc, nil
	}

	mark := []byte(marker(r.runID))
	var receipts atomic.Int64
	start := time.Now()
	err = forEach(ctx, len(sinks), connecting, func(ctx context.Context, i int) error {
		nc, err := connect(r.cfg.NATS[i%len(r.cfg.NATS)])
		if err != nil {
			return err
		}
		s := sinks[i]
		if _, err := nc.Subscribe(subject(s.community), func(m *nats.Msg) {
			if seq, ok := findSeq(m.Data, mark); ok {
				s.add(seq, r.clk.now())
				receipts.Add(1)
			}
		}); err != nil {
			return err
		}
		return nc.FlushTimeout(10 * time.Second)
	})
	if err != nil {
		return rep, err
	}
	pubs := make([]*nats.Conn, r.cfg.Publishers)
	for p := range pubs {
		if pubs[p], err = connect(r.cfg.NATS[p%len(r.cfg.NATS)]); err != nil {
			return rep, err
		}
	}
	// Every subscription is on its server (flushed); interest crosses the
	// cluster's routes asynchronously, in well under this.
	pause(ctx, time.Second)
	r.cfg.Logf("%d NATS subscriptions ready in %s", len(sinks), time.Since(start).Round(time.Millisecond))
	if len(r.cfg.Targets) > 0 {
		if connected, err = scrapeAll(ctx, r.api, r.cfg.Targets); err != nil {
			return rep, err
		}
		rep.RSSKBPerConn = rssPerConn(before, connected, r.cfg.Clients)
	}

	// The publish is acknowledged when the server answered the flush that
	// follows it (NATS core has no per-message acknowledgement).
	pub := r.publish(ctx, r.cfg.Duration, led, len(groups), func(ctx context.Context, p, seq, comm int, body string) error {
		if err := pubs[p].Publish(subject(comm), []byte(body)); err != nil {
			return err
		}
		return pubs[p].FlushWithContext(ctx)
	})
	r.drain(ctx, led, receipts.Load)
	for _, nc := range conns {
		nc.Close()
	}
	conns = nil
	var after []sample
	if len(r.cfg.Targets) > 0 {
		if after, err = scrapeAll(ctx, r.api, r.cfg.Targets); err != nil {
			return rep, err
		}
	}
	r.finish(&rep, led, sinks, pub, connected, after)
	if n := slow.Load(); n > 0 {
		rep.FirstError = fmt.Sprintf("%d slow-consumer drops reported by NATS", n)
	}
	return rep, nil
}
