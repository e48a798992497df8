package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestHealthAddrMetricsAsAPI_audit11: `pagereply api --health-addr` serves
// on the health address the /metrics api.addr serves: asynq's queue gauges
// and pagereply_page_paused too, not only the process's counters, so a
// Prometheus that scrapes the health port of every role misses none.
func TestHealthAddrMetricsAsAPI_audit11(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	a, err := newApp(e.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	opts := roleOptions{apiAddr: freeAddr(t), healthAddr: freeAddr(t)}
	r, err := startRoles(context.Background(), a, roleSet{api: true}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.shutdown(context.Background()) })
	// A reply queued (no worker runs) makes the replies queue, which the
	// queue gauges list.
	pageID := e.cfg.Pages[0].ID
	reply := tasks.Reply{PageID: pageID, Target: tasks.Target{Kind: tasks.KindComment, ID: pageID + "_1"}, Text: "hi", Source: tasks.SourceAPI}
	if out, _, err := a.enq.Enqueue(context.Background(), reply); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", out, err)
	}
	code, apiMetrics := get(t, "http://"+opts.apiAddr+"/metrics")
	if code != 200 {
		t.Fatalf("api.addr /metrics: %d", code)
	}
	code, healthMetrics := get(t, "http://"+opts.healthAddr+"/metrics")
	if code != 200 {
		t.Fatalf("--health-addr /metrics: %d", code)
	}
	for _, name := range []string{"asynq_queue_size", "pagereply_page_paused", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(apiMetrics, "\n"+name) {
			t.Fatalf("api.addr /metrics has no %s:\n%s", name, apiMetrics)
		}
		if !strings.Contains(healthMetrics, "\n"+name) {
			t.Errorf("--health-addr /metrics has no %s, which api.addr serves", name)
		}
	}
	if strings.Count(healthMetrics, "# TYPE go_goroutines ") != 1 {
		t.Errorf("--health-addr /metrics has go_goroutines %d times", strings.Count(healthMetrics, "# TYPE go_goroutines "))
	}
}
