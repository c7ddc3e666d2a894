// Command faults is the fault-test harness: it runs a private PostgreSQL behind a
// TCP proxy it controls and three server processes whose embedded NATS nodes form
// one cluster, has clients post shares and follow their event streams while it
// kills an instance (and with it a NATS node), cuts the database link and
// restarts PostgreSQL, then checks that nothing acknowledged was lost and nothing
// was stored or delivered twice.
//
//	go run ./cmd/faults            # the full run: 50 clients, 1,000 shares at 20/s
//	go run ./cmd/faults -json      # the figures also as one JSON line
//
// Everything listens on 127.0.0.1, and the run is bounded by -timeout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nodecommunity/nodecommunity/internal/pgcluster"
)

type options struct {
	clients     int
	communities int
	shares      int
	rate        float64
	faults      bool
	killAt      time.Duration
	killDown    time.Duration
	cutAt       time.Duration
	cutFor      time.Duration
	pgRestart   bool
	quiesce     time.Duration
	timeout     time.Duration
	jsonOut     bool
	keep        bool
	verbose     bool
	serverBin   string
	victim      int
}

func main() {
	var o options
	flag.IntVar(&o.clients, "clients", 50, "clients: each posts and follows its event stream")
	flag.IntVar(&o.communities, "communities", 5, "communities the clients are spread over")
	flag.IntVar(&o.shares, "shares", 1000, "shares to post in all")
	flag.Float64Var(&o.rate, "rate", 20, "shares per second")
	flag.BoolVar(&o.faults, "faults", true, "inject the faults (false: a plain load run)")
	flag.DurationVar(&o.killAt, "kill-at", 10*time.Second, "when to SIGKILL one instance (after the first post)")
	flag.DurationVar(&o.killDown, "kill-down", 8*time.Second, "how long the killed instance stays down")
	flag.DurationVar(&o.cutAt, "cut-at", 30*time.Second, "when to cut the database link")
	flag.DurationVar(&o.cutFor, "cut-for", 3*time.Second, "how long the database link stays cut (at least)")
	flag.BoolVar(&o.pgRestart, "pg-restart", true, "while the link is cut, also stop and start PostgreSQL")
	flag.DurationVar(&o.quiesce, "quiesce", 60*time.Second, "longest wait for the streams to catch up after the last post")
	flag.DurationVar(&o.timeout, "timeout", 6*time.Minute, "bound on the whole run")
	flag.BoolVar(&o.jsonOut, "json", false, "also print the figures as one JSON line")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, data) even when the run passes")
	flag.BoolVar(&o.verbose, "v", false, "print every client's row, not only those with problems")
	flag.IntVar(&o.victim, "victim", 0, "instance to kill, 1-3 (0: one at random)")
	flag.StringVar(&o.serverBin, "server", "", "server binary to use (default: build ./cmd/server)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o, os.Stdout)
	if err != nil {
		log.Printf("faults: %v", err)
		os.Exit(2)
	}
	if !res.OK() {
		os.Exit(1)
	}
}

// result holds the figures of one run.
type result struct {
	Sent            int      `json:"sent"`
	Acknowledged    int      `json:"acknowledged"`
	Failed          int      `json:"failed"`
	Stored          int      `json:"stored"`
	StoredNotAcked  int      `json:"stored_not_acked"`
	AckedMissing    int      `json:"acked_missing"`
	DuplicatedDB    int      `json:"duplicated_db"`
	IDMismatch      int      `json:"id_mismatch"`
	Clients         int      `json:"clients"`
	Expected        int      `json:"expected"`
	Delivered       int      `json:"delivered"`
	Lost            int      `json:"lost"`
	Duplicated      int      `json:"duplicated"`
	Redelivered     int      `json:"redelivered"`
	OrderViolations int      `json:"order_violations"`
	Unexpected      int      `json:"unexpected"`
	Reloads         int      `json:"reloads"`
	Disconnects     int      `json:"disconnects"`
	ResumeP50ms     float64  `json:"resume_p50_ms"`
	ResumeP95ms     float64  `json:"resume_p95_ms"`
	ResumeMaxms     float64  `json:"resume_max_ms"`
	ReconnectP50ms  float64  `json:"reconnect_p50_ms"`
	ReconnectP95ms  float64  `json:"reconnect_p95_ms"`
	ReconnectMaxms  float64  `json:"reconnect_max_ms"`
	PostSeconds     float64  `json:"post_seconds"`
	QuiesceSeconds  float64  `json:"quiesce_seconds"`
	Faults          []string `json:"faults"`
	Pass            bool     `json:"pass"`
}

// OK: nothing acknowledged lost, nothing stored or delivered twice, and every
// stream in commit (stream) order.
func (r result) OK() bool {
	return r.AckedMissing == 0 && r.DuplicatedDB == 0 && r.IDMismatch == 0 && r.Lost == 0 &&
		r.Duplicated == 0 && r.OrderViolations == 0 && r.Unexpected == 0 && r.Reloads == 0
}

func run(ctx context.Context, o options, out io.Writer) (res result, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}

	dir, err := os.MkdirTemp("", "nc-faults-")
	if err != nil {
		return res, err
	}
	keep := o.keep
	defer func() {
		if keep || err != nil || !res.OK() {
			logf("work directory kept: %s (server logs peer-*.log, PostgreSQL log pg/postgres.log)", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	// PostgreSQL runs as the postgres user when we are root: it must reach its directory.
	_ = os.Chmod(dir, 0o755)

	bin := o.serverBin
	if bin == "" {
		bin = filepath.Join(dir, "server")
		logf("building ./cmd/server")
		build := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "./cmd/server")
		build.Dir = moduleRoot(ctx)
		if b, err := build.CombinedOutput(); err != nil {
			return res, fmt.Errorf("go build ./cmd/server: %w\n%s", err, b)
		}
	}

	pgDir := filepath.Join(dir, "pg")
	pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Fsync: true})
	if err != nil {
		return res, err
	}
	var pgMu sync.Mutex
	defer func() {
		pgMu.Lock()
		defer pgMu.Unlock()
		_ = pg.Stop(context.Background())
	}()
	px, err := newProxy(fmt.Sprintf("127.0.0.1:%d", pg.Port()))
	if err != nil {
		return res, err
	}
	defer px.close()
	dbURL := fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=disable&connect_timeout=2", pg.Password(), px.addr)
	logf("PostgreSQL on port %d (fsync on), proxied at %s", pg.Port(), px.addr)

	insts, err := newInstances(3, bin, dir, dbURL)
	if err != nil {
		return res, err
	}
	defer func() {
		var wg sync.WaitGroup
		for _, in := range insts {
			wg.Go(in.stop)
		}
		wg.Wait()
	}()
	for _, in := range insts {
		if err := in.start(); err != nil {
			return res, err
		}
	}
	for _, in := range insts {
		if err := in.waitReady(ctx, 90*time.Second); err != nil {
			return res, err
		}
	}
	logf("three instances ready: %s %s %s", insts[0].httpURL, insts[1].httpURL, insts[2].httpURL)

	clients, err := setup(ctx, o, insts)
	if err != nil {
		return res, err
	}
	logf("%d clients signed up in %d communities", len(clients), o.communities)

	// Streams first, so every share is posted while they follow.
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var streams sync.WaitGroup
	for _, c := range clients {
		streams.Go(func() { c.follow(streamCtx, insts, logf) })
	}
	time.Sleep(2 * time.Second)

	// Posting at the rate, by whichever poster is free.
	posts := make([]post, o.shares)
	jobs := make(chan int, o.shares)
	start := time.Now()
	var posters sync.WaitGroup
	for i := range clients {
		posters.Go(func() {
			for n := range jobs {
				p := &posts[n]
				p.n, p.client, p.token = n, i, randomToken()
				postShare(ctx, clients[i], insts, p)
			}
		})
	}
	faultsDone := make(chan struct{})
	var faultLog []string
	var faultMu sync.Mutex
	noteFault := func(format string, args ...any) {
		msg := fmt.Sprintf("%5.1fs ", time.Since(start).Seconds()) + fmt.Sprintf(format, args...)
		faultMu.Lock()
		faultLog = append(faultLog, msg)
		faultMu.Unlock()
		logf("fault: %s", msg)
	}
	go func() {
		defer close(faultsDone)
		if !o.faults {
			return
		}
		injectFaults(ctx, o, start, insts, px, pg, &pgMu, pgDir, noteFault)
	}()
	interval := time.Duration(float64(time.Second) / o.rate)
	for n := range o.shares {
		if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- n
		if n > 0 && n%200 == 0 {
			logf("posted %d/%d", n, o.shares)
		}
	}
	close(jobs)
	posters.Wait()
	postDur := time.Since(start)
	<-faultsDone
	if ctx.Err() != nil {
		return res, fmt.Errorf("run cut short: %w", ctx.Err())
	}
	logf("all %d posts answered in %.1fs", o.shares, postDur.Seconds())

	// The truth: what PostgreSQL holds (read directly, not through the proxy).
	pgMu.Lock()
	directURL := pg.URL()
	pgMu.Unlock()
	stored, err := storedShares(ctx, directURL)
	if err != nil {
		return res, err
	}
	qStart := time.Now()
	waitQuiet(ctx, o.quiesce, clients, stored, logf)
	qDur := time.Since(qStart)
	stopStreams()
	streams.Wait()

	res = check(o, posts, stored, clients, out)
	res.PostSeconds = round1(postDur.Seconds())
	res.QuiesceSeconds = round1(qDur.Seconds())
	res.Faults = faultLog
	res.Pass = res.OK()
	printReport(out, res)
	if o.jsonOut {
		b, _ := json.Marshal(res)
		fmt.Fprintln(out, string(b))
	}
	return res, nil
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

// moduleRoot is the directory of go.mod, so that the build works from any
// directory of the module (go test runs in cmd/faults).
func moduleRoot(ctx context.Context) string {
	b, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(b)) == "" || strings.TrimSpace(string(b)) == os.DevNull {
		return ""
	}
	return filepath.Dir(strings.TrimSpace(string(b)))
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// setup signs the clients up (spread over the instances) and puts each in one
// community (client i in community i mod communities).
func setup(ctx context.Context, o options, insts []*instance) ([]*client, error) {
	run := randomToken()[:6]
	clients := make([]*client, o.clients)
	errs := make(chan error, o.clients)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range clients {
		c := &client{idx: i, handle: fmt.Sprintf("f%s-%02d", run, i), home: i % len(insts), seenEvent: map[uint64]bool{}}
		c.community = fmt.Sprintf("faults-%s-%d", run, i%o.communities)
		clients[i] = c
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			base := insts[i%len(insts)].httpURL
			st, b, err := apiDo(ctx, "POST", base+"/api/v1/signup", "", map[string]string{
				"email": c.handle + "@example.test", "password": password, "handle": c.handle, "display_name": "Fault " + c.handle,
			})
			if err != nil || st != 201 {
				errs <- fmt.Errorf("signup %s: %d %s %v", c.handle, st, b, err)
				return
			}
			var r struct {
				Token string `json:"token"`
			}
			if json.Unmarshal(b, &r) != nil || r.Token == "" {
				errs <- fmt.Errorf("signup %s: no token in %s", c.handle, b)
				return
			}
			c.token = r.Token
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	for k := range o.communities {
		c := clients[k]
		st, b, err := apiDo(ctx, "POST", insts[k%len(insts)].httpURL+"/api/v1/communities", c.token,
			map[string]any{"name": "Faults " + c.community, "slug": c.community, "purpose": "fault test", "open": true})
		if err != nil || st != 201 {
			return nil, fmt.Errorf("create community %s: %d %s %v", c.community, st, b, err)
		}
	}
	for i := o.communities; i < len(clients); i++ {
		c := clients[i]
		st, b, err := apiDo(ctx, "POST", insts[i%len(insts)].httpURL+"/api/v1/communities/"+c.community+"/join", c.token, nil)
		if err != nil || st != 200 {
			return nil, fmt.Errorf("join %s: %d %s %v", c.community, st, b, err)
		}
	}
	return clients, nil
}

// injectFaults kills one instance (its embedded NATS node goes with it) and
// brings it back, then cuts the database link and restarts PostgreSQL behind it.
func injectFaults(ctx context.Context, o options, start time.Time, insts []*instance, px *proxy,
	pg *pgcluster.Cluster, pgMu *sync.Mutex, pgDir string, note func(string, ...any)) {
	sleepUntil := func(at time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(start.Add(at))):
			return true
		}
	}
	v := o.victim - 1
	if v < 0 || v >= len(insts) {
		v = mrand.IntN(len(insts))
	}
	victim := insts[v]
	if !sleepUntil(o.killAt) {
		return
	}
	note("SIGKILL %s (and its embedded NATS node)", victim.name)
	victim.kill()
	if !sleepUntil(o.killAt + o.killDown) {
		return
	}
	note("restart %s", victim.name)
	if err := victim.start(); err != nil {
		note("restart %s failed: %v", victim.name, err)
	} else {
		t := time.Now()
		// Mark it down for the clients until it is ready again.
		victim.mu.Lock()
		victim.up = false
		victim.mu.Unlock()
		if err := victim.waitReady(ctx, 60*time.Second); err != nil {
			note("%v", err)
		} else {
			victim.mu.Lock()
			victim.up = true
			victim.mu.Unlock()
			note("%s ready again %.1fs after restart", victim.name, time.Since(t).Seconds())
		}
	}
	if !sleepUntil(o.cutAt) {
		return
	}
	note("cut the PostgreSQL link")
	px.cut()
	cutAt := time.Now()
	if o.pgRestart {
		pgMu.Lock()
		err := pg.Stop(ctx)
		if err == nil {
			var npg *pgcluster.Cluster
			npg, err = pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Fsync: true})
			if err == nil {
				*pg = *npg
				px.setTarget(fmt.Sprintf("127.0.0.1:%d", pg.Port()))
			}
		}
		pgMu.Unlock()
		if err != nil {
			note("PostgreSQL restart failed: %v", err)
		} else {
			note("PostgreSQL stopped and started again (now port %d)", pg.Port())
		}
	}
	if d := o.cutFor - time.Since(cutAt); d > 0 {
		time.Sleep(d)
	}
	if err := px.restore(); err != nil {
		note("%v", err)
		return
	}
	note("restored the PostgreSQL link after %.1fs", time.Since(cutAt).Seconds())
}

// storedShare is one share of the run as PostgreSQL holds it.
type storedShare struct {
	id        int64
	token     string
	community string
}

func storedShares(ctx context.Context, url string) ([]storedShare, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL for the check: %w", err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(ctx, `SELECT s.id, substr(s.body, 12), c.slug FROM shares s JOIN communities c ON c.id = s.community_id
		WHERE s.body LIKE 'fault-test %' ORDER BY s.id`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedShare, error) {
		var s storedShare
		err := r.Scan(&s.id, &s.token, &s.community)
		return s, err
	})
}

// waitQuiet waits until every client has every stored share of its community,
// or nothing new arrived for 10 s, or limit passes.
func waitQuiet(ctx context.Context, limit time.Duration, clients []*client, stored []storedShare, logf func(string, ...any)) {
	want := map[string]int{}
	for _, s := range stored {
		want[s.community]++
	}
	deadline := time.Now().Add(limit)
	last := time.Now()
	lastTotal := -1
	for time.Now().Before(deadline) && ctx.Err() == nil {
		done, total := 0, 0
		for _, c := range clients {
			c.mu.Lock()
			n := len(c.deliveries)
			c.mu.Unlock()
			total += n
			if n >= want[c.community] {
				done++
			}
		}
		if done == len(clients) {
			logf("all %d streams caught up", len(clients))
			return
		}
		if total != lastTotal {
			lastTotal, last = total, time.Now()
		} else if time.Since(last) > 10*time.Second {
			logf("no new deliveries for 10s; %d/%d streams caught up", done, len(clients))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	logf("quiescence limit reached")
}

// clientRow is one stream's figures.
type clientRow struct {
	client                                                   *client
	expected, delivered, lost, dup, order, unexpected, redel int
}

func check(o options, posts []post, stored []storedShare, clients []*client, out io.Writer) result {
	var r result
	byToken := map[string][]storedShare{}
	for _, s := range stored {
		byToken[s.token] = append(byToken[s.token], s)
	}
	r.Stored = len(stored)
	for _, p := range posts {
		if p.token == "" {
			continue
		}
		r.Sent++
		rows := byToken[p.token]
		if p.acked() {
			r.Acknowledged++
			if len(rows) == 0 {
				r.AckedMissing++
				fmt.Fprintf(out, "LOST: post %d token %s acknowledged %d by %s as share %d, not in PostgreSQL\n", p.n, p.token, p.status, p.instance, p.shareID)
			} else if rows[0].id != p.shareID {
				r.IDMismatch++
				fmt.Fprintf(out, "ID MISMATCH: post %d token %s acknowledged as share %d, stored as %d\n", p.n, p.token, p.shareID, rows[0].id)
			}
		} else {
			r.Failed++
			if len(rows) > 0 {
				r.StoredNotAcked++
			}
		}
		if len(rows) > 1 {
			r.DuplicatedDB++
			fmt.Fprintf(out, "DUPLICATE in PostgreSQL: token %s stored %d times\n", p.token, len(rows))
		}
	}
	failures := map[string]int{}
	for _, p := range posts {
		if p.token != "" && !p.acked() {
			key := fmt.Sprintf("%s %d %s", p.instance, p.status, truncate(p.err, 90))
			failures[key]++
		}
	}
	if len(failures) > 0 {
		fmt.Fprintln(out, "failed posts (instance, status, error): count")
		keys := make([]string, 0, len(failures))
		for k := range failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(out, "  %s: %d\n", k, failures[k])
		}
	}

	// Every stored share (acknowledged or not) of a client's community is owed
	// to that client: all joined before the first post.
	byCommunity := map[string]map[int64]bool{}
	for _, s := range stored {
		if byCommunity[s.community] == nil {
			byCommunity[s.community] = map[int64]bool{}
		}
		byCommunity[s.community][s.id] = true
	}
	var resume, reconnect []time.Duration
	var rows []clientRow
	for _, c := range clients {
		c.mu.Lock()
		row := clientRow{client: c, redel: c.redelivered, order: c.orderViol}
		exp := byCommunity[c.community]
		row.expected = len(exp)
		seen := map[int64]uint64{}
		for _, d := range c.deliveries {
			if !strings.HasPrefix(d.body, "fault-test ") {
				continue
			}
			if d.community != c.community || !exp[d.shareID] {
				row.unexpected++
				fmt.Fprintf(out, "UNEXPECTED: %s got share %d of %q (event %d via %s)\n", c.handle, d.shareID, d.community, d.eventID, d.instance)
				continue
			}
			if first, ok := seen[d.shareID]; ok {
				row.dup++
				fmt.Fprintf(out, "DUPLICATE delivery: %s got share %d as event %d and event %d (second via %s)\n", c.handle, d.shareID, first, d.eventID, d.instance)
				continue
			}
			seen[d.shareID] = d.eventID
			row.delivered++
		}
		var missing []int64
		for id := range exp {
			if _, ok := seen[id]; !ok {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		row.lost = len(missing)
		if len(missing) > 0 {
			fmt.Fprintf(out, "LOST delivery: %s (%s) missed %d shares, e.g. %v; connections %v, last event id %d\n",
				c.handle, c.community, len(missing), missing[:min(len(missing), 10)], c.connLog, c.lastID)
		}
		r.Reloads += c.reloads
		r.Disconnects += c.disconnects
		resume = append(resume, c.resume...)
		reconnect = append(reconnect, c.reconnect...)
		c.mu.Unlock()
		rows = append(rows, row)
		r.Clients++
		r.Expected += row.expected
		r.Delivered += row.delivered
		r.Lost += row.lost
		r.Duplicated += row.dup
		r.Redelivered += row.redel
		r.OrderViolations += row.order
		r.Unexpected += row.unexpected
	}
	// The slowest resumes, told step by step: where a client went and how long each step took.
	slow := slices.Clone(clients)
	slices.SortFunc(slow, func(a, b *client) int { return int(maxDur(b.resume) - maxDur(a.resume)) })
	for _, c := range slow[:min(3, len(slow))] {
		if maxDur(c.resume) < 5*time.Second {
			break
		}
		fmt.Fprintf(out, "slow resume: %s (home %s, resumes %d, longest %s)\n%s\n", c.handle, fmt.Sprintf("peer-%d", c.home+1),
			len(c.resume), maxDur(c.resume).Round(time.Millisecond), strings.Join(c.resumeLog, "\n"))
	}
	r.ResumeP50ms, r.ResumeP95ms, r.ResumeMaxms = percentiles(resume)
	r.ReconnectP50ms, r.ReconnectP95ms, r.ReconnectMaxms = percentiles(reconnect)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\tcommunity\texpected\tdelivered\tlost\tduplicated\tredelivered\torder viol.\tunexpected\treloads\tconnects\t")
	printed := 0
	for _, row := range rows {
		c := row.client
		bad := row.lost+row.dup+row.order+row.unexpected+c.reloads > 0
		if !o.verbose && !bad {
			continue
		}
		printed++
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.handle, c.community, row.expected, row.delivered,
			row.lost, row.dup, row.redel, row.order, row.unexpected, c.reloads, c.connects)
	}
	if printed > 0 {
		_ = tw.Flush()
	} else {
		fmt.Fprintf(out, "every one of the %d streams: lost 0, duplicated 0, order violations 0, unexpected 0, reloads 0\n", len(rows))
	}
	return r
}

func printReport(out io.Writer, r result) {
	fmt.Fprintln(out, "faults injected:")
	for _, f := range r.Faults {
		fmt.Fprintf(out, "  %s\n", f)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k string, v any, note string) { fmt.Fprintf(tw, "  %s\t%v\t%s\n", k, v, note) }
	fmt.Fprintln(tw, "posts")
	row("sent", r.Sent, fmt.Sprintf("in %.1fs", r.PostSeconds))
	row("acknowledged (2xx)", r.Acknowledged, "")
	row("failed (not 2xx / transport)", r.Failed, "")
	row("stored in PostgreSQL", r.Stored, "")
	row("stored, not acknowledged", r.StoredNotAcked, "allowed")
	row("acknowledged, missing (LOST)", r.AckedMissing, "must be 0")
	row("duplicated in PostgreSQL", r.DuplicatedDB, "must be 0")
	row("acknowledged id != stored id", r.IDMismatch, "must be 0")
	fmt.Fprintf(tw, "SSE streams (%d clients)\n", r.Clients)
	row("expected deliveries", r.Expected, "")
	row("delivered", r.Delivered, "")
	row("lost", r.Lost, "must be 0")
	row("duplicated (one share, two events)", r.Duplicated, "must be 0")
	row("redelivered event ids (de-duplicated)", r.Redelivered, "")
	row("order violations", r.OrderViolations, "must be 0")
	row("unexpected (not entitled)", r.Unexpected, "must be 0")
	row("reload events", r.Reloads, "must be 0")
	row("disconnects", r.Disconnects, "")
	row("resume latency p50/p95/max", fmt.Sprintf("%.0f/%.0f/%.0f ms", r.ResumeP50ms, r.ResumeP95ms, r.ResumeMaxms), "disconnect to first event after")
	row("reconnect p50/p95/max", fmt.Sprintf("%.0f/%.0f/%.0f ms", r.ReconnectP50ms, r.ReconnectP95ms, r.ReconnectMaxms), "disconnect to stream open")
	row("quiescence", fmt.Sprintf("%.1fs", r.QuiesceSeconds), "")
	_ = tw.Flush()
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintln(out, "result:", verdict)
}

func percentiles(ds []time.Duration) (p50, p95, max float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		i := int(q * float64(len(ds)-1))
		return float64(ds[i].Milliseconds())
	}
	return at(0.5), at(0.95), float64(ds[len(ds)-1].Milliseconds())
}

func maxDur(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
