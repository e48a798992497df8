package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// failingGraph answers every private reply with Graph's transient 1200.
type failingGraph struct {
	worker.Graph
	sends atomic.Int32
}

func (g *failingGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	g.sends.Add(1)
	return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 1200, Class: graph.ClassTransient, Message: "Temporary send message failure. Please try again later"}
}

// TestGetReplyAttemptsCountRetries: GET /v1/replies/{id} counts every send
// attempt of a reply, its retries included: a reply whose sends failed
// transiently until its retries ran out reports as many attempts as
// Graph saw sends.
func TestGetReplyAttemptsCountRetries(t *testing.T) {
	e := newEnv(t, nil)
	var g *failingGraph
	c := e.replyThrough(t, func(base worker.Graph) worker.Graph {
		g = &failingGraph{Graph: base}
		return g
	}, func(p *worker.Params) {
		p.Concurrency, p.BackoffBase, p.BackoffMax = 2, 20*time.Millisecond, 100*time.Millisecond
	})
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+c)
		if err == nil && ti.State == asynq.TaskStateArchived {
			if ti.Retried < 1 {
				t.Fatalf("archived after %d retries, want the reply retried", ti.Retried)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply not archived after its retries: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, "")
	if want := float64(g.sends.Load()); st != 200 || m["state"] != "archived" || m["attempts"] != want || want < 2 {
		t.Fatalf("GET: %d %v, want state archived and %v attempts, one per send", st, m, want)
	}
}

// replyThrough queues a reply to the Page's first comment through the API,
// then starts a worker whose sends reach the sandbox through the Graph wrap
// makes of a client of it, with its Params changed by tune; it returns the
// comment's id.
func (e *env) replyThrough(t *testing.T, wrap func(worker.Graph) worker.Graph, tune func(*worker.Params)) string {
	t.Helper()
	c := e.sb.AllComments(e.page.ID)[0].ID
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)); st != http.StatusAccepted {
		t.Fatalf("reply: %d %v", st, m)
	}
	e.startWorker(t, wrap, tune)
	return c
}

// startWorker starts a worker on e's Redis whose calls reach the sandbox
// through the Graph wrap makes of a client of it, with its Params changed
// by tune (replyThrough's worker, for a reply queued otherwise).
func (e *env) startWorker(t *testing.T, wrap func(worker.Graph) worker.Graph, tune func(*worker.Params)) {
	t.Helper()
	gs := httptest.NewServer(e.sb)
	t.Cleanup(gs.Close)
	rdb := tasks.NewRedisClient(e.opt)
	t.Cleanup(func() { _ = rdb.Close() })
	p := worker.Params{
		Redis: e.opt, Ledger: tasks.NewLedger(rdb, tasks.LedgerOptions{}), Concurrency: 1, MaxRetry: 3,
		Graph:        wrap(graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second})),
		Pages:        []config.Page{{ID: e.page.ID, AccessToken: e.page.Token, Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 1}},
		GraphTimeout: 2 * time.Second, SendSettle: time.Second, ShutdownTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	tune(&p)
	w := worker.New(p)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
}
