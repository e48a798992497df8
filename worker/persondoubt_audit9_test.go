package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestOneReplyPerPersonDoubtOutlivesLongPause: on a Page that sends one
// reply per person, a commenter's reply whose send's answer was lost (it
// landed) and whose Page was then paused for two hours (a policy block, a
// broken token fixed the next morning: no attempt of it ran meanwhile to
// ask Graph) still holds the person's other comment when the pause ends:
// the other comment's reply, run first, waits for the doubt to be settled,
// and is then answered by the reply that landed. The doubt held a
// commenter for an hour at most, so the other reply went out, and the
// person, who had the first one, got two.
func TestOneReplyPerPersonDoubtOutlivesLongPause(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 41})
	pages := pollPages(h)
	pages[0].DefaultText = defaultText
	pages[0].OneReplyPerPerson = true
	page := pages[0].ID
	ctx := context.Background()

	ben := sandbox.User{ID: "7009001", Name: "Ben Twice"}
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "Giveaway!", time.Now().Add(-3*time.Hour))
	a := h.sb.AddComment(post, ben, "me!", time.Now().Add(-3*time.Hour))
	b := h.sb.AddComment(post, ben, "@friend look", time.Now().Add(-3*time.Hour+time.Minute))
	reply := func(id string) tasks.Reply {
		return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Person: ben.ID,
			Text: "Thanks for your comment, Ben!", Source: tasks.SourcePoll, Created: time.Now().Add(-3 * time.Hour).UnixMilli()}
	}
	ra, rb := reply(a), reply(b)

	// A's attempt claimed the target and the person, sent (the reply
	// landed), and lost the answer: its entry is in doubt.
	h.lostAnswer(t, ra, func() {
		pc, err := h.ledger.PersonClaim(ctx, page, tasks.Person{ID: ben.ID, Commenter: true}, ra.Target, "t1", time.Time{}, 168*time.Hour)
		if err != nil || pc.Outcome != tasks.PersonClaimed {
			t.Fatalf("a's person claim: %+v %v", pc, err)
		}
		g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
		if _, err := g.SendPrivateReply(ctx, pages[0].AccessToken, page, graph.Recipient{CommentID: a}, ra.Text); err != nil {
			t.Fatalf("a's send: %v", err)
		}
	})
	// Then the Page was paused for two hours: the doubt is as old as that.
	key := h.ledger.PageKey(page, "t:"+ra.Target.String())
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	if err := h.db.Client.Set(ctx, key, "u|"+strconv.FormatInt(old, 10), 0).Err(); err != nil {
		t.Fatal(err)
	}

	// The pause ends; B's reply runs first.
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages })
	h.enqueueAll(t, []tasks.Reply{rb})
	h.waitPutBack(t, rb, 15*time.Second, func() {
		if n := h.sb.SendCount(b); n != 0 {
			t.Fatalf("b's reply went out while a's, which landed, was in doubt: the person got %d replies", 1+n)
		}
	})

	// A's rerun asks Graph, finds its reply, and records it for the
	// person; B's, run again, is answered by it.
	h.enqueueAll(t, []tasks.Reply{ra})
	h.waitSent(t, []tasks.Reply{ra}, 15*time.Second)
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	if err := insp.RunTask(tasks.QueueReplies, rb.Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{rb}, 15*time.Second)
	if na, nb := h.sb.SendCount(a), h.sb.SendCount(b); na != 1 || nb != 0 {
		t.Errorf("the person got %d replies to a and %d to b, want a's one", na, nb)
	}
	if n := h.sb.AlreadyRepliedCount(); n != 0 {
		t.Errorf("%d sends refused as already replied: a's reply was sent again", n)
	}
}
