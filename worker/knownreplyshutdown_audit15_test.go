package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// readAtAbort is answerAtAbort whose doubt checks (a comment's
// private_reply_conversation, a conversation's listing) are held until the
// call's context ends too, and then answered: the check found the earlier
// attempt's reply just as asynq put the task back at shutdown.
type readAtAbort struct{ *answerAtAbort }

func (g readAtAbort) PrivateReplyConversation(ctx context.Context, token, targetID string) (string, error) {
	g.hold(ctx)
	return g.Graph.PrivateReplyConversation(context.WithoutCancel(ctx), token, targetID)
}

func (g readAtAbort) Conversation(ctx context.Context, token, conversationID string) (graph.Conversation, error) {
	g.hold(ctx)
	return g.Graph.Conversation(context.WithoutCancel(ctx), token, conversationID)
}

// TestKnownReplyRecordedAtShutdown_audit15: a reply Graph is found to hold
// as the worker's drain runs out (asynq put the task back and canceled the
// handler's context) is recorded sent before Shutdown returns, as a reply
// the send itself made is (TestSentMarkAtShutdown_audit15): an earlier
// attempt's reply found by the doubt's check, a comment's or a
// conversation's (and the person's record of it), and a comment's reply
// Graph refused as already sent (10900). Before, those records were written
// with the handler's context, already canceled: they failed at once, and a
// Redis that then lost its data, or a person's other message checked by the
// person record, got a second reply.
func TestKnownReplyRecordedAtShutdown_audit15(t *testing.T) {
	cases := []struct {
		name         string
		conversation bool
		doubt        bool // an earlier attempt sent it, its answer lost
		pageAnswered bool // someone at the Page answered while it waited
		personAnswer bool // a reply to the person's other message reached them
	}{
		{"comment doubt found", false, true, false, false},
		{"conversation doubt found", true, true, false, false},
		{"comment already replied", false, false, false, false},
		{"conversation answered by the Page", true, false, true, false},
		{"conversation person answered", true, false, false, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 1551 + int64(i)})
			ctx := context.Background()
			client := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
			g := readAtAbort{&answerAtAbort{Graph: client, called: make(chan struct{}, 1)}}
			// A ledger that does not batch: a batcher sends a mark whose
			// caller gave up all the same.
			ledger := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{})
			// The reply Graph holds: an earlier attempt's (its answer lost:
			// the entry in doubt), or someone's in the Page's inbox.
			var r tasks.Reply
			var err error
			switch {
			case c.pageAnswered:
				now := time.Now()
				r, _ = answeredConversation(t, h, "15540001", now.Add(-20*time.Minute), now.Add(-5*time.Minute), now.Add(-19*time.Minute))
			case c.personAnswer:
				// The person's record names a reply that reached them a
				// second after they wrote: only the conversation's order
				// tells whether this message came after it (it did not).
				wrote := time.Now().Add(-20 * time.Minute)
				var answer string
				r, answer = answeredConversation(t, h, "15550001", wrote, wrote.Add(time.Second), time.Time{})
				r.EnqueuedAt = time.Now().UnixMilli()
				other := tasks.Target{Kind: tasks.KindMessage, ID: "m_other"}
				err = h.ledger.PersonSent(ctx, r.PageID, tasks.Person{ID: r.PSID}, other, answer, wrote.Add(time.Second), tasks.PersonTTL)
			case c.conversation:
				r = h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
				_, err = client.SendMessage(ctx, h.pages[0].AccessToken, r.PageID, r.PSID, r.Text)
			default:
				r = h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
				_, err = client.SendPrivateReply(ctx, h.pages[0].AccessToken, r.PageID, graph.Recipient{CommentID: r.Target.ID}, r.Text)
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.doubt {
				h.lostAnswer(t, r)
			}
			shutdownAtCall(t, h, g, g.called, ledger, r)
			if c.conversation && !c.personAnswer {
				if n, err := h.db.Client.Exists(ctx, h.ledger.PageKey(r.PageID, "p:"+r.PSID+":s")).Result(); err != nil || n != 1 {
					t.Errorf("the person's record of the reply after Shutdown: %d %v, want it written", n, err)
				}
			}
			if c.conversation && !c.pageAnswered && !c.personAnswer {
				if n := h.sb.SendCount(r.PSID); n != 1 {
					t.Errorf("the person got %d messages, want 1", n)
				}
			}
		})
	}
}

// restartAtRead is restartDuringSend whose ledger's Redis goes away just
// after the first conversation read came back: the doubt's check found the
// earlier attempt's reply, and Redis restarts, empty, as it is recorded.
type restartAtRead struct{ *restartDuringSend }

func (g restartAtRead) Conversation(ctx context.Context, token, conversationID string) (graph.Conversation, error) {
	c, err := g.Graph.Conversation(ctx, token, conversationID)
	g.first(func() (graph.SendResult, error) { return graph.SendResult{}, nil })
	return c, err
}

// TestFoundReplyOutlastsRedisRestart_audit15: a conversation reply's doubt
// check finds the earlier attempt's message, and the ledger's Redis (no
// persistence) restarts, empty, as the worker records it. The worker keeps
// trying to write the records while Redis is away, as it does for a reply
// it sent (TestSentMarkOutlastsRedisRestart_audit14): they land on the
// restarted Redis, and the person gets no second message. Before, the
// records gave up at once; the reply went back to the queue, found no entry
// (no doubt, no person record) and was sent again: a second Messenger
// message, which nothing refuses.
func TestFoundReplyOutlastsRedisRestart_audit15(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it restarts
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 1561})
	ctx := context.Background()
	rs, ledger := ownLedger(t)
	client := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	g := restartAtRead{&restartDuringSend{Graph: client, rs: rs, down: 8 * time.Second, back: make(chan struct{})}}
	r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	// The earlier attempt: delivered, its answer lost.
	if _, err := client.SendMessage(ctx, h.pages[0].AccessToken, r.PageID, r.PSID, r.Text); err != nil {
		t.Fatal(err)
	}
	if res, err := ledger.Reserve(ctx, r.PageID, r.Target, "t1", time.Minute, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if err := ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	h.enqueueAll(t, []tasks.Reply{r})

	waitClosed(t, g.back, "the conversation was never read")
	h.waitSentOn(t, ledger, []tasks.Reply{r}, 40*time.Second)
	// Let any put-back attempt run.
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("the person got %d messages, want 1", n)
	}
}
