// Package testenv gives tests real dependencies: a fresh PostgreSQL database per
// test, cloned from a migrated template (pgtestdb), and a TCP proxy to cut and
// restore the way to it.
//
// The PostgreSQL server is TEST_DATABASE_URL (or DATABASE_URL) when set, as
// `make test` does; otherwise Main starts a private cluster for the package's
// test process. A test that needs PostgreSQL fails, never skips, when none can be had.
package testenv

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"github.com/nodecommunity/nodecommunity/internal/db"
	"github.com/nodecommunity/nodecommunity/internal/pgcluster"
	"github.com/nodecommunity/nodecommunity/migrations"
)

var serverURL string // the PostgreSQL server tests clone their databases in

// Main runs a package's tests with a PostgreSQL server, starting a private one
// (fsync off) when the environment names none. Call it from TestMain.
func Main(m *testing.M) {
	serverURL = os.Getenv("TEST_DATABASE_URL")
	if serverURL == "" {
		serverURL = os.Getenv("DATABASE_URL")
	}
	if serverURL != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nc-testpg-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: no TEST_DATABASE_URL and no private PostgreSQL:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	serverURL = c.URL()
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	_ = c.Stop(ctx)
	cancel()
	os.RemoveAll(dir)
	os.Exit(code)
}

// DatabaseURL creates a fresh, migrated database for this test and returns its
// URL; the database is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	if serverURL == "" {
		t.Fatal("testenv: no PostgreSQL server; call testenv.Main from TestMain")
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("testenv: bad server URL: %v", err)
	}
	pw, _ := u.User.Password()
	conf := pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      u.Hostname(),
		Port:                      u.Port(),
		User:                      u.User.Username(),
		Password:                  pw,
		Database:                  strings.TrimPrefix(u.Path, "/"),
		Options:                   "sslmode=disable",
		ForceTerminateConnections: true,
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// EmptyDatabaseURL is like DatabaseURL, with no migration applied.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	u := DatabaseURL(t) // a fresh database; the migrations are then reverted
	pool := Pool(t, u)
	m, err := db.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Down(0); err != nil {
		t.Fatal(err)
	}
	return u
}

// Pool opens a pool on url, closed when the test ends.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// migrator applies the embedded migrations to pgtestdb's template database.
type migrator struct{}

func (migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	pool, err := db.Open(ctx, conf.URL())
	if err != nil {
		return err
	}
	defer pool.Close()
	return db.MigrateUp(pool)
}
