package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/config"
	"github.com/nodecommunity/nodecommunity/internal/db"
	"github.com/nodecommunity/nodecommunity/internal/pgcluster"
)

// privateDatabase is the database created in the private cluster.
const privateDatabase = "nodecommunity"

// openDatabase connects to DATABASE_URL or, when it is unset, starts (or reuses)
// the private PostgreSQL under DATA_DIR. The returned stop func closes the pool
// and stops a private cluster.
func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*pgxpool.Pool, func(), error) {
	url := cfg.DatabaseURL
	var cluster *pgcluster.Cluster
	if url == "" {
		var err error
		cluster, err = pgcluster.Start(ctx, pgcluster.Options{
			Dir:   filepath.Join(cfg.DataDir, "postgres"),
			Fsync: true,
			Log:   func(msg string, args ...any) { log.Info(msg, args...) },
		})
		if err != nil {
			return nil, nil, fmt.Errorf("no DATABASE_URL, and the private PostgreSQL could not start: %w", err)
		}
		if err := ensureDatabase(ctx, cluster.URL(), privateDatabase); err != nil {
			stopCluster(cluster, log)
			return nil, nil, err
		}
		url = cluster.DatabaseURL(privateDatabase)
	}
	pool, err := db.Open(ctx, url)
	if err != nil {
		if cluster != nil {
			stopCluster(cluster, log)
		}
		return nil, nil, err
	}
	stop := func() {
		pool.Close()
		if cluster != nil {
			stopCluster(cluster, log)
		}
	}
	return pool, stop, nil
}

func stopCluster(c *pgcluster.Cluster, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		log.Error("stop private PostgreSQL", "err", err)
	}
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("private PostgreSQL: create database: %w", err)
		}
	}
	return nil
}

// migrateCmd is `server migrate up|down [N|all]|status`.
func migrateCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out interface{ Write([]byte) (int, error) }) error {
	if len(args) == 0 {
		return errUsage
	}
	steps := 1
	switch args[0] {
	case "up", "status":
		if len(args) > 1 {
			return errUsage
		}
	case "down":
		if len(args) > 2 {
			return errUsage
		}
		if len(args) == 2 {
			if strings.EqualFold(args[1], "all") {
				steps = 0
			} else if n, err := strconv.Atoi(args[1]); err == nil && n > 0 {
				steps = n
			} else {
				return fmt.Errorf("migrate down: %q is not a positive number or \"all\": %w", args[1], errUsage)
			}
		}
	default:
		return errUsage
	}
	pool, stop, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "up":
		err = m.Up()
	case "down":
		err = m.Down(steps)
	}
	if err != nil {
		return err
	}
	st, err := m.Status()
	if err != nil {
		return err
	}
	dirty := ""
	if st.Dirty {
		dirty = " (dirty: a migration failed half-way; repair the schema by hand)"
	}
	fmt.Fprintf(out, "schema version %d of %d%s\n", st.Version, st.Latest, dirty)
	return nil
}
