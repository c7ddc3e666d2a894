// Package bus connects an instance to its peers over NATS.
//
// By default every instance embeds a NATS server node with JetStream; given the
// route URLs of other instances, the embedded nodes form one NATS cluster, so a
// group of instances needs no broker installed beside them. With external URLs it
// connects to an existing NATS cluster instead. Either way the rest of the program
// sees one *nats.Conn that reconnects forever and buffers publishes while
// disconnected. NATS carries events between equal peers; PostgreSQL holds the truth.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configure the bus of one instance.
type Options struct {
	Name          string   // unique server/client name in the cluster
	URLs          []string // external NATS servers; empty means embed a node
	Listen        string   // client host:port of the embedded node; empty: no port (a random loopback one when clustered)
	ClusterName   string   // shared by every embedded node of one cluster
	ClusterListen string   // route host:port of the embedded node; empty means no cluster
	Peers         []string // route URLs of the other embedded nodes
	StoreDir      string   // JetStream file store of the embedded node
	// SyncAlways makes the embedded node fsync every JetStream write instead of
	// every 2 minutes (nats-server's default), at a cost in write latency.
	SyncAlways bool
	Logger     *slog.Logger
}

// Bus is this instance's connection to the NATS network (and its embedded node, if any).
type Bus struct {
	nc  *nats.Conn
	srv *server.Server // nil when connected to an external cluster
	log *slog.Logger
}

// ReconnectBuffer is how many bytes of publishes are kept while disconnected.
const ReconnectBuffer = 16 << 20

// Start starts the embedded node (when no URLs are given) and connects to it.
func Start(ctx context.Context, o Options) (*Bus, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: o.Logger}
	common := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(ReconnectBuffer),
		nats.Timeout(2 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			o.Logger.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
	}
	if len(o.URLs) == 0 {
		srv, err := startEmbedded(o)
		if err != nil {
			return nil, err
		}
		b.srv = srv
		nc, err := nats.Connect("", append(common, nats.InProcessServer(srv))...)
		if err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("nats: connect to embedded node: %w", err)
		}
		b.nc = nc
		return b, nil
	}
	nc, err := nats.Connect(strings.Join(o.URLs, ","), append(common, nats.RetryOnFailedConnect(true))...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", strings.Join(o.URLs, ","), err)
	}
	b.nc = nc
	return b, nil
}

func startEmbedded(o Options) (*server.Server, error) {
	opts := &server.Options{
		ServerName: o.Name,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		// A slow SSE consumer must not make the node drop this instance's connection.
		MaxPending: 64 << 20,
		SyncAlways: o.SyncAlways,
	}
	switch {
	case o.Listen == "" && o.ClusterListen == "":
		opts.DontListen = true
	case o.Listen == "":
		// nats-server starts routing only once its client listener is open, so a
		// clustered node needs one: a random loopback port nobody is told about.
		opts.Host, opts.Port = "127.0.0.1", -1
	default:
		host, port, err := splitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats: listen address %q: %w", o.Listen, err)
		}
		opts.Host, opts.Port = host, port
	}
	if o.ClusterListen != "" {
		host, port, err := splitHostPort(o.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("nats: cluster address %q: %w", o.ClusterListen, err)
		}
		opts.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: host, Port: port}
		opts.Routes = server.RoutesFromStr(strings.Join(o.Peers, ","))
	}
	if err := os.MkdirAll(o.StoreDir, 0o755); err != nil {
		return nil, fmt.Errorf("nats: store dir: %w", err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded node: %w", err)
	}
	srv.SetLoggerV2(natsLogger{o.Logger.With("component", "nats")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("nats: embedded node did not become ready in 10s (is the port taken?)")
	}
	return srv, nil
}

// StoreDir is where an instance's embedded node keeps its JetStream files.
func StoreDir(dataDir, name string) string { return filepath.Join(dataDir, "nats", name) }

// Conn is the instance's NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Server is the embedded node, or nil when connected to an external cluster.
func (b *Bus) Server() *server.Server { return b.srv }

// ClientURL is a URL other programs can connect to (empty when the node opens no port).
func (b *Bus) ClientURL() string {
	if b.srv == nil {
		return b.nc.ConnectedUrlRedacted()
	}
	if b.srv.Addr() == nil {
		return ""
	}
	return b.srv.ClientURL()
}

// Ready checks that NATS is usable now: connected, and a round trip completes.
func (b *Bus) Ready(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("nats: %s", b.nc.Status())
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats: flush: %w", err)
	}
	return nil
}

// Close drains the connection (pending publishes are sent) and stops the embedded node.
func (b *Bus) Close() {
	if b.nc != nil {
		_ = b.nc.Drain()
		for i := 0; i < 50 && !b.nc.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

func splitHostPort(v string) (string, int, error) {
	host, p, err := net.SplitHostPort(v)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		port = -1 // nats-server: -1 picks a free port
	}
	return host, port, nil
}

// natsLogger routes the embedded server's log into slog. Its notices are
// start-up chatter, so they go to debug.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(f string, v ...any) { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n natsLogger) Warnf(f string, v ...any)   { n.l.Warn(fmt.Sprintf(f, v...)) }
func (n natsLogger) Fatalf(f string, v ...any)  { n.l.Error(fmt.Sprintf(f, v...)) }
func (n natsLogger) Errorf(f string, v ...any)  { n.l.Error(fmt.Sprintf(f, v...)) }
func (n natsLogger) Debugf(f string, v ...any)  { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n natsLogger) Tracef(f string, v ...any)  {}
