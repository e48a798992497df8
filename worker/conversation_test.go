package worker_test

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// conversationReplies returns a reply task for every conversation of page
// whose last message is the person's, inside Messenger's 24-hour window.
func (h *harness) conversationReplies(page, text string) []tasks.Reply {
	var out []tasks.Reply
	for _, c := range h.sb.Conversations(page) {
		last := c.Messages[len(c.Messages)-1]
		if last.FromPage || time.Since(last.CreatedTime) > 23*time.Hour {
			continue
		}
		out = append(out, tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: last.ID},
			PSID: c.With.ID, ConversationID: c.ID, Text: text, Source: tasks.SourceAPI})
	}
	return out
}

// lostAnswerReply returns a harness with a conversation reply whose earlier
// attempt's answer was lost: its ledger entry is a claim marked with an
// unknown outcome.
func lostAnswerReply(t *testing.T) (*harness, tasks.Reply) {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 60, Seed: 23})
	r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	h.lostAnswer(t, r)
	return h, r
}

// TestConversationDoubt: conversation replies whose answers Graph drops after
// it delivered them. Messenger has no private_reply_conversation; the retry
// reads the conversation, finds the Page's message above the person's, and records the reply as sent instead of sending it
// again. Every person gets exactly one message.
func TestConversationDoubt(t *testing.T) {
	t.Parallel() // mostly waits out settle times
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 60, Seed: 23})
	page := h.pages[0].ID
	rs := h.conversationReplies(page, "Thanks for your message!")
	if len(rs) < 10 {
		t.Fatalf("only %d conversations to answer", len(rs))
	}
	h.sb.SetFaults(sandbox.Faults{DropRate: 0.5})
	h.startWorker(t, 10)
	ctx := context.Background()
	for _, r := range rs {
		if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
			t.Fatalf("enqueue %s: %v %v", r.Target, o, err)
		}
	}
	h.waitSent(t, rs, time.Minute)
	if h.sb.DroppedAnswers() == 0 {
		t.Fatal("no answer was dropped: the doubt was not exercised")
	}
	for _, r := range rs {
		if n := h.sb.SendCount(r.PSID); n != 1 {
			t.Errorf("%s (conversation %s) got %d messages, want 1", r.PSID, r.ConversationID, n)
		}
	}
	t.Logf("%d conversation replies, %d answers dropped", len(rs), h.sb.DroppedAnswers())
}

// TestConversationDoubtUnsettled: when an earlier attempt's answer was lost and
// the person wrote more than a page of messages since, the conversation cannot
// tell whether the reply got through. It is not sent again: the task is
// archived with the reason and the ledger records it as failed.
func TestConversationDoubtUnsettled(t *testing.T) {
	h, r := lostAnswerReply(t)
	page, ctx := r.PageID, context.Background()
	// More than a page of the person's messages since.
	for i := 0; i < 40; i++ {
		h.sb.AddMessage(page, sandbox.User{ID: r.PSID}, "one more thing", time.Now())
	}
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, r, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("%d messages sent although an earlier attempt may have got through", n)
	}
	es, err := h.ledger.GetMany(ctx, page, []tasks.Target{r.Target})
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Status != tasks.StatusFailed {
		t.Errorf("ledger entry %+v, want failed", es[0])
	}
}

// TestConversationDoubtWithoutConversation: a conversation reply in doubt
// whose task does not name its conversation (one queued without it) cannot
// be checked: it is not sent again, but archived with the target failed, as
// when the conversation cannot tell. Sent blind instead (settleMessageDoubt
// answering "not sent" for it), the person whose earlier reply had landed
// got a second one.
func TestConversationDoubtWithoutConversation(t *testing.T) {
	h, r := lostAnswerReply(t)
	ctx := context.Background()
	// The earlier attempt's reply landed.
	if h.sb.AddPageMessage(r.PageID, r.PSID, r.Text, time.Now()) == "" {
		t.Fatal("no conversation to add the Page's message to")
	}
	r.ConversationID = ""
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	if ti := h.waitTask(t, r, 30*time.Second, nil, asynq.TaskStateArchived, asynq.TaskStateCompleted); ti.State != asynq.TaskStateArchived {
		t.Errorf("task %s, want archived", ti.State)
	}
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("%d messages sent although an earlier attempt may have got through", n)
	}
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusFailed {
		t.Errorf("ledger entry %+v %v, want failed", e, err)
	}
}

// TestConversationDoubtNothingSent: an earlier attempt's answer was lost but
// the conversation shows no message from the Page above the person's: the
// reply is sent, once.
func TestConversationDoubtNothingSent(t *testing.T) {
	h, r := lostAnswerReply(t)
	ctx := context.Background()
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if n := h.sb.Calls()[sandbox.EndpointObject]; n == 0 {
		t.Errorf("the conversation was not read before sending (calls %v)", h.sb.Calls())
	}
}

// lossyConvGraph answers a conversation reply's first send with code 1200
// (outcome unknown, nothing delivered) and delivers the second but loses its
// answer (a timeout after the request left).
type lossyConvGraph struct {
	worker.Graph
	sends atomic.Int32
}

func (g *lossyConvGraph) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	switch g.sends.Add(1) {
	case 1:
		return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 1200, Class: graph.ClassTransient, Unknown: true,
			Message: "Temporary send message failure. Please try again later"}
	case 2:
		if _, err := g.Graph.SendMessage(ctx, token, pageID, psid, text); err != nil {
			return graph.SendResult{}, err
		}
		return graph.SendResult{}, errors.New("Post \"/messages\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
	}
	return g.Graph.SendMessage(ctx, token, pageID, psid, text)
}

// TestArchivedConversationReplyAskedAgain: a conversation reply's last
// attempt (max_retry 1) is delivered and its answer lost, so the task is
// archived with its outcome unknown. The API then asks for a reply to the same
// conversation: it resolves the same target, and sees it answered (the
// delivered attempt), so queues nothing. A replacement of the archived task
// queued anyway (the Enqueuer replaces it) carries the new text. The doubt check must find the delivered
// message whatever its text: the person gets one message, not two. So
// must it when the archived task was deleted first (by an operator, or
// asynq's trimming of its archive), where nothing holds the first text but
// the ledger's note of it.
func TestArchivedConversationReplyAskedAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		deleted    bool
	}{
		{"same text", "Thanks for your message!", false},
		{"other text", "Hello again, we got your message", false},
		{"other text, archived task deleted", "Hello again, we got your message", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out a send's settle time
			h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 47})
			insp := asynq.NewInspector(h.opt)
			t.Cleanup(func() { _ = insp.Close() })
			h.enq.Inspector = insp
			r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
			g := &lossyConvGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.MaxRetry = g, 1 })
			ctx := context.Background()
			if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue: %v %v", o, err)
			}
			h.waitArchived(t, r, 30*time.Second)
			if n := h.sb.SendCount(r.PSID); n != 1 {
				t.Fatalf("%d messages after the first task's attempts, want 1", n)
			}
			if tc.deleted {
				if err := insp.DeleteTask(tasks.QueueReplies, r.Target.String()); err != nil {
					t.Fatal(err)
				}
			}
			// POST /v1/replies {"page_id","conversation_id","text"} sees the
			// Page's message after the person's (the delivered attempt) and
			// queues nothing (409, answered), as the poll skips it.
			page := h.pages[0]
			r2 := tasks.Reply{PageID: page.ID, Text: tc.text, Source: tasks.SourceAPI}
			var ce *api.ConversationError
			if err := api.ConversationReply(ctx, g, &page, r.ConversationID, time.Now(), &r2); !errors.As(err, &ce) || !ce.Answered {
				t.Fatalf("API on a conversation the delivered attempt answered: %v, want answered", err)
			}
			if r2.Target != r.Target {
				t.Fatalf("the API resolved %s, the first reply answered %s", r2.Target, r.Target)
			}
			// A replacement of the archived task queued anyway (as a
			// caller of the Enqueuer could) is settled by the doubt check.
			r2.PSID, r2.ConversationID = r.PSID, r.ConversationID
			o, _, err := h.enq.Enqueue(ctx, r2)
			if err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue again: %v %v, want it queued", o, err)
			}
			h.waitSent(t, []tasks.Reply{r2}, 30*time.Second)
			if n := h.sb.SendCount(r.PSID); n != 1 {
				t.Errorf("%s got %d messages in answer to %s, want 1", r.PSID, n, r.Target)
			}
		})
	}
}

// TestConversationDoubtPageMessages: a doubtful conversation reply's check
// tells its earlier attempt from the Page's other messages by its text. An
// automatic instant reply above the person's message is not the attempt:
// the reply is sent. The attempt's text as Messenger may keep it (white space
// otherwise) is: the reply is recorded as sent, not sent again. Nor is a
// message of the person's own with the reply's text: only the Page's
// messages are its attempts (without the sender's check, that reply was
// recorded as sent and never sent).
func TestConversationDoubtPageMessages(t *testing.T) {
	for _, tc := range []struct {
		name, above string
		person      bool // the person wrote it, not the Page
		sends       int
	}{
		{"instant reply", "Thanks for contacting us! We usually reply within a day.", false, 1},
		{"earlier attempt", " Thanks  for your\r\nmessage! ", false, 0},
		{"the person's message", "Thanks for your message!", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, r := lostAnswerReply(t)
			if tc.person {
				h.sb.AddMessage(r.PageID, sandbox.User{ID: r.PSID}, tc.above, time.Now())
			} else if h.sb.AddPageMessage(r.PageID, r.PSID, tc.above, time.Now()) == "" {
				t.Fatal("no conversation to add the Page's message to")
			}
			h.startWorker(t, 2)
			if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue: %v %v", o, err)
			}
			h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
			if n := h.sb.SendCount(r.PSID); n != tc.sends {
				t.Errorf("%d messages sent, want %d", n, tc.sends)
			}
		})
	}
}

// oddIDGraph gives the latest message of some people's conversations
// another id (ids, by PSID), as Graph's listing would.
type oddIDGraph struct {
	worker.PollGraph
	ids map[string]string
}

func (g *oddIDGraph) Conversations(ctx context.Context, token, pageID string) iter.Seq2[graph.Conversation, error] {
	return func(yield func(graph.Conversation, error) bool) {
		for c, err := range g.PollGraph.Conversations(ctx, token, pageID) {
			if err == nil {
				for _, u := range c.Participants {
					if id, ok := g.ids[u.ID]; ok {
						for i := range c.Messages {
							if c.Messages[i].From != nil && c.Messages[i].From.ID == u.ID {
								c.Messages[i].ID = id
							}
						}
					}
				}
			}
			if !yield(c, err) {
				return
			}
		}
	}
}

// TestPollOneOddItemDoesNotBlockOthers: a conversation whose message id the
// reply tasks could not take (Messenger's older ids read "mid.$cAA...", with a
// '$') failed the batch's enqueue: the poll failed, every reply after it in
// the batch was dropped, and so at every poll, so other people's messages
// never got their replies. Old-style ids are now taken, and an item whose id
// is still of no known shape is skipped as malformed, the others queued.
func TestPollOneOddItemDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 94})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	const oldStyle = "mid.$cAAJsujCd2ORmA4RK5lhvVcTzD2cU"
	h.sb.AddMessage(page, sandbox.User{ID: "9401", Name: "Odd Id"}, "hello", now.Add(-time.Minute))
	h.sb.AddMessage(page, sandbox.User{ID: "9402", Name: "Old Style"}, "hello", now.Add(-2*time.Minute))
	_, fine := h.sb.AddMessage(page, sandbox.User{ID: "9403", Name: "Fine Person"}, "hello", now.Add(-3*time.Minute))
	p := h.pollParams(pages)
	p.Graph = &oddIDGraph{PollGraph: p.Graph, ids: map[string]string{"9401": "m_mid.bad id/x", "9402": oldStyle}}
	rep, err := worker.NewPoller(p).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if rep.Skipped[intake.SkipMalformed] != 1 || rep.Enqueued() != 2 {
		t.Errorf("skipped %v, enqueued %d; want 1 malformed, 2 queued", rep.Skipped, rep.Enqueued())
	}
	for _, id := range []string{fine, oldStyle} {
		if !queued(t, h, "message:"+id) {
			t.Errorf("message %s: no reply task", id)
		}
	}
	h.startWorker(t, 2)
	h.waitSent(t, []tasks.Reply{{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: oldStyle}}}, 10*time.Second)
}
