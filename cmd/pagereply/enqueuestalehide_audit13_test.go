package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueStaleHideMark_audit13: pagereply enqueue of a comment whose
// hide mark the webhook wrote while its Page had skip_hidden queues the
// reply once the Page's skip_hidden is off (the mark dropped), and refuses
// it as before (exit 1, the mark kept) on a Page that still has it. Before
// the fix both were refused ("Graph refused it for good").
func TestEnqueueStaleHideMark_audit13(t *testing.T) {
	ctx := context.Background()
	e := newE2EPages(t, sandbox.Options{Pages: 2, Seed: 1313}, func(i int, p sandbox.Page) string {
		return fmt.Sprintf("  - id: %q\n    access_token: %q\n    reply_to: [comments]\n    default_text: \"Thanks!\"\n    skip_hidden: %t\n", p.ID, p.Token, i == 1)
	})
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.db.Addr, DB: e.db.DB})
	t.Cleanup(func() { _ = insp.Close() })
	for i, p := range e.sb.Pages() {
		comment := p.ID + "_1_2"
		if ok, err := l.MarkHidden(ctx, p.ID, comment, time.Time{}); err != nil || !ok {
			t.Fatalf("hide mark: %v %v", ok, err)
		}
		out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", p.ID, "--comment", comment, "--text", "Hello from the CLI")
		_, terr := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+comment)
		en, err := l.Get(ctx, p.ID, tasks.Target{Kind: tasks.KindComment, ID: comment})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if code != exitOK || !strings.HasPrefix(out, "queued comment:"+comment) || terr != nil || en.Status != tasks.StatusNone {
				t.Errorf("skip_hidden off: exit %d, %q %q, task %v, entry %+v; want queued, the mark dropped", code, out, errOut, terr, en)
			}
			continue
		}
		if code != exitError || !strings.Contains(errOut, "nothing done") || terr == nil || en.Reason != tasks.HiddenReason {
			t.Errorf("skip_hidden on: exit %d, %q %q, task %v, entry %+v; want exit 1, no task, the mark kept", code, out, errOut, terr, en)
		}
	}
}
