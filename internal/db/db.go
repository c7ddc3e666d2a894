// Package db opens the PostgreSQL pool and applies the embedded migrations.
//
// PostgreSQL is the system of record; every instance opens its own pool against
// the same database and any of them may migrate it (golang-migrate holds an
// advisory lock, so concurrent starts are safe).
package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/nodecommunity/nodecommunity/migrations"
)

// ConnectTimeout bounds every new connection when the URL does not set one.
const ConnectTimeout = 5 * time.Second

// Open connects a pool and pings it. The error names the host and database of
// the URL (never its password), so a wrong DATABASE_URL is easy to spot.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("postgres: DATABASE_URL is not a valid connection URL")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	// A statement that runs longer than this is a bug or a sick database; fail it.
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = "30000"
	}
	// Every query here reads a few rows by index. Once the tables are large,
	// the planner's estimates for the feed's generic plan pass the JIT
	// threshold, and compiling it took 20–90 ms of a query that runs in
	// 0.25 ms (2.6 million shares): JIT pays off only for long analytical
	// queries, which the service does not run.
	if _, ok := cfg.ConnConfig.RuntimeParams["jit"]; !ok {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	// The default cost of a random page read (4, for spinning disks) made
	// the feed's generic plan read a whole community's shares and sort them
	// (bitmap scan: 16.7 ms at 150,000 shares) rather than walk its index for
	// the newest 50 (1.4 ms): on SSDs and a database that fits the page cache,
	// a random read costs about as much as a sequential one.
	if _, ok := cfg.ConnConfig.RuntimeParams["random_page_cost"]; !ok {
		cfg.ConnConfig.RuntimeParams["random_page_cost"] = "1.1"
	}
	where := fmt.Sprintf("%s:%d (database %q)", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: cannot connect to %s: %w", where, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot connect to %s: %w", where, err)
	}
	return pool, nil
}

// Migrator applies the embedded migrations through an open pool.
type Migrator struct{ m *migrate.Migrate }

// NewMigrator prepares golang-migrate over the pool (pgx v5 driver, embedded files).
// Close it when done; the pool stays open.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	drv, err := pgxmigrate.WithInstance(sqlDB, &pgxmigrate.Config{StatementTimeout: time.Minute})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{m: m}, nil
}

// Up applies every pending migration; nothing to do is not an error.
func (g *Migrator) Up() error {
	if err := g.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrations up: %w", err)
	}
	return nil
}

// Down reverts n migrations (n <= 0: all of them).
func (g *Migrator) Down(n int) error {
	var err error
	if n <= 0 {
		err = g.m.Down()
	} else {
		err = g.m.Steps(-n)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) && !errors.Is(err, migrate.ErrNilVersion) {
		return fmt.Errorf("migrations down: %w", err)
	}
	return nil
}

// Status is the schema version in the database and the newest one embedded.
type Status struct {
	Version uint // 0: no migration applied
	Dirty   bool // a migration failed half-way; fix by hand, then force
	Latest  uint
}

// Status reports where the database stands.
func (g *Migrator) Status() (Status, error) {
	var s Status
	v, dirty, err := g.m.Version()
	if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
		return s, fmt.Errorf("migrations status: %w", err)
	}
	s.Version, s.Dirty = v, dirty
	s.Latest, err = Latest()
	return s, err
}

// Latest is the newest migration version embedded in the binary.
func Latest() (uint, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	defer src.Close()
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	for {
		next, err := src.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}

// Close releases the migrator's database handle.
func (g *Migrator) Close() error {
	_, dbErr := g.m.Close()
	return dbErr
}

// MigrateUp is the start-up path: apply everything pending.
func MigrateUp(pool *pgxpool.Pool) error {
	g, err := NewMigrator(pool)
	if err != nil {
		return err
	}
	defer g.Close()
	return g.Up()
}
