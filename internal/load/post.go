package load

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A poster sends one publisher's shares over a kept-alive HTTP/1.1
// connection of its own, written and read in the publisher's goroutine.
// net/http's client passes every request through the two goroutines it keeps
// per connection (its read and write loops): on the same two cores as the
// servers under test, that made the load tool about a sixth of the machine
// during the write step, time the servers then lacked. The answer is still
// parsed by net/http (http.ReadResponse), so any valid HTTP/1.1 answer is read
// correctly, and a connection the server ends is dialled again.
type poster struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	conn net.Conn
	addr string // host:port of conn
	br   *bufio.Reader
	req  []byte
}

func newPoster(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *poster {
	return &poster{dial: dial}
}

// post sends body (JSON) to rawURL (http://host:port/path) as the holder of
// token; any status but 2xx is an error carrying the server's message.
func (p *poster) post(ctx context.Context, rawURL, token string, body []byte) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("post %s: want an http:// URL", rawURL)
	}
	if p.conn != nil && p.addr != u.Host {
		p.close()
	}
	if p.conn == nil {
		c, err := p.dial(ctx, "tcp", u.Host)
		if err != nil {
			return err
		}
		p.conn, p.addr = c, u.Host
		p.br = bufio.NewReaderSize(c, 4096)
	}
	// The context bounds the exchange: its deadline is the connection's, and
	// its end unblocks a read or write in progress.
	deadline, _ := ctx.Deadline()
	if err := p.conn.SetDeadline(deadline); err != nil {
		p.close()
		return err
	}
	conn := p.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	path := u.RequestURI()
	r := append(p.req[:0], "POST "...)
	r = append(r, path...)
	r = append(r, " HTTP/1.1\r\nHost: "...)
	r = append(r, u.Host...)
	r = append(r, "\r\nUser-Agent: nodecommunity-loadgen\r\nContent-Type: application/json\r\n"...)
	if token != "" {
		r = append(r, "Authorization: Bearer "...)
		r = append(r, token...)
		r = append(r, "\r\n"...)
	}
	r = append(r, "Content-Length: "...)
	r = strconv.AppendInt(r, int64(len(body)), 10)
	r = append(r, "\r\n\r\n"...)
	r = append(r, body...)
	p.req = r
	if _, err := conn.Write(r); err != nil {
		p.close()
		return p.failed(ctx, err)
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		p.close()
		return p.failed(ctx, err)
	}
	var msg []byte
	if resp.StatusCode/100 != 2 {
		msg, err = io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if err != nil || resp.Close {
		p.close()
	}
	if err != nil {
		return p.failed(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: status %d: %s", rawURL, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// failed names the context's end as the cause when it ended the exchange
// (the connection's deadline passed, or AfterFunc cut it short).
func (p *poster) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	// The connection's deadline can pass a moment before the context's timer.
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) && errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

func (p *poster) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn, p.br = nil, nil
	}
}

// shareJSON is the request body of a new share.
func shareJSON(body string) []byte {
	b, _ := json.Marshal(struct {
		Body string `json:"body"`
	}{body})
	return b
}
