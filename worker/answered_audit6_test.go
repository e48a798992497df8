package worker_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// convReadFails fails the failAt-th conversation read with a transient
// Graph error; the others go through.
type convReadFails struct {
	worker.Graph
	failAt int32
	reads  atomic.Int32
}

func (g *convReadFails) Conversation(ctx context.Context, token, id string) (graph.Conversation, error) {
	if g.reads.Add(1) == g.failAt {
		return graph.Conversation{}, &graph.Error{HTTPStatus: 500, Code: 2, IsTransient: true, Message: "flaky", Class: graph.ClassTransient}
	}
	return g.Graph.Conversation(ctx, token, id)
}

// TestAnsweredRecordFailsKeepsCheck_audit6: a conversation reply that waited
// finds the Page's answer, records it for the person, and Redis fails the
// target's mark. The next attempt must not send on the strength of a
// conversation read that fails: the person's record names this very target
// (so PersonClaim does not take it as answered) and only a Graph read can
// tell. The target stays in doubt, and the attempt that reads the
// conversation records the answer; nothing is sent.
func TestAnsweredRecordFailsKeepsCheck_audit6(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6601})
	now := time.Now()
	r, answer := answeredConversation(t, h, "66010001", now.Add(-20*time.Minute), now.Add(-5*time.Minute), now.Add(-19*time.Minute))
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	g := &convReadFails{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), failAt: 2}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if hook.failed.Load() == 0 {
		t.Fatal("the sent mark never failed: the test proves nothing")
	}
	if n := g.reads.Load(); n < 2 {
		t.Fatalf("%d conversation reads, want the failing second one at least", n)
	}
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("the person the Page answered got %d messages from pagereply, want 0", n)
	}
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.MessageID != answer {
		t.Errorf("entry %+v %v, want sent with the Page's answer %s", e, err, answer)
	}
}

// TestAnsweredCheckedOnLastRun_audit6: a conversation reply on its last run
// (its retry count at asynq's limit, where a put-back archives it) that
// waited while someone at the Page answered the person is not sent either:
// the check reads the conversation all the same. Only a check that would put
// the reply back (here a failed read) lets it go unchecked, as before: sent,
// not archived.
func TestAnsweredCheckedOnLastRun_audit6(t *testing.T) {
	for _, readFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "read", true: "read fails"}[readFails], func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6602})
			now := time.Now()
			r, answer := answeredConversation(t, h, "66020001", now.Add(-20*time.Minute), now.Add(-5*time.Minute), now.Add(-19*time.Minute))
			payload, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			// At asynq's limit from its first run.
			opts := append(tasks.ReplyTaskOptions(&r, 0, time.Hour), asynq.MaxRetry(0))
			if _, err := h.enq.Client.EnqueueContext(context.Background(), asynq.NewTask(tasks.TypeReply, payload), opts...); err != nil {
				t.Fatal(err)
			}
			g := &convReadFails{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
			if readFails {
				g.failAt = 1
			}
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
			ti := h.waitTask(t, r, 15*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
			if ti.State == asynq.TaskStateArchived {
				t.Fatalf("reply on its last run archived: %q", ti.LastErr)
			}
			if g.reads.Load() == 0 {
				t.Error("the conversation was not read on the reply's last run")
			}
			want, wantID := 0, answer
			if readFails {
				want, wantID = 1, ""
			}
			if n := h.sb.SendCount(r.PSID); n != want {
				t.Errorf("the person the Page answered got %d messages from pagereply on the reply's last run, want %d", n, want)
			}
			e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
			if err != nil || e.Status != tasks.StatusSent || wantID != "" && e.MessageID != wantID {
				t.Errorf("entry %+v %v, want sent (with the Page's answer %q)", e, err, wantID)
			}
		})
	}
}

// TestInstantReplyToLaterMessageIsNoAnswer_audit6: the person wrote m1, then
// m2 ten minutes later, and Messenger's instant reply (or away message)
// answered m2 within seconds. The reply to m1 waited, and its check must not
// take that automatic message for someone at the Page answering m1: it is
// within 10 s of the person's m2, an instant reply as the poll counts one
// (the poll queued m2's reply for it). Taken for an answer, m1 was recorded
// as sent with it, and the person's record then said a reply reached them
// after m2: m2's reply was skipped too, and the person got no reply at all.
func TestInstantReplyToLaterMessageIsNoAnswer_audit6(t *testing.T) {
	for _, doubt := range []bool{false, true} {
		t.Run(map[bool]string{false: "waited", true: "in doubt"}[doubt], func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6603})
			page := h.pages[0].ID
			now := time.Now()
			const psid = "66030001"
			wrote1, wrote2 := now.Add(-20*time.Minute), now.Add(-10*time.Minute)
			conv, m1 := h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Ana"}, "do you ship to Spain?", wrote1)
			_, m2 := h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Ana"}, "hello?", wrote2)
			if conv == "" || m2 == "" {
				t.Fatal("sandbox: no conversation")
			}
			if h.sb.AddPageMessage(page, psid, "We are away, back on Monday.", wrote2.Add(2*time.Second)) == "" {
				t.Fatal("sandbox: no Page message")
			}
			reply := func(mid string, wrote, enqueued time.Time) tasks.Reply {
				return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: mid}, PSID: psid, ConversationID: conv,
					Text: "Thanks for your message!", Source: tasks.SourcePoll, Created: wrote.UnixMilli(), EnqueuedAt: enqueued.UnixMilli()}
			}
			r1, r2 := reply(m1, wrote1, wrote1.Add(time.Minute)), reply(m2, wrote2, wrote2.Add(time.Minute))
			if doubt {
				// An earlier attempt of m1's reply lost its answer; it
				// did not get through.
				h.lostAnswer(t, r1)
			}
			h.startWorker(t, 1)
			h.enqueueAll(t, []tasks.Reply{r1})
			h.waitSent(t, []tasks.Reply{r1}, 15*time.Second)
			h.enqueueAll(t, []tasks.Reply{r2})
			h.waitSent(t, []tasks.Reply{r2}, 15*time.Second)
			if n := h.sb.SendCount(psid); n != 1 {
				t.Errorf("the person who wrote twice, answered only by Messenger's automatic message, got %d replies, want 1", n)
			}
		})
	}
}
