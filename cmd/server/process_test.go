package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// buildServer compiles this command once for tests that need real processes.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs the server binary with env and waits for its serving line.
func startProcess(t *testing.T, bin string, env map[string]string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HTTP_ADDR=127.0.0.1:0", "DATA_DIR="+t.TempDir())
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within 60s", env["INSTANCE_NAME"])
		return nil, ""
	}
}

// TestKilledProcessLeavesEveryList runs three server processes as a cluster,
// SIGKILLs one (no goodbye is possible) and expects the other two to drop it
// once its heartbeats are older than PEER_TTL; the promise is within 30 s.
func TestKilledProcessLeavesEveryList(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	bin := buildServer(t)
	envs := clusterEnvs(t, 3, testenv.DatabaseURL(t))
	urls := make([]string, 3)
	cmds := make([]*exec.Cmd, 3)
	for i, env := range envs {
		env["PEER_HEARTBEAT"] = "500ms"
		env["PEER_TTL"] = "3s"
		env["LOG_LEVEL"] = "warn"
		cmds[i], urls[i] = startProcess(t, bin, env)
	}
	all := []string{"peer-1", "peer-2", "peer-3"}
	for _, u := range urls {
		waitClusterNames(t, u, all, 15*time.Second)
	}
	if err := cmds[1].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for _, u := range []string{urls[0], urls[2]} {
		waitClusterNames(t, u, []string{"peer-1", "peer-3"}, 30*time.Second)
	}
	took := time.Since(killed)
	t.Logf("killed peer dropped from both lists after %s (PEER_TTL 3s)", took.Round(10*time.Millisecond))
	if took < 2*time.Second {
		t.Errorf("dropped after %s, sooner than the TTL allows: something else removed it", took)
	}
	if got := clusterNames(t, urls[0]); !strings.Contains(strings.Join(got, ","), "peer-1") {
		t.Errorf("peer-1 lost itself: %v", got)
	}
}
