package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// answerGraph answers every send with err.
type answerGraph struct {
	worker.Graph
	err error
}

func (g answerGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	return graph.SendResult{}, g.err
}

// TestPausesFollowGraph: a page-broken answer whose usage headers say access
// comes back later than the default pause pauses the Page that long; an
// "already replied" answer whose usage headers say the Page is at its limit
// is recorded as sent and pauses the Page too.
func TestPausesFollowGraph(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      *graph.Error
		minPause time.Duration
		sent     bool
	}{
		{name: "368 with a regain time of 30 minutes", minPause: 25 * time.Minute,
			err: &graph.Error{Code: 368, Class: graph.ClassPageBroken, Message: "blocked", RetryAfter: 30 * time.Minute, Usage: graph.Usage{RegainAccess: 30 * time.Minute}}},
		{name: "10900 with usage at 97 %", minPause: 30 * time.Second, sent: true,
			err: &graph.Error{Code: 10900, Class: graph.ClassAlreadyReplied, Message: "Activity already replied to", Usage: graph.Usage{MaxPercent: 97}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
			page := h.pages[0].ID
			r := h.addComments(page, 1, "Hi")[0]
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = answerGraph{Graph: p.Graph, err: tc.err} })
			ctx := context.Background()
			if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				d, _, err := h.ledger.Paused(ctx, page)
				if err != nil {
					t.Fatal(err)
				}
				if d > 0 {
					if d < tc.minPause {
						t.Errorf("paused for %s, want at least %s", d, tc.minPause)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("page never paused")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.sent {
				h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
			}
		})
	}
}

// TestPauseLogsOnePageID: the "page paused" lines are JSON objects with one
// page_id each (a key twice breaks log pipelines): the answering Page's from
// the caller's logger, another Page's of the app as paused_page_id.
func TestPauseLogsOnePageID(t *testing.T) {
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: []string{"111", "222"}})
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil)).With(slog.String("page_id", "111"))
	worker.PauseForError(l, metrics.New(), "111", &graph.Error{Code: 4, Class: graph.ClassThrottled, Message: "(#4) Application request limit reached"}, log)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a line per paused Page, got:\n%s", buf.String())
	}
	for _, line := range lines {
		seen := map[string]bool{}
		dec := json.NewDecoder(strings.NewReader(line))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			if seen[k.(string)] {
				t.Errorf("key %q twice in %s", k, line)
			}
			seen[k.(string)] = true
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !strings.Contains(lines[1], `"paused_page_id":"222"`) {
		t.Errorf("the other Page's pause does not name it: %s", lines[1])
	}
}
