// Command server runs one Node Community instance. Any number of them, started
// with the same DATABASE_URL and routed NATS nodes, form one cluster of equal peers.
//
// Usage:
//
//	server                     serve (configured by environment variables; see README)
//	server migrate up          apply pending migrations
//	server migrate down [N|all] revert N migrations (default 1)
//	server migrate status      show the schema version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

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

var errUsage = errors.New("usage: server [migrate up|down [N|all]|status]")

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
