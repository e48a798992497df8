package worker_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// busyGraph delivers the first conversation reply through the sandbox and
// then answers it as Meta does when it fails a call while the app's usage is
// near its limit: HTTP 500, code 2, X-App-Usage at 97 % and a Retry-After,
// read by the real client from a real HTTP answer. The client classes it as
// throttled with its outcome unknown. Later calls go to the sandbox.
type busyGraph struct {
	worker.Graph
	meta  worker.Graph
	sends atomic.Int32
}

func (g *busyGraph) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	res, err := g.Graph.SendMessage(ctx, token, pageID, psid, text)
	if g.sends.Add(1) == 1 && err == nil {
		return g.meta.SendMessage(ctx, token, pageID, psid, text)
	}
	return res, err
}

// TestThrottledUnknownKeepsDoubt: a send whose answer is throttled but whose
// outcome is unknown (a 5xx while usage is near the limit; Graph may have
// delivered it) pauses the Page, and after the pause the reply is checked
// before it is sent again. For a conversation reply nothing else stops a
// second message: Messenger has no "already replied" answer. The person
// gets exactly one message.
func TestThrottledUnknownKeepsDoubt(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 47})
	r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App-Usage", `{"call_count":97,"total_cputime":20,"total_time":25}`)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"Bq7xZ"}}`))
	}))
	t.Cleanup(meta.Close)
	g := &busyGraph{
		Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		meta:  graph.New(graph.Config{BaseURL: meta.URL, Timeout: 2 * time.Second}),
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	ctx := context.Background()
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := g.sends.Load(); n != 1 {
		t.Errorf("%d send calls, want 1 (the delivered one; the retry must find it)", n)
	}
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%s got %d messages, want 1", r.PSID, n)
	}
	if n := h.sb.Calls()[sandbox.EndpointObject]; n == 0 {
		t.Errorf("the conversation was not read before sending again (calls %v)", h.sb.Calls())
	}
}

// TestReplicaLagKeepsDoubt: a conversation reply whose earlier attempt was
// delivered but whose answer was lost (ledger entry: unknown) is reserved
// again while the Redis replica lags, so its claim cannot be acknowledged
// and the reply is put back unsent. The doubt must outlive that: the entry
// stays unknown, and once the replica answers, the next attempt reads the
// conversation and finds the earlier message instead of sending a second.
func TestReplicaLagKeepsDoubt(t *testing.T) {
	t.Parallel() // mostly waits with a replica frozen
	master, replica := startReplicated(t)
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 53}, &redistest.DB{Addr: master.Addr(), Client: master.Client()})
	r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})

	// The earlier attempt: delivered, its answer lost.
	if _, err := g.SendMessage(ctx, h.pages[0].AccessToken, r.PageID, r.PSID, r.Text); err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	resume := freeze(t, replica)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.ClaimReplicas, p.ClaimReplicaTimeout = 1, 200*time.Millisecond })
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	// Wait for an attempt to have been put back (the task waits as retry).
	h.waitPutBack(t, r, time.Until(deadline.Add(10*time.Second)), nil)
	es, err := h.ledger.GetMany(ctx, r.PageID, []tasks.Target{r.Target})
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Status != tasks.StatusUnknown {
		t.Errorf("after the put-back the ledger entry is %+v, want unknown: the doubt was forgotten", es[0])
	}
	resume()
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%s got %d messages, want 1", r.PSID, n)
	}
}

// startReplicated starts a Redis master and a replica of it, in sync.
func startReplicated(t *testing.T) (master, replica *redisproc.Server) {
	t.Helper()
	master = redisproc.Start(t, redisproc.Options{})
	return master, startReplicaOf(t, master, master.Addr())
}

// startReplicaOf starts a replica of master that reaches it at addr (master's
// own address, or a proxy's in front of it) and waits until the two are in sync.
func startReplicaOf(t *testing.T, master *redisproc.Server, addr string) (replica *redisproc.Server) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	replica = redisproc.Start(t, redisproc.Options{Args: []string{"--replicaof", host, port}})
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	// "state=online": the master counts a replica for WAIT (and lists it in
	// ROLE, which the worker's ReplicaGuard reads) only once it streams to
	// it, which can be a moment after the replica says its link is up.
	for !strings.Contains(master.Client().Info(ctx, "replication").Val(), "state=online") ||
		!strings.Contains(replica.Client().Info(ctx, "replication").Val(), "master_link_status:up") {
		if time.Now().After(deadline) {
			t.Fatal("replica not in sync after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return replica
}

// freeze stops replica (SIGSTOP) until the returned resume is called, or t
// ends.
func freeze(t *testing.T, replica *redisproc.Server) (resume func()) {
	t.Helper()
	replica.Pause()
	var once sync.Once
	resume = func() { once.Do(replica.Resume) }
	t.Cleanup(resume)
	return resume
}

// lateGraph stands in front of the sandbox over loopback and acts late on the
// first send: it holds the request until the client gives up (its timeout),
// or with gateway answers 504 as Meta's edge does when its backend is slow,
// and only lateBy after that does the sandbox deliver it, as Graph may act on
// a request whose caller is gone. landed is closed once it has.
type lateGraph struct {
	sb      *sandbox.Sandbox
	lateBy  time.Duration
	gateway bool
	first   atomic.Bool
	landed  chan struct{}
	// lateStatus is the HTTP status the sandbox gave the late send.
	lateStatus atomic.Int32
}

func (g *lateGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") || !g.first.CompareAndSwap(false, true) {
		g.sb.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		close(g.landed)
		return
	}
	late := r.Clone(context.Background())
	late.Body = io.NopCloser(bytes.NewReader(body))
	if g.gateway {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte("<html><body><h1>504 Gateway Time-out</h1></body></html>"))
	} else {
		<-r.Context().Done() // the client timed out and closed the connection
	}
	go func() {
		defer close(g.landed)
		time.Sleep(g.lateBy)
		rec := httptest.NewRecorder()
		g.sb.ServeHTTP(rec, late)
		g.lateStatus.Store(int32(rec.Code))
	}()
}

// TestLateSendSettles: a send gets no answer (the client times out), or a
// gateway's 504, and Graph delivers it a moment later. The retry must not ask Graph before the send has
// had time to land (Params.SendSettle, GraphTimeout + 5s by default): a check
// made at once finds nothing and sends again, and the late send lands as well.
// For a conversation reply that is a second message nothing refuses; for a
// comment Graph refuses the second (10900), but pagereply tried. Either way the
// person gets exactly one reply and no second send is attempted.
func TestLateSendSettles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind    string
		gateway bool
	}{{"comment", false}, {"conversation", false}, {"comment", true}, {"conversation", true}} {
		name := tc.kind + map[bool]string{false: ", timeout", true: ", gateway 504"}[tc.gateway]
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each waits out the settle time
			h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 59})
			page := h.pages[0]
			var r tasks.Reply
			to := func() string { return r.Target.ID }
			if tc.kind == "comment" {
				r = h.addComments(page.ID, 1, "Thanks for your comment!")[0]
			} else {
				r = h.conversationReplies(page.ID, "Thanks for your message!")[0]
				to = func() string { return r.PSID }
			}
			lg := &lateGraph{sb: h.sb, lateBy: 1500 * time.Millisecond, gateway: tc.gateway, landed: make(chan struct{})}
			srv := httptest.NewServer(lg)
			t.Cleanup(srv.Close)
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
				p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: time.Second})
				p.GraphTimeout = time.Second
				p.SendSettle = 0 // the default: GraphTimeout + 5s
			})
			if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue: %v %v", o, err)
			}
			select {
			case <-lg.landed:
			case <-time.After(30 * time.Second):
				t.Fatal("the first send never reached the late Graph")
			}
			h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
			if c := lg.lateStatus.Load(); c != http.StatusOK {
				t.Errorf("the late send got HTTP %d: the retry had sent before it landed", c)
			}
			if n := h.sb.SendCount(to()); n != 1 {
				t.Errorf("%s got %d replies, want 1", to(), n)
			}
			if n := h.sb.AlreadyRepliedCount(); n != 0 {
				t.Errorf("%d sends refused as already replied: the retry sent before the late send could land", n)
			}
			if n := h.sb.Calls()[sandbox.EndpointMessages]; n != 1 {
				t.Errorf("the sandbox saw %d send calls, want 1 (the late one; the retry must find it)", n)
			}
		})
	}
}
