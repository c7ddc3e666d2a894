package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxy forwards TCP connections to a target until cut, and again after
// restore, on the same address: the database link the harness breaks. The
// target may change while cut (PostgreSQL restarted on another port).
type proxy struct {
	addr string

	mu     sync.Mutex
	target string
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// cut refuses new connections and breaks the open ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) setTarget(t string) {
	p.mu.Lock()
	p.target = t
	p.mu.Unlock()
}

// restore accepts connections again on the same address.
func (p *proxy) restore() error {
	var ln net.Listener
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel holds it.
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("proxy restore on %s: %w", p.addr, err)
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			up, err := net.DialTimeout("tcp", target, 2*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln {
				p.mu.Unlock()
				c.Close()
				up.Close()
				return
			}
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

func (p *proxy) close() { p.cut() }

// instance is one server process of the cluster, restartable on the same ports
// and data directory.
type instance struct {
	name    string
	httpURL string
	env     []string
	logPath string
	bin     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	up   bool // started and not killed by the harness
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newInstances prepares n instances whose embedded NATS nodes form one cluster.
func newInstances(n int, bin, dir, dbURL string) ([]*instance, error) {
	httpPorts := make([]int, n)
	routePorts := make([]int, n)
	peers := make([]string, n)
	for i := range n {
		var err error
		if httpPorts[i], err = freePort(); err != nil {
			return nil, err
		}
		if routePorts[i], err = freePort(); err != nil {
			return nil, err
		}
		peers[i] = fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i])
	}
	out := make([]*instance, n)
	for i := range n {
		name := fmt.Sprintf("peer-%d", i+1)
		data := filepath.Join(dir, name)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		out[i] = &instance{
			name:    name,
			httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPorts[i]),
			logPath: filepath.Join(dir, name+".log"),
			bin:     bin,
			env: []string{
				"INSTANCE_NAME=" + name,
				fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", httpPorts[i]),
				fmt.Sprintf("NATS_CLUSTER_LISTEN=127.0.0.1:%d", routePorts[i]),
				"NATS_CLUSTER_PEERS=" + strings.Join(peers, ","),
				"DATA_DIR=" + data,
				"PEER_HEARTBEAT=500ms",
				"PEER_TTL=3s",
				"REGISTRATION=open",
				"SEED_DEMO=false",
				"DATABASE_URL=" + dbURL,
			},
		}
	}
	return out, nil
}

// start runs the process; its output is appended to the instance's log.
func (in *instance) start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	f, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n===== faults: start %s at %s =====\n", in.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(in.bin)
	cmd.Env = append(os.Environ(), in.env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a Ctrl-C on the harness must not kill it behind our back.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	in.cmd, in.done, in.up = cmd, done, true
	return nil
}

// kill SIGKILLs the process (a crash: nothing is flushed, no drain).
func (in *instance) kill() {
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.up = false
	in.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop ends the process gracefully, then by force.
func (in *instance) stop() {
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.up = false
	in.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(12 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

func (in *instance) isUp() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.up
}

func (in *instance) exited() bool {
	in.mu.Lock()
	done := in.done
	in.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// waitReady polls /readyz until it answers 200.
func (in *instance) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := &http.Client{Timeout: 3 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.httpURL+"/readyz", nil)
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if in.exited() {
			return fmt.Errorf("%s exited (see %s)", in.name, in.logPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s (see %s)", in.name, limit, in.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
