package worker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDoubtCheckOfAnotherPagesComment: an API reply names a comment that is
// another Page's (the API cannot tell without a Graph call), and its first
// send's answer was lost. The check before sending again reads the comment's
// private_reply_conversation, which Graph answers 100/33 (no such object for
// this token): that reply fails for good, archived, and its Page is not
// paused. A pause would hold every other reply of the Page for a caller's
// wrong id, and come back each time the reply is retried.
func TestDoubtCheckOfAnotherPagesComment(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 83})
	p1, p2 := h.pages[0].ID, h.pages[1].ID
	r := h.addComments(p1, 1, "Hi")[0]
	r.PageID, r.Source = p2, tasks.SourceAPI
	ctx := context.Background()
	h.lostAnswer(t, r)
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	ti := h.waitArchived(t, r, 20*time.Second)
	if !strings.Contains(ti.LastErr, "code 100/33") {
		t.Errorf("archived with %q, want Graph's 100/33", ti.LastErr)
	}
	if d, reason, err := h.ledger.Paused(ctx, p2); err != nil || d > 0 {
		t.Errorf("Page paused for %s (%q, %v) by the check of another Page's comment", d, reason, err)
	}
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusFailed {
		t.Errorf("ledger entry %+v %v, want failed", e, err)
	}
	if n := h.sb.Calls()[sandbox.EndpointObject]; n == 0 {
		t.Errorf("the comment was not checked (calls %v)", h.sb.Calls())
	}
	if n := len(h.sb.Sends()); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
}

// TestWebhookItemOfAnotherPage: a webhook item of one Page that names another
// Page's comment or post is read with the first Page's token, and Graph
// answers 100/33, as for a deleted item: that item is done (no retry, not
// archived), and the Page is not paused.
func TestWebhookItemOfAnotherPage(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 89})
	pages := pollPages(h)
	p1, p2 := pages[0].ID, pages[1].ID
	r := h.addComments(p1, 1, "Hi")[0]
	visitorPost := h.sb.AddPost(p1, sandbox.User{ID: "7000001", Name: "Vera Visitor"}, "Do you ship?", time.Now().Add(-time.Hour))
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	for _, it := range []tasks.WebhookItem{
		{PageID: p2, Kind: tasks.KindComment, ID: r.Target.ID},
		{PageID: p2, Kind: tasks.KindPost, ID: visitorPost},
	} {
		it.ReceivedAt = time.Now().UnixMilli()
		payload, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		before := h.sb.Calls()[sandbox.EndpointObject]
		if err := pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, payload)); err != nil {
			t.Errorf("%s item of another Page: %v, want it done (Graph's 100/33)", it.Kind, err)
		}
		if h.sb.Calls()[sandbox.EndpointObject] == before {
			t.Errorf("%s item of another Page was not read", it.Kind)
		}
		if d, reason, err := h.ledger.Paused(ctx, p2); err != nil || d > 0 {
			t.Fatalf("Page paused for %s (%q, %v) by a webhook item of another Page", d, reason, err)
		}
	}
	if n := len(h.sb.Sends()); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
}

// TestDoubtfulPostReply: a visitor post's reply whose earlier answer was
// lost. Graph has no private_reply_conversation on posts (code 100,
// "nonexisting field"), so the check cannot tell; the reply is sent again,
// and Graph's one reply per post settles it: when the earlier attempt went
// through, the second send is refused with 10900 and recorded as sent; when
// it did not, the reply goes out now. Either way one reply, none missed,
// and one counted sent: the refusal is the earlier attempt's reply, which
// that attempt could not count, not a duplicate skipped.
func TestDoubtfulPostReply(t *testing.T) {
	for _, earlier := range []bool{true, false} {
		t.Run(map[bool]string{true: "earlier attempt sent", false: "earlier attempt lost"}[earlier], func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 101})
			page := h.pages[0]
			post := h.sb.AddPost(page.ID, sandbox.User{ID: "7000002", Name: "Pat Poster"}, "Do you ship to Spain?", time.Now().Add(-time.Hour))
			r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindPost, ID: post}, Text: "We do!", Source: tasks.SourcePoll}
			ctx := context.Background()
			if earlier {
				g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
				if _, err := g.SendPrivateReply(ctx, page.AccessToken, page.ID, graph.Recipient{PostID: post}, r.Text); err != nil {
					t.Fatal(err)
				}
			}
			h.lostAnswer(t, r)
			m := metrics.New()
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Metrics = m })
			if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue: %v %v", o, err)
			}
			h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
			waitRepliesSettled(t, h) // the counts follow the ledger record waitSent read
			sent := readMetric(t, m.RepliesSent.WithLabelValues(page.ID, "poll")).GetCounter().GetValue()
			dups := readMetric(t, m.DuplicatesSkipped.WithLabelValues(page.ID, "graph")).GetCounter().GetValue()
			if sent != 1 || dups != 0 {
				t.Errorf("counted %v sent, %v duplicates skipped (graph); want 1 sent, no duplicate", sent, dups)
			}
			if n := h.sb.SendCount(post); n != 1 {
				t.Errorf("%d replies to the post, want 1", n)
			}
			if n, want := h.sb.AlreadyRepliedCount(), map[bool]int{true: 1, false: 0}[earlier]; n != want {
				t.Errorf("%d sends refused as already replied, want %d", n, want)
			}
			if d, reason, err := h.ledger.Paused(ctx, page.ID); err != nil || d > 0 {
				t.Errorf("Page paused for %s (%q, %v)", d, reason, err)
			}
		})
	}
}
