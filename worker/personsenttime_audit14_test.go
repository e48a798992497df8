package worker_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// refuseAfterSend is a Graph whose first accepted Messenger send makes the
// ledger's Redis refuse writes (NOREPLICAS: min-replicas-to-write 1, no
// replica) for refuse, as a failover or a full disk does, right after Graph
// took it.
type refuseAfterSend struct {
	worker.Graph
	admin  *redis.Client
	refuse time.Duration
	once   sync.Once
	mu     sync.Mutex
	sentAt time.Time
	back   chan struct{}
}

func (g *refuseAfterSend) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	res, err := g.Graph.SendMessage(ctx, token, pageID, psid, text)
	if err != nil {
		return res, err
	}
	g.once.Do(func() {
		g.mu.Lock()
		g.sentAt = time.Now()
		g.mu.Unlock()
		if err := g.admin.ConfigSet(context.Background(), "min-replicas-to-write", "1").Err(); err != nil {
			panic(err)
		}
		go func() {
			defer close(g.back)
			time.Sleep(g.refuse)
			_ = g.admin.ConfigSet(context.Background(), "min-replicas-to-write", "0").Err()
		}()
	})
	return res, err
}

// TestPersonSentTimeOutlastsRefusal_audit14: a conversation reply Graph
// accepted while the ledger's Redis then refused writes for 7 s. The worker
// keeps writing the person's record (writeWhileAway) until Redis takes
// writes again; the record must say when the reply reached the person, not
// when Redis took the record. Before, it took Redis's clock at the write
// that landed, 7 s late: a message the person wrote a second after the
// reply read as written before it (the record's time at or after the
// message's, and too far after it for the conversation to be read to order
// the two), so it was taken as answered and got no reply of its own.
func TestPersonSentTimeOutlastsRefusal_audit14(t *testing.T) {
	t.Parallel() // mostly waits out the refusal
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 1431})
	rs := redisproc.Start(t, redisproc.Options{})
	admin := rs.Client()
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: rs.Addr()}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	g := &refuseAfterSend{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		admin: admin, refuse: 7 * time.Second, back: make(chan struct{})}
	page := h.pages[0].ID
	r := h.conversationReplies(page, "Thanks for your message!")[0]
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	h.enqueueAll(t, []tasks.Reply{r})

	waitClosed(t, g.back, "the send never came")
	h.waitSentOn(t, ledger, []tasks.Reply{r}, 20*time.Second)
	ctx := context.Background()
	g.mu.Lock()
	sentAt := g.sentAt
	g.mu.Unlock()
	v, err := admin.Get(ctx, "pagereply:{"+page+"}:p:"+r.PSID+":s").Result()
	if err != nil {
		t.Fatalf("the person's record: %v", err)
	}
	f := strings.Split(v, "|")
	if len(f) < 2 {
		t.Fatalf("the person's record %q", v)
	}
	ms, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("the person's record %q: %v", v, err)
	}
	if at := time.UnixMilli(ms); at.Sub(sentAt) > 3*time.Second {
		t.Errorf("the person's record says the reply reached them %v after Graph took it, want when Graph took it", at.Sub(sentAt).Round(time.Millisecond))
	}

	// The person wrote again 1.5 s after the reply: a new message, with a
	// reply of its own.
	h.sb.AddMessage(page, sandbox.User{ID: r.PSID}, "and do you ship to Spain?", sentAt.Add(1500*time.Millisecond))
	var r2 tasks.Reply
	for _, c := range h.sb.Conversations(page) {
		if c.With.ID != r.PSID {
			continue
		}
		last := c.Messages[len(c.Messages)-1]
		r2 = tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: last.ID}, PSID: r.PSID,
			ConversationID: c.ID, Text: "Yes, we do.", Source: tasks.SourceAPI, Created: last.CreatedTime.UnixMilli()}
	}
	if r2.Target.ID == "" || r2.Target.ID == r.Target.ID {
		t.Fatal("the person's new message is not the conversation's last")
	}
	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitTask(t, r2, 20*time.Second, nil, asynq.TaskStateCompleted)
	if n := h.sb.SendCount(r.PSID); n != 2 {
		t.Errorf("the person got %d messages, want 2: one for each message", n)
	}
}
