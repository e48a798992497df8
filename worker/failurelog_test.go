package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestFailureLogs: a reply that failed and will be retried is logged as
// such; one archived is logged once as archived with its error, whether its
// retries ran out or Graph refused it for good, and never with asynq's
// "Retry exhausted", which is wrong for a reply never retried.
func TestFailureLogs(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 90})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	rs := h.addComments(h.pages[0].ID, 2, "Thanks!")
	transient, permanent := rs[0], rs[1]
	h.sb.SetCanReplyPrivately(permanent.Target.ID, false)
	g := &downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	g.down.Store(true)
	var buf proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.MaxRetry, p.Logger = g, 1, log })

	ctx := context.Background()
	// The permanent one first, while Graph is up.
	g.down.Store(false)
	if o, _, err := h.enq.Enqueue(ctx, permanent); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, permanent, 30*time.Second)
	g.down.Store(true)
	if o, _, err := h.enq.Enqueue(ctx, transient); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, transient, 30*time.Second)

	byTask := map[string][]string{}
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l struct {
			Level   string `json:"level"`
			Msg     string `json:"msg"`
			TaskID  string `json:"task_id"`
			PageID  string `json:"page_id"`
			Retried int    `json:"retried"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		if strings.Contains(l.Msg, "Retry exhausted") {
			t.Errorf("asynq's %q logged at %s", l.Msg, l.Level)
		}
		if l.TaskID != "" {
			if l.Error == "" || l.PageID != h.pages[0].ID {
				t.Errorf("%q of %s: error %q, page_id %q", l.Msg, l.TaskID, l.Error, l.PageID)
			}
			byTask[l.TaskID] = append(byTask[l.TaskID], fmt.Sprintf("%s after %d retries", l.Msg, l.Retried))
		}
	}
	want := map[string][]string{
		permanent.Target.String(): {"task archived after 0 retries"},
		transient.Target.String(): {"task failed; retried later after 0 retries", "task archived after 1 retries"},
	}
	for id, msgs := range want {
		if strings.Join(byTask[id], "|") != strings.Join(msgs, "|") {
			t.Errorf("task %s logged %q, want %q\n%s", id, byTask[id], msgs, buf.String())
		}
	}
}

// TestMaxRetryZero: worker.max_retry 0 means no retry: one attempt, then
// the reply is archived and logged as archived.
func TestMaxRetryZero(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 91})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	g := &downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	g.down.Store(true)
	var buf proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.enq.MaxRetry = 0
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.MaxRetry, p.Logger = g, 0, log })
	if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, r, 30*time.Second)
	if n := g.sends.Load(); n != 1 {
		t.Fatalf("%d attempts with max_retry 0, want 1", n)
	}
	if !strings.Contains(buf.String(), `"msg":"task archived"`) || strings.Contains(buf.String(), "retried later") {
		t.Fatalf("logs:\n%s", buf.String())
	}
}

// TestPermanentFailureOneWarnAudit8: a reply Graph refuses for good is one
// WARN line, "task archived" with its reason, task id and Page, not two: a
// caller that keeps asking for replies to comments that do not exist
// doubled the log (639 such replies gave 1,278 WARN lines in a soak).
func TestPermanentFailureOneWarnAudit8(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 92})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.sb.SetCanReplyPrivately(r.Target.ID, false)
	var buf proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Logger = log })
	if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, r, 30*time.Second)
	var lines []string
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(s, r.Target.ID) {
			lines = append(lines, s)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `"msg":"task archived"`) || !strings.Contains(lines[0], "class permanent") {
		t.Fatalf("%d WARN lines name the reply, want one \"task archived\" with the reason:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}
