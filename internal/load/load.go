// Package load generates load against running instances and measures what
// users feel: a share posted on one instance reaching thousands of live
// screens across the cluster. It is the whole of cmd/loadgen, kept here so
// tests can run it against in-process instances.
//
// One run:
//
//  1. setup: creates (or reuses, from a state file) the nodes by signing them
//     up, and communities of the configured sizes with every node in one;
//  2. opens the clients, spread round-robin over the targets, each a live
//     event stream (GET /api/v1/events) of one node, and waits until every
//     one is subscribed;
//  3. publishes shares into the communities from the publishers, spread over
//     the targets, at the configured rate for the configured duration, each
//     carrying the run id and a sequence number;
//  4. waits for the last deliveries (at most Drain), then counts: a share
//     acknowledged (201) is expected by every client whose node is a member of
//     its community (the server's recipient set, author included); what such
//     a client did not receive is lost, what it received twice duplicated.
//
// Latencies are measured in this process on one monotonic clock, from the
// moment a publisher starts its request to the moment a client reads the
// event. Server CPU and memory are read from each target's /metrics.
//
// Page mode requests a page (Config.Page, e.g. the dashboard "/") at the
// configured rate over the targets and the nodes' bearer tokens, no clients
// open, after filling each community with PageFill shares if it holds fewer;
// it reports the request latency seen here and the server's own time: the
// bucket bound of the 99th percentile of the instances' request-time
// histogram for the page's route, from its growth over the run.
//
// Idle mode only opens the clients and reports the instances' resident memory
// per connection; baseline mode runs the same fan-out over raw NATS subjects
// (one per community, a subscription per client), the broker's own ceiling on
// the same machine at the same moment.
package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is one run.
type Config struct {
	// Targets are the instances' base URLs (http://127.0.0.1:8081).
	Targets []string
	// Clients is the number of live event streams (or NATS subscriptions),
	// spread round-robin over the targets (or NATS URLs).
	Clients int
	// Publishers post shares concurrently, spread round-robin over the targets.
	Publishers int
	// Rate is shares per second over all publishers; 0 sends as fast as the
	// servers acknowledge (each publisher waits for its previous answer).
	Rate float64
	// Duration is how long shares are sent (idle mode: how long the clients
	// are held open before memory is read).
	Duration time.Duration
	// CommunityMin and CommunityMax bound the community sizes ("50-300").
	CommunityMin, CommunityMax int
	// Nodes is how many nodes take part (0: one per client; idle mode: at
	// most 300, clients then share nodes). Client i streams as node i % Nodes.
	Nodes int
	// Idle opens the clients and measures only memory.
	Idle bool
	// Baseline runs the fan-out over raw NATS at NATS instead of HTTP/SSE.
	Baseline bool
	// NATS are client URLs of the cluster's NATS nodes (baseline mode).
	NATS []string
	// StatePath caches the created nodes' tokens and communities between runs
	// ("": none); it is reused when the tokens still work.
	StatePath string
	// Drain is how long to wait for outstanding deliveries after the last
	// send before counting what is missing as lost (default 5s).
	Drain time.Duration
	// BodySize is the length of each share's body in bytes (default 120).
	BodySize int
	// Page, when set, is the path of a page to request (page mode): GET
	// Page at Rate requests per second from the Publishers, spread over the
	// targets and the nodes' tokens. Clients are not opened.
	Page string
	// PageRoute is the page's route pattern in the server's request-time
	// histogram (default: Page without its query).
	PageRoute string
	// PageFill is how many shares each community should hold before the
	// page run (page mode; missing ones are posted first, 0: none).
	PageFill int
	// Warmup, in page mode, requests the page at the same rate for this
	// long before the measured run; those requests are reported apart (the
	// step from no load to 200 views/s of the dashboard is slow for a second
	// or two: README, "Performance"), and the server's histogram is read
	// again when it ends.
	Warmup time.Duration
	// Logf reports progress (nil: silent).
	Logf func(format string, args ...any)
}

// ParseRange parses a community size range such as "50-300" (or "80": all
// the same size).
func ParseRange(s string) (lo, hi int, err error) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi < lo {
		return 0, 0, fmt.Errorf("community size %q: want MIN-MAX with 1 <= MIN <= MAX, e.g. 50-300", s)
	}
	return lo, hi, nil
}

// idleNodes is the default number of nodes in idle mode: connections, not
// people, are what is measured, and every node costs a sign-up (an argon2 hash).
const idleNodes = 300

// normalise fills defaults and checks the configuration.
func (c *Config) normalise() error {
	if c.Clients < 0 || c.Publishers < 0 || c.Rate < 0 || c.Duration < 0 || c.Nodes < 0 {
		return errors.New("clients, publishers, rate, duration and nodes cannot be negative")
	}
	if c.CommunityMin == 0 && c.CommunityMax == 0 {
		c.CommunityMin, c.CommunityMax = 50, 300
	}
	if c.CommunityMin < 1 || c.CommunityMax < c.CommunityMin {
		return fmt.Errorf("community sizes %d-%d: want 1 <= min <= max", c.CommunityMin, c.CommunityMax)
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	if c.BodySize == 0 {
		c.BodySize = 120
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Page != "" {
		if !strings.HasPrefix(c.Page, "/") || strings.HasPrefix(c.Page, "//") {
			return fmt.Errorf("page %q: want a path on the targets, such as /", c.Page)
		}
		if c.PageRoute == "" {
			c.PageRoute, _, _ = strings.Cut(c.Page, "?")
		}
		if c.PageFill < 0 {
			return errors.New("page fill cannot be negative")
		}
		if c.Warmup < 0 {
			return errors.New("warm-up cannot be negative")
		}
		// Page requests are the load: no event streams; Rate counts
		// requests (0: each publisher asks again as soon as answered).
		c.Clients = 0
	}
	if c.Nodes == 0 {
		c.Nodes = max(c.Clients, c.CommunityMin)
		if c.Idle {
			c.Nodes = max(1, min(c.Clients, idleNodes))
		}
	}
	for i, t := range c.Targets {
		c.Targets[i] = strings.TrimRight(strings.TrimSpace(t), "/")
		if err := loopback(c.Targets[i]); err != nil {
			return err
		}
	}
	switch {
	case c.Baseline && c.Idle:
		return errors.New("-idle and -baseline exclude each other")
	case c.Warmup > 0 && c.Page == "":
		return errors.New("-warmup is for -page runs")
	case c.Page != "" && (c.Idle || c.Baseline):
		return errors.New("-page excludes -idle and -baseline")
	case c.Baseline && len(c.NATS) == 0:
		return errors.New("-baseline needs -nats URL (an instance's NATS_LISTEN)")
	case !c.Baseline && len(c.Targets) == 0:
		return errors.New("no targets: give -targets http://127.0.0.1:8081,...")
	case !c.Idle && c.Publishers == 0:
		return errors.New("no publishers: give -publishers 1 or more (or -idle)")
	case !c.Idle && c.Duration == 0:
		return errors.New("no duration: give -duration 10s")
	}
	for _, u := range c.NATS {
		if err := loopback(u); err != nil {
			return err
		}
	}
	return nil
}

// loopback refuses any address that is not this machine: the tool makes a
// lot of traffic and is meant for a bench, never for someone else's server.
func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL such as http://127.0.0.1:8081", raw)
	}
	switch h := u.Hostname(); {
	case h == "localhost", strings.HasPrefix(h, "127."), h == "::1":
		return nil
	default:
		return fmt.Errorf("%s: only loopback addresses (127.0.0.1, localhost) are allowed", raw)
	}
}

// newRunID is a short random id that marks this run's shares.
func newRunID() string {
	return strconv.FormatUint(rand.Uint64()&0xffffffffff, 36)
}

// Run performs one load run and reports what it measured. It returns an
// error when the run could not be carried out (targets unreachable, clients
// not connected); lost or slow deliveries are results, not errors.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.normalise(); err != nil {
		return Report{}, err
	}
	if n, err := raiseFileLimit(); err != nil {
		cfg.Logf("could not raise the open-files limit (%v); it is %d", err, n)
	} else if n < uint64(cfg.Clients+cfg.Publishers+64) {
		cfg.Logf("the open-files limit is %d: %d clients may not fit", n, cfg.Clients)
	}
	r := newRunner(cfg)
	defer r.close()
	switch {
	case cfg.Baseline:
		return r.baseline(ctx)
	case cfg.Idle:
		return r.idle(ctx)
	case cfg.Page != "":
		return r.page(ctx)
	default:
		return r.fanout(ctx)
	}
}

// since is the run's clock: nanoseconds on the monotonic clock since start.
type clock struct{ start time.Time }

func (c clock) now() int64 { return int64(time.Since(c.start)) }
