package bus

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster starts n embedded nodes routed to each other, as n instances would.
func startCluster(t *testing.T, n int) []*Bus {
	t.Helper()
	ports := make([]int, n)
	peers := make([]string, n)
	for i := range ports {
		ports[i] = freePort(t)
		peers[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
	}
	buses := make([]*Bus, n)
	for i := range buses {
		name := fmt.Sprintf("node-%d", i+1)
		b, err := Start(context.Background(), Options{
			Name:          name,
			ClusterName:   "test",
			ClusterListen: fmt.Sprintf("127.0.0.1:%d", ports[i]),
			Peers:         peers, // its own URL too: nats-server ignores a route to itself
			StoreDir:      StoreDir(t.TempDir(), name),
		})
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		buses[i] = b
	}
	t.Cleanup(func() {
		for _, b := range buses {
			if b != nil {
				b.Close()
			}
		}
	})
	return buses
}

// waitDelivered publishes on from until the subscription on to receives it;
// interest travels between routed nodes asynchronously, so the first publish may
// reach nobody.
func waitDelivered(t *testing.T, from *nats.Conn, sub *nats.Subscription, subject string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		payload := fmt.Sprintf("msg-%d", i)
		if err := from.Publish(subject, []byte(payload)); err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(200 * time.Millisecond)
		if err == nil {
			if got := string(msg.Data); got[:4] != "msg-" {
				t.Fatalf("got %q, want a msg- payload", got)
			}
			return
		}
	}
	t.Fatalf("nothing published on %s arrived within 10s", subject)
}

func TestEmbeddedClusterRoutesMessages(t *testing.T) {
	buses := startCluster(t, 3)

	subs := make([]*nats.Subscription, 3)
	for i, b := range buses {
		s, err := b.Conn().SubscribeSync("test.hello")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	t.Run("published through one node arrives through the others", func(t *testing.T) {
		waitDelivered(t, buses[0].Conn(), subs[1], "test.hello")
		waitDelivered(t, buses[0].Conn(), subs[2], "test.hello")
		waitDelivered(t, buses[2].Conn(), subs[0], "test.hello")
	})

	t.Run("two nodes still talk after the third shuts down", func(t *testing.T) {
		buses[2].Close()
		buses[2] = nil
		for _, s := range subs[:2] {
			for { // drop what is queued from before
				if _, err := s.NextMsg(10 * time.Millisecond); err != nil {
					break
				}
			}
		}
		waitDelivered(t, buses[0].Conn(), subs[1], "test.hello")
		waitDelivered(t, buses[1].Conn(), subs[0], "test.hello")
	})
}

func TestBusReady(t *testing.T) {
	b, err := Start(context.Background(), Options{Name: "solo", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready on a fresh bus: %v", err)
	}
	if got := b.ClientURL(); got != "" {
		t.Errorf("ClientURL with no listen address = %q, want empty (no port opened)", got)
	}
	b.Close()
	if err := b.Ready(ctx); err == nil {
		t.Fatal("Ready after Close = nil, want an error")
	}
}

func TestBusExternalURL(t *testing.T) {
	port := freePort(t)
	host, err := Start(context.Background(), Options{Name: "host", Listen: fmt.Sprintf("127.0.0.1:%d", port), StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if got, want := host.ClientURL(), fmt.Sprintf("nats://127.0.0.1:%d", port); got != want {
		t.Errorf("ClientURL = %q, want %q", got, want)
	}
	client, err := Start(context.Background(), Options{Name: "client", URLs: []string{host.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if client.Server() != nil {
		t.Error("a bus given URLs started an embedded node")
	}
	sub, err := host.Conn().SubscribeSync("test.ext")
	if err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, client.Conn(), sub, "test.ext")
}
