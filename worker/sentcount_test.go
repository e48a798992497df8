package worker_test

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/worker"
)

// readMetric returns the value of one series of a metric vector (a counter,
// a histogram: what WithLabelValues gave).
func readMetric(t *testing.T, m any) *dto.Metric {
	t.Helper()
	var d dto.Metric
	w, ok := m.(interface{ Write(*dto.Metric) error })
	if !ok {
		t.Fatalf("%T is not a metric", m)
	}
	if err := w.Write(&d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// TestSentCountMatchesGraph: with a fifth of Graph's answers lost after it
// sent, every reply goes out once, and pagereply_replies_sent_total counts
// every one of them: a reply whose answer was lost, found sent by its retry,
// was counted before as a duplicate skipped (83 sent, 17 "duplicates" for
// 100 replies sent once each), so the metrics disagreed with Graph and with
// status, and a duplicates alert fired with nothing sent twice.
func TestSentCountMatchesGraph(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 11})
	page := h.pages[0].ID
	rs := h.addComments(page, 100, "Thanks!")
	h.sb.SetFaults(sandbox.Faults{DropRate: 0.2})
	m := metrics.New()
	h.startWorkerOn(t, h.opt, 10, func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, rs)
	h.waitSent(t, rs, 2*time.Minute)
	h.checkExactlyOnce(t, rs)
	if h.sb.DroppedAnswers() == 0 {
		t.Fatal("no answer was dropped: the test shows nothing")
	}
	// A reply's count follows its ledger record, which waitSent reads: the
	// last one's may come a moment after (CI read 99 of 100 once), once its
	// handler has returned.
	waitRepliesSettled(t, h)
	sent := readMetric(t, m.RepliesSent.WithLabelValues(page, "poll"))
	lat := readMetric(t, m.SendLatency.WithLabelValues(page))
	dups := readMetric(t, m.DuplicatesSkipped.WithLabelValues(page, "graph"))
	if got := int(sent.GetCounter().GetValue()); got != len(h.sb.Sends()) {
		t.Errorf("pagereply_replies_sent_total = %d, Graph received %d (%d answers dropped)", got, len(h.sb.Sends()), h.sb.DroppedAnswers())
	}
	if n := dups.GetCounter().GetValue(); n != 0 {
		t.Errorf("duplicates_skipped{where=graph} = %v, but nothing was sent twice", n)
	}
	if n := lat.GetHistogram().GetSampleCount(); int(n) != len(rs) {
		t.Errorf("send latency observed %d times, want %d", n, len(rs))
	}
}

// TestPausedPollNotObserved: a poll slot of a paused Page does not run, and
// is not observed as a poll of no time (seven such slots in a row made a
// policy-blocked Page look like one that polls fast); a poll that runs is.
func TestPausedPollNotObserved(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 12})
	pages := pollPages(h)
	page := pages[0].ID
	params := h.pollParams(pages)
	params.Metrics = metrics.New()
	pl := worker.NewPoller(params)
	count := func() uint64 {
		return readMetric(t, params.Metrics.PollDuration.WithLabelValues(page)).GetHistogram().GetSampleCount()
	}
	if _, err := h.ledger.Pause(t.Context(), page, time.Minute, "policy_block: test"); err != nil {
		t.Fatal(err)
	}
	if rep, err := pl.Poll(t.Context(), page, false); err != nil || rep.Paused == "" {
		t.Fatalf("poll of a paused Page: %+v %v", rep, err)
	}
	if n := count(); n != 0 {
		t.Errorf("a poll that did not run was observed (%d)", n)
	}
	if err := h.ledger.Resume(t.Context(), page); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Poll(t.Context(), page, false); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("a poll that ran observed %d times, want 1", n)
	}
}
