package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/asks"
	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/config"
	"github.com/nodecommunity/nodecommunity/internal/db"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/web"
)

// serve runs the instance until ctx ends, then stops gracefully: readiness fails,
// live streams are told to reconnect and closed, in-flight requests finish, the
// peers are told this instance leaves, and NATS and PostgreSQL are closed.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	pool, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := db.MigrateUp(pool); err != nil {
		return err
	}
	store := community.NewStore(pool)
	if cfg.SeedDemo {
		seeded, err := store.SeedDemo(ctx)
		if err != nil {
			return err
		}
		if seeded {
			log.Info("demo organisation seeded", "people", community.DemoPeople)
		}
	}

	b, err := bus.Start(ctx, bus.Options{
		Name:          cfg.InstanceName,
		URLs:          cfg.NATSURLs,
		Listen:        cfg.NATSListen,
		ClusterName:   cfg.ClusterName,
		ClusterListen: cfg.ClusterListen,
		Peers:         cfg.ClusterPeers,
		StoreDir:      bus.StoreDir(cfg.DataDir, cfg.InstanceName),
		SyncAlways:    cfg.SyncAlways,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	defer b.Close()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	addr := ln.Addr().String()
	advertise := cfg.HTTPAdvertise
	if advertise == "" {
		advertise = addr
	}

	// Events: the outbox publishes into the JetStream stream; one tail per
	// instance feeds its live streams. Both wait for the stream to exist (a
	// forming cluster has no JetStream leader yet); the relay catches up after.
	events, err := bus.NewEvents(b, streamReplicas(cfg), log)
	if err != nil {
		ln.Close()
		return err
	}
	store.SetPublisher(events, log)
	graphs := graph.NewStore(pool, log)

	// Who has which feedback thread open, cluster-wide (core NATS, like membership).
	viewing, err := bus.NewPresence(b.Conn(), cfg.Heartbeat, cfg.PeerTTL)
	if err != nil {
		ln.Close()
		return fmt.Errorf("nats: presence: %w", err)
	}
	defer viewing.Close()

	// Sign-outs and deactivations reach every instance at once (core NATS):
	// each closes the node's live streams and forgets its cached tokens.
	authNotices := bus.NewAuthNotices(b.Conn())
	defer authNotices.Close()

	askStore := asks.NewStore(pool, store)
	feedbackStore := feedback.NewStore(pool, store)
	var site *web.Server
	members := bus.NewMembership(b.Conn(), cfg.InstanceName, advertise, func() int { return site.Clients() }, cfg.Heartbeat, cfg.PeerTTL)
	site = web.New(web.Deps{
		Logger:   log,
		Instance: cfg.InstanceName,
		Members:  members,
		Store:    store,
		// Concurrent shares are committed together (group commit).
		Shares:   community.NewShareBatcher(store),
		Feedback: feedbackStore,
		Asks:     askStore,
		Sessions: newSessionManager(pool, cfg),
		// REGISTRATION, for sign-up (web/auth.go).
		Registration: cfg.Registration,
		Events:       events,
		Graph:        graphs,
		// PASSWORD_BANNED_WORDS, for new passwords (web/password.go).
		PasswordBannedWords: cfg.PasswordBannedWords,
		// MIN_GROUP_SIZE: the privacy floor of every analytics aggregate.
		MinGroupSize: cfg.MinGroupSize,
		// TRUSTED_PROXIES, WRITE_LIMIT_PER_MINUTE, SIGNUP_LIMIT_PER_MINUTE (web/ratelimit.go).
		TrustedProxies:       cfg.TrustedProxies,
		WriteLimitPerMinute:  cfg.WriteLimitPerMinute,
		SignupLimitPerMinute: cfg.SignupLimitPerMinute,
		Checks: map[string]web.Check{
			"postgres": func(ctx context.Context) error { return pool.Ping(ctx) },
			"nats":     b.Ready,
			"events": func(context.Context) error {
				if !events.Ready() {
					return errors.New("event stream not created yet")
				}
				return nil
			},
		},
		LiveInterval: cfg.Heartbeat,
		Viewing:      viewing,
		Audit:        audit.NewStore(pool),
		AuthNotices:  authNotices,
		SSO:          newSSO(cfg.OIDC),
	})
	if err := authNotices.Subscribe(site.AuthEnded); err != nil {
		ln.Close()
		return fmt.Errorf("nats: %w", err)
	}
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	defer func() { stopBackground(); background.Wait() }()
	background.Go(func() {
		if err := events.EnsureStream(bg); err != nil {
			return
		}
		if err := events.Tail(bg, site.Dispatch); err != nil {
			log.Error("event tail stopped", "err", err)
		}
	})
	background.Go(func() { store.RelayOutbox(bg, time.Second, 2*time.Second) })
	// Cached bearer tokens are trusted while every credential change is heard.
	background.Go(func() { store.WatchCredentials(bg, site.CredentialsChanged, site.WatchingCredentials) })
	// Retention: metadata past INTERACTION_RETENTION is purged at start and
	// hourly by every instance, in small batches none waits for another's.
	background.Go(func() { store.RunPurge(bg, cfg.InteractionRetention, community.PurgeEvery, log) })
	// Single sign-on: discovering the provider now saves the first sign-in
	// the wait; if it is down, that sign-in tries again (start-up does not fail).
	background.Go(func() { site.WarmSSO(bg) })
	// Network analytics: every instance looks, one (holding the lock) computes.
	recompute := &graph.Recomputer{Store: graphs, Every: 5 * time.Second, Debounce: 30 * time.Second,
		Compute: func(ctx context.Context, window int, prev *graph.Snapshot) (*graph.Snapshot, error) {
			return graph.Build(ctx, store, window, prev)
		}}
	background.Go(func() { recompute.Run(bg) })
	// Asks nobody took up widen one hop further: every instance looks, each
	// ask is claimed by one (FOR UPDATE SKIP LOCKED).
	background.Go(func() { askStore.RunWidener(bg, 5*time.Second, log) })
	// Feedback reminders after three working days: any instance may send them;
	// each is claimed by exactly one (feedback/reminders.go).
	background.Go(func() { feedbackStore.RunReminders(bg, time.Minute, log) })
	// Proposals close at their closing time: every instance looks, each due
	// proposal is closed by exactly one (feedback/closer.go).
	background.Go(func() { feedbackStore.RunCloser(bg, time.Second, log) })

	members.SetOnline(site.OnlineNodes)
	if err := members.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("nats: membership: %w", err)
	}
	defer members.Stop()

	srv := &http.Server{
		Handler:           site,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	natsInfo := "embedded NATS node (in-process)"
	if u := b.ClientURL(); u != "" {
		natsInfo = u
	}
	log.Info("serving", "http", "http://"+addr, "nats", natsInfo, "peers", len(cfg.ClusterPeers))
	fmt.Fprintf(stdout, "Node Community instance %s is serving http://%s\n", cfg.InstanceName, addr)
	if cfg.SeedDemo {
		if demo, err := store.DemoAccount(ctx); err == nil {
			fmt.Fprintf(stdout, "Demo sign-in: %s / %s (every demo person uses this password)\n", demo.Email, demo.Password)
		}
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	site.Drain()
	members.Stop()
	stopBackground()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout-time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("http shutdown", "err", err)
	} else if err != nil {
		srv.Close()
		log.Warn("http shutdown timed out; remaining connections closed")
	}
	log.Info("stopped")
	return nil
}

// streamReplicas is how many copies the event stream keeps: one per embedded
// node in the cluster, at most 3.
func streamReplicas(cfg config.Config) int {
	if !cfg.Embedded() || cfg.ClusterListen == "" {
		return 1
	}
	n := 1 // this node
	for _, p := range cfg.ClusterPeers {
		if u, err := url.Parse(p); err == nil && u.Host != cfg.ClusterListen {
			n++
		}
	}
	return min(n, 3)
}

// newSSO is the web layer's single sign-on settings (nil when OIDC_ISSUER is unset).
func newSSO(c config.OIDC) *web.SSO {
	if !c.Enabled() {
		return nil
	}
	return &web.SSO{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		EmailDomains: c.EmailDomains, ProviderName: c.ProviderName,
	}
}
