package main

import (
	"context"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueCommandOutcomes: pagereply enqueue says which outcome the
// enqueue had, in its exit status and its words, and queues exactly one task
// of the kind its flag names: a new target is queued (exit 0), and a target
// already queued, already answered or refused for good gets nothing (exit 1,
// each with its own message: a script or an operator told "queued" for a
// reply that was sent, or the reverse, acts on the wrong one). Two target
// flags are bad usage (exit 2).
func TestEnqueueCommandOutcomes(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 12}, "10/s")
	page := e.sb.Pages()[0].ID
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.db.Addr, DB: e.db.DB})
	t.Cleanup(func() { _ = insp.Close() })
	enqueue := func(flag, id string) (string, string, int) {
		t.Helper()
		return run(t, "enqueue", "-c", e.cfgPath, "--page", page, flag, id, "--text", "Hello from the CLI")
	}
	task := func(target string) (*asynq.TaskInfo, error) { return insp.GetTaskInfo(tasks.QueueReplies, target) }

	comment := page + "_1_2"
	out, errOut, code := enqueue("--comment", comment)
	if code != exitOK || out != "queued comment:"+comment+" (pending) for page "+page+"\n" {
		t.Fatalf("enqueue of a new comment: exit %d, %q %q", code, out, errOut)
	}
	ti, err := task("comment:" + comment)
	if err != nil {
		t.Fatalf("the comment's task: %v", err)
	}
	if r, err := tasks.DecodeReply(ti.Payload); err != nil || r.PageID != page || r.Text != "Hello from the CLI" || r.Source != tasks.SourceAPI {
		t.Errorf("the comment's task payload %+v (%v)", r, err)
	}

	for _, tc := range []struct {
		name, id, want string
		mark           func(tasks.Target) error
	}{
		{"queued", comment, "already has a reply queued", nil},
		{"sent", page + "_1_3", "already has a reply (sent)", func(tg tasks.Target) error { return l.MarkSent(ctx, page, tg, "m_1") }},
		{"failed", page + "_1_4", "failed for good: code 10903", func(tg tasks.Target) error { return l.MarkFailed(ctx, page, tg, "code 10903") }},
	} {
		tg := tasks.Target{Kind: tasks.KindComment, ID: tc.id}
		if tc.mark != nil {
			if err := tc.mark(tg); err != nil {
				t.Fatal(err)
			}
		}
		out, errOut, code := enqueue("--comment", tc.id)
		if code != exitError || out != "" || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "nothing done") {
			t.Errorf("enqueue of a target %s: exit %d, %q %q; want exit 1 and %q", tc.name, code, out, errOut, tc.want)
		}
		if tc.mark != nil {
			if _, err := task(tg.String()); err == nil {
				t.Errorf("a task was queued for a target %s", tc.name)
			}
		}
	}
	if n, err := insp.ListPendingTasks(tasks.QueueReplies); err != nil || len(n) != 1 {
		t.Errorf("pending tasks %d (%v), want only the first comment's", len(n), err)
	}

	post := page + "_5"
	if out, errOut, code := enqueue("--post", post); code != exitOK || !strings.Contains(out, "queued post:"+post) {
		t.Fatalf("enqueue of a visitor post: exit %d, %q %q", code, out, errOut)
	}
	if _, err := task("post:" + post); err != nil {
		t.Errorf("the visitor post's task: %v", err)
	}

	if _, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", page+"_1_6", "--post", page+"_6",
		"--text", "hi"); code != exitUsage || !strings.Contains(errOut, "only one") {
		t.Errorf("enqueue with two targets: exit %d, %q; want 2", code, errOut)
	}
}
