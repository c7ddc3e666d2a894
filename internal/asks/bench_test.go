package asks

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/demo"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// The routing targets: an ask routed on the imported 1,005-person organisation
// (internal/demo, every person with skills) in under 50 ms of server time, and
// on a generated organisation of 10,000 people and 200,000 ties in under
// 200 ms. The benchmarks report the median of the iterations (ms_median)
// beside Go's mean, and what loading the tie graph once took (ms_graph_load):
// an instance keeps the graph (see tieCache), so routing pays for matching,
// a breadth-first search and the writes only. They never fail on time.
//
//	go test -run '^$' -bench Route -benchtime 50x ./internal/asks

// benchSkills are the generated organisation's skills (the demo's own are in
// its people file).
var benchSkills = []string{
	"go", "postgres", "python", "kubernetes", "statistics", "writing", "facilitation", "excel",
	"contracts", "negotiation", "hiring", "coaching", "security", "networking", "react", "design",
	"data visualisation", "machine learning", "project management", "risk assessment", "budgeting",
	"presenting", "mentoring", "languages", "regulation", "modelling", "testing", "linux", "rust", "java",
}

// generatedOrg writes a people CSV of n people (2–4 skills each, drawn with a
// skew so some skills are common and some rare) and an edge list of m ties,
// the uniform random graph the analytics targets are stated on.
func generatedOrg(n, m int, seed uint64) (people, edges []byte) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var pb bytes.Buffer
	pb.WriteString("id,handle,display_name,email,skills\n")
	for i := range n {
		k := 2 + r.IntN(3)
		var skills []string
		for len(skills) < k {
			// Squaring a uniform number favours the first skills of the list.
			s := benchSkills[int(float64(len(benchSkills))*r.Float64()*r.Float64())]
			if !slices.Contains(skills, s) {
				skills = append(skills, s)
			}
		}
		fmt.Fprintf(&pb, "%d,person-%d,Person %d,person-%d@org.test,%s\n", i, i, i, i, strings.Join(skills, ";"))
	}
	var eb bytes.Buffer
	g := graph.Random(n, m, seed)
	for _, e := range g.Edges() {
		fmt.Fprintf(&eb, "%d %d\n", e.U, e.V)
	}
	return pb.Bytes(), eb.Bytes()
}

// benchOrg imports an organisation into a fresh database.
func benchOrg(b *testing.B, people, edges []byte) (*Store, *community.Store) {
	b.Helper()
	pool := testenv.Pool(b, testenv.DatabaseURL(b))
	net := community.NewStore(pool)
	start := time.Now()
	rep, err := net.Import(context.Background(), community.ImportInput{Nodes: bytes.NewReader(people), Edges: bytes.NewReader(edges)})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d people and %d connections in %s", rep.People, rep.Connections, time.Since(start).Round(time.Millisecond))
	return NewStore(pool, net), net
}

// medianMS is the median of the durations in milliseconds.
func medianMS(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// benchAskers picks people to ask from: spread over the organisation.
func benchAskers(b *testing.B, s *Store, count int) []int64 {
	b.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT id FROM nodes ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	out := make([]int64, 0, count)
	for i := range count {
		out = append(out, ids[(i*7919)%len(ids)])
	}
	return out
}

// benchRouting measures CreateAsk (the whole server-side work of POST
// /api/v1/asks: matching, ranking, writing the ask, its routes and their
// events) with a warm tie graph, and reports the cold load of the graph.
func benchRouting(b *testing.B, s *Store, tags [][]string) {
	ctx := context.Background()
	start := time.Now()
	if _, err := s.tieGraph(ctx); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(start)
	askers := benchAskers(b, s, 64)
	var took []time.Duration
	var routed int
	i := 0
	for b.Loop() {
		t0 := time.Now()
		out, err := s.CreateAsk(ctx, askers[i%len(askers)], AskInput{Title: "Who can help?", Tags: tags[i%len(tags)]})
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		routed += len(out.RoutedTo)
		i++
	}
	b.ReportMetric(medianMS(took), "ms_median")
	b.ReportMetric(float64(cold)/float64(time.Millisecond), "ms_graph_load")
	b.ReportMetric(float64(routed)/float64(len(took)), "routed/ask")
}

func BenchmarkRouteEmailEuCore(b *testing.B) {
	s, _ := benchOrg(b, mustRead(b, demo.People()), mustRead(b, demo.Edges()))
	benchRouting(b, s, [][]string{{"python"}, {"statistics", "writing"}, {"reactor physics"}, {"contracts", "negotiation", "excel"}})
}

func BenchmarkRouteGenerated10k(b *testing.B) {
	people, edges := generatedOrg(10_000, 200_000, 1)
	s, _ := benchOrg(b, people, edges)
	benchRouting(b, s, [][]string{{"go"}, {"postgres", "kubernetes"}, {"rust"}, {"statistics", "writing", "hiring"}})
}

func mustRead(b *testing.B, r interface{ Read([]byte) (int, error) }) []byte {
	b.Helper()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkRouteGenerated10kUncached loads the tie graph for every routing
// (GraphMaxAge < 0): what routing would cost without the per-instance cache.
func BenchmarkRouteGenerated10kUncached(b *testing.B) {
	people, edges := generatedOrg(10_000, 200_000, 1)
	s, _ := benchOrg(b, people, edges)
	s.Configure(Options{GraphMaxAge: -1})
	benchRouting(b, s, [][]string{{"go"}, {"postgres", "kubernetes"}, {"rust"}, {"statistics", "writing", "hiring"}})
}

// BenchmarkBFS10k is the in-memory part of routing alone: the search to three
// hops from one person over 10,000 people and 200,000 ties.
func BenchmarkBFS10k(b *testing.B) {
	g := graph.Random(10_000, 200_000, 1)
	t := &tieView{tieGraph: &tieGraph{g: g}}
	var reached int
	i := int32(0)
	for b.Loop() {
		r := t.bfs(i%10_000, DefaultInitialHops)
		reached = 0
		for _, d := range r.dist {
			if d > 0 {
				reached++
			}
		}
		i += 7919
	}
	b.ReportMetric(float64(reached), "reached")
}
