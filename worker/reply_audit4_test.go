package worker_test

import (
	"context"
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

// TestSettledDoubtRedisErrorNotGraphs: an attempt finds that an earlier one
// sent the reply, and Redis refuses to record it: that is Redis's failure,
// not Graph's, and Graph, which answered, is not counted as failing
// (pagereply_replies_failed_total), nor the reply as failed; the rerun
// records it as sent and counts it once. Handled as a failed check, the
// Redis error was counted as a transient Graph failure.
func TestSettledDoubtRedisErrorNotGraphs(t *testing.T) {
	t.Parallel() // mostly waits out the claim's lease
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 47})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Hello")[0]
	if err := h.ledger.MarkUnknown(context.Background(), r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	hook.armed.Store(false) // armed by doubtGraph when it is first asked
	g := &doubtGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), hook: hook}
	m := metrics.New()
	m.InitPages([]string{page})
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph, p.Metrics = ledger, g, m })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 40*time.Second)
	if hook.failed.Load() == 0 {
		t.Fatal("the Redis error was never seen: the test proves nothing")
	}
	if got := counterValues(t, m.RepliesFailed, page); len(got) != 0 {
		t.Errorf("pagereply_replies_failed_total = %v for a reply Graph had, whose record Redis refused once", got)
	}
	if n := g.sends.Load(); n != 0 {
		t.Errorf("%d sends for a reply Graph already had", n)
	}
}

// TestPersonClaimErrorKeepsDoubt: a doubtful reply (an earlier attempt's
// answer lost) whose person claim Redis refuses goes back to the queue with
// its doubt kept, as every other put-back of a doubtful reply does: its
// claim given back released (the entry deleted), the next attempt would
// send without checking, and the person would be held by nothing.
func TestPersonClaimErrorKeepsDoubt(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3047})
	h.pages[0].OneReplyPerPerson = true
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	r.Person = "7400007"
	h.lostAnswer(t, r)
	hook := failOnArg(r.Person)
	ledger := hook.ledger(t, h)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.BackoffBase, p.BackoffMax = ledger, 5*time.Second, 10*time.Second })
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 10*time.Second, nil, asynq.TaskStateRetry)
	if !strings.Contains(ti.LastErr, "LOADING") {
		t.Fatalf("put back with %q, want the person claim's Redis error", ti.LastErr)
	}
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Errorf("entry %+v %v after the failed person claim, want unknown (the doubt kept)", e, err)
	}
}

// TestDoubtfulPostResentCountedSent: a visitor post's reply whose earlier
// attempt's answer was lost (and which landed) is sent again, a post having
// no private_reply_conversation to check, and Graph refuses it as already
// replied: that is the earlier attempt's reply, counted as sent, not as a
// duplicate someone else sent.
func TestDoubtfulPostResentCountedSent(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3083})
	page := h.pages[0]
	vis := sandbox.User{ID: "7400009", Name: "Pat Poster"}
	post := h.sb.AddPost(page.ID, vis, "Do you ship to Spain?", time.Now().Add(-time.Hour))
	r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindPost, ID: post}, Text: "We do!", Source: tasks.SourcePoll, Person: vis.ID}
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	if _, err := g.SendPrivateReply(context.Background(), page.AccessToken, page.ID, graph.Recipient{PostID: post}, r.Text); err != nil {
		t.Fatal(err)
	}
	h.lostAnswer(t, r)
	m := metrics.New()
	m.InitPages([]string{page.ID})
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
	waitRepliesSettled(t, h) // the counts follow the ledger record waitSent read
	if got := counterValues(t, m.RepliesSent, page.ID); len(got) != 1 || got[string(tasks.SourcePoll)] != 1 {
		t.Errorf("pagereply_replies_sent_total = %v, want the earlier attempt's reply counted once", got)
	}
	if got := counterValues(t, m.DuplicatesSkipped, page.ID); len(got) != 0 {
		t.Errorf("pagereply_duplicates_skipped_total = %v for the reply's own earlier attempt", got)
	}
}

// TestPersonAnsweredMarkErrorReleasesClaim: a conversation reply answered
// by a reply that reached the person after they wrote it is recorded as
// sent; when Redis refuses that record, the reply goes back to the queue
// with its claim given back, so its retry finds the person answered at once
// instead of waiting out the claim's lease and then checking Graph for an
// earlier attempt that never sent.
func TestPersonAnsweredMarkErrorReleasesClaim(t *testing.T) {
	h, pages, ann, r1, r2 := annTwoMessages(t, "7001047")
	if err := h.ledger.PersonSent(context.Background(), r1.PageID, tasks.Person{ID: ann.ID}, r1.Target, "mid_1", time.Time{}, tasks.PersonTTL); err != nil {
		t.Fatal(err)
	}
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages, p.Ledger, p.BackoffBase, p.BackoffMax = pages, ledger, 5*time.Second, 10*time.Second
	})
	h.enqueueAll(t, []tasks.Reply{r2})
	ti := h.waitTask(t, r2, 10*time.Second, nil, asynq.TaskStateRetry)
	if !strings.Contains(ti.LastErr, "LOADING") {
		t.Fatalf("put back with %q, want the record's Redis error", ti.LastErr)
	}
	if e, err := h.ledger.Get(context.Background(), r2.PageID, r2.Target); err != nil || e.Status == tasks.StatusClaimed {
		t.Errorf("entry %+v %v after the failed record, want its claim given back", e, err)
	}
}
