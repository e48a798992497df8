package redistest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Cut is a TCP proxy in front of a Redis that a test can take away and bring
// back: while it is down, dials to it are refused and the connections it
// carried are closed, as when Redis dies or a failover moves the master.
type Cut struct {
	t      testing.TB
	addr   string // the proxy's own address, kept across Down and Up
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewCut starts a proxy to target on a free loopback port, stopped in t's
// cleanup.
func NewCut(t testing.TB, target string) *Cut {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	c := &Cut{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	c.serve(ln)
	t.Cleanup(func() {
		c.Down()
		c.wg.Wait()
	})
	return c
}

// Addr is the address to dial instead of the Redis.
func (c *Cut) Addr() string { return c.addr }

// Down closes the listener and every carried connection.
func (c *Cut) Down() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		_ = c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		_ = conn.Close()
	}
	clear(c.conns)
}

// Up listens again on the same address.
func (c *Cut) Up() {
	c.t.Helper()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatalf("redistest: proxy listen again on %s: %v", c.addr, err)
	}
	c.serve(ln)
}

func (c *Cut) serve(ln net.Listener) {
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				_ = in.Close()
				continue
			}
			if !c.track(ln, in, out) {
				continue
			}
			c.wg.Add(2)
			go c.pipe(in, out)
			go c.pipe(out, in)
		}
	}()
}

// track records a connection pair, or closes it when the listener it came
// from was taken down meanwhile.
func (c *Cut) track(ln net.Listener, in, out net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != ln {
		_ = in.Close()
		_ = out.Close()
		return false
	}
	c.conns[in], c.conns[out] = struct{}{}, struct{}{}
	return true
}

func (c *Cut) pipe(dst, src net.Conn) {
	defer c.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	c.mu.Lock()
	delete(c.conns, dst)
	delete(c.conns, src)
	c.mu.Unlock()
}
