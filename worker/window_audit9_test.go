package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// slowConversation is a Graph whose conversation reads take delay (a slow
// Graph, a read slot taken further ahead), the rest passing to the sandbox.
type slowConversation struct {
	worker.Graph
	delay time.Duration
}

func (s *slowConversation) Conversation(ctx context.Context, token, id string) (graph.Conversation, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return graph.Conversation{}, ctx.Err()
	}
	return s.Graph.Conversation(ctx, token, id)
}

// TestReplyWindowCheckedAfterAnsweredCheck: a conversation reply that
// waited reads the conversation for an answer from the Page before it is
// sent (a read slot up to 2 s away, then the read, up to graph.timeout). Its
// reply window (here max_age 1h) ends meanwhile: it is not sent, but
// archived as too old, as docs/BEHAVIOUR.md says of a reply that waited past its
// window. The window was checked before that read only, and the reply went
// out after its window.
func TestReplyWindowCheckedAfterAnsweredCheck(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 43})
	pages := conversationPages(h)
	pages[0].MaxAge = time.Hour
	page := pages[0].ID
	ann := sandbox.User{ID: "7009101", Name: "Ann Late"}
	written := time.Now().Add(-time.Hour + 3*time.Second)
	conv, m := h.sb.AddMessage(page, ann, "hello?", written)
	r := messageReply(page, ann.ID, conv, m, "Thanks!", tasks.SourcePoll, written)
	// Queued minutes ago (a backlog): the worker checks for an answer first.
	r.EnqueuedAt = time.Now().Add(-5 * time.Minute).UnixMilli()

	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = pages
		p.Graph = &slowConversation{Graph: p.Graph, delay: 6 * time.Second}
	})
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 30*time.Second, func() {
		if got := sendsTo(h, ann.ID); len(got) != 0 {
			t.Fatalf("the reply went out %s after its window ended", time.Since(written.Add(time.Hour)).Round(time.Second))
		}
	}, asynq.TaskStateArchived)
	if !strings.Contains(ti.LastErr, "outside the Page's reply window") {
		t.Errorf("archived with %q, want the reply window", ti.LastErr)
	}
	if e, err := h.ledger.Get(context.Background(), page, r.Target); err != nil || e.Status != tasks.StatusNone {
		t.Errorf("the target's entry: %+v %v, want none (the window is the Page's setting)", e, err)
	}
}
