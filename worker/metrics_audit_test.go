package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// counterValues returns every series of vec whose page label is page, keyed
// by its other labels' values joined with "/" (the series InitPages made at 0
// included), so a test sees a count under a wrong label as well as a missing
// one.
func counterValues(t *testing.T, vec *prometheus.CounterVec, page string) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { vec.Collect(ch); close(ch) }()
	out := map[string]float64{}
	for m := range ch {
		d := readMetric(t, m)
		key, ours := "", false
		for _, l := range d.GetLabel() {
			if l.GetName() == "page" {
				ours = l.GetValue() == page
				continue
			}
			if key != "" {
				key += "/"
			}
			key += l.GetValue()
		}
		if ours && d.GetCounter().GetValue() != 0 {
			out[key] = d.GetCounter().GetValue()
		}
	}
	return out
}

// TestReplyMetricsByOutcome: one reply sent (from the API), one Graph
// refuses for good (not replyable) and one Graph says a reply exists for
// (sent by someone else, nothing in doubt): pagereply_replies_sent_total
// counts the first once under its source, pagereply_replies_failed_total the
// second once under class permanent, pagereply_duplicates_skipped_total the
// third once where Graph caught it; nothing else moves. An operator's sent,
// failed and duplicate alerts read these series.
func TestReplyMetricsByOutcome(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 211})
	page := h.pages[0]
	rs := h.addComments(page.ID, 3, "Thanks!")
	ok, refused, dup := rs[0], rs[1], rs[2]
	ok.Source = tasks.SourceAPI
	if !h.sb.SetCanReplyPrivately(refused.Target.ID, false) {
		t.Fatal("no such comment")
	}
	ctx := context.Background()
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	if _, err := g.SendPrivateReply(ctx, page.AccessToken, page.ID, graph.Recipient{CommentID: dup.Target.ID}, "someone else's"); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.InitPages([]string{page.ID})
	h.startWorkerOn(t, h.opt, 3, func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, []tasks.Reply{ok, refused, dup})
	h.waitSent(t, []tasks.Reply{ok, dup}, 30*time.Second)
	h.waitArchived(t, refused, 30*time.Second)
	waitRepliesSettled(t, h) // the counts follow the ledger records waitSent read

	for _, c := range []struct {
		name string
		vec  *prometheus.CounterVec
		want map[string]float64
	}{
		{"pagereply_replies_sent_total", m.RepliesSent, map[string]float64{"api": 1}},
		{"pagereply_replies_failed_total", m.RepliesFailed, map[string]float64{graph.ClassPermanent.String(): 1}},
		{"pagereply_duplicates_skipped_total", m.DuplicatesSkipped, map[string]float64{"graph": 1}},
		{"pagereply_page_pauses_total", m.PagePauses, map[string]float64{}},
	} {
		if got := counterValues(t, c.vec, page.ID); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if n := readMetric(t, m.SendLatency.WithLabelValues(page.ID)).GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("send latency observed %d times, want 1 (the one reply this worker sent)", n)
	}

}

// TestThrottleCountsPauseNotFailure: a reply Graph throttles (80006) pauses
// its Page, counted once in pagereply_page_pauses_total{reason="throttled"},
// and is not a failure (SPEC: "not a failure, no retry is used up").
func TestThrottleCountsPauseNotFailure(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 212})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Thanks!")[0]
	h.sb.Throttle(page, time.Hour)
	m := metrics.New()
	m.InitPages([]string{page})
	h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 30*time.Second, nil)
	if d, reason, err := h.ledger.Paused(context.Background(), page); err != nil || tasks.PauseKind(reason) != tasks.PauseThrottled || d <= 0 {
		t.Fatalf("Page paused %s (%q, %v), want throttled", d, reason, err)
	}
	if got := counterValues(t, m.PagePauses, page); fmt.Sprint(got) != fmt.Sprint(map[string]float64{"throttled": 1}) {
		t.Errorf("pagereply_page_pauses_total = %v, want throttled 1", got)
	}
	if got := counterValues(t, m.RepliesFailed, page); len(got) != 0 {
		t.Errorf("pagereply_replies_failed_total = %v for a throttled reply, want nothing", got)
	}
	if got := counterValues(t, m.RepliesSent, page); len(got) != 0 {
		t.Errorf("pagereply_replies_sent_total = %v, nothing was sent", got)
	}
}

// TestPagePausesCountedByKind: PauseForError counts a pause under its kind
// (policy_block for 368, page_broken for 190, throttled for 32), and counts
// a pause that was set or lengthened only: a throttled answer asking less
// than the pause already running changes nothing and is not a new pause.
func TestPagePausesCountedByKind(t *testing.T) {
	db := redistest.New(t)
	pages := []string{"1001", "1002", "1003"}
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: pages})
	m := metrics.New()
	m.InitPages(pages)
	log := testLogger()
	worker.PauseForError(l, m, pages[0], &graph.Error{Code: 368, Class: graph.ClassPageBroken, Endpoint: graph.EndpointMessages, Message: "(#368) blocked"}, log)
	worker.PauseForError(l, m, pages[1], &graph.Error{Code: 190, Class: graph.ClassPageBroken, Endpoint: graph.EndpointMessages, Message: "(#190) token expired"}, log)
	throttled := func(d time.Duration) *graph.Error {
		return &graph.Error{Code: 32, Class: graph.ClassThrottled, Endpoint: graph.EndpointMessages, Message: "(#32) Page request limit reached", RetryAfter: d}
	}
	if d := worker.PauseForError(l, m, pages[2], throttled(10*time.Minute), log); d != 10*time.Minute {
		t.Fatalf("throttled pause %s, want 10m", d)
	}
	worker.PauseForError(l, m, pages[2], throttled(time.Minute), log)
	for i, want := range []string{"policy_block", "page_broken", "throttled"} {
		if got := counterValues(t, m.PagePauses, pages[i]); fmt.Sprint(got) != fmt.Sprint(map[string]float64{want: 1}) {
			t.Errorf("page %s: pagereply_page_pauses_total = %v, want %s 1", pages[i], got, want)
		}
	}
}

// TestWorkerFailureMetrics: the worker's own outcomes are counted under
// their own labels: a reply past its Page's reply window is a failure
// too_old; a task whose target the ledger has sent already (its task queued
// again behind the ledger's back) is a duplicate caught by the ledger; a
// Page whose token broke counts a page_broken failure and a page_broken
// pause. None of them counts a send.
func TestWorkerFailureMetrics(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 213})
	a, b := h.pages[0].ID, h.pages[1].ID
	ctx := context.Background()
	rs := h.addComments(a, 2, "Thanks!")
	old, done := rs[0], rs[1]
	old.Created = time.Now().Add(-8 * 24 * time.Hour).UnixMilli()
	if err := h.ledger.MarkSent(ctx, a, done.Target, "m_earlier"); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	payload, err := json.Marshal(done)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, payload), asynq.Queue(tasks.QueueReplies), asynq.TaskID(done.Target.String())); err != nil {
		t.Fatal(err)
	}
	broken := h.addComments(b, 1, "Thanks!")[0]
	h.sb.BreakToken(b, true)

	m := metrics.New()
	m.InitPages([]string{a, b})
	h.startWorkerOn(t, h.opt, 3, func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, []tasks.Reply{old, broken})
	h.waitArchived(t, old, 30*time.Second)
	h.waitPutBack(t, broken, 30*time.Second, nil)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	eventually := time.Now().Add(30 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, done.Target.String())
		if err != nil || ti.State == asynq.TaskStateCompleted {
			break // done, and removed or kept as completed
		}
		if time.Now().After(eventually) {
			t.Fatalf("task of a sent target still %s", ti.State)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, c := range []struct {
		name, page string
		vec        *prometheus.CounterVec
		want       map[string]float64
	}{
		{"pagereply_replies_failed_total", a, m.RepliesFailed, map[string]float64{"too_old": 1}},
		{"pagereply_duplicates_skipped_total", a, m.DuplicatesSkipped, map[string]float64{"ledger": 1}},
		{"pagereply_replies_sent_total", a, m.RepliesSent, map[string]float64{}},
		{"pagereply_replies_failed_total", b, m.RepliesFailed, map[string]float64{graph.ClassPageBroken.String(): 1}},
		{"pagereply_page_pauses_total", b, m.PagePauses, map[string]float64{tasks.PausePageBroken: 1}},
		{"pagereply_replies_sent_total", b, m.RepliesSent, map[string]float64{}},
	} {
		if got := counterValues(t, c.vec, c.page); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("page %s: %s = %v, want %v", c.page, c.name, got, c.want)
		}
	}
}

// TestRateLimitedCounted: a Page whose rate is used up puts its next reply
// back, and pagereply_rate_limited_total counts it.
func TestRateLimitedCounted(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 214})
	h.pages[0].Rate = config.Rate{N: 1, Per: time.Hour}
	page := h.pages[0].ID
	rs := h.addComments(page, 3, "Thanks!")
	m := metrics.New()
	m.InitPages([]string{page})
	h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, rs)
	deadline := time.Now().Add(30 * time.Second)
	for readMetric(t, m.RateLimited.WithLabelValues(page)).GetCounter().GetValue() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reply counted as rate limited; sends %d, queues %s", len(h.sb.Sends()), h.queueSummary())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(h.sb.Sends()); n > 2 {
		t.Errorf("%d sends at 1/h with burst 1", n)
	}
}
