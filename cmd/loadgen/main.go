// Command loadgen measures fan-out against running instances: it opens live
// event streams (SSE) spread over the instances, publishes shares into
// communities through the HTTP API, and reports what was lost, the delivery
// latencies and the servers' CPU and memory (see internal/load for how).
//
//	loadgen -targets http://127.0.0.1:8081,http://127.0.0.1:8082 -clients 3000 \
//	        -publishers 8 -rate 100 -duration 30s -community-size 50-300 [-json]
//	loadgen -targets http://127.0.0.1:8081 -clients 10000 -idle        # memory per idle connection
//	loadgen -baseline -nats nats://127.0.0.1:4221 -clients 3000 ...     # the same over raw NATS
//	loadgen -page / -rate 200 -duration 30s -page-fill 50 -nodes 300    # the dashboard: client and server p99
//
// Loopback addresses only. The created nodes and communities are kept in
// -state and reused while their tokens work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083", "comma-separated base URLs of the instances")
	clients := fs.Int("clients", 300, "live event-stream clients, spread round-robin over the targets")
	publishers := fs.Int("publishers", 8, "concurrent publishers, spread round-robin over the targets")
	rate := fs.Float64("rate", 100, "shares per second over all publishers; 0 = as fast as the servers acknowledge")
	duration := fs.Duration("duration", 10*time.Second, "how long to publish (idle: how long to hold the clients)")
	sizes := fs.String("community-size", "50-300", "community sizes MIN-MAX; every node is in one community")
	idle := fs.Bool("idle", false, "only open the clients and measure the instances' memory per connection")
	baseline := fs.Bool("baseline", false, "run the same fan-out over raw NATS subscriptions (needs -nats)")
	natsURLs := fs.String("nats", "", "comma-separated NATS client URLs for -baseline (the instances' NATS_LISTEN)")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the text report")
	nodes := fs.Int("nodes", 0, "nodes taking part (default: one per client; idle: at most 300, shared by the clients)")
	state := fs.String("state", ".data/loadgen-state.json", "file caching the created nodes and communities (\"\" for none)")
	drain := fs.Duration("drain", 5*time.Second, "longest wait for outstanding deliveries after the last send")
	bodySize := fs.Int("body-size", 120, "bytes in each share's body")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	page := fs.String("page", "", "request this page (e.g. /) at -rate requests/s (default 200) as the nodes instead of fan-out; no clients")
	pageRoute := fs.String("page-route", "", "the page's route pattern in the server's request-time histogram (default: -page without its query)")
	pageFill := fs.Int("page-fill", 50, "with -page: post shares first until every community holds this many (0: none)")
	warmup := fs.Duration("warmup", 0, "with -page: request the page at the same rate for this long first, reported apart from the measured run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *page != "" {
		rateSet := false
		fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "rate" })
		if !rateSet {
			*rate = 200 // the dashboard target is at 200 requests/s
		}
	}
	lo, hi, err := load.ParseRange(*sizes)
	if err != nil {
		return err
	}
	cfg := load.Config{
		Targets: split(*targets), Clients: *clients, Publishers: *publishers, Rate: *rate,
		Duration: *duration, CommunityMin: lo, CommunityMax: hi, Nodes: *nodes, Idle: *idle,
		Baseline: *baseline, NATS: split(*natsURLs), StatePath: *state, Drain: *drain, BodySize: *bodySize,
		Page: *page, PageRoute: *pageRoute, PageFill: *pageFill, Warmup: *warmup,
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...)
		}
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonOut {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteText(stdout)
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
