package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// slowPageGraph makes every send of one Page take delay, as a Page whose
// Graph calls are slow or hang until the timeout.
type slowPageGraph struct {
	worker.Graph
	page  string
	delay time.Duration
}

func (g slowPageGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if pageID == g.page {
		select {
		case <-time.After(g.delay):
		case <-ctx.Done():
		}
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestSlowPageHoldsNotOthersBack: a Page whose sends are slow is under its
// rate, so the limiter never puts its replies back, and each holds a slot for
// its whole send. Its backlog took every slot, and another Page's replies
// queued behind it waited for the whole backlog (52 s here). A Page now holds
// at most its share of the worker's slots (all but a tenth, here 3 of 4):
// its other replies go back to the queue, and the other Page's replies take
// the slot left.
func TestSlowPageHoldsNotOthersBack(t *testing.T) {
	t.Parallel() // each mostly waits
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 4242})
	a, b := h.pages[0].ID, h.pages[1].ID
	for i := range h.pages {
		h.pages[i].Rate, h.pages[i].Burst = config.Rate{N: 10, Per: time.Second}, 1
	}
	aReplies := h.addComments(a, 150, "a")
	bReplies := h.addComments(b, 3, "b")
	h.enqueueAll(t, aReplies)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Graph = slowPageGraph{Graph: p.Graph, page: a, delay: 1500 * time.Millisecond}
	})
	time.Sleep(3 * time.Second) // the slow Page's sends hold their slots
	start := time.Now()
	h.enqueueAll(t, bReplies)
	h.waitSent(t, bReplies, 60*time.Second)
	took := time.Since(start)
	t.Logf("page B's 3 replies took %s; page A sent %d meanwhile", took.Round(time.Millisecond), len(h.sb.CallLog(a)))
	if took > 5*time.Second {
		t.Errorf("page B's replies waited %s behind slow page A's backlog", took.Round(time.Millisecond))
	}
}

// slowReadGraph makes every comment read with one Page's token take delay.
type slowReadGraph struct {
	worker.PollGraph
	token string
	delay time.Duration
}

func (g slowReadGraph) Comment(ctx context.Context, token, id string) (graph.Comment, error) {
	if token == g.token {
		select {
		case <-time.After(g.delay):
		case <-ctx.Done():
		}
	}
	return g.PollGraph.Comment(ctx, token, id)
}

// TestBusyPageItemsHoldNotOthersBack: a burst of webhook items for one Page
// (a post gone viral), each waiting for the Page's read slot or reading
// slowly, took every slot of the worker's polls server, and another Page's
// items queued behind waited for the whole burst. A Page's items now hold at
// most their share of the slots.
func TestBusyPageItemsHoldNotOthersBack(t *testing.T) {
	t.Parallel() // each mostly waits
	for _, delay := range []time.Duration{0, 1500 * time.Millisecond} {
		t.Run("reads take "+delay.String(), func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 2, Seed: 4343})
			pages := pollPages(h)
			for i := range pages {
				pages[i].Rate.N, pages[i].DefaultText = 10, defaultText
				h.pages[i].Rate.N = 10
			}
			a, b := pages[0], pages[1]
			ctx := context.Background()
			for _, c := range h.addComments(a.ID, 150, "") {
				if _, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: a.ID, Kind: tasks.KindComment, ID: c.Target.ID}); err != nil {
					t.Fatal(err)
				}
			}
			pp := h.pollParams(pages)
			pp.Graph = slowReadGraph{PollGraph: pp.Graph, token: a.AccessToken, delay: delay}
			h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Poll = worker.NewPollHandler(pp) })
			time.Sleep(3 * time.Second)
			bc := h.addComments(b.ID, 3, defaultText)
			start := time.Now()
			for _, c := range bc {
				if _, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: b.ID, Kind: tasks.KindComment, ID: c.Target.ID}); err != nil {
					t.Fatal(err)
				}
			}
			h.waitSent(t, bc, 90*time.Second)
			took := time.Since(start)
			t.Logf("page B's 3 webhook items answered in %s", took.Round(time.Millisecond))
			if took > 5*time.Second {
				t.Errorf("page B's webhook items waited %s behind page A's", took.Round(time.Millisecond))
			}
		})
	}
}

// TestLonePageKeepsItsRate: the share cap must not slow a Page that is alone
// at its rate. One Page at 20/s whose sends take 300 ms needs 6 of the
// worker's 10 slots; an early form of the cap held its replies back whenever
// some of its slots were mid-send, and the held ones came back in
// whole-second batches: it sent 9 a second.
func TestLonePageKeepsItsRate(t *testing.T) {
	t.Parallel() // each mostly waits
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4242})
	a := h.pages[0].ID
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 20, Per: time.Second}, 1
	h.enqueueAll(t, h.addComments(a, 400, "a"))
	h.startWorkerOn(t, h.opt, 10, func(p *worker.Params) {
		p.Graph = slowPageGraph{Graph: p.Graph, page: a, delay: 300 * time.Millisecond}
	})
	time.Sleep(2 * time.Second)
	n0 := len(h.sb.CallLog(a))
	time.Sleep(8 * time.Second)
	got := float64(len(h.sb.CallLog(a))-n0) / 8
	t.Logf("sent %.1f a second (rate 20/s)", got)
	if got < 15 {
		t.Errorf("a lone Page at 20/s sent %.1f a second", got)
	}
}
