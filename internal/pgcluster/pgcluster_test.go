package pgcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartReuseStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pg")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect with the generated password: %v", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	var buffers string
	if err := conn.QueryRow(ctx, `SHOW shared_buffers`).Scan(&buffers); err != nil {
		t.Fatal(err)
	}
	if want := sharedBuffersMB(memTotalKB()); buffers != fmt.Sprintf("%dMB", want) && buffers != fmt.Sprintf("%dGB", want/1024) {
		t.Errorf("shared_buffers = %s, want %d MB", buffers, want)
	}
	conn.Close(ctx)
	firstPassword := c.Password()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, c.URL()); err == nil {
		t.Fatal("still accepting connections after Stop")
	}

	t.Run("a second start reuses the cluster and its data", func(t *testing.T) {
		c2, err := Start(ctx, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Stop(ctx)
		if c2.Password() != firstPassword {
			t.Error("the password changed between runs")
		}
		conn, err := pgx.Connect(ctx, c2.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var v int
		if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
			t.Errorf("kept row = %d, %v; want 42", v, err)
		}
	})

	t.Run("wrong password is refused", func(t *testing.T) {
		c3, err := Start(ctx, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer c3.Stop(ctx)
		bad := *c3
		bad.password = "wrong"
		if conn, err := pgx.Connect(ctx, bad.URL()); err == nil {
			conn.Close(ctx)
			t.Error("connected with a wrong password: the cluster must not trust loopback")
		}
	})
}

func TestNoBinariesSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianRoot
	debianRoot = t.TempDir()
	defer func() { debianRoot = old }()
	_, err := Start(context.Background(), Options{Dir: t.TempDir()})
	if err != ErrNoBinaries {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
}

func TestErrNoBinariesNamesThePackage(t *testing.T) {
	for _, want := range []string{"apt-get install postgresql", "DATABASE_URL"} {
		if !strings.Contains(ErrNoBinaries.Error(), want) {
			t.Errorf("message %q should mention %q", ErrNoBinaries, want)
		}
	}
}

func TestFindsVersionedBinariesOffPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianRoot
	debianRoot = t.TempDir()
	defer func() { debianRoot = old }()
	for _, v := range []string{"9.6", "15", "13"} {
		bin := filepath.Join(debianRoot, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"pg_ctl", "initdb"} {
			if err := os.WriteFile(filepath.Join(bin, tool), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := findBinaries()
	if want := filepath.Join(debianRoot, "15", "bin"); err != nil || got != want {
		t.Errorf("findBinaries = %q, %v; want the newest version %q", got, err, want)
	}
}

func TestRelativeDirectory(t *testing.T) {
	// devdb is given a relative -dir (make cluster): the socket and lock files
	// must still land in the right place.
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: "rel/pg"})
	if err != nil {
		t.Fatalf("start with a relative directory: %v", err)
	}
	defer c.Stop(ctx)
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
}

func TestSharedBuffersFollowMemory(t *testing.T) {
	for _, c := range []struct{ memKB, want int64 }{
		{0, 128},                // unknown: PostgreSQL's default
		{2 << 20, 256},          // 2 GB: an eighth
		{512 << 10, 128},        // 512 MB: never below the default
		{24 << 20, 1024},        // 24 GB: at most 1 GB
		{(8 << 20) + 123, 1024}, // 8 GB: exactly the cap
	} {
		if got := sharedBuffersMB(c.memKB); got != c.want {
			t.Errorf("sharedBuffersMB(%d kB) = %d MB, want %d", c.memKB, got, c.want)
		}
	}
	if memTotalKB() <= 0 {
		t.Error("memTotalKB read nothing from /proc/meminfo")
	}
}
