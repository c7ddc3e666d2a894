//go:build !linux

package web

import "net"

// hangupWatcher is Linux-only (epoll); elsewhere a closed stream is noticed by
// a failed write, at the latest two heartbeats later.
type hangupWatcher struct{}

func newHangupWatcher(<-chan struct{}) *hangupWatcher { return nil }
func (w *hangupWatcher) add(*subscriber, net.Conn)    {}
func (w *hangupWatcher) remove(*subscriber, net.Conn) {}
