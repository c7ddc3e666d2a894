package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/config"
	"github.com/nodecommunity/nodecommunity/internal/db"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func readyStatus(t *testing.T, base string) int {
	t.Helper()
	var body map[string]any
	return getJSON(t, base+"/readyz", &body)
}

func TestReadyzFollowsPostgres(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	in := startInstance(t, map[string]string{"DATABASE_URL": u.String(), "INSTANCE_NAME": "ready-test"})
	waitReady(t, in.url) // the event stream is created just after start

	proxy.Cut()
	waitFor(t, 10*time.Second, "/readyz to turn 503 with PostgreSQL cut off", func() bool {
		return readyStatus(t, in.url) == http.StatusServiceUnavailable
	})
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	getJSON(t, in.url+"/readyz", &body)
	if body.Checks["postgres"] != "unavailable" || body.Checks["nats"] != "ok" {
		t.Errorf("checks = %v, want postgres unavailable and nats ok", body.Checks)
	}
	if resp, err := http.Get(in.url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz must stay 200 while only PostgreSQL is down: %v %v", resp, err)
	}
	proxy.Restore()
	waitFor(t, 10*time.Second, "/readyz to return to 200 with PostgreSQL back", func() bool {
		return readyStatus(t, in.url) == http.StatusOK
	})
}

func TestGracefulShutdown(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "drain-test"})

	resp, err := http.Get(in.url + "/cluster/live")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("Content-Type = %q, want text/event-stream; charset=utf-8", ct)
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			events <- sc.Text()
		}
		close(events)
	}()
	// The first event carries the table, with this stream counted as a client.
	waitFor(t, 5*time.Second, "the first members event", func() bool {
		for {
			select {
			case line := <-events:
				if strings.HasPrefix(line, "event: members") {
					return true
				}
			default:
				return false
			}
		}
	})
	var c clusterJSON
	getJSON(t, in.url+"/api/v1/cluster", &c)
	if len(c.Instances) != 1 || c.Instances[0].Clients == nil || *c.Instances[0].Clients != 1 {
		t.Errorf("cluster = %+v, want one instance with 1 live client", c.Instances)
	}

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()

	var sawRetry, sawReconnect bool
	for line := range events { // ends when the server closes the stream
		sawRetry = sawRetry || strings.HasPrefix(line, "retry: ")
		sawReconnect = sawReconnect || line == "event: reconnect"
	}
	if !sawRetry || !sawReconnect {
		t.Errorf("stream closed without retry (%v) and reconnect event (%v)", sawRetry, sawReconnect)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stream closed %s after the stop signal, want within 1s or so", took)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run returned %v after a graceful stop, want nil", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown took %s, want under 10s", took)
	}
	if _, err := http.Get(in.url + "/healthz"); err == nil {
		t.Error("the instance still answers after stopping")
	}
}

func TestMigrateCommand(t *testing.T) {
	dbURL := testenv.EmptyDatabaseURL(t)
	env := func(k string) string {
		return map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": t.TempDir()}[k]
	}
	migrate := func(args ...string) (string, error) {
		var out, logs bytes.Buffer
		err := run(context.Background(), append([]string{"migrate"}, args...), env, &out, &logs)
		return strings.TrimSpace(out.String()), err
	}
	// Every migration is undone one step at a time, whatever their number.
	latest, err := db.Latest()
	if err != nil {
		t.Fatal(err)
	}
	version := func(v uint) string { return fmt.Sprintf("schema version %d of %d", v, latest) }
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"status"}, version(0)},
		{[]string{"up"}, version(latest)},
	}
	for v := latest; v > 0; v-- {
		steps = append(steps, struct {
			args []string
			want string
		}{[]string{"down"}, version(v - 1)})
	}
	steps = append(steps, []struct {
		args []string
		want string
	}{
		{[]string{"up"}, version(latest)},
		{[]string{"down", "all"}, version(0)},
		{[]string{"up"}, version(latest)},
	}...)
	for _, s := range steps {
		got, err := migrate(s.args...)
		if err != nil || got != s.want {
			t.Fatalf("migrate %v = %q, %v; want %q", s.args, got, err, s.want)
		}
	}
	for _, bad := range [][]string{{}, {"sideways"}, {"down", "-1"}, {"down", "x"}, {"up", "2"}} {
		if _, err := migrate(bad...); !errors.Is(err, errUsage) {
			t.Errorf("migrate %v: err = %v, want the usage error", bad, err)
		}
	}
}

func TestBadConfigStopsStartup(t *testing.T) {
	var out, logs bytes.Buffer
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"HTTP_ADDR": "nope"}[k]
	}, &out, &logs)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Name != "HTTP_ADDR" {
		t.Fatalf("run with a bad HTTP_ADDR = %v, want a config error naming HTTP_ADDR", err)
	}
}

func TestUnreachableDatabaseNamesHost(t *testing.T) {
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, nil, func(k string) string {
		return map[string]string{
			"DATABASE_URL": "postgres://nc:secret@127.0.0.1:1/nc?connect_timeout=1",
			"HTTP_ADDR":    "127.0.0.1:0",
			"DATA_DIR":     t.TempDir(),
		}[k]
	}, &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v, want one naming 127.0.0.1:1 without the password", err)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "probe-test"})
	waitReady(t, in.url)
	addr := strings.TrimPrefix(in.url, "http://")
	probe := func(httpAddr string) error {
		var out, logs bytes.Buffer
		return run(context.Background(), []string{"healthcheck"}, func(k string) string {
			return map[string]string{"HTTP_ADDR": httpAddr}[k]
		}, &out, &logs)
	}
	if err := probe(addr); err != nil {
		t.Errorf("healthcheck against a ready instance: %v", err)
	}
	if err := probe("127.0.0.1:1"); err == nil {
		t.Error("healthcheck against a closed port succeeded")
	}
}
