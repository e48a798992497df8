package main

import (
	"context"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// TestHealthReadyzRedisFull: a role's --health-addr /readyz, which the
// manifests' readiness probes and compose's healthchecks (through
// `pagereply healthcheck`) ask, answers 503 naming OOM while Redis, filled
// to its maxmemory under noeviction, refuses writes (PING still answers), so
// the healthcheck exits 1; and 200 (exit 0) once memory is freed.
func TestHealthReadyzRedisFull(t *testing.T) {
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory", "1mb", "--maxmemory-policy", "noeviction"}})
	admin := srv.Client()
	ctx := context.Background()
	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	h := startHealth(t, rdb, metrics.New())
	url := "http://" + h.Addr() + "/readyz"
	// 1 MB of room over what the server and its clients use already.
	redisproc.Room(t, admin, 1<<20)
	if status, body := get(t, url); status != 200 {
		t.Fatalf("/readyz with room in Redis: %d %s", status, body)
	}
	redisproc.FillUntilRefused(t, admin)
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING of a full Redis: %v", err)
	}
	status, body := get(t, url)
	if status != 503 || !strings.Contains(body, "redis refuses writes") || !strings.Contains(body, "OOM") || strings.Contains(body, srv.Addr()) {
		t.Fatalf("/readyz with Redis full: %d %s; want 503 naming OOM, without the address", status, body)
	}
	if _, _, code := runInProcess(t, nil, "healthcheck", "--url", url); code != exitError {
		t.Errorf("healthcheck with Redis full: exit %d, want %d", code, exitError)
	}
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, url); status != 200 {
		t.Fatalf("/readyz once memory was freed: %d %s", status, body)
	}
	if _, _, code := runInProcess(t, nil, "healthcheck", "--url", url); code != exitOK {
		t.Errorf("healthcheck once memory was freed: exit %d, want %d", code, exitOK)
	}
}
