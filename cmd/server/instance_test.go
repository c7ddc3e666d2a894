package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// instance is one server started in-process through run, as main would.
type instance struct {
	t      *testing.T
	name   string
	url    string // http://host:port
	cancel context.CancelFunc
	done   chan error
	logs   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingLine = regexp.MustCompile(`is serving (http://\S+)`)

// startInstance runs the server with env (plus test defaults) and waits until it
// prints the address it serves.
func startInstance(t *testing.T, env map[string]string) *instance {
	t.Helper()
	full := map[string]string{
		"HTTP_ADDR":      "127.0.0.1:0",
		"DATA_DIR":       t.TempDir(),
		"LOG_LEVEL":      "debug",
		"PEER_HEARTBEAT": "200ms",
		"PEER_TTL":       "1s",
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	in := &instance{t: t, name: full["INSTANCE_NAME"], cancel: cancel, done: make(chan error, 1), logs: &lockedBuffer{}}
	go func() {
		err := run(ctx, nil, func(k string) string { return full[k] }, pw, in.logs)
		pw.Close()
		in.done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case in.url = <-urls:
	case err := <-in.done:
		t.Fatalf("instance %s stopped before serving: %v\n%s", in.name, err, in.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("instance %s did not start in 60s\n%s", in.name, in.logs)
	}
	t.Cleanup(func() { in.stop() })
	return in
}

// stop cancels the instance (as SIGTERM would) and waits for run to return.
func (in *instance) stop() error {
	in.t.Helper()
	if in.cancel == nil {
		return nil
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		return err
	case <-time.After(15 * time.Second):
		in.t.Errorf("instance %s did not stop within 15s", in.name)
		return nil
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// clusterEnvs returns the environments of n instances whose embedded NATS nodes
// route to each other, sharing one database.
func clusterEnvs(t *testing.T, n int, dbURL string) []map[string]string {
	t.Helper()
	ports := make([]int, n)
	peers := make([]string, n)
	for i := range ports {
		ports[i] = freePort(t)
		peers[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
	}
	envs := make([]map[string]string, n)
	for i := range envs {
		envs[i] = map[string]string{
			"DATABASE_URL":        dbURL,
			"INSTANCE_NAME":       fmt.Sprintf("peer-%d", i+1),
			"NATS_CLUSTER_LISTEN": fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"NATS_CLUSTER_PEERS":  strings.Join(peers, ","),
		}
	}
	return envs
}

type clusterJSON struct {
	Instances []struct {
		Name      string    `json:"name"`
		HTTPAddr  string    `json:"http_addr"`
		StartedAt time.Time `json:"started_at"`
		LastSeen  time.Time `json:"last_seen"`
		Clients   *int      `json:"clients"`
	} `json:"instances"`
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return resp.StatusCode
}

func clusterNames(t *testing.T, baseURL string) []string {
	t.Helper()
	var c clusterJSON
	if code := getJSON(t, baseURL+"/api/v1/cluster", &c); code != http.StatusOK {
		t.Fatalf("GET /api/v1/cluster = %d", code)
	}
	var names []string
	for _, i := range c.Instances {
		names = append(names, i.Name)
	}
	sort.Strings(names)
	return names
}

// waitFor polls cond every 50ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", limit, what)
}

func waitClusterNames(t *testing.T, baseURL string, want []string, limit time.Duration) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if got = clusterNames(t, baseURL); slices.Equal(got, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/api/v1/cluster lists %v, want %v within %s", baseURL, got, want, limit)
}
