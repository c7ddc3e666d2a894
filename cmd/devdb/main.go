// Command devdb runs a command beside a private PostgreSQL server, for `make test`
// and `make cluster` on a machine where nobody has set one up.
//
//	devdb [-dir DIR] [-fsync] [-env NAME] -- command args...
//
// It starts (or reuses) a cluster in DIR (a temporary directory, removed after,
// when none is given), exports its URL as NAME (default TEST_DATABASE_URL), runs
// the command, stops the cluster and exits with the command's status. When NAME
// is already set, it only runs the command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/pgcluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	dir := flag.String("dir", "", "cluster directory (default: a temporary one, removed after)")
	fsync := flag.Bool("fsync", false, "keep fsync on (off is faster and fine for tests)")
	name := flag.String("env", "TEST_DATABASE_URL", "environment variable that receives the URL")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: devdb [-dir DIR] [-fsync] [-env NAME] -- command args...")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		return 2
	}
	if os.Getenv(*name) != "" {
		return runCommand(args, nil)
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "nc-devdb-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "devdb:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: *dir, Fsync: *fsync})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "devdb: private PostgreSQL on 127.0.0.1:%d (%s), exported as %s\n", c.Port(), *dir, *name)
	code := runCommand(args, []string{*name + "=" + c.URL()})
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
	}
	return code
}

// runCommand runs the command with extra environment, passing on SIGINT/SIGTERM.
func runCommand(args, env []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 127
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if code := exit.ExitCode(); code > 0 {
			return code
		}
		return 1
	default:
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 1
	}
}
