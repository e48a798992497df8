package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestMessagingRestrictionIsAPolicyBlockAudit8: Meta's code 10 with subcode
// 1893063, "temporarily restricted from sending messages" (Messenger Platform
// Common Error Codes, https://developers.facebook.com/docs/messenger-platform/error-codes),
// pauses the Page as policy_block for an hour, as 368 does, not as
// page_broken for 5 minutes: calling into a restriction every 5 minutes
// lengthens it, and a new token (which lifts a page_broken pause) does not
// end it.
func TestMessagingRestrictionIsAPolicyBlockAudit8(t *testing.T) {
	db := redistest.New(t)
	page := "1001"
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: []string{page}})
	m := metrics.New()
	m.InitPages([]string{page})
	err := &graph.Error{Code: 10, Subcode: 1893063, Class: graph.ClassPageBroken, Endpoint: graph.EndpointMessages,
		Message: "(#10) Your Page is temporarily restricted from sending messages."}
	d := worker.PauseForError(l, m, page, err, testLogger())
	if d < 59*time.Minute {
		t.Errorf("paused %s, want an hour", d)
	}
	left, _, perr := l.Paused(context.Background(), page)
	if perr != nil {
		t.Fatal(perr)
	}
	if left < 59*time.Minute {
		t.Errorf("pause left %s, want about an hour", left)
	}
	if got := counterValues(t, m.PagePauses, page); fmt.Sprint(got) != fmt.Sprint(map[string]float64{"policy_block": 1}) {
		t.Errorf("pagereply_page_pauses_total = %v, want policy_block 1", got)
	}
}
