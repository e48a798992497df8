package redistest

import (
	"net"
	"sync"
	"testing"
)

// Hung is a TCP listener that accepts connections and never answers on them:
// a Redis stopped with SIGSTOP, stalled on its disk, or behind a network that
// drops its replies looks like this to a client.
type Hung struct {
	ln net.Listener

	mu    sync.Mutex
	conns []net.Conn
}

// NewHung listens on a free loopback port until t's cleanup, which closes the
// listener and every connection it accepted.
func NewHung(t testing.TB) *Hung {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: hung listen: %v", err)
	}
	h := &Hung{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c) // held open, never read or answered
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.conns {
			_ = c.Close()
		}
	})
	return h
}

// Addr is the address to dial.
func (h *Hung) Addr() string { return h.ln.Addr().String() }

// Accepted returns how many connections were opened to it so far.
func (h *Hung) Accepted() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}
