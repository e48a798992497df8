package worker_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

const hideChaosSecret = "hide-chaos-app-secret"

// signedWebhook is the API's real webhook handler over loopback HTTP for
// page; the func it returns posts Meta's signed delivery of the changes
// given (each a change's JSON object, {"field":"feed","value":{...}}), and
// fails the test unless it is answered 200.
func signedWebhook(t *testing.T, h *harness, page config.Page) func(changes ...string) {
	t.Helper()
	wh := httptest.NewServer(api.NewWebhook(api.WebhookParams{VerifyToken: "verify", AppSecret: hideChaosSecret, Intake: h.enq,
		Hidden: h.ledger, Pages: []config.Page{page}, Logger: testLogger()}))
	t.Cleanup(wh.Close)
	return func(changes ...string) {
		body := `{"object":"page","entry":[{"id":"` + page.ID + `","time":1767000000,"changes":[` + strings.Join(changes, ",") + `]}]}`
		mac := hmac.New(sha256.New, []byte(hideChaosSecret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, wh.URL, strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("webhook delivery of %d changes answered %d, want 200", len(changes), resp.StatusCode)
		}
	}
}

// hideWebhook is signedWebhook for a Page with skip_hidden; deliver posts
// Meta's signed feed change of one comment with a verb.
func hideWebhook(t *testing.T, h *harness, page config.Page) func(verb, id string) {
	t.Helper()
	deliver := signedWebhook(t, h, page)
	return func(verb, id string) {
		deliver(`{"field":"feed","value":{"item":"comment","verb":"` + verb +
			`","comment_id":"` + id + `","post_id":"` + page.ID + `_1","from":{"id":"6300000","name":"Ada Visitor"}}}`)
	}
}

// waitQuiet waits until the replies queue holds no task to run, running or
// waiting to run again.
func (h *harness) waitQuiet(t *testing.T, timeout time.Duration) {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	deadline := time.Now().Add(timeout)
	for {
		info, err := insp.GetQueueInfo(tasks.QueueReplies)
		if err == nil && info.Pending+info.Active+info.Scheduled+info.Retry == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replies queue not quiet after %s: %s", timeout, h.queueSummary())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHideUnhideChaos: 300 comments of a Page with skip_hidden, two
// workers sending their replies while Meta's hide and unhide deliveries
// (signed, through the API's webhook) come for random comments, and the
// same targets are queued again and again by polls, webhook items and the
// API; the sandbox loses some sends' answers after acting on them. With
// and without a Page rate (the admission gate only guards a Page with
// one). No comment gets a second private reply (the sandbox refuses one
// with 10900, and counts it); every comment never hidden is answered
// exactly once; and every comment visible at the end is answered once the
// unhides are in and a full read finds it again.
func TestHideUnhideChaos(t *testing.T) {
	for _, rated := range []bool{false, true} {
		name := "no_rate"
		if rated {
			name = "rate"
		}
		t.Run(name, func(t *testing.T) { hideUnhideChaos(t, rated) })
	}
}

func hideUnhideChaos(t *testing.T, rated bool) {
	const n = 300
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 8861})
	page := h.pages[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.Rules, page.DefaultText = nil, "Thanks!"
	page.SkipHidden = true
	if rated {
		page.Rate, page.Burst = config.Rate{N: 400, Per: time.Second}, 4
	} else {
		page.Rate, page.Burst = config.Rate{}, 0
	}
	h.pages = []config.Page{page}
	// As the API's and the scheduler's: it replaces a task that answered
	// nothing (archived, or completed on a hide mark since dropped).
	h.enq.Inspector = asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = h.enq.Inspector.Close() })
	rs := h.addComments(page.ID, n, "Thanks!")
	deliver := hideWebhook(t, h, page)
	pl := worker.NewPoller(h.pollParams(h.pages))
	ctx := context.Background()

	// Each comment's hides and shows, one at a time per comment: the
	// sandbox's is_hidden first (what a poll or webhook item reads), then
	// Meta's delivery, as Meta sends it after the change.
	var mu sync.Mutex
	locks := make([]sync.Mutex, n)
	hidden := make([]bool, n)
	everHidden := make([]bool, n)
	setHidden := func(i int, hide bool) {
		locks[i].Lock()
		defer locks[i].Unlock()
		h.sb.SetHidden(rs[i].Target.ID, hide)
		mu.Lock()
		hidden[i] = hide
		everHidden[i] = everHidden[i] || hide
		mu.Unlock()
		verb := "unhide"
		if hide {
			verb = "hide"
		}
		deliver(verb, rs[i].Target.ID)
	}

	h.sb.SetFaults(sandbox.Faults{Latency: 2 * time.Millisecond, Jitter: 8 * time.Millisecond, DropRate: 0.05})
	h.startWorker(t, 8)
	h.startWorkerOn(t, h.opt, 8, func(p *worker.Params) {
		l := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{Batch: true})
		t.Cleanup(l.Close)
		p.Ledger = l
	})
	if _, err := pl.Poll(ctx, page.ID, false); err != nil {
		t.Fatal(err)
	}

	// A third of the comments are hidden and shown at random, the hides
	// weighted to come while their replies are claimed and being sent;
	// the others are never hidden.
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 8861))
			for range 150 {
				i := rng.IntN(n/3) * 3
				setHidden(i, rng.IntN(3) != 0)
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(7, 8861))
		for k := range 150 {
			i := rng.IntN(n)
			switch k % 3 {
			case 0:
				if _, err := pl.Poll(ctx, page.ID, false); err != nil {
					t.Error(err)
				}
			case 1:
				b, _ := json.Marshal(tasks.WebhookItem{PageID: page.ID, Kind: tasks.KindComment, ID: rs[i].Target.ID})
				if err := pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, b)); err != nil {
					t.Error(err)
				}
			default:
				r := rs[i]
				r.Source = tasks.SourceAPI
				if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	wg.Wait()
	h.waitQuiet(t, 60*time.Second)
	h.sb.SetFaults(sandbox.Faults{})

	// The end: every other comment still hidden is shown again, and a
	// full read (the poll state forgotten) finds every visible comment.
	for i := range n {
		mu.Lock()
		show := hidden[i] && i%2 == 0
		mu.Unlock()
		if show {
			setHidden(i, false)
		}
	}
	posts, convs := worker.PollStateKeys(h.ledger, page.ID)
	if err := h.db.Client.Del(ctx, posts, convs).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Poll(ctx, page.ID, false); err != nil {
		t.Fatal(err)
	}
	h.waitQuiet(t, 60*time.Second)

	if d := h.sb.Duplicates(); d != 0 {
		t.Errorf("sandbox counted %d comments with two replies", d)
	}
	if got := h.sb.AlreadyReplied(); len(got) != 0 {
		t.Errorf("%d sends refused as already replied (10900), the first to %s: pagereply sent a second reply", len(got), got[0].Target)
	}
	var neverHidden, hiddenEnd, hiddenEndSent, shownEnd, shownEndSent int
	var unanswered []string
	for i, r := range rs {
		sends := h.sb.SendCount(r.Target.ID)
		switch {
		case !everHidden[i]:
			neverHidden++
			if sends != 1 {
				t.Errorf("comment %s, never hidden, got %d sends, want 1", r.Target.ID, sends)
			}
		case hidden[i]:
			hiddenEnd++
			hiddenEndSent += sends
		default:
			shownEnd++
			shownEndSent += sends
			if sends != 1 {
				unanswered = append(unanswered, r.Target.ID)
			}
		}
	}
	if len(unanswered) > 0 {
		e, _ := h.ledger.Get(ctx, page.ID, tasks.Target{Kind: tasks.KindComment, ID: unanswered[0]})
		t.Errorf("%d comments hidden and shown again, visible at the end, got no reply after a full read; the first, %s: ledger %+v",
			len(unanswered), unanswered[0], e)
	}
	t.Logf("rated %t: %d never hidden; %d hidden at the end (%d of them answered: claimed before a hide); %d shown again (%d answered); sends %d, lost answers %d",
		rated, neverHidden, hiddenEnd, hiddenEndSent, shownEnd, shownEndSent, len(h.sb.Sends()), droppedSends(h.sb))
}

// droppedSends counts the sends whose answer the sandbox lost.
func droppedSends(sb *sandbox.Sandbox) int {
	n := 0
	for _, s := range sb.Sends() {
		if s.Dropped {
			n++
		}
	}
	return n
}

// hideInSendGraph is the sandbox, with a hook run before a private reply
// goes out.
type hideInSendGraph struct {
	worker.Graph
	before func()
}

func (g *hideInSendGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if g.before != nil {
		g.before()
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestHideInLostSendThenUnhide: on a Page with skip_hidden and no rate
// (no admission gate), the Page hides a comment while a worker sends its
// reply, and the send's answer is lost after Graph made it. The hide mark
// took the claim's place, and the worker's doubt replaces it: an unhide
// before the retry then leaves the doubt, not nothing, and the retry asks
// Graph, finds the reply, and records it, instead of sending a second one
// (Graph's 10900). Before the fix the doubt was refused by the mark, and
// the unhide dropped both.
func TestHideInLostSendThenUnhide(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 8862})
	page := h.pages[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.Rules, page.DefaultText = nil, "Thanks!"
	page.SkipHidden = true
	page.Rate, page.Burst = config.Rate{}, 0
	h.pages = []config.Page{page}
	r := h.addComments(page.ID, 1, "Thanks!")[0]
	deliver := hideWebhook(t, h, page)
	var once sync.Once
	g := &hideInSendGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	g.before = func() {
		once.Do(func() {
			h.sb.SetHidden(r.Target.ID, true)
			deliver("hide", r.Target.ID)
			h.sb.SetFaults(sandbox.Faults{DropRate: 1})
		})
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g; p.SendSettle = 2 * time.Second })
	h.enqueueAll(t, []tasks.Reply{r})
	// The lost send's task waits for its retry; the Page shows the comment
	// again meanwhile.
	h.waitPutBack(t, r, 20*time.Second, nil)
	h.sb.SetFaults(sandbox.Faults{})
	h.sb.SetHidden(r.Target.ID, false)
	deliver("unhide", r.Target.ID)
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
	if got := h.sb.AlreadyReplied(); len(got) != 0 {
		t.Errorf("%d sends refused as already replied (10900): a second reply was sent", len(got))
	}
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("comment got %d sends, want 1", n)
	}
	if e, err := h.ledger.Get(context.Background(), page.ID, r.Target); err != nil || e.Status != tasks.StatusSent {
		t.Errorf("ledger entry %+v, %v; want sent", e, err)
	}
}
