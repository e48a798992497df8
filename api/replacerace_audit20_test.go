package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/tasks"
)

// TestConcurrentReplaceOfArchived_audit20: many POSTs at once for a target
// whose task is archived (its retries ran out) queue it once (one 202), and
// the others answer 409 with the state of the reply being queued, never
// "archived" with a message that it completed without a send: the reply is
// on its way again.
func TestConcurrentReplaceOfArchived_audit20(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Enqueuer.Inspector = p.Inspector })
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	for round := 0; round < 20; round++ {
		c := fmt.Sprintf("1%02d_2000", round)
		body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
		if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
			t.Fatalf("reply: %d %v", st, m)
		}
		if err := insp.ArchiveTask(tasks.QueueReplies, "comment:"+c); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		sts := make([]int, n)
		ms := make([]map[string]any, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sts[i], ms[i] = e.do(t, http.MethodPost, "/v1/replies", testToken, body)
			}()
		}
		wg.Wait()
		accepted := 0
		for i := range n {
			switch {
			case sts[i] == http.StatusAccepted:
				accepted++
			case sts[i] != http.StatusConflict || ms[i]["state"] == "archived":
				t.Errorf("round %d: POST %d %v; want 202 or a 409 of the reply queued again", round, sts[i], ms[i])
			}
		}
		if accepted != 1 {
			t.Errorf("round %d: %d accepted, want 1", round, accepted)
		}
	}
}
