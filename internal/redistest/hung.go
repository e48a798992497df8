package redistest

import (
	"net"
	"sync"
	"testing"
	"time"
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

// CheckProbes runs probe (a readiness request against a server whose Redis
// is h) once, then 20 times at once, and fails t unless every probe answered
// 503 within prompt and all of them together opened at most 3 connections
// to h: a hung Redis must cost probes neither their deadline nor a
// connection each. probe returns the HTTP status it got.
func (h *Hung) CheckProbes(t *testing.T, prompt time.Duration, probe func() (int, error)) {
	t.Helper()
	one := func() {
		start := time.Now()
		status, err := probe()
		if took := time.Since(start); err != nil || status != 503 || took > prompt {
			t.Errorf("readyz: %d %v after %s; want 503 within %s", status, err, took, prompt)
		}
	}
	one()
	const probes = 20
	var wg sync.WaitGroup
	for range probes {
		wg.Go(one)
	}
	wg.Wait()
	if n := h.Accepted(); n > 3 {
		t.Errorf("%d probes opened %d connections to the hung Redis; want one PING in flight at a time", probes+1, n)
	}
}
