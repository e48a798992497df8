package worker_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
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

// replLink is the replication link between a master and its replica: a TCP
// proxy whose master-to-replica stream can be held (the replica lags: what
// the master wrote since does not reach it) and then cut for good (the
// master is gone; what the replica never got is lost).
type replLink struct {
	ln    net.Listener
	mu    sync.Mutex
	held  bool
	cut   bool
	conns []net.Conn
}

func newReplLink(t *testing.T, master string) *replLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &replLink{ln: ln}
	t.Cleanup(func() { l.cutOff() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			m, err := net.Dial("tcp", master)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns = append(l.conns, c, m)
			l.mu.Unlock()
			go io.Copy(m, c)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					l.mu.Lock()
					held := l.held
					l.mu.Unlock()
					if held {
						return // nothing more reaches the replica
					}
					_ = m.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
					n, err := m.Read(buf)
					l.mu.Lock()
					held = l.held
					l.mu.Unlock()
					if n > 0 && !held {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil && !isTimeout(err) {
						return
					}
				}
			}()
		}
	}()
	return l
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (l *replLink) hold() { l.mu.Lock(); l.held = true; l.mu.Unlock() }

func (l *replLink) cutOff() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return
	}
	l.cut = true
	l.ln.Close()
	for _, c := range l.conns {
		c.Close()
	}
}

// TestFailoverKeepsSettle: on a replicated Redis (worker.claim_replicas), a
// reply that waited at admission (its Page's send log full) has its lease
// renewed there. Until session 18 only the reservation's claim and a lapsed
// renewal had to reach a replica before the send: this one sent without,
// got no answer, and marked the target unknown with a settle time, while the
// lagging replica had neither write. A failover then brought back the
// reservation's claim, whose lease ended seconds before the settle time: the
// next attempt read the conversation when that lease ended, before the late
// send had landed, and sent a second message. A renewal that moves the lease
// on by more than a second must now reach a replica first; here it cannot
// (the replica lags), so the reply goes back unsent, and after the failover
// it is sent once.
//
// The replica's link goes through a proxy that stops forwarding while the
// reply waits at admission (the replica lags). The "failover" cuts the link,
// promotes the replica, and puts the entry it holds on the master the worker
// uses (the worker's ledger is wired to one address).
func TestFailoverKeepsSettle(t *testing.T) {
	t.Parallel() // mostly waits out a lease and a settle time
	master := redisproc.Start(t, redisproc.Options{})
	link := newReplLink(t, master.Addr())
	replica := startReplicaOf(t, master, link.ln.Addr().String())
	ctx := context.Background()
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 59}, &redistest.DB{Addr: master.Addr(), Client: master.Client()})
	page := h.pages[0].ID
	h.pages[0].Rate = config.Rate{N: 5, Per: time.Second}
	r := h.conversationReplies(page, "Thanks for your message!")[0]
	// The send log is full for the next 2 s: the reply waits at admission.
	due := float64(time.Now().Add(2 * time.Second).UnixMicro())
	for i := range 20 {
		h.db.Client.ZAdd(ctx, h.ledger.PageKey(page, "sends"), redis.Z{Score: due, Member: "other-" + strconv.Itoa(i)})
	}
	lg := &lateGraph{sb: h.sb, lateBy: 4500 * time.Millisecond, landed: make(chan struct{})}
	srv := httptest.NewServer(lg)
	t.Cleanup(srv.Close)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: time.Second})
		p.GraphTimeout = time.Second // lease 7s
		p.SendSettle = 0             // the default: GraphTimeout + 5s
		p.ClaimReplicas, p.ClaimReplicaTimeout = 1, 500*time.Millisecond
		p.BackoffBase = time.Second
	})
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	entry := h.ledger.PageKey(page, "t:"+r.Target.String())
	waitClaimed(t, h, r)
	time.Sleep(300 * time.Millisecond) // the claim is acked by the replica
	link.hold()                        // from now on the replica lags
	// The send times out and the master marks the target unknown (or, with
	// the renewal waiting for the replica, nothing is sent): fail over then.
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		if strings.HasPrefix(h.db.Client.Get(ctx, entry).Val(), "u|") {
			break
		}
		if ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String()); err == nil && ti.State == asynq.TaskStateRetry {
			break // put back unsent
		}
		time.Sleep(2 * time.Millisecond)
	}
	link.cutOff()
	if err := replica.Client().Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	kept := replica.Client().Get(ctx, entry).Val()
	t.Logf("master: %q; promoted replica: %q", h.db.Client.Get(ctx, entry).Val(), kept)
	if err := h.db.Client.Set(ctx, entry, kept, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	select {
	case <-lg.landed:
	case <-time.After(10 * time.Second):
	}
	time.Sleep(300 * time.Millisecond)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%s got %d messages, want 1", r.PSID, n)
	}
}
