package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
)

// rawClient is a minimal stream client for benchmarks: it only counts the
// events (blank-line terminated blocks) it reads, allocating nothing per event,
// so that what the benchmark measures is the server's side.
type rawClient struct {
	conn net.Conn
}

// openRaw opens n streams (one per node 1..n) and counts every event after
// the opening "retry:" into total, signalling done when total reaches *target.
func openRaw(b testing.TB, lt *liveTest, n int, total, target *atomic.Int64, done chan<- struct{}) []*rawClient {
	b.Helper()
	u := strings.TrimPrefix(lt.url, "http://")
	clients := make([]*rawClient, 0, n)
	opened := make(chan struct{}, n)
	for i := range n {
		conn, err := net.Dial("tcp", u)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		fmt.Fprintf(conn, "GET /api/v1/events?as=%d HTTP/1.1\r\nHost: %s\r\n\r\n", i+1, u)
		c := &rawClient{conn: conn}
		clients = append(clients, c)
		go func() {
			buf := make([]byte, 32<<10)
			var prev byte
			first := true
			for {
				k, err := conn.Read(buf)
				for _, ch := range buf[:k] {
					if ch == '\n' && prev == '\n' {
						if first {
							first = false
							opened <- struct{}{}
						} else if total.Add(1) == target.Load() {
							done <- struct{}{}
						}
					}
					prev = ch
				}
				if err != nil {
					return
				}
			}
		}()
	}
	b.Cleanup(func() {
		for _, c := range clients {
			c.conn.Close()
		}
	})
	for range n {
		select {
		case <-opened:
		case <-time.After(30 * time.Second):
			b.Fatal("streams did not open within 30s")
		}
	}
	return clients
}

// BenchmarkFanout measures the fan-out path: one event from the instance's
// tail (Dispatch) to every subscribed stream that may see it, over real
// loopback connections, until every client has read it. One op is one event;
// the per-delivery figures divide by the number of recipients.
func BenchmarkFanout(b *testing.B) {
	for _, c := range []struct{ subscribers, recipients int }{{100, 100}, {1000, 1000}, {3000, 300}} {
		b.Run(fmt.Sprintf("subscribers=%d/recipients=%d", c.subscribers, c.recipients), func(b *testing.B) {
			lt := newLiveTest(b)
			var total, target atomic.Int64
			target.Store(-1)
			done := make(chan struct{}, 1)
			openRaw(b, lt, c.subscribers, &total, &target, done)
			// The recipients spread over the subscribers, as a community's members would.
			to := make([]int64, 0, c.recipients)
			for i := range c.recipients {
				to = append(to, int64(i*c.subscribers/c.recipients)+1)
			}
			obj, _ := json.Marshal(map[string]any{"id": 1, "body": strings.Repeat("A share of ordinary length. ", 12),
				"author": map[string]any{"id": 1, "handle": "ana", "display_name": "Ana"}, "audience": "community",
				"community": map[string]any{"slug": "platform", "name": "Platform"}, "tags": []string{"ops"}})
			data, _ := json.Marshal(community.Event{Type: "share.created", To: to, Object: obj, At: time.Now()})
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := range b.N {
				target.Store(int64((i + 1) * c.recipients))
				lt.seq++
				lt.s.Dispatch(bus.Message{Seq: lt.seq, Data: data, Time: time.Now()})
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					b.Fatalf("event %d: %d of %d deliveries after 10s", i, total.Load(), target.Load())
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			deliveries := float64(b.N * c.recipients)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/deliveries, "B/delivery")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/deliveries, "allocs/delivery")
		})
	}
}

// countingConn is a connection that discards what is written to it and counts
// the events (blank-line terminated blocks) in it.
type countingConn struct {
	net.Conn // nil: only Write, SetWriteDeadline and Close are used
	total    *atomic.Int64
	target   *atomic.Int64
	done     chan<- struct{}
}

func (c *countingConn) Write(p []byte) (int, error) {
	n := int64(bytes.Count(p, []byte("\n\n")))
	if c.total.Add(n) == c.target.Load() {
		c.done <- struct{}{}
	}
	return len(p), nil
}
func (c *countingConn) SetWriteDeadline(time.Time) error { return nil }
func (c *countingConn) Close() error                     { return nil }

// BenchmarkDispatch is the fan-out without sockets: Dispatch of one event to
// the recipients among N live streams, through the queues, the writers' pool
// and the cached rendering, down to the one Write per batch (into a counting
// connection). One op is one event.
func BenchmarkDispatch(b *testing.B) {
	for _, c := range []struct{ subscribers, recipients int }{{1000, 1000}, {3000, 300}, {10000, 300}} {
		b.Run(fmt.Sprintf("subscribers=%d/recipients=%d", c.subscribers, c.recipients), func(b *testing.B) {
			s := New(Deps{})
			b.Cleanup(s.Drain)
			var total, target atomic.Int64
			target.Store(-1)
			done := make(chan struct{}, 1)
			for i := range c.subscribers {
				sub := s.hub.newSubscriber(int64(i+1), apiFormat, false)
				if !s.streams.add(sub) {
					b.Fatal("draining")
				}
				s.hub.start(s)
				sub.conn = &countingConn{total: &total, target: &target, done: done}
				s.hub.add(sub, 0)
				if !s.handOff(sub, 0, io.Discard, func() error { return nil }) {
					b.Fatal("hand-off failed")
				}
			}
			to := make([]int64, 0, c.recipients)
			for i := range c.recipients {
				to = append(to, int64(i*c.subscribers/c.recipients)+1)
			}
			obj, _ := json.Marshal(map[string]any{"id": 1, "body": strings.Repeat("A share of ordinary length. ", 12)})
			data, _ := json.Marshal(community.Event{Type: "share.created", To: to, Object: obj, At: time.Now()})
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := range b.N {
				target.Store(int64((i + 1) * c.recipients))
				s.Dispatch(bus.Message{Seq: uint64(i + 1), Data: data, Time: time.Now()})
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					b.Fatalf("event %d: %d of %d deliveries after 10s", i, total.Load(), target.Load())
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			deliveries := float64(b.N * c.recipients)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/deliveries, "B/delivery")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/deliveries, "allocs/delivery")
		})
	}
}
