// Command graphbench times the network-analytics kernels of internal/graph on
// an edge-list file or a seeded random graph, so their speed targets (on
// 10,000 nodes and 200,000 edges: Louvain < 1 s, 256-pivot betweenness < 1 s,
// PageRank < 0.2 s, the whole metric set < 3 s and < 200 MB) can be checked on
// any machine.
//
//	go run ./cmd/graphbench                          # random 10,000 / 200,000, seed 1
//	go run ./cmd/graphbench -in internal/demo/data/email-Eu-core.txt -runs 5
//	go run ./cmd/graphbench -json                    # one JSON object per algorithm
//
// Each algorithm runs -runs times; the table shows the median time, the
// quality (modularity and communities found, for the algorithms that find
// communities) and memory: the peak live heap sampled during the runs and the
// bytes allocated per run. With -json it prints one line per algorithm:
//
//	{"algorithm":"louvain","median_s":0.21,"modularity":0.1432,"communities":6}
//
// where modularity and communities are null for betweenness and PageRank.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/graph"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "graphbench:", err)
		}
		os.Exit(2)
	}
}

// algorithms, in the order they are run and printed.
var algorithms = []string{"louvain", "betweenness_sampled", "pagerank", "all"}

// result is one algorithm's line of output.
type result struct {
	Algorithm   string   `json:"algorithm"`
	MedianS     float64  `json:"median_s"`
	Modularity  *float64 `json:"modularity"`
	Communities *int     `json:"communities"`

	peakHeap   uint64 // bytes, sampled
	allocPerOp uint64 // bytes allocated per run
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graphbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "edge list `file` (two integer ids per line, # comments); default: a random graph")
	nodes := fs.Int("nodes", 10_000, "nodes of the random graph")
	edges := fs.Int("edges", 200_000, "edges of the random graph")
	seed := fs.Uint64("seed", 1, "seed of the random graph, Louvain's order and the betweenness pivots")
	runs := fs.Int("runs", 5, "runs of each algorithm (the median is reported)")
	pivots := fs.Int("pivots", graph.DefaultPivots, "sampled sources for betweenness_sampled")
	asJSON := fs.Bool("json", false, "print one JSON object per algorithm instead of a table")
	only := fs.String("algorithms", strings.Join(algorithms, ","), "comma-separated algorithms to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *runs < 1 {
		return fmt.Errorf("-runs %d: want at least 1", *runs)
	}
	if *pivots < 1 {
		return fmt.Errorf("-pivots %d: want at least 1", *pivots)
	}
	chosen := strings.Split(*only, ",")
	for _, a := range chosen {
		if !slices.Contains(algorithms, a) {
			return fmt.Errorf("-algorithms: unknown %q (known: %s)", a, strings.Join(algorithms, ", "))
		}
	}

	var g *graph.Graph
	source := ""
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		g, _, err = graph.ReadEdgeList(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *in, err)
		}
		source = *in
	} else {
		if *nodes < 0 || *edges < 0 {
			return fmt.Errorf("-nodes and -edges must not be negative")
		}
		g = graph.Random(*nodes, *edges, *seed)
		source = fmt.Sprintf("random, seed %d", *seed)
	}

	var results []result
	for _, name := range algorithms {
		if !slices.Contains(chosen, name) {
			continue
		}
		results = append(results, measure(name, g, *runs, *seed, *pivots))
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "graph: %d nodes, %d edges (%s); %d runs each; GOMAXPROCS %d\n",
		g.N, g.EdgeCount(), source, *runs, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "algorithm\tmedian_s\tmodularity\tcommunities\tpeak_heap_MB\talloc_MB/run\t")
	for _, r := range results {
		mod, comms := "-", "-"
		if r.Modularity != nil {
			mod = strconv.FormatFloat(*r.Modularity, 'f', 4, 64)
		}
		if r.Communities != nil {
			comms = strconv.Itoa(*r.Communities)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%s\t%.1f\t%.1f\t\n", r.Algorithm, r.MedianS, mod, comms,
			mb(r.peakHeap), mb(r.allocPerOp))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rss, ok := peakRSS(); ok {
		fmt.Fprintf(stdout, "process peak RSS: %.1f MB (graph included)\n", mb(rss))
	}
	return nil
}

// measure runs one algorithm runs times, sampling the live heap meanwhile.
func measure(name string, g *graph.Graph, runs int, seed uint64, pivots int) result {
	r := result{Algorithm: name}
	times := make([]float64, runs)
	runtime.GC()
	allocBefore := readMetric("/gc/heap/allocs:bytes")
	stop := sampleHeap()
	for i := range runs {
		start := time.Now()
		switch name {
		case "louvain":
			comm, q := graph.Louvain(g, seed)
			r.setQuality(q, comm)
		case "betweenness_sampled":
			graph.Betweenness(g, pivots, seed)
		case "pagerank":
			graph.PageRank(g, graph.DefaultDamping, graph.DefaultPageRankTol, graph.DefaultPageRankMax)
		case "all":
			m := graph.ComputeAll(g, graph.Options{Seed: seed})
			r.setQuality(m.Modularity, m.Community)
		}
		times[i] = time.Since(start).Seconds()
	}
	r.peakHeap = stop()
	r.allocPerOp = (readMetric("/gc/heap/allocs:bytes") - allocBefore) / uint64(runs)
	slices.Sort(times)
	if runs%2 == 1 {
		r.MedianS = times[runs/2]
	} else {
		r.MedianS = (times[runs/2-1] + times[runs/2]) / 2
	}
	r.MedianS = float64(int64(r.MedianS*1e6+0.5)) / 1e6 // microseconds are plenty
	return r
}

func (r *result) setQuality(q float64, comm []int32) {
	k := 0
	for _, c := range comm {
		k = max(k, int(c)+1)
	}
	q = float64(int64(q*1e6+0.5)) / 1e6
	r.Modularity, r.Communities = &q, &k
}

// sampleHeap polls the live heap every millisecond until the returned
// function is called, which returns the largest value seen. runtime/metrics
// does not stop the world, so the polling barely disturbs the timings.
func sampleHeap() (stop func() uint64) {
	var peak atomic.Uint64
	peak.Store(readMetric("/memory/classes/heap/objects:bytes"))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				metrics.Read(sample)
				if v := sample[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakRSS reads the process's peak resident set size (Linux only).
func peakRSS() (uint64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 2 && fields[1] == "kB" {
				kb, err := strconv.ParseUint(fields[0], 10, 64)
				return kb * 1024, err == nil
			}
		}
	}
	return 0, false
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
