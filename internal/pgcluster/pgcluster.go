// Package pgcluster runs a private PostgreSQL cluster from the machine's server
// binaries, so that `make run` and `make test` need no database set up by hand.
//
// The cluster lives in one directory, is created on first use and reused after,
// listens only on 127.0.0.1 with a password kept in that directory, and is stopped
// by Stop. PostgreSQL refuses to run as root, so when this process is root the
// server tools run as the "postgres" system user (Debian's package creates it).
package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoBinaries means no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin: install them with `apt-get install postgresql` (Debian package postgresql), or set DATABASE_URL")

// Options configure a private cluster.
type Options struct {
	Dir   string // data directory; created when missing
	Fsync bool   // false trades durability for speed (tests)
	Log   func(msg string, args ...any)
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dir, bin, runAs string
	port            int
	password        string
	log             func(string, ...any)
}

// Start creates the cluster if needed, starts it on a free loopback port and waits
// until it accepts connections. A cluster left running by a crashed process is
// stopped and started again so that its settings are the ones asked for.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	// The server runs in its data directory: every path it is given must be absolute.
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{dir: o.Dir, bin: bin, log: o.Log}
	if c.log == nil {
		c.log = func(string, ...any) {}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, errors.New("running as root, and PostgreSQL refuses root: create the postgres user (apt-get install postgresql does) or run as another user")
		}
		c.runAs = "postgres"
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	pwFile := filepath.Join(o.Dir, "password")
	if b, err := os.ReadFile(pwFile); err == nil {
		c.password = strings.TrimSpace(string(b))
	}
	data := c.dataDir()
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if err := c.initdb(ctx, pwFile); err != nil {
			return nil, err
		}
	}
	// A server left behind by a killed process would hold the directory: stop it.
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		_ = c.pgctl(ctx, "stop", "-m", "fast", "-w")
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200 -c shared_buffers=%dMB",
		c.port, data, sharedBuffersMB(memTotalKB()))
	if !o.Fsync {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	if err := c.pgctl(ctx, "start", "-w", "-t", "60", "-l", filepath.Join(o.Dir, "postgres.log"), "-o", opts); err != nil {
		return nil, fmt.Errorf("pgcluster: start failed (see %s): %w", filepath.Join(o.Dir, "postgres.log"), err)
	}
	c.log("private PostgreSQL started", "dir", o.Dir, "port", c.port)
	return c, nil
}

// URL is the connection URL of the cluster's postgres database.
func (c *Cluster) URL() string { return c.DatabaseURL("postgres") }

// DatabaseURL is the connection URL of one database in the cluster.
func (c *Cluster) DatabaseURL(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", c.password, c.port, db)
}

// Port is the TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// Password is the superuser password kept in the cluster directory.
func (c *Cluster) Password() string { return c.password }

// Stop shuts the server down (fast mode: open sessions are ended).
func (c *Cluster) Stop(ctx context.Context) error {
	if err := c.pgctl(ctx, "stop", "-m", "fast", "-w"); err != nil {
		return fmt.Errorf("pgcluster: stop: %w", err)
	}
	c.log("private PostgreSQL stopped", "dir", c.dir)
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) initdb(ctx context.Context, pwFile string) error {
	c.password = randomHex(16)
	if err := os.WriteFile(pwFile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	data := c.dataDir()
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	// initdb reads the password from a file the server user can read; it is removed after.
	tmpPw := filepath.Join(c.dir, ".initdb-pw")
	if err := os.WriteFile(tmpPw, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(tmpPw)
	if err := c.chown(data, tmpPw); err != nil {
		return err
	}
	args := []string{"-D", data, "-U", "postgres", "--pwfile", tmpPw, "--auth=scram-sha-256",
		"--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"}
	out, err := c.command(ctx, "initdb", args...).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("locale")) {
		// Some machines lack C.UTF-8; C is always there.
		args[7] = "--locale=C"
		out, err = c.command(ctx, "initdb", args...).CombinedOutput()
	}
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, lastLine(out))
	}
	c.log("private PostgreSQL created", "dir", c.dir)
	return nil
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	full := append([]string{"-D", c.dataDir()}, args...)
	cmd := c.command(ctx, "pg_ctl", full...)
	// Its own process group: a Ctrl-C in the terminal must reach us, not the
	// database, so that we stop it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, lastLine(buf.Bytes()))
	}
	return nil
}

func (c *Cluster) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, tool)
	if c.runAs != "" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// chown hands the files to the server user, and makes sure it can reach them.
func (c *Cluster) chown(paths ...string) error {
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range append([]string{c.dir}, paths...) {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	// Every parent must be searchable by the server user.
	for d := filepath.Dir(c.dir); d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err == nil {
				c.log("made directory searchable for the postgres user", "dir", d)
			}
		}
	}
	return nil
}

// debianRoot is where Debian installs PostgreSQL versions (a variable for tests).
var debianRoot = "/usr/lib/postgresql"

// findBinaries looks for initdb and pg_ctl: beside each other on PATH, or in the
// newest /usr/lib/postgresql/<version>/bin (Debian's layout, not on PATH).
func findBinaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(debianRoot, "*", "bin"))
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: no free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// sharedBuffersMB sizes PostgreSQL's buffer cache for a machine with memKB of
// memory: an eighth of it, at least PostgreSQL's default of 128 MB, at most
// 1 GB. The default is meant for any machine; with it, writing a share (a
// row and its indexes, some keyed by author or community, so touched all
// over) read index pages back from the kernel's cache all the time once the
// data passed a few hundred MB. Measured on the benchmark's database (3 GB), write
// step, three alternating runs each: 38.0 % -> 43.5 % of pgbench (medians;
// pgbench runs on the same cluster with the same setting).
func sharedBuffersMB(memKB int64) int64 {
	return min(max(memKB/1024/8, 128), 1024)
}

// memTotalKB is the machine's memory from /proc/meminfo, 0 if unknown.
func memTotalKB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
