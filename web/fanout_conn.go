package web

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// takeOver takes a stream's connection from net/http (before anything was
// written) and answers the request on it: the status line and the headers
// set so far, with no length and no chunking, so the body is simply every
// byte until the connection closes (what an event stream is). From then on
// the connection is the stream's own: net/http's goroutine, buffers and
// background reader are released when the handler returns, which is what
// makes an idle stream cheap. It reports false when the connection cannot be
// taken over (HTTP/2, a HEAD request, a ResponseWriter without Hijack); the
// stream then stays on the handler's goroutine.
func takeOver(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Writer, bool) {
	if r.Method != http.MethodGet || r.ProtoMajor != 1 {
		return nil, nil, false
	}
	h := w.Header()
	setSSEHeaders(h)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, false
	}
	// The bufio.ReadWriter net/http hands over is dropped: nothing is read
	// from the client again, and writes go through a deadline.
	out := bufio.NewWriterSize(deadlineWriter{conn}, 4<<10)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Connection", "close")
	_, _ = out.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(out)
	_, _ = out.WriteString("\r\n")
	return conn, out, true
}

// setSSEHeaders are an event stream's headers (whoever writes them).
func setSSEHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// deadlineWriter gives every write to a taken-over connection a deadline, so a
// peer that stopped reading cannot hold the writer.
type deadlineWriter struct{ c net.Conn }

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return d.c.Write(p)
}
