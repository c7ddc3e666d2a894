package community

// The durable write path, measured: shares per second through Store.CreateShare
// (what POST /api/v1/shares calls) with the real JetStream publisher, beside a
// one-row INSERT through the same pool for reference. Run against a PostgreSQL
// with fsync on, next to pgbench, so the figure can be stated as a ratio:
//
//	go run ./cmd/devdb -dir .data/wp-postgres -fsync -env DATABASE_URL -- \
//	  go test -run '^$' -bench 'WritePath' -benchtime 10s -count 3 ./internal/community

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// roundTrips counts what the pool sends to PostgreSQL: each query (BEGIN and
// COMMIT included) and each pipelined batch is one round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// writePathFixture is a fresh database with authors who all belong to one open
// community, a store publishing to an embedded JetStream node, and a pool
// configured as the server's (db.Open's defaults) but counting round trips.
type writePathFixture struct {
	pool    *pgxpool.Pool
	store   *Store
	trips   *roundTrips
	authors []int64
}

func newWritePathFixture(b *testing.B, authors int) *writePathFixture {
	b.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testenv.DatabaseURL(b))
	if err != nil {
		b.Fatal(err)
	}
	trips := &roundTrips{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	f := &writePathFixture{pool: pool, store: NewStore(pool), trips: trips}

	nb, err := bus.Start(ctx, bus.Options{Name: "bench", StoreDir: bus.StoreDir(b.TempDir(), "bench")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nb.Close)
	events, err := bus.NewEvents(nb, 1, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := events.EnsureStream(sctx); err != nil {
		b.Fatal(err)
	}
	f.store.SetPublisher(events, nil)

	err = pool.QueryRow(ctx, `WITH n AS (INSERT INTO nodes (handle, display_name, email)
		SELECT 'author' || i, 'Author ' || i, 'author' || i || '@example.test' FROM generate_series(1, $1) i RETURNING id)
		SELECT array_agg(id ORDER BY id) FROM n`, authors).Scan(&f.authors)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.store.CreateCommunity(ctx, f.authors[0], CommunityInput{Name: "Bench", Open: true}); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO community_members (community_id, node_id)
		SELECT (SELECT id FROM communities WHERE slug = 'bench'), unnest($1::bigint[]) ON CONFLICT DO NOTHING`, f.authors); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_scratch (id bigserial PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	return f
}

// runConcurrently calls op b.N times from g goroutines and reports the rate
// and the round trips per call.
func runConcurrently(b *testing.B, f *writePathFixture, g int, unit string, op func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	before := f.trips.n.Load()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < g; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(ctx, i); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(f.trips.n.Load()-before)/float64(b.N), "trips/op")
}

// BenchmarkWritePath measures acknowledged shares per second from g
// concurrent callers: "share" through Store.CreateShare (a commit per share),
// "batched" through a ShareBatcher (what POST /api/v1/shares uses), and
// "insert", a one-row INSERT per commit through the same pool, the reference
// pgbench also measures. A share is acknowledged once it and its outbox event
// are committed and the event published.
func BenchmarkWritePath(b *testing.B) {
	share := func(i int, authors []int64) (int64, ShareInput) {
		return authors[i%len(authors)], ShareInput{Body: fmt.Sprintf("benchmark share %d #bench", i), CommunitySlug: "bench"}
	}
	for _, g := range []int{8, 32} {
		b.Run("share/g="+strconv.Itoa(g), func(b *testing.B) {
			f := newWritePathFixture(b, 64)
			runConcurrently(b, f, g, "shares", func(ctx context.Context, i int) error {
				author, in := share(i, f.authors)
				_, err := f.store.CreateShare(ctx, author, in)
				return err
			})
		})
		b.Run("batched/g="+strconv.Itoa(g), func(b *testing.B) {
			f := newWritePathFixture(b, 64)
			batcher := NewShareBatcher(f.store)
			runConcurrently(b, f, g, "shares", func(ctx context.Context, i int) error {
				author, in := share(i, f.authors)
				_, err := batcher.CreateShare(ctx, author, in)
				return err
			})
		})
		b.Run("insert/g="+strconv.Itoa(g), func(b *testing.B) {
			f := newWritePathFixture(b, 1)
			runConcurrently(b, f, g, "rows", func(ctx context.Context, i int) error {
				_, err := f.pool.Exec(ctx, `INSERT INTO bench_scratch (v) VALUES ('x')`)
				return err
			})
		})
	}
}
