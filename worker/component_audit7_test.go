package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestWorkerLinesNameTheirComponent: the worker's lines carry
// component=worker, as the scheduler's, the API's and asynq's carry
// theirs, and no line carries the key twice (asynq's adapter adds its own).
func TestWorkerLinesNameTheirComponent(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 91})
	var buf proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Logger = log })
	rs := h.addComments(h.pages[0].ID, 1, "Thanks!")
	if o, _, err := h.enq.Enqueue(context.Background(), rs[0]); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitSent(t, rs, 30*time.Second)
	components := map[string]map[string]bool{} // msg -> components
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		if _, err := dec.Token(); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		var msg string
		seen := map[string]bool{}
		var comp []string
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			key := k.(string)
			if seen[key] {
				t.Errorf("key %q twice in %s", key, line)
			}
			seen[key] = true
			switch key {
			case "msg":
				_ = json.Unmarshal(v, &msg)
			case "component":
				var c string
				_ = json.Unmarshal(v, &c)
				comp = append(comp, c)
			}
		}
		if components[msg] == nil {
			components[msg] = map[string]bool{}
		}
		components[msg][strings.Join(comp, ",")] = true
	}
	if c := components["reply sent"]; len(c) != 1 || !c["worker"] {
		t.Errorf("reply sent lines' components: %v, want worker; all: %v", c, components)
	}
}
