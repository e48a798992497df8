package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestSlowPageBatchAnswersInTime_audit11: a batch of conversation replies
// of a Page whose conversation reads are slow (8/m: a slot every 7.5 s)
// waited for each item's read slot in turn, up to 10 s each, so a batch of
// a few ran past its write timeout (here 25 s; 2 minutes by default) and the
// caller's client, waiting as long, got no answer at all. The batch must
// answer within it: the items whose slot is further than the batch can wait
// are answered 503 with the wait (and not queued), the others 202 (queued
// once), and the Page read no faster than its schedule.
func TestSlowPageBatchAnswersInTime_audit11(t *testing.T) {
	t.Parallel() // mostly waits out a slow read schedule
	const writeTimeout = 25 * time.Second
	var pages []config.Page
	e := newEnv(t, func(p *api.Params) {
		p.Pages[0].Rate = config.Rate{N: 8, Per: time.Minute}
		p.WriteTimeout = writeTimeout
		pages = p.Pages
	})
	page := e.page.ID
	items := conversationBodies(e, 5, 6300000)
	req, err := http.NewRequest("POST", e.url+"/v1/replies", strings.NewReader(`{"replies":[`+strings.Join(items, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	// The caller waits as long as the batch's write timeout.
	resp, err := (&http.Client{Timeout: writeTimeout}).Do(req)
	if err != nil {
		t.Fatalf("no answer to the batch within its write timeout (%s): %v", writeTimeout, err)
	}
	defer resp.Body.Close()
	var br api.BatchResponse
	if err := json.NewDecoder(resp.Body).Decode(&br); err != nil || resp.StatusCode != http.StatusMultiStatus || len(br.Results) != len(items) {
		t.Fatalf("batch answer: %d %+v %v", resp.StatusCode, br, err)
	}
	accepted, later := 0, 0
	for i, r := range br.Results {
		switch {
		case r.Status == http.StatusAccepted:
			accepted++
		case r.Status == http.StatusServiceUnavailable && r.Error != nil && strings.Contains(r.Error.Message, "booked for the next"):
			later++
		default:
			t.Errorf("item %d: %+v, want 202, or 503 with the time to its read slot", i, r)
		}
	}
	if accepted == 0 || later == 0 {
		t.Errorf("%d items queued, %d answered 503: want both", accepted, later)
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	queued, err := insp.ListPendingTasks(tasks.QueueReplies)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != accepted {
		t.Errorf("%d tasks queued for %d items answered 202", len(queued), accepted)
	}
	lim := worker.ConversationReadLimit(&pages[0])
	if c := e.sb.CheckSends(page, lim.Interval*9/10, 1, 1/lim.Interval.Seconds()); c.Over() {
		t.Errorf("Graph calls of the Page, its conversation read interval being %s: %s", lim.Interval, c)
	}
}

// conversationBodies writes n people's messages (ids from first on) to e's
// Page, a minute old, and returns the POST /v1/replies bodies answering
// their conversations.
func conversationBodies(e *env, n, first int) []string {
	var bodies []string
	for i := range n {
		id := strconv.Itoa(first + i)
		conv, _ := e.sb.AddMessage(e.page.ID, sandbox.User{ID: id, Name: "Person " + id}, "hi", time.Now().Add(-time.Minute))
		bodies = append(bodies, fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, e.page.ID, conv))
	}
	return bodies
}
