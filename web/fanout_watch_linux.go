//go:build linux

package web

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// hangupWatcher notices peers that closed their taken-over stream
// connections, with one goroutine for all of them: a second epoll set (besides
// the Go runtime's) that asks only for hang-ups (EPOLLRDHUP; EPOLLHUP and
// EPOLLERR come unasked). Without it a closed stream would be noticed only by
// a failed write, up to two heartbeats later, and would count as online until
// then. Events carry the stream's id, never its fd, so an fd reused after a
// close cannot be mistaken for the old stream.
type hangupWatcher struct {
	epfd int
	mu   sync.Mutex
	subs map[uint64]*subscriber
	next uint64
}

// newHangupWatcher starts the watcher; nil (streams are then only noticed by
// failed writes) when epoll is unavailable.
func newHangupWatcher(stop <-chan struct{}) *hangupWatcher {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	w := &hangupWatcher{epfd: fd, subs: map[uint64]*subscriber{}}
	go w.run(stop)
	return w
}

func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// add watches sub's connection.
func (w *hangupWatcher) add(sub *subscriber, c net.Conn) {
	if w == nil {
		return
	}
	rc := rawConn(c)
	if rc == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sub.mu.Lock()
	ended := sub.state == subEnded // closed meanwhile: its remove has run
	sub.mu.Unlock()
	if ended {
		return
	}
	w.next++
	id := w.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev) }); cerr != nil || err != nil {
		return
	}
	w.subs[id] = sub
	sub.watch = id
}

// remove stops watching sub's connection; call it before closing the connection.
func (w *hangupWatcher) remove(sub *subscriber, c net.Conn) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if sub.watch == 0 {
		return
	}
	delete(w.subs, sub.watch)
	sub.watch = 0
	if rc := rawConn(c); rc != nil {
		_ = rc.Control(func(fd uintptr) { _ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
	}
}

func (w *hangupWatcher) run(stop <-chan struct{}) {
	defer syscall.Close(w.epfd)
	events := make([]syscall.EpollEvent, 256)
	var gone []*subscriber
	for {
		select {
		case <-stop:
			return
		default:
		}
		// A timeout rather than a wake-up fd: the loop only has to notice
		// stop, and a second's delay there costs nothing.
		n, err := syscall.EpollWait(w.epfd, events, 1000)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		gone = gone[:0]
		w.mu.Lock()
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if sub := w.subs[id]; sub != nil {
				gone = append(gone, sub)
			}
		}
		w.mu.Unlock()
		for _, sub := range gone {
			sub.end(endClosed)
		}
	}
}
