package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestOutageNamesGraphBaseURL_audit22: with nothing listening at
// graph.base_url (a loopback port that refuses connections), the worker
// paused the Page as graph_down with a WARN line that said only the dial
// error ("connection failed"): nothing pointed at the URL, which a first
// try gets wrong (another port, the sandbox not started). The outage's first
// pause line now names graph.base_url and its value, with a hint to check
// it, as pagereply poll does; once per outage, not on its later (doubled)
// pauses, nor on each reply's failure.
func TestOutageNamesGraphBaseURL_audit22(t *testing.T) {
	t.Parallel() // waits through a few outage pauses
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2205})
	page := h.pages[0].ID
	rs := h.addComments(page, 6, "Thanks!")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	_ = ln.Close() // refused from now on
	var logs proctest.Buffer
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: base, Timeout: time.Second})
		p.GraphBaseURL = base
		p.MaxRetry = 5
		p.BackoffBase, p.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
		p.OutagePause = 200 * time.Millisecond
		p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	for _, r := range rs {
		if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
			t.Fatalf("enqueue: %v %v", o, err)
		}
	}
	type line struct {
		Msg, Level, Reason, Hint string
		BaseURL                  string `json:"graph_base_url"`
	}
	var pauses []line
	for deadline := time.Now().Add(30 * time.Second); len(pauses) < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d graph_down pause lines in 30 s, want 3:\n%s", len(pauses), logs.String())
		}
		pauses = pauses[:0]
		for _, s := range strings.Split(logs.String(), "\n") {
			var l line
			if json.Unmarshal([]byte(s), &l) == nil && l.Msg == "page paused" && tasks.PauseKind(l.Reason) == tasks.PauseGraphDown {
				pauses = append(pauses, l)
			}
		}
	}
	first := pauses[0]
	if first.Level != "WARN" || first.BaseURL != base || !strings.Contains(first.Hint, "Graph did not answer at "+base+" (graph.base_url)") ||
		!strings.Contains(first.Reason, "connection failed") {
		t.Errorf("the outage's first pause line: %+v, want WARN naming graph.base_url %s with a hint to check it", first, base)
	}
	for i, l := range pauses[1:] {
		if l.BaseURL != "" || l.Hint != "" {
			t.Errorf("pause line %d of the same outage names the URL again: %+v", i+2, l)
		}
	}
	if n := strings.Count(logs.String(), `"graph_base_url"`); n != 1 {
		t.Errorf("graph_base_url in %d lines, want 1 (once per outage)", n)
	}
	for _, p := range h.pages {
		if strings.Contains(logs.String(), p.AccessToken) {
			t.Fatal("a token reached the log")
		}
	}
}
