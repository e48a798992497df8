package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// scrapeMetrics returns the API's /metrics text.
func scrapeMetrics(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d\n%s", resp.StatusCode, b)
	}
	return string(b)
}

// wantSamples fails t for each sample of want (a line of the exposition
// format, "name{labels} value") that m does not hold.
func wantSamples(t *testing.T, m string, want ...string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(m, "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			name, _, _ := strings.Cut(w, "{")
			t.Errorf("no sample %s in /metrics:\n%s", w, grepLines(m, name))
		}
	}
}

// TestAPIEnqueueMetrics: a reply taken by POST /v1/replies, the same reply
// again (queued already) and a reply to a target the ledger has sent are
// each counted once in pagereply_enqueued_total under source api and their
// outcome, and the two refused ones in pagereply_duplicates_skipped_total
// where they were caught: the task id for the queued one, the ledger for the
// sent one.
func TestAPIEnqueueMetrics(t *testing.T) {
	e := newEnv(t, nil)
	p := e.page.ID
	body := func(post string) string {
		return fmt.Sprintf(`{"page_id":%q,"post_id":%q,"text":"x"}`, p, post)
	}
	if code, m := e.do(t, "POST", "/v1/replies", testToken, body(p+"_1")); code != http.StatusAccepted {
		t.Fatalf("first reply: %d %v", code, m)
	}
	if code, m := e.do(t, "POST", "/v1/replies", testToken, body(p+"_1")); code != http.StatusConflict {
		t.Fatalf("same reply again: %d %v", code, m)
	}
	if err := e.ledger.MarkSent(context.Background(), p, tasks.Target{Kind: tasks.KindPost, ID: p + "_2"}, "m_2"); err != nil {
		t.Fatal(err)
	}
	if code, m := e.do(t, "POST", "/v1/replies", testToken, body(p+"_2")); code != http.StatusConflict {
		t.Fatalf("reply to a sent target: %d %v", code, m)
	}
	m := scrapeMetrics(t, e)
	wantSamples(t, m,
		`pagereply_enqueued_total{outcome="enqueued",page="`+p+`",source="api"} 1`,
		`pagereply_enqueued_total{outcome="queued",page="`+p+`",source="api"} 1`,
		`pagereply_enqueued_total{outcome="sent",page="`+p+`",source="api"} 1`,
		`pagereply_duplicates_skipped_total{page="`+p+`",where="taskid"} 1`,
		`pagereply_duplicates_skipped_total{page="`+p+`",where="ledger"} 1`,
	)
	if strings.Contains(m, `source="webhook`) {
		t.Errorf("API replies counted under a webhook source:\n%s", grepLines(m, "pagereply_enqueued_total"))
	}
}

// TestQueueMetricsByState: asynq_queue_size has each state's own count (a
// task due later is scheduled, one archived is archived, not completed),
// asynq's run totals go to processed and failed in that order, a paused
// queue is 1 and the other 0, and the latency is the age of the oldest
// pending task.
func TestQueueMetricsByState(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rdb := tasks.NewRedisClient(e.opt)
	t.Cleanup(func() { _ = rdb.Close() })
	client := asynq.NewClient(e.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	id := func(i int) string { return fmt.Sprintf("comment:%s_%d", e.page.ID, i) }
	task := func(i int) *asynq.Task {
		r := tasks.Reply{PageID: e.page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: fmt.Sprintf("%s_%d", e.page.ID, i)}, Text: "hi", Source: tasks.SourceAPI}
		if r.Target.String() != id(i) {
			t.Fatalf("task id %s, want %s", r.Target, id(i))
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return asynq.NewTask(tasks.TypeReply, b, asynq.Queue(tasks.QueueReplies), asynq.TaskID(id(i)))
	}
	// 1 pending, 3 scheduled, 2 archived.
	if _, err := client.Enqueue(task(1)); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		if _, err := client.Enqueue(task(i), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 5; i <= 6; i++ {
		if _, err := client.Enqueue(task(i), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(tasks.QueueReplies, id(i)); err != nil {
			t.Fatal(err)
		}
	}
	// asynq's run totals (its processed and failed counters), 7 and 2.
	for key, v := range map[string]int{"processed": 7, "failed": 2} {
		if err := rdb.Set(ctx, "asynq:{"+tasks.QueueReplies+"}:"+key, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, []byte(`{}`), asynq.Queue(tasks.QueuePolls)), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := insp.PauseQueue(tasks.QueueReplies); err != nil {
		t.Fatal(err)
	}
	// The pending task is at least this old when scraped.
	time.Sleep(1100 * time.Millisecond)

	m := scrapeMetrics(t, e)
	q := `queue="` + tasks.QueueReplies + `"`
	wantSamples(t, m,
		`asynq_queue_size{`+q+`,state="pending"} 1`,
		`asynq_queue_size{`+q+`,state="active"} 0`,
		`asynq_queue_size{`+q+`,state="scheduled"} 3`,
		`asynq_queue_size{`+q+`,state="retry"} 0`,
		`asynq_queue_size{`+q+`,state="archived"} 2`,
		`asynq_queue_size{`+q+`,state="completed"} 0`,
		`asynq_tasks_processed_total{`+q+`} 7`,
		`asynq_tasks_failed_total{`+q+`} 2`,
		`asynq_queue_paused_total{`+q+`} 1`,
		`asynq_queue_paused_total{queue="`+tasks.QueuePolls+`"} 0`,
	)
	var latency float64
	if _, err := fmt.Sscanf(grepLines(m, `asynq_queue_latency_seconds{`+q+`}`), `asynq_queue_latency_seconds{`+q+`} %g`, &latency); err != nil || latency < 1 {
		t.Errorf("latency of a queue whose pending task waited a second: %v (%v)\n%s", latency, err, grepLines(m, "asynq_queue_latency_seconds"))
	}
}

// TestWebhookItemEnqueueMetrics: a comment delivered by the webhook is
// counted in pagereply_enqueued_total under source webhook_item (the item
// queued for a read, not a reply yet: a reply's source is webhook), once
// enqueued and, delivered again, once as queued already.
func TestWebhookItemEnqueueMetrics(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		p.Metrics = metrics.New()
		p.Webhook = api.NewWebhook(api.WebhookParams{
			VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: p.Enqueuer,
			Pages: p.Pages, Logger: p.Logger, Metrics: p.Metrics, MaxBody: 4 << 10,
		})
	})
	page := e.page.ID
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` +
		commentChange(page, page+"_1", page+"_1_2", "100000000000077", "add") + `]}]}`
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/webhook", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /webhook: %d", resp.StatusCode)
		}
	}
	m := scrapeMetrics(t, e)
	wantSamples(t, m,
		`pagereply_enqueued_total{outcome="enqueued",page="`+page+`",source="webhook_item"} 1`,
		`pagereply_enqueued_total{outcome="queued",page="`+page+`",source="webhook_item"} 1`,
		`pagereply_webhook_deliveries_total{outcome="accepted"} 2`,
	)
}

// TestQueueMetricsSkipOnlyAnUnreadableQueue: a queue whose info cannot be
// read (its pending list is a string, so asynq's script fails) is left out of
// the scrape, and every other queue is still exported. Twenty such queues
// make it all but certain that Redis lists one before the replies and polls
// queues, whatever its set order.
func TestQueueMetricsSkipOnlyAnUnreadableQueue(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rdb := tasks.NewRedisClient(e.opt)
	t.Cleanup(func() { _ = rdb.Close() })
	client := asynq.NewClient(e.opt)
	t.Cleanup(func() { _ = client.Close() })
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, []byte(`{}`), asynq.Queue(tasks.QueuePolls)), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := tasks.Reply{PageID: e.page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: e.page.ID + "_1"}, Text: "hi", Source: tasks.SourceAPI}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, b, asynq.Queue(tasks.QueueReplies), asynq.TaskID(r.Target.String()))); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		q := fmt.Sprintf("broken%d", i)
		if err := rdb.SAdd(ctx, "asynq:queues", q).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Set(ctx, "asynq:{"+q+"}:pending", "not a list", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m := scrapeMetrics(t, e)
	wantSamples(t, m,
		`asynq_queue_size{queue="`+tasks.QueueReplies+`",state="pending"} 1`,
		`asynq_queue_size{queue="`+tasks.QueuePolls+`",state="scheduled"} 1`,
	)
	if strings.Contains(m, `queue="broken`) {
		t.Errorf("an unreadable queue exported:\n%s", grepLines(m, "broken"))
	}
}
