package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestKnownCommenterReplyRecordedAtShutdown_audit15 is
// TestKnownReplyRecordedAtShutdown_audit15 on a Page that sends one reply per
// person (one_reply_per_person): the earlier attempt's private reply, found
// by the doubt's check or refused by Graph as already sent (10900) just as
// asynq put the task back at shutdown, is recorded for the commenter as well
// as for the comment. Without it the commenter's other comments, finding no
// record of the reply, each got one of their own. The case the other test
// covers never reaches those person records (a Page without
// one_reply_per_person has no commenter's record).
func TestKnownCommenterReplyRecordedAtShutdown_audit15(t *testing.T) {
	for i, doubt := range []bool{true, false} {
		name := map[bool]string{true: "doubt found", false: "already replied"}[doubt]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1571 + int64(i)})
			h.pages[0].OneReplyPerPerson = true
			ctx := context.Background()
			client := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
			g := readAtAbort{&answerAtAbort{Graph: client, called: make(chan struct{}, 1)}}
			ledger := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{})
			r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
			r.Person = "5000000" // the commenter addComments wrote it as
			if _, err := client.SendPrivateReply(ctx, h.pages[0].AccessToken, r.PageID, graph.Recipient{CommentID: r.Target.ID}, r.Text); err != nil {
				t.Fatal(err)
			}
			if doubt {
				h.lostAnswer(t, r)
			}
			shutdownAtCall(t, h, g, g.called, ledger, r)
			if n, err := h.db.Client.Exists(ctx, h.ledger.PageKey(r.PageID, "pc:"+r.Person+":s")).Result(); err != nil || n != 1 {
				t.Errorf("the commenter's record of the reply after Shutdown: %d %v, want it written", n, err)
			}
		})
	}
}
