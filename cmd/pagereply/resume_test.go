package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestResumeLiftsPolicyBlock: a Page paused for a policy_block (Graph's 368,
// an hour at first) is said to be paused by a worker that starts, and
// holds its replies and webhook items put back for the hour; pagereply
// resume lifts the pause, forgets the block's escalation (the next block
// pauses an hour again, not two), and makes what the pause held runnable
// at once: a worker started after it sends every reply without waiting for
// the hour.
func TestResumeLiftsPolicyBlock(t *testing.T) {
	ctx := context.Background()
	w := newWakeRig(t, "20/s", 3)
	page := w.page.ID
	l := tasks.NewLedger(w.e.db.Client, tasks.LedgerOptions{})
	const block = "policy_block: (#368) The action attempted has been deemed abusive or is otherwise disallowed"
	if d, err := l.PauseEscalating(ctx, page, time.Hour, 24*time.Hour, block); err != nil || d != time.Hour {
		t.Fatalf("pause: %s %v", d, err)
	}
	escalation := l.PageKey(page, "pause_last:"+tasks.PausePolicyBlock)
	if n, err := w.e.db.Client.Exists(ctx, escalation).Result(); err != nil || n != 1 {
		t.Fatalf("no escalation memory %s after the pause (%d, %v)", escalation, n, err)
	}

	// A worker that starts says the Page is paused, and puts back what
	// comes for it.
	p := w.worker(t)
	eventually(t, 10*time.Second, "the start's warning of the paused Page", func() bool {
		return strings.Contains(p.stderr.String(), "page still paused at start")
	})
	if s := p.stderr.String(); !strings.Contains(s, `"kind":"policy_block"`) || !strings.Contains(s, `"page_id":"`+page+`"`) {
		t.Fatalf("start's warning without the Page or the kind of its pause:\n%s", s)
	}
	w.enqueue(t)
	item := w.enqueueItem(t, "8100")
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	retry := func(queue string) int {
		q, err := insp.GetQueueInfo(queue)
		if err != nil {
			return -1
		}
		return q.Retry
	}
	eventually(t, 20*time.Second, "the replies and the webhook item put back for the pause", func() bool {
		return retry(tasks.QueueReplies) == len(w.replies) && retry(tasks.QueuePolls) == 1
	})
	stop(t, p)
	if s := w.sent(); s != 0 {
		t.Fatalf("%d sent while paused", s)
	}
	state := func(queue, id string) (asynq.TaskState, *asynq.TaskInfo) {
		t.Helper()
		ti, err := insp.GetTaskInfo(queue, id)
		if err != nil {
			t.Fatalf("task %s: %v", id, err)
		}
		return ti.State, ti
	}
	for _, r := range w.replies {
		if st, ti := state(tasks.QueueReplies, r.Target.String()); st != asynq.TaskStateRetry ||
			time.Until(ti.NextProcessAt) < 50*time.Minute || !strings.Contains(ti.LastErr, "page paused: "+block) {
			t.Fatalf("reply %s before resume: %s until %s (%q), want put back for the hour", r.Target, st, ti.NextProcessAt, ti.LastErr)
		}
	}

	out, errOut, code := run(t, "resume", "-c", w.e.cfgPath, "--page", page)
	if code != exitOK || !strings.Contains(out, "page "+page+": lifted its policy_block pause, ") || !strings.Contains(out, block) ||
		!strings.Contains(out, "forgot its recent policy_block pauses") ||
		!strings.Contains(out, "3 replies and 1 webhook items put back for the pause run now") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	if d, why, err := l.Paused(ctx, page); err != nil || d != 0 {
		t.Fatalf("still paused for %s (%q, %v) after resume", d, why, err)
	}
	if n, err := w.e.db.Client.Exists(ctx, escalation).Result(); err != nil || n != 0 {
		t.Fatalf("escalation memory %s kept after resume (%d, %v)", escalation, n, err)
	}
	for _, r := range w.replies {
		if st, ti := state(tasks.QueueReplies, r.Target.String()); st != asynq.TaskStatePending {
			t.Fatalf("reply %s after resume: %s until %s, want pending", r.Target, st, ti.NextProcessAt)
		}
	}
	if st, ti := state(tasks.QueuePolls, item.TaskID()); st != asynq.TaskStatePending {
		t.Fatalf("webhook item after resume: %s until %s, want pending", st, ti.NextProcessAt)
	}

	// What the pause held goes out now, not in an hour.
	p = w.worker(t)
	eventually(t, 20*time.Second, "every reply after resume", func() bool {
		return w.sent() == len(w.replies) && w.e.sb.SendCount(item.ID) == 1
	})
	stop(t, p)
	if strings.Contains(p.stderr.String(), "page still paused at start") {
		t.Fatalf("a start after resume says the Page is paused:\n%s", p.stderr)
	}
	if d := w.e.sb.Duplicates(); d != 0 {
		t.Fatalf("%d duplicates", d)
	}

	// The block comes back later: a new one, an hour again, not two.
	if d, err := l.PauseEscalating(ctx, page, time.Hour, 24*time.Hour, block); err != nil || d != time.Hour {
		t.Fatalf("pause after resume: %s %v, want 1h", d, err)
	}
	if _, _, code := run(t, "resume", "-c", w.e.cfgPath, "--page", page); code != exitOK {
		t.Fatalf("second resume: exit %d", code)
	}
	out, errOut, code = run(t, "resume", "-c", w.e.cfgPath, "--page", page)
	if code != exitOK || strings.TrimSpace(out) != "page "+page+" was not paused" {
		t.Fatalf("resume of a Page not paused: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestResumeUsage: resume names the flag at fault (exit 2), and help
// describes it.
func TestResumeUsage(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 0, Comments: 0, Seed: 22}, "10/s")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"resume", "-c", e.cfgPath}, "pagereply resume: --page is required"},
		{[]string{"resume", "-c", e.cfgPath, "--page", "999"}, "pagereply resume: --page 999 is not in the configuration's pages"},
		{[]string{"resume", "-c", e.cfgPath, "--page", e.sb.Pages()[0].ID, "extra"}, `unexpected argument "extra"`},
	} {
		if _, errOut, code := run(t, tc.args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.args[1:], code, errOut)
		}
	}
	if out, _, code := run(t, "help", "resume"); code != exitOK || !strings.Contains(out, "Usage: pagereply resume -c FILE --page ID") ||
		!strings.Contains(out, "--page") {
		t.Errorf("help resume: exit %d\n%s", code, out)
	}
	if out, _, code := run(t, "help"); code != exitOK || !strings.Contains(out, "  resume ") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}
