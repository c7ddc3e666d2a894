// Command server runs one Node Community instance. Any number of them, started
// with the same DATABASE_URL and routed NATS nodes, form one cluster of equal peers.
//
// Usage:
//
//	server                     serve (configured by environment variables; see README)
//	server migrate up          apply pending migrations
//	server migrate down [N|all] revert N migrations (default 1)
//	server migrate status      show the schema version
//	server import --nodes people.csv [--edges edges.txt]  import people and ties
//	server grant --handle H --capability people_analyst|steward [--revoke]
//	server healthcheck         exit 0 when the instance at HTTP_ADDR is ready (for container probes)
//	server sbom                print a CycloneDX 1.5 SBOM of this binary (Go modules and vendored htmx)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var cerr *config.Error
		if errors.As(err, &cerr) || errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: server [migrate up|down [N|all]|status | import --nodes FILE [--edges FILE] | grant --handle H --capability C | healthcheck | sbom]")

// run is the whole program, so tests can start real instances in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	switch {
	case len(args) == 0 || args[0] == "serve":
		return serve(ctx, cfg, logger, stdout)
	case args[0] == "migrate":
		return migrateCmd(ctx, cfg, logger, args[1:], stdout)
	case args[0] == "import":
		return importCmd(ctx, cfg, logger, args[1:], stdout)
	case args[0] == "grant":
		return grantCmd(ctx, cfg, logger, args[1:], stdout)
	case args[0] == "healthcheck" && len(args) == 1:
		return healthcheck(ctx, cfg, stdout)
	case args[0] == "sbom":
		return sbomCmd(args[1:], stdout)
	default:
		return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("instance", cfg.InstanceName)
}

// healthcheck asks the instance listening on HTTP_ADDR whether it is ready, for
// container probes in images with no shell or curl.
func healthcheck(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	host, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /readyz answered %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
