package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// pauseDuringSend is a Graph whose first send pauses every client of
// Redis (CLIENT PAUSE ... ALL: no command answered, writes and reads alike,
// connections kept) just before it reaches Graph.
type pauseDuringSend struct {
	worker.Graph
	t     *testing.T
	admin interface {
		Do(ctx context.Context, args ...any) error
	}
	pause  time.Duration
	once   sync.Once
	paused chan struct{}
}

func (g *pauseDuringSend) hold() {
	g.once.Do(func() {
		if err := g.admin.Do(context.Background(), "CLIENT", "PAUSE", g.pause.Milliseconds(), "ALL"); err != nil {
			g.t.Errorf("CLIENT PAUSE: %v", err)
		}
		close(g.paused)
	})
}

func (g *pauseDuringSend) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.hold()
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

func (g *pauseDuringSend) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	g.hold()
	return g.Graph.SendMessage(ctx, token, pageID, psid, text)
}

// TestClientPauseMidSend_audit14: Redis stops answering every client for 5 s
// (CLIENT PAUSE 5000 ALL, as an operator's or a failover's pause does), past
// go-redis's 3 s read timeout, while replies are being sent: the queue and
// the ledger are on that Redis. Every reply is sent once, none is archived,
// and none used a retry for the pause.
func TestClientPauseMidSend_audit14(t *testing.T) {
	t.Parallel() // mostly waits out the pause
	rs := redisproc.Start(t, redisproc.Options{})
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Conversations: 12, Seed: 1415}, &redistest.DB{Addr: rs.Addr(), Client: rs.Client()})
	page := h.pages[0].ID
	comments := h.addComments(page, 8, "Hello")
	convs := h.conversationReplies(page, "Thanks for your message!")
	if len(convs) < 4 {
		t.Fatalf("only %d conversations to answer", len(convs))
	}
	admin := rs.Client()
	g := &pauseDuringSend{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), t: t,
		admin: adminDo{admin}, pause: 5 * time.Second, paused: make(chan struct{})}
	all := append(append([]tasks.Reply{}, comments...), convs...)
	h.enqueueAll(t, all)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Graph, p.MaxRetry = g, 1 })

	waitClosed(t, g.paused, "no send came")
	time.Sleep(g.pause + 500*time.Millisecond) // the test's own reads wait too
	h.waitSent(t, all, 60*time.Second)
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for _, r := range all {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err != nil {
			continue // completed and gone is fine
		}
		if ti.State == asynq.TaskStateArchived || ti.Retried != 0 {
			t.Errorf("%s is %s after %d retries (%s); want it sent without using a retry", r.Target, ti.State, ti.Retried, ti.LastErr)
		}
	}
	if n := h.sb.AlreadyRepliedCount(); n != 0 {
		t.Errorf("%d sends refused as already replied (10900): a second send", n)
	}
	for _, r := range comments {
		if n := h.sb.SendCount(r.Target.ID); n != 1 {
			t.Errorf("comment %s got %d sends, want 1", r.Target, n)
		}
	}
	for _, r := range convs {
		if n := h.sb.SendCount(r.PSID); n != 1 {
			t.Errorf("conversation of %s got %d messages, want 1", r.PSID, n)
		}
	}
}

// adminDo runs a raw command on a go-redis client.
type adminDo struct{ c *redis.Client }

func (a adminDo) Do(ctx context.Context, args ...any) error { return a.c.Do(ctx, args...).Err() }

// TestClientPauseKeepsRate_audit14: a Page at 10/s whose replies are being
// sent when Redis pauses every client for 5 s (CLIENT PAUSE 5000 ALL): the
// replies that waited on Redis meanwhile do not go out together when it
// answers again. Graph sees at most rate + burst sends of the Page in any
// second, and each reply once.
func TestClientPauseKeepsRate_audit14(t *testing.T) {
	t.Parallel() // mostly waits out the pause and the Page's rate
	rs := redisproc.Start(t, redisproc.Options{})
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 1419}, &redistest.DB{Addr: rs.Addr(), Client: rs.Client()})
	page := h.pages[0].ID
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 10, Per: time.Second}, 1
	all := h.addComments(page, 60, "Hello")
	h.enqueueAll(t, all)
	g := &pauseDuringSend{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), t: t,
		admin: adminDo{rs.Client()}, pause: 5 * time.Second, paused: make(chan struct{})}
	h.startWorkerOn(t, h.opt, 20, func(p *worker.Params) { p.Graph = &pauseAfter{pauseDuringSend: g, after: 15} })
	select {
	case <-g.paused:
	case <-time.After(60 * time.Second):
		t.Fatal("the pause never came")
	}
	time.Sleep(g.pause + 500*time.Millisecond) // the test's own reads wait too
	h.waitSent(t, all, 2*time.Minute)
	if c := h.sb.CheckSends(page, time.Second, 10+1, 10); c.Over() {
		t.Errorf("sends of the Page, limit 10/s + burst 1: %s", c)
	}
	h.checkExactlyOnce(t, all)
}

// pauseAfter pauses Redis (pauseDuringSend) at its after-th send.
type pauseAfter struct {
	*pauseDuringSend
	mu    sync.Mutex
	n     int
	after int
}

func (g *pauseAfter) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.mu.Lock()
	g.n++
	now := g.n == g.after
	g.mu.Unlock()
	if now {
		g.hold()
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}
