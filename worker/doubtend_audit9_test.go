package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// removedMidSend is a Graph whose send to target, a comment or a visitor's
// post, lands in the sandbox and loses its answer, while its writer deletes
// it and the webhook's remove marks it in the ledger: all before the worker
// can record the send's doubt.
type removedMidSend struct {
	worker.Graph
	h      *harness
	page   string
	target tasks.Target
}

func (g *removedMidSend) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if to.CommentID != g.target.ID && to.PostID != g.target.ID {
		return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
	}
	g.h.sb.SetFaults(sandbox.Faults{DropRate: 1})
	res, err := g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
	g.h.sb.SetFaults(sandbox.Faults{})
	if g.target.Kind == tasks.KindPost {
		g.h.sb.DeletePost(g.target.ID)
	} else {
		g.h.sb.DeleteComment(g.target.ID)
	}
	if _, merr := g.h.ledger.MarkRemoved(context.WithoutCancel(ctx), g.page, g.target); merr != nil {
		return res, merr
	}
	return res, err
}

// doubtEndFixture is a Page that sends one reply per person, and Ben's two
// comments on its giveaway post, a and b, with their replies.
type doubtEndFixture struct {
	h      *harness
	pages  []config.Page
	page   string
	ben    sandbox.User
	post   string
	ra, rb tasks.Reply
}

func newDoubtEndFixture(t *testing.T, seed int64) *doubtEndFixture {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	pages := pollPages(h)
	pages[0].DefaultText = defaultText
	pages[0].OneReplyPerPerson = true
	f := &doubtEndFixture{h: h, pages: pages, page: pages[0].ID, ben: sandbox.User{ID: "7009301", Name: "Ben Gone"}}
	f.post = h.sb.AddPost(f.page, sandbox.User{ID: f.page}, "Giveaway!", time.Now().Add(-time.Hour))
	a := h.sb.AddComment(f.post, f.ben, "me!", time.Now().Add(-30*time.Minute))
	b := h.sb.AddComment(f.post, f.ben, "@friend look", time.Now().Add(-29*time.Minute))
	f.ra, f.rb = f.reply(tasks.KindComment, a, -30*time.Minute), f.reply(tasks.KindComment, b, -29*time.Minute)
	return f
}

func (f *doubtEndFixture) reply(kind tasks.Kind, id string, age time.Duration) tasks.Reply {
	return tasks.Reply{PageID: f.page, Target: tasks.Target{Kind: kind, ID: id}, Person: f.ben.ID,
		Text: "Thanks, Ben!", Source: tasks.SourcePoll, Created: time.Now().Add(age).UnixMilli()}
}

// lostSend leaves r as an attempt of it that claimed the target and the
// person, sent (the reply landed) and lost the answer leaves it: in doubt.
func (f *doubtEndFixture) lostSend(t *testing.T, r tasks.Reply) {
	t.Helper()
	ctx := context.Background()
	f.h.lostAnswer(t, r, func() {
		pc, err := f.h.ledger.PersonClaim(ctx, f.page, tasks.Person{ID: f.ben.ID, Commenter: true}, r.Target, "t1", time.Time{}, 168*time.Hour)
		if err != nil || pc.Outcome != tasks.PersonClaimed {
			t.Fatalf("person claim: %+v %v", pc, err)
		}
		g := graph.New(graph.Config{BaseURL: f.h.srv.URL, Timeout: 2 * time.Second})
		if _, err := g.SendPrivateReply(ctx, f.pages[0].AccessToken, f.page, recipientOf(r.Target), r.Text); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
}

func recipientOf(t tasks.Target) graph.Recipient {
	if t.Kind == tasks.KindPost {
		return graph.Recipient{PostID: t.ID}
	}
	return graph.Recipient{CommentID: t.ID}
}

// otherNotSent runs b's reply once a's is done, and checks that it went
// out to no one: Ben has a's, which landed.
func (f *doubtEndFixture) otherNotSent(t *testing.T, first, other tasks.Reply) {
	t.Helper()
	f.h.enqueueAll(t, []tasks.Reply{other})
	ti := f.h.waitTask(t, other, 20*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
	if n1, n2 := f.h.sb.SendCount(first.Target.ID), f.h.sb.SendCount(other.Target.ID); n1 != 1 || n2 != 0 {
		t.Fatalf("Ben got %d replies to %s and %d to %s (task %s %q), want the first's one: it may have reached him",
			n1, first.Target, n2, other.Target, ti.State, ti.LastErr)
	}
	if ti.State != asynq.TaskStateCompleted {
		t.Errorf("%s's reply %s (%s), want completed as answered", other.Target, ti.State, ti.LastErr)
	}
	if e, err := f.h.ledger.Get(context.Background(), f.page, other.Target); err != nil || e.Status != tasks.StatusSent {
		t.Errorf("%s's entry %+v %v, want sent (answered by the person's reply)", other.Target, e, err)
	}
}

// TestOneReplyPerPersonRemoveTakesClaimOfLostSend_audit9: on a Page that
// sends one reply per person, Ben's comment a's reply is sent (it lands),
// its answer is lost, and Ben deletes a meanwhile: the webhook's remove
// marks a in the ledger, taking the place of the attempt's claim, before the
// attempt can record its doubt, which a remove mark does not give way to.
// a's entry says failed (comment removed), which holds no one; Ben's other
// comment b must still be taken as answered by a's reply, which may have
// reached him. Before, b's reply went out: Ben got two.
func TestOneReplyPerPersonRemoveTakesClaimOfLostSend_audit9(t *testing.T) {
	f := newDoubtEndFixture(t, 9301)
	f.h.startWorkerOn(t, f.h.opt, 2, func(p *worker.Params) {
		p.Pages = f.pages
		p.Graph = &removedMidSend{Graph: p.Graph, h: f.h, page: f.page, target: f.ra.Target}
	})
	f.h.enqueueAll(t, []tasks.Reply{f.ra})
	ti := f.h.waitTask(t, f.ra, 20*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
	if e, err := f.h.ledger.Get(context.Background(), f.page, f.ra.Target); err != nil || e.Status != tasks.StatusFailed || e.Reason != tasks.RemovedReason {
		t.Fatalf("a's entry %+v %v (task %s %q), want failed, %q: the remove took the claim", e, err, ti.State, ti.LastErr, tasks.RemovedReason)
	}
	f.otherNotSent(t, f.ra, f.rb)
}

// TestOneReplyPerPersonDoubtOfRemovedCommentHolds_audit9: Ben's comment a's
// reply lands and its answer is lost (a's entry in doubt, which holds Ben's
// other comments), then Ben deletes a. a's next attempt asks Graph whether
// the reply went out; Graph answers that a is gone (code 100, subcode 33),
// for good, and a's reply is failed for good: its outcome can never be
// known. Ben's other comment b must be taken as answered. Before, the
// failure ended the doubt's hold and b's reply went out: Ben got two.
func TestOneReplyPerPersonDoubtOfRemovedCommentHolds_audit9(t *testing.T) {
	f := newDoubtEndFixture(t, 9302)
	f.lostSend(t, f.ra)
	f.h.sb.DeleteComment(f.ra.Target.ID)
	if ok, err := f.h.ledger.MarkRemoved(context.Background(), f.page, f.ra.Target); err != nil || ok {
		t.Fatalf("remove of a comment in doubt: marked %v %v, want left in doubt", ok, err)
	}
	f.h.startWorkerOn(t, f.h.opt, 2, func(p *worker.Params) { p.Pages = f.pages })
	f.h.enqueueAll(t, []tasks.Reply{f.ra})
	f.h.waitArchived(t, f.ra, 20*time.Second)
	f.otherNotSent(t, f.ra, f.rb)
}

// TestOneReplyPerPersonUncheckedPostDoubtPastWindow_audit9: Ben's visitor
// post p's reply lands and its answer is lost; a post has no
// private_reply_conversation, so the doubt is settled by sending again
// (Graph refuses a post's second reply), but p's next attempt comes after
// its reply window (max_age) ended, and is not sent: the doubt ends
// unsettled. Ben's comment b, written since (inside its window), must be
// taken as answered by p's reply, which may have reached him. Before, the
// window's release ended the hold, and b's reply went out.
func TestOneReplyPerPersonUncheckedPostDoubtPastWindow_audit9(t *testing.T) {
	f := newDoubtEndFixture(t, 9303)
	f.pages[0].MaxAge = time.Hour
	p := f.h.sb.AddPost(f.page, f.ben, "Do you ship to Spain?", time.Now().Add(-2*time.Hour))
	rp := f.reply(tasks.KindPost, p, -2*time.Hour)
	f.lostSend(t, rp)
	f.h.startWorkerOn(t, f.h.opt, 2, func(p *worker.Params) { p.Pages = f.pages })
	f.h.enqueueAll(t, []tasks.Reply{rp})
	ti := f.h.waitArchived(t, rp, 20*time.Second)
	if n := f.h.sb.SendCount(p); n != 1 {
		t.Fatalf("p's reply sent %d times (task %q), want the lost one only", n, ti.LastErr)
	}
	f.otherNotSent(t, rp, f.rb)
}

// TestOneReplyPerPersonUncheckedPostDoubtRemoved_audit9: as above, but p is
// deleted before its next attempt, inside the window: the attempt sends
// again (a post's doubt is settled by Graph's refusal of a second reply),
// and Graph refuses the deleted post for good (code 100, subcode 33), which
// says nothing of the lost send. Ben's comment b must be taken as answered.
func TestOneReplyPerPersonUncheckedPostDoubtRemoved_audit9(t *testing.T) {
	f := newDoubtEndFixture(t, 9304)
	p := f.h.sb.AddPost(f.page, f.ben, "Do you ship to Spain?", time.Now().Add(-time.Hour))
	rp := f.reply(tasks.KindPost, p, -time.Hour)
	f.lostSend(t, rp)
	f.h.sb.DeletePost(p)
	f.h.startWorkerOn(t, f.h.opt, 2, func(p *worker.Params) { p.Pages = f.pages })
	f.h.enqueueAll(t, []tasks.Reply{rp})
	f.h.waitArchived(t, rp, 20*time.Second)
	f.otherNotSent(t, rp, f.rb)
}

// TestOneReplyPerPersonSettledDoubtFailedHoldsNoOne_audit9: the other side
// of the above. Ben's comment a's send lost its answer and did not land; a's
// next attempt asks Graph, which says no reply exists (the doubt is
// settled), sends again and is refused for good (a can no longer be
// replied to privately). No reply reached Ben: his other comment b gets
// its reply.
func TestOneReplyPerPersonSettledDoubtFailedHoldsNoOne_audit9(t *testing.T) {
	f := newDoubtEndFixture(t, 9305)
	ctx := context.Background()
	f.h.lostAnswer(t, f.ra, func() {
		if _, err := f.h.ledger.PersonClaim(ctx, f.page, tasks.Person{ID: f.ben.ID, Commenter: true}, f.ra.Target, "t1", time.Time{}, 168*time.Hour); err != nil {
			t.Fatal(err)
		}
	})
	f.h.sb.SetCanReplyPrivately(f.ra.Target.ID, false)
	f.h.startWorkerOn(t, f.h.opt, 2, func(p *worker.Params) { p.Pages = f.pages })
	f.h.enqueueAll(t, []tasks.Reply{f.ra})
	f.h.waitArchived(t, f.ra, 20*time.Second)
	f.h.enqueueAll(t, []tasks.Reply{f.rb})
	f.h.waitSent(t, []tasks.Reply{f.rb}, 20*time.Second)
	if na, nb := f.h.sb.SendCount(f.ra.Target.ID), f.h.sb.SendCount(f.rb.Target.ID); na != 0 || nb != 1 {
		t.Errorf("Ben got %d replies to a and %d to b, want b's one", na, nb)
	}
}
