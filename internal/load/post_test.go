package load

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoster(t *testing.T) {
	var conns atomic.Int64
	var release = make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer tok" ||
			r.Header.Get("Content-Type") != "application/json" || string(b) != `{"body":"hi \"there\""}` {
			http.Error(w, "bad request: "+r.Method+" "+string(b), http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":1}`)
		case "/chunked":
			w.WriteHeader(http.StatusCreated)
			for range 3 {
				io.WriteString(w, strings.Repeat("x", 3000))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusCreated)
		case "/slow":
			<-release
		default:
			http.Error(w, "no community here", http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)

	p := newPoster((&net.Dialer{Timeout: time.Second}).DialContext)
	defer p.close()
	ctx := context.Background()
	body := shareJSON(`hi "there"`)
	for _, path := range []string{"/ok", "/chunked", "/ok"} {
		if err := p.post(ctx, srv.URL+path, "tok", body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for three answers, want 1 (kept alive)", n)
	}
	err := p.post(ctx, srv.URL+"/missing", "tok", body)
	if err == nil || !strings.Contains(err.Error(), "status 404") || !strings.Contains(err.Error(), "no community here") {
		t.Errorf("404: err = %v, want the status and the server's message", err)
	}
	if err := p.post(ctx, srv.URL+"/close", "tok", body); err != nil {
		t.Fatal(err)
	}
	if err := p.post(ctx, srv.URL+"/ok", "tok", body); err != nil {
		t.Fatalf("after the server closed the connection: %v", err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a new one after Connection: close)", n)
	}

	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.post(tctx, srv.URL+"/slow", "tok", body)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow answer: err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("slow answer: gave up after %v", d)
	}
	if err := p.post(ctx, "https://example.test/x", "tok", body); err == nil {
		t.Error("an https URL was accepted")
	}
}
