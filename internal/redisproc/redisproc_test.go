package redisproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redisproc"
)

func TestStartKillRestartKeepsAOFData(t *testing.T) {
	s := redisproc.Start(t, redisproc.Options{AOF: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	addr := s.Addr()
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("addr after Restart = %s, want %s", s.Addr(), addr)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("get after Kill+Restart = %q, %v; want v", got, err)
	}
	s.Restart() // clean stop, then start
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("get after Restart = %q, %v; want v", got, err)
	}
}

func TestStartWithoutAOFForgets(t *testing.T) {
	s := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory", "64mb"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if got := c.ConfigGet(ctx, "maxmemory").Val()["maxmemory"]; got != "67108864" {
		t.Fatalf("maxmemory = %q: Args not applied", got)
	}
	s.Kill()
	s.Restart()
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("exists after restart without AOF = %d, %v; want 0", n, err)
	}
}
