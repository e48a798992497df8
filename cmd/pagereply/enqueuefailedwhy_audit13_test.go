package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueFailedForGoodSaysWhy_audit13: pagereply enqueue of a comment
// the ledger has failed for good exits 1 saying the ledger's reason (the
// Page hid it, it was removed). Before the fix it said "Graph refused it for
// good" for these too, which Graph never saw.
func TestEnqueueFailedForGoodSaysWhy_audit13(t *testing.T) {
	ctx := context.Background()
	e := newE2EPages(t, sandbox.Options{Pages: 1, Seed: 1314}, func(i int, p sandbox.Page) string {
		return fmt.Sprintf("  - id: %q\n    access_token: %q\n    reply_to: [comments]\n    default_text: \"Thanks!\"\n    skip_hidden: true\n", p.ID, p.Token)
	})
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	p := e.sb.Pages()[0]
	hidden, removed := p.ID+"_1_2", p.ID+"_1_3"
	if ok, err := l.MarkHidden(ctx, p.ID, hidden, time.Time{}); err != nil || !ok {
		t.Fatalf("hide mark: %v %v", ok, err)
	}
	if ok, err := l.MarkRemoved(ctx, p.ID, tasks.Target{Kind: tasks.KindComment, ID: removed}); err != nil || !ok {
		t.Fatalf("remove mark: %v %v", ok, err)
	}
	for _, c := range []struct{ id, why string }{{hidden, tasks.HiddenReason}, {removed, "comment removed"}} {
		_, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", p.ID, "--comment", c.id, "--text", "Hello")
		if code != exitError || !strings.Contains(errOut, c.why) || strings.Contains(errOut, "Graph refused") || !strings.Contains(errOut, "nothing done") {
			t.Errorf("enqueue of %s: exit %d, %q; want exit 1 saying %q, nothing done", c.id, code, errOut, c.why)
		}
	}
}
