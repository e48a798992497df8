package worker_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/worker"
)

// TestRedisRestartLosingDataMidRun_audit14: the scheduler, the poll and the
// worker run on one Redis without persistence (as redis-server runs with no
// config file), which is killed while replies are being sent and comes back
// 2 s later empty: the queue, the ledger and the polls' state are gone. The
// next poll finds no poll state and reads everything again: every comment
// and every conversation gets its reply, and no person gets a second
// message. A comment answered before the restart may be tried again (its
// record is gone) and Graph refuses it as already replied (10900), recorded
// as sent: never a second private reply. A conversation answered before is
// not sent again: the poll finds the Page's message with the reply's text
// after the person's.
func TestRedisRestartLosingDataMidRun_audit14(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it restarts and the polls
	rs := redisproc.Start(t, redisproc.Options{})
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 1417, Faults: sandbox.Faults{Latency: 50 * time.Millisecond}},
		&redistest.DB{Addr: rs.Addr(), Client: rs.Client()})
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyConversations}
	pages[0].DefaultText = defaultText
	pages[0].Rate = config.Rate{N: 20, Per: time.Second}
	page := pages[0].ID
	comments := h.addComments(page, 40, "unused") // the poll renders its own text
	var psids []string
	for i := range 30 {
		psid := strconv.Itoa(7100000 + i)
		h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Writer " + psid}, "hello", time.Now().Add(-time.Minute))
		psids = append(psids, psid)
	}

	h.startPollingWorker(t, pages, worker.NewPollHandler(h.pollParams(pages)))
	h.startScheduler(t, pages)

	for deadline := time.Now().Add(30 * time.Second); len(h.sb.Sends()) < 15; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sends after 30s (queues: %s)", len(h.sb.Sends()), h.queueSummary())
		}
	}
	rs.Kill()
	before := len(h.sb.Sends())
	time.Sleep(2 * time.Second)
	rs.Restart()
	t.Logf("%d sends before Redis lost its data", before)

	answered := func() (missing int) {
		for _, r := range comments {
			if h.sb.SendCount(r.Target.ID) == 0 {
				missing++
			}
		}
		for _, p := range psids {
			if h.sb.SendCount(p) == 0 {
				missing++
			}
		}
		return missing
	}
	for deadline := time.Now().Add(90 * time.Second); answered() > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d comments and conversations without a reply 90s after Redis came back (queues: %s)",
				answered(), len(comments)+len(psids), h.queueSummary())
		}
	}
	time.Sleep(3 * time.Second) // polls after the last send, which must queue nothing new
	for _, r := range comments {
		if n := h.sb.SendCount(r.Target.ID); n != 1 {
			t.Errorf("comment %s got %d private replies, want 1", r.Target.ID, n)
		}
	}
	for _, p := range psids {
		if n := h.sb.SendCount(p); n != 1 {
			t.Errorf("person %s got %d messages, want 1", p, n)
		}
	}
	if d := h.sb.Duplicates(); d != 0 {
		t.Errorf("%d duplicate private replies", d)
	}
	t.Logf("%d sends in all, %d refused as already replied after the data loss", len(h.sb.Sends()), h.sb.AlreadyRepliedCount())
}
