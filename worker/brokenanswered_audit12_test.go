package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestBrokenPageAnsweredPeopleKeepReply_audit12: on a Page that is really
// broken (every send gets the page-broken answer), replies recorded as sent
// without a send between a reply's page-broken answers (the comments of a
// person already answered, one_reply_per_person) prove nothing about the
// Page: the reply is kept and the Page paused at every answer, never
// archived as "taken as the reply's" (before, its third answer archived it
// and the ledger failed it for good: the reply was lost once the Page
// worked again).
func TestBrokenPageAnsweredPeopleKeepReply_audit12(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1209})
	page := h.pages[0].ID
	h.pages[0].OneReplyPerPerson = true
	bad := h.addComments(page, 1, "Hi")[0]
	ben := sandbox.User{ID: "7009311", Name: "Ben Again"}
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "Giveaway!", time.Now().Add(-time.Hour))
	var bens []tasks.Reply
	for i := range 3 {
		age := time.Duration(-30+i) * time.Minute
		id := h.sb.AddComment(post, ben, "me!", time.Now().Add(age))
		bens = append(bens, tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Person: ben.ID,
			Text: "Thanks, Ben!", Source: tasks.SourcePoll, Created: time.Now().Add(age).UnixMilli()})
	}
	all := new(atomic.Bool)
	proxy := pageGoneProxy(t, h, page, "none", all)
	insp, runBroken := brokenReplyRun(t, h, proxy, page)
	ctx := context.Background()

	// Ben's first comment is answered while the Page works.
	h.enqueueAll(t, bens[:1])
	h.waitSent(t, bens[:1], 10*time.Second)

	// The Page breaks: the first answer pauses it.
	all.Store(true)
	h.enqueueAll(t, []tasks.Reply{bad})
	waitBrokenPause(t, h, page)
	h.waitPutBack(t, bad, 10*time.Second, nil)
	for round, ans := range bens[1:] {
		// The pause runs out; Ben's next comment is answered by his reply
		// (recorded sent, nothing sent); the reply is tried again.
		if err := h.ledger.Resume(ctx, page); err != nil {
			t.Fatal(err)
		}
		h.enqueueAll(t, []tasks.Reply{ans})
		if ti := h.waitTask(t, ans, 10*time.Second, nil, asynq.TaskStateCompleted); ti.State != asynq.TaskStateCompleted {
			t.Fatalf("Ben's comment %s: %s %q", ans.Target, ti.State, ti.LastErr)
		}
		if e, err := h.ledger.Get(ctx, page, ans.Target); err != nil || e.Status != tasks.StatusSent {
			t.Fatalf("Ben's comment %s: entry %+v %v, want sent as answered", ans.Target, e, err)
		}
		if round == 0 {
			runBroken(bad)
			continue
		}
		if err := insp.RunTask(tasks.QueueReplies, bad.Target.String()); err != nil {
			t.Fatal(err)
		}
		ti := h.waitTask(t, bad, 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateArchived)
		if ti.State == asynq.TaskStateArchived {
			t.Fatalf("reply archived on a Page that sends nothing: %q", ti.LastErr)
		}
	}
	if e, err := h.ledger.Get(ctx, page, bad.Target); err != nil || e.Status == tasks.StatusFailed {
		t.Errorf("ledger has the kept reply as %+v (%v)", e, err)
	}
	// The Page fixed, the reply kept goes out.
	all.Store(false)
	if err := h.ledger.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	if err := insp.RunTask(tasks.QueueReplies, bad.Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{bad}, 10*time.Second)
}
